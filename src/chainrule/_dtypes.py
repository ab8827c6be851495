"""The dtypes a Tensor may hold, the default float, and how Python numbers are lifted.

chainrule keeps PyTorch's rules where NumPy's differ: Python floats default to float32, an
integer tensor combined with a float tensor gives the float tensor's dtype (NumPy would give
float64), and a Python number never changes the dtype of the tensor it meets.
"""

import numpy as np

from chainrule.errors import DTypeError

__all__ = ["float32", "float64", "int64", "bool_", "ALLOWED", "DEFAULT_FLOAT", "resolve", "resolve_float", "as_array"]

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

ALLOWED = (float32, float64, int64, bool_)
DEFAULT_FLOAT = float32

_NAMES = {"float32": float32, "float": float32, "float64": float64, "double": float64,
          "int64": int64, "long": int64, "bool": bool_}


def resolve(dtype):
    """Return the allowed ``np.dtype`` named by ``dtype`` (a dtype, a NumPy type, a string, float/int/bool)."""
    if dtype is float:
        return float32
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    if isinstance(dtype, str) and dtype in _NAMES:
        return _NAMES[dtype]
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in ALLOWED:
        raise DTypeError(
            f"dtype: unsupported dtype; expected one of float32, float64, int64, bool, got {dtype!r}.")
    return resolved


def resolve_float(owner, dtype):
    """The float dtype named by ``dtype`` (the default float when None), else a DTypeError naming ``owner``."""
    resolved = DEFAULT_FLOAT if dtype is None else resolve(dtype)
    if resolved.kind != "f":
        raise DTypeError(f"{owner}: needs a floating point dtype; expected float32 or float64, got {resolved}.")
    return resolved


def _convert_kind(array):
    """Map an ndarray of any numeric dtype onto the nearest allowed dtype."""
    kind = array.dtype.kind
    if array.dtype in ALLOWED:
        return array
    if kind == "f":
        return array.astype(float32)  # float16 and long double
    if kind in "iu":
        return array.astype(int64)
    raise DTypeError(
        f"tensor: unsupported data dtype; expected numbers or booleans, got dtype {array.dtype}.")


def as_array(data, dtype=None, copy=True):
    """Turn Python data or an ndarray into an ndarray of an allowed dtype.

    Python floats become float32 (the default), Python ints int64, bools bool; an ndarray keeps
    its dtype when allowed (float64 stays float64), and other numeric dtypes move to the nearest.
    """
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        array = np.array(data, copy=copy) if copy else np.asarray(data)
        array = _convert_kind(array)
    else:
        target = None if dtype is None else resolve(dtype)
        try:
            array = np.array(data, dtype=target)  # straight to the asked dtype: no float32 detour
        except (ValueError, TypeError) as exc:
            raise DTypeError(f"tensor: cannot build a tensor from the data; expected a rectangular (not "
                             f"ragged) nested list of numbers, got {type(data).__name__} ({exc}).") from None
        if target is not None:
            return array
        if array.dtype.kind == "f":
            array = array.astype(DEFAULT_FLOAT)
        elif array.dtype.kind == "O" or array.dtype.kind in "USV":
            raise DTypeError(f"tensor: unsupported data; expected numbers or booleans, got "
                             f"{type(data).__name__} holding dtype {array.dtype}.")
        else:
            array = _convert_kind(array)
    if dtype is not None:
        dtype = resolve(dtype)
        if array.dtype != dtype:
            array = array.astype(dtype)
    return array


def lift(value, like):
    """Return a Python number as a 0-d array whose dtype follows the array ``like``.

    ``like`` keeps its dtype (float32 * 2.5 stays float32); only an int or bool tensor meeting a
    Python float moves to the default float, as in PyTorch.
    """
    kind = like.dtype.kind
    if isinstance(value, bool):
        return np.array(value, dtype=like.dtype if kind != "b" else bool_)
    if isinstance(value, int):
        return np.array(value, dtype=like.dtype if kind in "fi" else int64)
    if isinstance(value, float):
        return np.array(value, dtype=like.dtype if kind == "f" else DEFAULT_FLOAT)
    raise DTypeError(f"operand: unsupported Python value; expected a number, a Tensor or an ndarray, "
                     f"got {type(value).__name__}.")


def promote(a, b):
    """Return the common dtype of two arrays by PyTorch's rules.

    A float beats an int or bool, and between floats a 0-d tensor does not widen a tensor with
    dimensions (float32 matrix + float64 scalar tensor stays float32).
    """
    if a.dtype is b.dtype or a.dtype == b.dtype:
        return a.dtype
    a_float, b_float = a.dtype.kind == "f", b.dtype.kind == "f"
    if a_float and not b_float:
        return a.dtype
    if b_float and not a_float:
        return b.dtype
    if a_float and b_float and (a.ndim == 0) != (b.ndim == 0):
        return b.dtype if a.ndim == 0 else a.dtype  # a 0-d tensor does not widen a dimensioned one
    return np.promote_types(a.dtype, b.dtype)
