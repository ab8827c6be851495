"""Activation layers and functions against PyTorch: values, gradients, kinks, huge inputs, reprs, errors."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import DTypeError, IndexingError, ShapeError
from chainrule.nn import activation
from chainrule.ops.activation import elu, erf, gelu, leaky_relu, silu, softplus

torch = pytest.importorskip("torch")

# (chainrule layer, torch layer) pairs built with the same arguments.
LAYERS = {
    "Sigmoid": (lambda: activation.Sigmoid(), lambda: torch.nn.Sigmoid()),
    "Tanh": (lambda: activation.Tanh(), lambda: torch.nn.Tanh()),
    "ReLU": (lambda: activation.ReLU(), lambda: torch.nn.ReLU()),
    "LeakyReLU": (lambda: activation.LeakyReLU(), lambda: torch.nn.LeakyReLU()),
    "LeakyReLU_0.3": (lambda: activation.LeakyReLU(0.3), lambda: torch.nn.LeakyReLU(0.3)),
    "ELU": (lambda: activation.ELU(), lambda: torch.nn.ELU()),
    "ELU_0.5": (lambda: activation.ELU(alpha=0.5), lambda: torch.nn.ELU(alpha=0.5)),
    "GELU": (lambda: activation.GELU(), lambda: torch.nn.GELU()),
    "GELU_tanh": (lambda: activation.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    "SiLU": (lambda: activation.SiLU(), lambda: torch.nn.SiLU()),
    "Softplus": (lambda: activation.Softplus(), lambda: torch.nn.Softplus()),
    "Softplus_beta2_threshold3": (lambda: activation.Softplus(beta=2.0, threshold=3.0),
                                  lambda: torch.nn.Softplus(beta=2.0, threshold=3.0)),
    "Softmax_1": (lambda: activation.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
    "Softmax_-1": (lambda: activation.Softmax(dim=-1), lambda: torch.nn.Softmax(dim=-1)),
    "LogSoftmax_0": (lambda: activation.LogSoftmax(dim=0), lambda: torch.nn.LogSoftmax(dim=0)),
}


def _input(seed, shape=(4, 5, 3), scale=3.0):
    x = np.random.default_rng(seed).uniform(-scale, scale, size=shape)
    x.flat[:3] = 0.0  # the kinks: relu, leaky_relu and elu must take PyTorch's side at exactly 0
    return x


def _run_both(name, x, upstream):
    ours, theirs = LAYERS[name]
    a = cr.tensor(x, requires_grad=True)
    out = ours()(a)
    out.backward(cr.tensor(upstream))
    b = torch.tensor(x, requires_grad=True)
    expected = theirs()(b)
    expected.backward(torch.tensor(upstream))
    return out, a.grad, expected, b.grad


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_torch_in_float64_values_and_input_gradient(name):
    x = _input(1)
    upstream = np.random.default_rng(2).standard_normal(x.shape)
    out, grad, expected, expected_grad = _run_both(name, x, upstream)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad.numpy(), expected_grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_keeps_float32(name):
    out = LAYERS[name][0]()(cr.tensor(_input(3), dtype=cr.float32, requires_grad=True))
    out.sum().backward()
    assert out.dtype == np.float32


@pytest.mark.parametrize("name", ["GELU", "GELU_tanh", "SiLU", "Softplus", "ELU"])
def test_second_derivative_matches_torch(name):
    x = _input(4, shape=(6,))[3:] + 0.25  # away from 0, where elu's second derivative jumps
    ours, theirs = LAYERS[name]
    a = cr.tensor(x, requires_grad=True)
    (ga,) = cr.grad(ours()(a).sum(), a, create_graph=True)
    ga.sum().backward()
    b = torch.tensor(x, requires_grad=True)
    (gb,) = torch.autograd.grad(theirs()(b).sum(), b, create_graph=True)
    gb.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_erf_matches_torch_over_its_whole_range():
    x = np.concatenate([np.linspace(-7, 7, 2001), [-30.0, -1e-300, 0.0, 1e-300, 30.0, 1e300, -1e300]])
    a = cr.tensor(x, requires_grad=True)
    out = erf(a)
    out.sum().backward()
    b = torch.tensor(x, requires_grad=True)
    torch.erf(b).sum().backward()
    np.testing.assert_allclose(out.numpy(), torch.erf(b).detach().numpy(), rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-13)
    assert a.erf().dtype == np.float64 and cr.tensor([0.5]).erf().dtype == np.float32


def test_gelu_tail_is_accurate_where_one_plus_erf_cancels():
    # gelu(-10) = -10 * Phi(-10) = -7.6e-23; computing 1 + erf(-10 / sqrt 2) would give 0.
    assert gelu(cr.tensor([-10.0], dtype=cr.float64)).item() == pytest.approx(-7.619853024160527e-23, rel=1e-12)


HUGE = [-1e300, -1e30, -1e4, -50.0, 50.0, 1e4, 1e30, 1e300]


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("dtype", [cr.float64, cr.float32])
def test_huge_inputs_give_finite_values_and_gradients_without_warnings(name, dtype):
    x = np.array(HUGE if dtype == cr.float64 else [v for v in HUGE if abs(v) < 1e38]).reshape(1, -1)
    a = cr.tensor(x, dtype=dtype, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = LAYERS[name][0]()(a)
        out.backward(cr.ones(*out.shape, dtype=dtype))
    finite = np.isfinite(out.numpy()).all() and np.isfinite(a.grad.numpy()).all()
    assert finite, f"{name}: {out.numpy()} {a.grad.numpy()}"
    if dtype == cr.float64 and name not in ("Softmax_1", "Softmax_-1", "LogSoftmax_0"):
        b = torch.tensor(x, requires_grad=True)
        expected = LAYERS[name][1]()(b)
        expected.backward(torch.ones_like(expected))
        kept = np.isfinite(b.grad.numpy())  # torch's tanh-form GELU is NaN at +-1e300; chainrule's is not
        np.testing.assert_allclose(out.numpy()[kept], expected.detach().numpy()[kept], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(a.grad.numpy()[kept], b.grad.numpy()[kept], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("fn, torch_fn", [(elu, torch.nn.functional.elu), (silu, torch.nn.functional.silu),
                                          (softplus, torch.nn.functional.softplus)])
def test_far_left_tail_keeps_relative_accuracy(fn, torch_fn):
    x = np.array([-50.0, -200.0, -700.0])
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    fn(a).sum().backward()
    torch_fn(b).sum().backward()
    assert (a.grad.numpy() != 0).all()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


def test_huge_logits_softmax_is_exact():
    out = activation.Softmax(dim=1)(cr.tensor(np.array([[1e300, 0.0, -1e300]])))
    np.testing.assert_array_equal(out.numpy(), [[1.0, 0.0, 0.0]])


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_repr_matches_torch(name):
    ours, theirs = LAYERS[name]
    assert repr(ours()) == repr(theirs())


def test_softmax_layers_name_themselves_when_the_dim_is_missing_or_out_of_range():
    with pytest.raises(ShapeError, match=r"^Softmax\(dim=None\): no dim given; expected"):
        activation.Softmax()(cr.randn(2, 3))
    with pytest.raises(IndexingError, match=r"^LogSoftmax\(dim=2\): dim 2 is out of range .* expected -2 <= dim <= 1"):
        activation.LogSoftmax(dim=2)(cr.randn(2, 3))


def test_bad_options_are_refused_with_the_op_name():
    with pytest.raises(ShapeError, match=r"^gelu: unknown approximation; expected one of \('none', 'tanh'\), got 'erf'"):
        gelu(cr.randn(3), approximate="erf")
    with pytest.raises(ShapeError, match=r"^GELU: unknown approximation"):
        activation.GELU("fast")
    with pytest.raises(ShapeError, match=r"^softplus: beta divides the result; expected beta != 0"):
        softplus(cr.randn(3), beta=0)
    with pytest.raises(DTypeError, match=r"^leaky_relu: negative_slope must be a number; expected"):
        leaky_relu(cr.randn(3), negative_slope="0.1")
    with pytest.raises(DTypeError, match=r"^elu: alpha must be a number"):
        elu(cr.randn(3), alpha=None)


def test_integer_inputs_become_float32():
    for fn in (leaky_relu, elu, gelu, silu, softplus, erf):
        assert fn(cr.tensor([-1, 0, 2])).dtype == np.float32


def test_layers_have_no_parameters_and_work_in_a_sequential():
    model = nn.Sequential(nn.Linear(3, 4), activation.GELU(), nn.Linear(4, 2), activation.LogSoftmax(dim=1))
    assert len(list(model.parameters())) == 4
    assert list(activation.SiLU().parameters()) == []
    out = model(cr.randn(5, 3))
    np.testing.assert_allclose(np.exp(out.numpy()).sum(1), 1.0, rtol=1e-6)
