"""Turning the operands of an op into Tensors of one dtype, by PyTorch's promotion rules."""

import numpy as np

from chainrule import _dtypes
from chainrule.errors import ShapeError
from chainrule.tensor import Tensor

__all__ = ["as_tensor", "cached_constant", "common_operands", "same_dtype"]


_constants = {}
_MAX_CONSTANTS = 512


def as_tensor(x, like=None):
    """Return ``x`` as a Tensor: Tensors pass through, Python numbers follow ``like``'s dtype.

    The constants Python numbers become are cached: ``x ** 2`` in a training loop reuses one
    0-d array instead of building one per step (ops never write into their inputs).
    """
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, (int, float, bool)):
        key = _constant_key(x, like)
        constant = _constants.get(key)
        if constant is None:
            constant = Tensor._wrap(_dtypes.lift(x, like.data))
            constant.data.flags.writeable = False
            if len(_constants) < _MAX_CONSTANTS and x == x and x != 0:  # NaN never matches; -0.0 == 0.0
                _constants[key] = constant
        return constant
    return Tensor._wrap(_dtypes.as_array(x, copy=False))


def _constant_key(x, like):
    """Where the constant a Python number becomes beside ``like`` is cached: 2 and 2.0 apart."""
    return type(x), x, like.data.dtype


def cached_constant(x, like):
    """The Tensor a Python number already became beside ``like``'s dtype, or None (see as_tensor)."""
    try:
        return _constants.get(_constant_key(x, like))
    except TypeError:  # an unhashable operand (a list): not a cached number
        return None


def common_operands(a, b):
    """Two operands as Tensors sharing one dtype (a float tensor wins over ints and Python numbers)."""
    a_tensor, b_tensor = isinstance(a, Tensor), isinstance(b, Tensor)
    if a_tensor and b_tensor:
        if a.data.dtype is b.data.dtype:
            return a, b
    elif a_tensor:
        b = as_tensor(b, like=a)
        if b.data.dtype is a.data.dtype:  # a Python number lifted to the tensor's dtype: nothing to promote
            return a, b
    elif b_tensor:
        a = as_tensor(a, like=b)
        if a.data.dtype is b.data.dtype:
            return a, b
    else:
        a = as_tensor(a)
        b = as_tensor(b, like=a)
    dtype = _dtypes.promote(a.data, b.data)
    if a.data.dtype != dtype:
        a = a.to(dtype)
    if b.data.dtype != dtype:
        b = b.to(dtype)
    return a, b


def same_dtype(op, tensors):
    """A non-empty sequence of operands as Tensors of their common dtype (for cat, stack, einsum)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ShapeError(f"{op}: no tensors given; expected a non-empty sequence of tensors.")
    dtype = tensors[0].data.dtype
    for t in tensors[1:]:
        dtype = _dtypes.promote(np.empty(0, dtype), t.data)
    return [t if t.data.dtype == dtype else t.to(dtype) for t in tensors]


def float_dtype_of(*tensors):
    """The dtype a division or a mean produces: the float dtype of the inputs, else the default."""
    for t in tensors:
        if t.data.dtype.kind == "f":
            return t.data.dtype
    return _dtypes.DEFAULT_FLOAT


def plain_array(x):
    """Index-like values (Tensors, lists) as arrays, for ops that take indices."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, list):
        return np.asarray(x)
    return x
