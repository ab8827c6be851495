"""The article's hand-written NumPy backprop, corrected, agrees with chainrule's autograd."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.apps import xor_numpy
from chainrule.errors import ShapeError


def _params(seed=3):
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(2, 2)), "b1": rng.normal(size=2), "W2": rng.normal(size=(2, 1)),
            "b2": rng.normal(size=1)}


def test_hand_written_gradients_equal_autograd_in_float64():
    params = _params()
    loss, grads = xor_numpy.gradients(params)
    tensors = {name: cr.tensor(value, requires_grad=True) for name, value in params.items()}
    hidden = (cr.tensor(xor_numpy.X) @ tensors["W1"] + tensors["b1"]).sigmoid()
    output = (hidden @ tensors["W2"] + tensors["b2"]).sigmoid()
    autograd_loss = ((output - cr.tensor(xor_numpy.Y)) ** 2).mean()
    autograd_loss.backward()
    assert autograd_loss.item() == pytest.approx(loss, rel=1e-12)
    for name in params:
        np.testing.assert_allclose(tensors[name].grad.numpy(), grads[name], rtol=1e-10, atol=1e-14)


def test_corrected_example_converges_and_learns_xor():
    params, losses = xor_numpy.train_xor_numpy()
    assert losses[-1] < 0.005 < losses[0]
    _, output = xor_numpy.forward(params, xor_numpy.X)
    np.testing.assert_array_equal(output.round(), xor_numpy.Y)


def test_the_articles_two_bugs_fail_as_described():
    # Bug 1: W1 of shape (3, 2) for 2 inputs; chainrule names the op and both shapes.
    with pytest.raises(ShapeError, match=r"matmul: inner dimensions differ.*\(4, 2\).*\(3, 2\)"):
        cr.tensor(xor_numpy.X) @ cr.tensor(np.ones((3, 2)))
    # Bug 2: adding the gradient climbs the error instead of descending it.
    params = _params()
    before, grads = xor_numpy.gradients(params)
    uphill = {name: value + 0.1 * grads[name] for name, value in params.items()}
    downhill = {name: value - 0.1 * grads[name] for name, value in params.items()}
    assert xor_numpy.gradients(uphill)[0] > before > xor_numpy.gradients(downhill)[0]
