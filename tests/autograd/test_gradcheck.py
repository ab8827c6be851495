"""gradcheck, gradgradcheck and gradcheck_model catch wrong gradients and say where."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function, gradcheck, gradcheck_model, gradgradcheck
from chainrule.errors import GradError


class WrongSquare(Function):
    """x**2 with a deliberately wrong derivative (3x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved
        return grad_out * 3 * x


class CubeWithFrozenSecondOrder(Function):
    """x**3 whose first derivative is right but treats x as a constant when differentiated again."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved
        frozen = x.detach() if isinstance(x, cr.Tensor) else x
        return grad_out * 3 * frozen * frozen


def test_gradcheck_accepts_a_correct_composite():
    x = cr.tensor([[0.3, -1.2], [2.0, 0.7]], requires_grad=True)
    w = cr.tensor([[1.0], [-0.5]], requires_grad=True)
    assert gradcheck(lambda a, b: (a @ b).tanh(), [x, w])


def test_gradcheck_names_input_element_and_both_values():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradError) as info:
        gradcheck(WrongSquare.apply, [x], name="WrongSquare")
    message = str(info.value)
    assert "WrongSquare" in message and "input 0" in message and "element (0,)" in message
    numeric, analytic = (float(v) for v in re.search(r"expected (\S+) \(numeric\), got (\S+) \(analytic\)",
                                                      message).groups())
    assert analytic / numeric == pytest.approx(1.5, rel=1e-5)


def test_gradcheck_checks_only_inputs_that_require_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    constant = cr.tensor([3.0, 4.0])
    assert gradcheck(lambda a, c: a * c, [x, constant])


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable_correctly():
    x = cr.tensor([1.5, -0.5], dtype=cr.float64, requires_grad=True)
    assert gradcheck(CubeWithFrozenSecondOrder.apply, [x])
    with pytest.raises(GradError, match="d/dx"):
        gradgradcheck(CubeWithFrozenSecondOrder.apply, [x])


class TinyModel:
    """A model in the shape every nn.Module will have: named_parameters() and a call."""

    def __init__(self, square=lambda t: t * t):
        rng = np.random.default_rng(0)
        self.weight = cr.tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True)
        self.bias = cr.tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
        self.square = square

    def named_parameters(self):
        return [("weight", self.weight), ("bias", self.bias)]

    def __call__(self, x):
        return self.square((x @ self.weight + self.bias).sigmoid())


def _mse(prediction, target):
    return ((prediction - target) ** 2).mean()


def test_gradcheck_model_reports_every_parameter_and_restores_the_model():
    model = TinyModel()
    weight_before = model.weight.data.copy()
    x = cr.tensor(np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32))
    y = cr.tensor(np.ones((4, 2), dtype=np.float32))
    report = gradcheck_model(model, _mse, x, y, coordinates=4)
    assert report.passed
    assert [row.name for row in report] == ["weight", "bias"]
    assert [row.checked for row in report] == [4, 2]
    assert all(row.max_rel_error < 1e-5 for row in report)
    assert "backprop matches finite differences" in str(report)
    assert model.weight.dtype == np.float32 and model.weight.grad is None
    np.testing.assert_array_equal(model.weight.data, weight_before)


def test_gradcheck_model_flags_a_wrong_gradient():
    model = TinyModel(square=WrongSquare.apply)
    x = cr.tensor(np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32))
    y = cr.tensor(np.ones((4, 2), dtype=np.float32))
    report = gradcheck_model(model, _mse, x, y)
    assert not report.passed
    assert "NO" in str(report) and "DIFFERS" in str(report)
