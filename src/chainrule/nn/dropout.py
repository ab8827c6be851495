"""Dropout: zero random activations while training, scaling the rest so the expectation is kept."""

from chainrule import _random
from chainrule.autograd.tape import outside_ops
from chainrule.errors import ShapeError
from chainrule.nn.module import Module
from chainrule.ops._operands import as_tensor
from chainrule.tensor import Tensor

__all__ = ["Dropout", "Dropout2d", "dropout", "dropout2d"]


def _check_p(op, p):
    if not 0.0 <= p <= 1.0:
        raise ShapeError(f"{op}: dropout probability out of range; expected 0 <= p <= 1, got {p}.")


def _apply_mask(input, p, mask_shape):
    """``input`` times a constant mask of 0 (probability p) and 1 / (1 - p), drawn from the seeded generator."""
    outside_ops("dropout draws a new random mask on every call")
    dtype = input.data.dtype
    keep = (_random.generator().random(mask_shape) >= p).astype(dtype)
    if p < 1:
        keep *= dtype.type(1.0 / (1.0 - p))
    return input * Tensor._wrap(keep)


def dropout(input, p=0.5, training=True):
    """Zero each element with probability ``p`` and scale the others by 1 / (1 - p) (training only)."""
    _check_p("dropout", p)
    input = as_tensor(input)
    if not training or p == 0.0:
        return input
    return _apply_mask(input, p, input.shape)


def dropout2d(input, p=0.5, training=True):
    """Zero whole channels (dim 1 of (N, C, H, W) or dim 0 of (C, H, W)) with probability ``p``."""
    _check_p("dropout2d", p)
    input = as_tensor(input)
    if input.ndim not in (3, 4):
        raise ShapeError(f"dropout2d: expected a (N, C, H, W) or (C, H, W) input, got shape {input.shape}.")
    if not training or p == 0.0:
        return input
    return _apply_mask(input, p, input.shape[:-2] + (1, 1))


class Dropout(Module):
    """Randomly zero elements with probability ``p`` in training mode; the identity in eval mode."""

    def __init__(self, p=0.5):
        super().__init__()
        _check_p("Dropout", p)
        self.p = p

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Dropout2d(Module):
    """Randomly zero whole channels with probability ``p`` in training mode."""

    def __init__(self, p=0.5):
        super().__init__()
        _check_p("Dropout2d", p)
        self.p = p

    def forward(self, x):
        return dropout2d(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
