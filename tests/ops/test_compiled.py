"""Compiled kernels (numba): every op gives the same bits with them as with its NumPy form."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.performance as performance
from chainrule.autograd.function import registry
from chainrule.nn.pooling import max_pool1d, max_pool2d
from chainrule.ops import _compiled
from chainrule.tensor import Tensor

pytest.importorskip("numba")


def _forward_and_backward(fn, sample, dtype):
    """Output and input gradients of one op call with a fixed upstream gradient."""
    inputs = [Tensor(x.astype(dtype), requires_grad=position not in sample.constants)
              if isinstance(x, np.ndarray) and x.dtype.kind == "f" else (Tensor(x) if isinstance(x, np.ndarray) else x)
              for position, x in enumerate(sample.inputs)]
    out = fn.apply(*inputs, **sample.options)
    out.backward(Tensor(np.random.default_rng(3).standard_normal(out.shape).astype(out.dtype)))
    return [out.data] + [x.grad.data for x in inputs if isinstance(x, Tensor) and x.grad is not None]


def _every_sample():
    return [pytest.param(fn, sample, id=f"{name}-{k}")
            for name, fn in sorted(registry.items()) if fn.differentiable
            for k, sample in enumerate(fn.samples(np.random.default_rng(0)))]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fn, sample", _every_sample())
def test_every_registered_op_gives_the_same_bits_with_compiled_kernels(fn, sample, dtype):
    reference = _forward_and_backward(fn, sample, dtype)
    assert performance.use_compiled_kernels() is True
    compiled = _forward_and_backward(fn, sample, dtype)
    for expected, got in zip(reference, compiled, strict=True):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


MAX_POOLS = [  # (input shape, options): the common 2x2 case and windows that overlap, pad, dilate
    ((4, 3, 12, 12), dict(kernel_size=2)),
    ((2, 3, 7, 9), dict(kernel_size=2)),
    ((2, 2, 9, 8), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 2, 7, 6), dict(kernel_size=(2, 3), stride=1, padding=(1, 0), dilation=(2, 1))),
    ((1, 2, 9, 10), dict(kernel_size=(3, 2), stride=(2, 3), padding=1, dilation=2, ceil_mode=True)),
    ((3, 6, 6), dict(kernel_size=2)),
]


def _pool_both_ways(x, options, upstream_seed=1):
    results = []
    for enabled in (False, True):
        performance.use_compiled_kernels(enabled)
        xt = cr.tensor(x, requires_grad=True)
        y = max_pool2d(xt, **options)
        y.backward(cr.tensor(np.random.default_rng(upstream_seed).standard_normal(y.shape).astype(x.dtype)))
        results.append((y.numpy().copy(), xt.grad.numpy().copy()))
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, options", MAX_POOLS)
def test_max_pool_kernel_matches_numpy_bit_for_bit(shape, options, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    (y0, g0), (y1, g1) = _pool_both_ways(x, options)
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(g1, g0)


def test_max_pool_kernel_keeps_ties_nan_and_infinities_as_numpy():
    x = np.zeros((1, 2, 6, 6), dtype=np.float32)
    x[0, 0, :2, :2] = 1.0  # four tied maxima: the first wins
    x[0, 0, 2, 3] = np.nan  # NaN after the window's maximum
    x[0, 0, 2, 2] = 5.0
    x[0, 0, 4, 4] = np.nan  # NaN first in its window
    x[0, 1] = -np.inf
    x[0, 1, 5, 5] = np.inf
    (y0, g0), (y1, g1) = _pool_both_ways(x, dict(kernel_size=2))
    np.testing.assert_array_equal(y1, y0)  # NaN == NaN here: assert_array_equal compares NaN positions
    np.testing.assert_array_equal(g1, g0)
    assert np.isnan(y1[0, 0, 1, 1]) and np.isnan(y1[0, 0, 2, 2])


def test_max_pool_kernel_reads_non_contiguous_inputs():
    # a batch-innermost layout, as a convolution's output can be, and a strided slice
    base = np.random.default_rng(2).standard_normal((3, 8, 10, 4)).astype(np.float32)
    for x in (base.transpose(3, 0, 1, 2), base[:, :, ::-1].transpose(3, 0, 2, 1)):
        (y0, g0), (y1, g1) = _pool_both_ways(x, dict(kernel_size=2))
        np.testing.assert_array_equal(y1, y0)
        np.testing.assert_array_equal(g1, g0)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("padding", [0, 1, "same"])
def test_convolutions_match_numpy_bit_for_bit_in_both_column_layouts(bias, padding):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 16, 9, 8)).astype(np.float32)
    layers = [(cr.nn.Conv2d(16, 32, 3, padding=padding, bias=bias), x),  # batch-innermost columns
              (cr.nn.Conv2d(1, 8, 3, padding=padding, bias=bias), x[:, :1])]  # batch-outermost
    if padding != "same":
        layers.append((cr.nn.ConvTranspose2d(16, 4, 3, stride=2, padding=padding, bias=bias), x))
    for layer, data in layers:
        results = []
        for enabled in (False, True):
            performance.use_compiled_kernels(enabled)
            layer.zero_grad()
            xt = cr.tensor(data, requires_grad=True)
            y = layer(xt)
            y.backward(cr.tensor(np.random.default_rng(6).standard_normal(y.shape).astype(np.float32)))
            results.append([y.numpy().copy(), xt.grad.numpy().copy()] + [p.grad.numpy().copy() for p in layer.parameters()])
        for expected, got in zip(*results, strict=True):
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_kernels_keep_signed_zeros_nan_and_infinities_as_numpy(dtype):
    x = np.array([[-0.0, 0.0, 1.5, -2.0], [np.nan, np.inf, -np.inf, 3e-39]], dtype=dtype)
    grad = np.array([[-1.0, 2.0, -3.0, np.nan], [-4.0, np.inf, 5.0, -0.0]], dtype=dtype)
    results = []
    for enabled in (False, True):
        performance.use_compiled_kernels(enabled)
        xt = cr.tensor(x, requires_grad=True)
        y = cr.relu(xt)
        with np.errstate(invalid="ignore"):
            y.backward(cr.tensor(grad))
        results.append((y.numpy().copy(), xt.grad.numpy().copy()))
    for expected, got in zip(*results, strict=True):
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


# Each new window geometry compiles its own kernel (about half a second), so the examples are few.
GEOMETRY_SETTINGS = settings(max_examples=12, deadline=None, derandomize=True, database=None)


@st.composite
def _windows(draw):
    """A window geometry and an input it fits: kernel, stride, dilation, padding, input shape."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple(draw(st.integers(0, (d * (k - 1) + 1) // 2)) for k, d in zip(kernel, dilation))
    size = tuple(draw(st.integers(d * (k - 1) + 1, 9)) for k, d in zip(kernel, dilation))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 4))) + size
    return kernel, stride, dilation, padding, shape


def _both_ways(run):
    results = []
    for enabled in (False, True):
        performance.use_compiled_kernels(enabled)
        results.append(run())
    for expected, got in zip(*results, strict=True):
        np.testing.assert_array_equal(got, expected)


@GEOMETRY_SETTINGS
@given(_windows(), st.booleans())
def test_max_pool_kernels_match_numpy_on_any_window_geometry(window, ceil_mode):
    kernel, stride, dilation, padding, shape = window
    x = np.random.default_rng(7).standard_normal(shape)

    def run():
        xt = cr.tensor(x, requires_grad=True)
        y = max_pool2d(xt, kernel, stride, padding, dilation, ceil_mode=ceil_mode)
        y.backward(cr.tensor(np.random.default_rng(8).standard_normal(y.shape)))
        return y.numpy().copy(), xt.grad.numpy().copy()
    _both_ways(run)


@GEOMETRY_SETTINGS
@given(_windows(), st.integers(1, 6))
def test_convolution_kernels_match_numpy_on_any_window_geometry(window, out_channels):
    kernel, stride, dilation, padding, shape = window
    x = np.random.default_rng(9).standard_normal(shape)
    weight = np.random.default_rng(10).standard_normal((out_channels, shape[1]) + kernel)
    bias = np.random.default_rng(11).standard_normal(out_channels)

    def run():
        xt, wt, bt = (cr.tensor(a, requires_grad=True) for a in (x, weight, bias))
        y = cr.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation)
        y.backward(cr.tensor(np.random.default_rng(12).standard_normal(y.shape)))
        return [y.numpy().copy()] + [t.grad.numpy().copy() for t in (xt, wt, bt)]
    _both_ways(run)


def test_max_pool1d_and_second_derivatives_run_with_kernels_on():
    performance.use_compiled_kernels(True)
    x = cr.tensor(np.random.default_rng(4).standard_normal((2, 3, 8)), requires_grad=True)
    y = max_pool1d(x, 2)
    (g,) = cr.grad((y * y).sum(), x, create_graph=True)  # the Tensor path of the backward
    g.sum().backward()
    expected = 2 * (np.maximum.reduceat(x.numpy(), range(0, 8, 2), axis=2) != 0)
    assert y.shape == (2, 3, 4) and x.grad.numpy().sum() == pytest.approx(expected.sum())


def test_switch_reports_state_and_falls_back_without_numba(monkeypatch):
    assert performance.use_compiled_kernels(True) is True and _compiled.kernels() is not None
    assert performance.use_compiled_kernels(False) is False and _compiled.kernels() is None
    monkeypatch.setitem(sys.modules, "chainrule.ops._numba_kernels", None)  # import fails as if numba were absent
    assert performance.use_compiled_kernels(True) is False
    assert _compiled.kernels() is None


def test_importing_chainrule_does_not_import_numba():
    script = "import sys, chainrule, chainrule.nn; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("options", [{}, {"reverse": True}, {"lengths": (6, 2, 4)}],
                         ids=["forward", "reverse", "lengths"])
def test_lstm_layer_gives_the_same_bits_when_only_some_steps_get_a_gradient(options):
    # A classifier reads the last state only: the steps with no gradient from outside skip their
    # additions, in the compiled pass as in the NumPy form.
    from chainrule.ops.recurrent import lstm_layer
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(shape).astype(np.float32)
              for shape in ((6, 3, 4), (3, 5), (3, 5), (20, 4), (20, 5), (20,))]
    weights = np.zeros((6, 3, 10), np.float32)
    weights[[2, 5], :, :5] = rng.standard_normal((2, 3, 5))
    results = []
    for enabled in (False, True):
        performance.use_compiled_kernels(enabled)
        inputs = [cr.tensor(a, requires_grad=True) for a in arrays]
        (lstm_layer(*inputs, **options) * cr.tensor(weights)).sum().backward()
        results.append([x.grad.numpy() for x in inputs])
    for expected, got in zip(*results, strict=True):
        np.testing.assert_array_equal(got, expected)


OPTIMIZERS = [  # (class, options): the updates with a compiled form
    (cr.optim.SGD, dict(lr=0.1)),
    (cr.optim.SGD, dict(lr=0.1, maximize=True)),
    (cr.optim.SGD, dict(lr=0.1, momentum=0.9)),
    (cr.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (cr.optim.SGD, dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.01, maximize=True)),
    (cr.optim.Adam, dict(lr=0.01)),
    (cr.optim.Adam, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    (cr.optim.AdamW, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    (cr.optim.AdamW, dict(lr=0.01, amsgrad=True, maximize=True)),
]


def _train_both_ways(optimizer_class, options, dtype, steps=4):
    """Parameters and optimizer state after ``steps`` updates from the same gradients, with the
    kernels off and on. The shapes include a 0-d and a transposed (not C-contiguous) parameter."""
    rng = np.random.default_rng(6)
    starts = [rng.standard_normal(shape) for shape in ((7, 5), (5,), (), (4, 3))]
    grads = [[rng.standard_normal(start.shape) * 10.0 ** rng.integers(-4, 3) for start in starts]
             for _ in range(steps)]
    results = []
    for enabled in (False, True):
        performance.use_compiled_kernels(enabled)
        params = [cr.nn.Parameter(cr.tensor(start.astype(dtype))) for start in starts]
        params[-1] = cr.nn.Parameter(cr.tensor(starts[-1].astype(dtype).T))
        optimizer = optimizer_class(params, **options)
        for step_grads in grads:
            for param, grad in zip(params, step_grads):
                param.grad = cr.tensor(grad.reshape(param.shape).astype(dtype))
            optimizer.step()
        state = [np.asarray(value) for values in optimizer.state.values() for value in values.values()]
        results.append([param.numpy() for param in params] + state)
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer_class, options", OPTIMIZERS,
                         ids=[f"{cls.__name__}-{k}" for k, (cls, _) in enumerate(OPTIMIZERS)])
def test_optimizers_give_the_same_bits_with_compiled_kernels(optimizer_class, options, dtype, monkeypatch):
    from chainrule.ops import _numba_kernels
    calls = []
    for name in ("sgd_step", "adam_step"):
        kernel = getattr(_numba_kernels, name)
        monkeypatch.setattr(_numba_kernels, name,
                            lambda *args, _kernel=kernel, _name=name: calls.append(_name) or _kernel(*args))
    reference, compiled = _train_both_ways(optimizer_class, options, dtype)
    assert calls, "the compiled update never ran"
    assert len(compiled) == len(reference)
    for expected, got in zip(reference, compiled, strict=True):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_optimizers_keep_nan_and_infinities_as_numpy():
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e-30], np.float32)
    results = []
    for enabled in (False, True):
        performance.use_compiled_kernels(enabled)
        params = [cr.nn.Parameter(cr.tensor(values.copy())) for values in (special, special[::-1])]
        optimizers = [cr.optim.SGD(params[:1], lr=0.5, momentum=0.9), cr.optim.Adam(params[1:], lr=0.5, amsgrad=True)]
        with np.errstate(all="ignore"):  # inf - inf and the like, in the NumPy form
            for _ in range(2):
                for param, optimizer in zip(params, optimizers):
                    param.grad = cr.tensor(special[::-1].copy())
                    optimizer.step()
        results.append([param.numpy() for param in params])
    for expected, got in zip(*results, strict=True):
        np.testing.assert_array_equal(got, expected)
