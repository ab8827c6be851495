"""Tensor: one ndarray plus what autograd needs to know about it.

A Tensor holds its values in ``.data`` (a NumPy array), and, when it was computed from tensors
that require a gradient, the graph node that made it in ``.grad_fn``. Its operators and methods
call registered Functions (see ``chainrule.ops``); no derivative math lives here.
"""

import numpy as np

from chainrule import _dtypes
from chainrule._checks import normalize_dim
from chainrule.errors import DTypeError, GradError, ShapeError

__all__ = ["Tensor"]


class Tensor:
    """A multi-dimensional array that records the operations applied to it.

    Args:
        data: nested Python lists or numbers, an ndarray, or another Tensor (copied).
        dtype: float32 (default for Python floats), float64, int64 or bool.
        requires_grad: record operations on this tensor so ``backward`` can reach it.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([[1.0, 2.0]], requires_grad=True)
        >>> loss = (w * w).sum()
        >>> loss.backward()
        >>> w.grad
        tensor([[2., 4.]])
    """

    __slots__ = ("data", "requires_grad", "grad", "grad_fn", "_hooks", "__weakref__")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, data, dtype=None, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        self.data = _dtypes.as_array(data, dtype)
        self.grad = None
        self.grad_fn = None
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array, requires_grad=False, grad_fn=None):
        """Wrap an ndarray without copying or checking it (internal fast path)."""
        out = object.__new__(cls)
        out.data = array if type(array) is np.ndarray else np.asarray(array)
        out.requires_grad = requires_grad
        out.grad = None
        out.grad_fn = grad_fn
        out._hooks = None
        return out

    # --- what it is -----------------------------------------------------------------------
    @property
    def shape(self):
        """The size of each dimension, a tuple."""
        return self.data.shape

    @property
    def ndim(self):
        """The number of dimensions."""
        return self.data.ndim

    @property
    def dtype(self):
        """The element type, a ``numpy.dtype`` (chainrule.float32, float64, int64 or bool)."""
        return self.data.dtype

    def size(self, dim=None):
        """The shape, or the size of one dimension."""
        if dim is None:
            return self.data.shape
        return self.data.shape[_checked_dim("size", dim, self.data.ndim)]

    def numel(self):
        """The number of elements."""
        return self.data.size

    @property
    def is_leaf(self):
        """True for tensors created by the user rather than computed by an op that records a graph."""
        return self.grad_fn is None

    # --- autograd -------------------------------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        """Set whether autograd records operations on this leaf; returns the tensor."""
        if self.grad_fn is not None and not requires_grad:
            raise GradError("requires_grad_: only leaf tensors can stop requiring grad; expected a leaf, "
                            "got a tensor computed by an op. Hint: use detach().")
        if requires_grad and self.data.dtype.kind != "f":
            raise DTypeError(f"requires_grad_: only floating point tensors can require gradients; expected "
                             f"float32 or float64, got {self.data.dtype}.")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """A tensor sharing this one's data, cut from the graph."""
        return Tensor._wrap(self.data)

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Compute the gradient of this tensor with respect to every leaf and add it to their ``.grad``.

        Args:
            gradient: the upstream gradient, same shape as this tensor; omit for a scalar.
            retain_graph: keep the graph's saved arrays for another backward (default: create_graph).
            create_graph: record the backward pass, so gradients can be differentiated again.
        """
        _engine.backward(self, gradient, retain_graph, create_graph)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor replaces it.

        Returns a handle whose ``remove()`` unregisters the hook.
        """
        if not self.requires_grad:
            raise GradError("register_hook: the tensor does not require grad; expected requires_grad=True.")
        return _engine.add_hook(self, hook)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if not self.requires_grad:
            raise GradError("retain_grad: the tensor does not require grad; expected requires_grad=True.")
        _engine.retain_grad(self)

    # --- conversions ----------------------------------------------------------------------
    def numpy(self):
        """The values as an ndarray (shared, read-only when the tensor requires grad)."""
        if self.requires_grad:
            view = self.data.view()
            view.flags.writeable = False
            return view
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise _shape_error("item", "only one-element tensors can be converted to a Python number",
                               "1 element", f"shape {self.shape}")
        return self.data.item()

    def tolist(self):
        """The values as nested Python lists."""
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        if dtype is not None:
            return self.data.astype(dtype, copy=bool(copy))
        return self.data.copy() if copy else self.data

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise _shape_error("bool", "the truth value of a tensor with more than one element is "
                               "ambiguous", "1 element", f"shape {self.shape}. Hint: use .any() or .all()")
        return bool(self.data)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    __hash__ = object.__hash__

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype not in (_dtypes.float32, _dtypes.int64, _dtypes.bool_) or self.data.size == 0:
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __setitem__(self, index, value):
        if self.requires_grad and _engine.grad_mode.enabled:
            raise GradError("setitem: a tensor that requires grad cannot be written in place while the "
                            "graph is recorded; expected the write inside chainrule.no_grad().")
        if isinstance(index, Tensor):
            index = index.data
        self.data[index] = value.data if isinstance(value, Tensor) else value


def _shape_error(op, what, expected, got):
    return ShapeError(f"{op}: {what}; expected {expected}, got {got}.")


def _checked_dim(op, dim, ndim):
    return normalize_dim(op, dim, ndim)


# The ops are imported after Tensor exists: they build Tensors, and Tensor's methods are theirs.
from chainrule.autograd import engine as _engine  # noqa: E402
from chainrule import ops as _ops  # noqa: E402

_ops.attach_methods(Tensor)
