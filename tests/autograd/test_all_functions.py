"""Every registered op, checked on its own samples: gradients, second order, purity, dtypes, errors."""

import importlib
import pkgutil

import numpy as np
import pytest

import chainrule
from chainrule.autograd.function import Function, registry
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck
from chainrule.autograd.tape import Tape
from chainrule.errors import ShapeError
from chainrule.tensor import Tensor

DIFFERENTIABLE = sorted(name for name, fn in registry.items() if fn.differentiable)


def _samples(second_order_only=False):
    cases = []
    for name in DIFFERENTIABLE:
        fn = registry[name]
        for k, sample in enumerate(fn.samples(np.random.default_rng(0))):
            if not second_order_only or sample.second_order:
                cases.append(pytest.param(fn, sample, id=f"{name}-{k}"))
    return cases


def _inputs(sample, dtype=np.float64, requires_grad=True):
    """Float arrays become tensors to differentiate; masks and other arrays become constant tensors."""
    result = []
    for position, x in enumerate(sample.inputs):
        if isinstance(x, np.ndarray) and x.dtype.kind == "f":
            differentiated = requires_grad and position not in sample.constants
            result.append(Tensor(x.astype(dtype), requires_grad=differentiated))
        elif isinstance(x, np.ndarray):
            result.append(Tensor(x))
        else:
            result.append(x)
    return result


def _call(fn, sample):
    return lambda *xs: fn.apply(*xs, **sample.options)


@pytest.mark.parametrize("fn, sample", _samples())
def test_gradient_matches_central_differences(fn, sample):
    assert gradcheck(_call(fn, sample), _inputs(sample), eps=1e-6, atol=1e-5, rtol=1e-3,
                     name=f"{fn.name} on sample {sample.label}")


@pytest.mark.parametrize("fn, sample", _samples(second_order_only=True))
def test_second_derivative_matches_central_differences(fn, sample):
    assert gradgradcheck(_call(fn, sample), _inputs(sample), eps=1e-6, atol=1e-4, rtol=1e-3,
                         name=f"{fn.name} on sample {sample.label}")


@pytest.mark.parametrize("fn, sample", _samples())
def test_inputs_and_upstream_gradient_are_not_mutated(fn, sample):
    inputs = _inputs(sample)
    before = [x.data.copy() for x in inputs if isinstance(x, Tensor)]
    out = fn.apply(*inputs, **sample.options)
    grad_out = np.random.default_rng(1).standard_normal(out.shape)
    kept = grad_out.copy()
    out.backward(Tensor(grad_out))
    after = [x.data for x in inputs if isinstance(x, Tensor)]
    for old, new in zip(before, after):
        np.testing.assert_array_equal(old, new, err_msg=f"{fn.name} changed an input")
    np.testing.assert_array_equal(kept, grad_out, err_msg=f"{fn.name} changed grad_out")


@pytest.mark.parametrize("fn, sample", _samples())
def test_float32_in_float32_out_forward_and_backward(fn, sample):
    inputs = _inputs(sample, dtype=np.float32)
    options = dict(sample.options)
    if fn.name == "to":  # the cast's job is to change the dtype: cast float32 to float64 and back
        options["dtype"] = np.float64
    out = fn.apply(*inputs, **options)
    expected = options["dtype"] if fn.name == "to" else np.float32
    assert out.dtype == expected, f"{fn.name}: float32 inputs gave {out.dtype}"
    grads = fn.backward(out.grad_fn, np.full(out.shape, 0.5, dtype=out.dtype))
    grads = grads if isinstance(grads, tuple) else (grads,)
    for i, g in enumerate(grads):
        if g is not None:
            assert g.dtype == np.float32, f"{fn.name}: backward gave {g.dtype} for input {i}"


BROADCASTING = sorted(name for name, fn in registry.items() if fn.broadcasting)


@pytest.mark.parametrize("fn, sample", _samples())
def test_a_tape_replays_the_op_with_the_eager_gradients(fn, sample):
    """Recorded twice, replayed once: the gradients are the eager backward's, bit for bit."""
    eager_inputs = _inputs(sample)
    out = fn.apply(*eager_inputs, **sample.options)
    weights = Tensor(np.random.default_rng(2).standard_normal(out.shape))
    (out * weights).sum().backward()
    tensor_positions = [i for i, x in enumerate(eager_inputs) if isinstance(x, Tensor)]

    def step(*tensors):
        arguments = list(sample.inputs)
        for position, tensor in zip(tensor_positions, tensors):
            arguments[position] = tensor
        return (fn.apply(*arguments, **sample.options) * weights).sum()

    tape = Tape(step)
    for _ in range(3):
        inputs = _inputs(sample)
        tape(*[inputs[i] for i in tensor_positions])
        for eager, taped in zip(eager_inputs, inputs):
            if isinstance(eager, Tensor) and eager.requires_grad:
                np.testing.assert_array_equal(taped.grad.data, eager.grad.data, err_msg=f"{fn.name}: replayed")
    assert tape.replays == 1


@pytest.mark.parametrize("name", BROADCASTING)
def test_broadcasting_op_names_itself_and_both_shapes_on_mismatch(name):
    fn = registry[name]
    a, b = np.ones((3,)), np.ones((4,))
    inputs = (np.ones((3,), dtype=bool), a, b) if name == "where" else (a, b)
    with pytest.raises(ShapeError) as info:
        fn.apply(*inputs)
    message = str(info.value)
    assert message.startswith(f"{name}:")
    assert "(3,)" in message and "(4,)" in message


def _all_function_classes():
    for module_info in pkgutil.walk_packages(chainrule.__path__, "chainrule."):
        importlib.import_module(module_info.name)
    found, stack = set(), [Function]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("chainrule.") and sub not in found:
                found.add(sub)
            stack.append(sub)
    return found


def test_every_builtin_function_is_registered_and_differentiable_ones_have_samples():
    classes = _all_function_classes()
    assert len(classes) >= 40
    registered = set(registry.values())
    unregistered = sorted(c.__qualname__ for c in classes - registered)
    assert not unregistered, f"Function subclasses missing from the registry: {unregistered}"
    missing = sorted(name for name, fn in registry.items() if fn.differentiable and not fn.samples)
    assert not missing, f"differentiable ops without samples: {missing}"


def test_every_sample_set_covers_more_than_one_case():
    thin = [name for name in DIFFERENTIABLE if len(registry[name].samples(np.random.default_rng(0))) < 2]
    assert not thin, f"ops with a single sample: {thin}"
