"""Validators shared by ops and layers; each raises the standard message of chainrule.errors."""

import operator

import numpy as np

from chainrule.errors import IndexingError, ShapeError

__all__ = ["normalize_dim", "normalize_dims", "shape_tuple"]


def normalize_dim(op, dim, ndim):
    """Return ``dim`` as a non-negative int, or raise IndexingError naming ``op``."""
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise ShapeError(f"{op}: dim must be an int; expected an int, got {dim!r}.")
    lowest, highest = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not lowest <= dim <= highest:
        raise IndexingError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions; "
                            f"expected {lowest} <= dim <= {highest}.")
    return dim % ndim if ndim else 0


def normalize_dims(op, dims, ndim):
    """Return ``dims`` (an int, a sequence, or None for all) as a sorted tuple of distinct dims."""
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, int):
        dims = (dims,)
    normalized = tuple(sorted(normalize_dim(op, d, ndim) for d in dims))
    if ndim == 0:
        return ()  # a 0-d tensor accepts dim 0 or -1, as PyTorch, and has nothing to reduce
    if len(set(normalized)) != len(normalized):
        raise ShapeError(f"{op}: a dim appears more than once; expected distinct dims, got {tuple(dims)}.")
    return normalized


def shape_tuple(op, shape):
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike; return a tuple of ints."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    try:
        if any(isinstance(s, bool) for s in shape):
            raise TypeError
        return tuple(operator.index(s) for s in shape)
    except TypeError:
        raise ShapeError(f"{op}: shape must hold ints; expected a tuple of ints, got {shape!r}.") from None
