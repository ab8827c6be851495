"""L1/L2 penalties: values, gradients, which parameters they see, and their errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn.regularization import l1_penalty, l2_penalty


class Scaled(nn.Module):
    """A stand-in for a normalization layer: a 1-d scale and shift after a linear layer."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 4)
        self.scale = nn.Parameter(cr.ones(4))
        self.shift = nn.Parameter(cr.zeros(4))
        self.head = nn.Linear(4, 2, bias=False)

    def forward(self, x):
        return self.head(self.linear(x) * self.scale + self.shift)


def _model():
    cr.manual_seed(0)
    return Scaled().double()


def test_penalties_sum_only_weight_matrices_by_default():
    model = _model()
    w1, w2 = model.linear.weight.numpy(), model.head.weight.numpy()
    assert l1_penalty(model, 0.1).item() == pytest.approx(0.1 * (np.abs(w1).sum() + np.abs(w2).sum()), rel=1e-12)
    assert l2_penalty(model, 0.1).item() == pytest.approx(0.1 * ((w1 ** 2).sum() + (w2 ** 2).sum()), rel=1e-12)


def test_gradients_are_weight_times_sign_and_two_weight_times_w_and_skip_biases():
    model = _model()
    (l1_penalty(model, 0.3) + l2_penalty(model, 0.05)).backward()
    for layer in (model.linear, model.head):
        w = layer.weight.numpy()
        np.testing.assert_allclose(layer.weight.grad.numpy(), 0.3 * np.sign(w) + 2 * 0.05 * w, rtol=1e-12)
    assert model.linear.bias.grad is None and model.scale.grad is None and model.shift.grad is None


def test_include_chooses_the_parameters():
    model = _model()
    everything = l2_penalty(model, 1.0, include=lambda name, p: True).item()
    expected = sum(float((p.numpy() ** 2).sum()) for p in model.parameters())
    assert everything == pytest.approx(expected, rel=1e-12)
    only_head = l1_penalty(model, 2.0, include=lambda name, p: name.startswith("head."))
    assert only_head.item() == pytest.approx(2.0 * np.abs(model.head.weight.numpy()).sum(), rel=1e-12)


def test_penalty_adds_to_a_loss_and_keeps_the_dtype():
    model = _model()
    x, y = cr.randn(5, 3, dtype=cr.float64), cr.randn(5, 2, dtype=cr.float64)
    loss = nn.functional.mse_loss(model(x), y) + l2_penalty(model, 1e-3)
    assert loss.dtype == np.float64 and loss.ndim == 0
    loss.backward()
    assert model.head.weight.grad is not None and model.scale.grad is not None
    assert l1_penalty(nn.Linear(2, 2), 0.5).dtype == np.float32


def test_nothing_selected_gives_zero():
    assert l2_penalty(_model(), 1.0, include=lambda name, p: False).item() == 0.0
    assert l1_penalty(nn.Sequential(), 1.0).item() == 0.0


def test_bad_arguments_are_refused():
    with pytest.raises(ShapeError, match=r"^l2_penalty: weight must not be negative; expected weight >= 0, got -0.1"):
        l2_penalty(_model(), -0.1)
    with pytest.raises(DTypeError, match=r"^l1_penalty: expected a Module whose parameters to penalise, got list"):
        l1_penalty([cr.ones(2, 2)], 0.1)
    with pytest.raises(DTypeError, match=r"^l1_penalty: weight must be a number"):
        l1_penalty(_model(), "0.1")
