"""Functions that make new tensors: from data, filled with a constant, ranges, and random draws."""

import numpy as np

from chainrule import _dtypes, _random
from chainrule._checks import shape_tuple
from chainrule.errors import DTypeError, ShapeError
from chainrule.tensor import Tensor

__all__ = ["tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like", "arange", "eye",
           "rand", "randn"]


def tensor(data, dtype=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (nested lists, numbers, an ndarray or a Tensor).

    Python floats become float32; a float64 ndarray stays float64; ints become int64.

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([[1, 2], [3, 4]]).dtype
        dtype('int64')
        >>> cr.tensor([0.5, 1.5]).dtype
        dtype('float32')
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array):
    """A tensor that shares memory with ``array`` (no copy); its dtype must be one chainrule supports."""
    if not isinstance(array, np.ndarray):
        raise DTypeError(f"from_numpy: expected an ndarray, got {type(array).__name__}.")
    if array.dtype not in _dtypes.ALLOWED:
        raise DTypeError(f"from_numpy: unsupported dtype; expected float32, float64, int64 or bool, got "
                         f"{array.dtype}. Hint: chainrule.tensor(array) converts with a copy.")
    return Tensor._wrap(array)


def _checked_shape(op, shape):
    shape = shape_tuple(op, shape)
    if any(s < 0 for s in shape):
        raise ShapeError(f"{op}: negative dimension; expected sizes >= 0, got shape {shape}.")
    return shape


def _new(op, shape, dtype, requires_grad, fill):
    dtype = _dtypes.DEFAULT_FLOAT if dtype is None else _dtypes.resolve(dtype)
    return Tensor(fill(_checked_shape(op, shape), dtype), requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad=False):
    """A tensor of zeros; ``zeros(2, 3)`` and ``zeros((2, 3))`` alike."""
    return _new("zeros", shape, dtype, requires_grad, np.zeros)


def ones(*shape, dtype=None, requires_grad=False):
    """A tensor of ones."""
    return _new("ones", shape, dtype, requires_grad, np.ones)


def full(shape, fill_value, dtype=None, requires_grad=False):
    """A tensor of ``shape`` filled with ``fill_value`` (dtype inferred from it when not given)."""
    if dtype is None:
        dtype = _dtypes.as_array(fill_value).dtype
    return Tensor(np.full(_checked_shape("full", (shape,)), fill_value, dtype=_dtypes.resolve(dtype)),
                  requires_grad=requires_grad)


def zeros_like(input, dtype=None, requires_grad=False):
    """Zeros with the shape (and dtype, unless given) of ``input``."""
    return Tensor(np.zeros(input.shape, dtype=input.dtype if dtype is None else _dtypes.resolve(dtype)),
                  requires_grad=requires_grad)


def ones_like(input, dtype=None, requires_grad=False):
    """Ones with the shape (and dtype, unless given) of ``input``."""
    return Tensor(np.ones(input.shape, dtype=input.dtype if dtype is None else _dtypes.resolve(dtype)),
                  requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, end): int64 for int arguments, float32 otherwise."""
    if end is None:
        start, end = 0, start
    if not all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in (start, end, step)):
        raise DTypeError(f"arange: start, end and step must be numbers; expected ints or floats, got "
                         f"{start!r}, {end!r}, {step!r}.")
    if step == 0:
        raise ShapeError("arange: step must not be zero; expected a positive or negative step, got 0.")
    values = np.arange(start, end, step)
    if dtype is None and values.dtype.kind == "f":
        dtype = _dtypes.DEFAULT_FLOAT
    return Tensor(values, dtype=dtype, requires_grad=requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    """The n x m identity matrix (square when m is None)."""
    return Tensor(np.eye(n, m, dtype=_dtypes.DEFAULT_FLOAT if dtype is None else _dtypes.resolve(dtype)),
                  requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform draws from [0, 1), from chainrule's seeded generator."""
    return _new("rand", shape, _dtypes.resolve_float("rand", dtype), requires_grad,
                lambda s, d: _random.generator().random(s, dtype=d))


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal draws, from chainrule's seeded generator."""
    return _new("randn", shape, _dtypes.resolve_float("randn", dtype), requires_grad,
                lambda s, d: _random.generator().standard_normal(s, dtype=d))
