"""clip_grad_norm_ and clip_grad_value_ against PyTorch."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import GradError
from chainrule.optim import OptimizerError, clip_grad_norm_, clip_grad_value_

torch = pytest.importorskip("torch")


def _pairs(scale, dtype=np.float64, seed=0):
    """Three parameters (one without a gradient) in both libraries, with the same gradients."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2)]
    ours = [nn.Parameter(cr.zeros(*shape, dtype=dtype)) for shape in shapes]
    torch_dtype = getattr(torch, np.dtype(dtype).name)
    theirs = [torch.zeros(shape, dtype=torch_dtype, requires_grad=True) for shape in shapes]
    for index in (0, 1):
        grad = (rng.standard_normal(shapes[index]) * scale).astype(dtype)
        ours[index].grad = cr.tensor(grad)
        theirs[index].grad = torch.from_numpy(grad.copy())
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm, scale", [(1.0, 5.0), (100.0, 1.0), (0.0, 1.0)])
def test_clip_grad_norm_matches_pytorch(norm_type, max_norm, scale):
    ours, theirs = _pairs(scale)
    kept = ours[0].grad.data
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type, foreach=False)
    assert isinstance(total, cr.Tensor) and total.item() == pytest.approx(expected.item(), rel=1e-12)
    for mine, reference in zip(ours, theirs):
        if reference.grad is None:
            assert mine.grad is None
        else:
            np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-12, atol=1e-15)
    if max_norm < total.item():  # clipping wrote new arrays and left the old one alone
        assert ours[0].grad.data is not kept and not np.array_equal(kept, ours[0].grad.numpy())


def test_clip_grad_norm_float32_and_a_single_tensor():
    ours, theirs = _pairs(10.0, dtype=np.float32)
    total = clip_grad_norm_(ours[0], 2.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs[0], 2.0)
    assert total.dtype == np.float32 and ours[0].grad.dtype == np.float32
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    np.testing.assert_allclose(ours[0].grad.numpy(), theirs[0].grad.numpy(), rtol=1e-6)
    assert clip_grad_norm_([nn.Parameter(cr.zeros(2))], 1.0).item() == 0.0  # no gradients at all


def test_clip_grad_norm_nonfinite():
    weight = nn.Parameter(cr.zeros(2))
    weight.grad = cr.tensor([math.inf, 1.0])
    with pytest.raises(GradError, match=r"^clip_grad_norm_: the total norm of order 2.0 of the gradients is inf"):
        clip_grad_norm_([weight], 1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_([weight], 1.0).item())
    reference = torch.tensor([0.0, 0.0], requires_grad=True)
    reference.grad = torch.tensor([math.inf, 1.0])
    torch.nn.utils.clip_grad_norm_([reference], 1.0)
    np.testing.assert_array_equal(weight.grad.numpy(), reference.grad.numpy())


@pytest.mark.parametrize("clip_value", [0.5, 2.0, 0.0])
def test_clip_grad_value_matches_pytorch(clip_value):
    ours, theirs = _pairs(3.0)
    kept = ours[0].grad.numpy().copy()
    original = ours[0].grad.data
    clip_grad_value_(ours, clip_value)
    torch.nn.utils.clip_grad_value_(theirs, clip_value, foreach=False)
    for mine, reference in zip(ours, theirs):
        assert (mine.grad is None) == (reference.grad is None)
        if reference.grad is not None:
            np.testing.assert_array_equal(mine.grad.numpy(), reference.grad.numpy())
    np.testing.assert_array_equal(original, kept)


def test_bad_arguments():
    weight = nn.Parameter(cr.zeros(2))
    weight.grad = cr.ones(2)
    with pytest.raises(OptimizerError, match=r"^clip_grad_norm_: invalid norm_type; expected a number > 0 or inf"):
        clip_grad_norm_([weight], 1.0, norm_type=-1)
    with pytest.raises(OptimizerError, match=r"^clip_grad_norm_: invalid max_norm"):
        clip_grad_norm_([weight], "big")
    with pytest.raises(OptimizerError, match=r"^clip_grad_value_: invalid clip_value; expected a number >= 0, "
                                             r"got -1\."):
        clip_grad_value_([weight], -1)
