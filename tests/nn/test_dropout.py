"""Dropout keeps the expectation, is the identity in eval mode, and drops whole channels in 2d."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError


def test_dropout_zeroes_about_p_and_keeps_the_mean():
    cr.manual_seed(0)
    x = cr.ones(200, 200, requires_grad=True)
    out = nn.Dropout(0.3)(x)
    kept = out.numpy() != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(out.numpy()[kept], 1 / 0.7, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), out.numpy(), rtol=1e-6)


def test_dropout_is_identity_in_eval_mode_and_when_p_is_zero():
    layer = nn.Dropout(0.5).eval()
    x = cr.randn(4, 4)
    assert layer(x) is x and nn.functional.dropout(x, 0.0) is x


def test_dropout2d_drops_whole_channels():
    cr.manual_seed(1)
    out = nn.Dropout2d(0.5)(cr.ones(8, 16, 3, 3)).numpy()
    per_channel = out.reshape(8, 16, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1)).all()


def test_dropout_probability_is_checked():
    with pytest.raises(ShapeError, match=r"Dropout: dropout probability out of range; expected 0 <= p <= 1"):
        nn.Dropout(1.5)
