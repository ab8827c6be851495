"""Reading and writing by index: ``x[index]``, index_put, gather, scatter_add, masked_fill."""

import numpy as np

from chainrule._checks import normalize_dim
from chainrule.autograd import _vjp_math
from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, values
from chainrule.errors import IndexingError, ShapeError
from chainrule.ops._operands import as_tensor, common_operands
from chainrule.ops.binary import where
from chainrule.tensor import Tensor

__all__ = ["getitem", "index_put", "gather", "scatter_add", "masked_fill"]


def _has_integer_array(index):
    """True if the index holds an integer array, the one kind that may repeat a position."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in parts)


def _plain_index(index):
    """Replace Tensors and lists inside an index by ndarrays; keep slices, ints, None, Ellipsis."""
    def convert(part):
        if isinstance(part, Tensor):
            return part.data
        if isinstance(part, list):
            return np.asarray(part)
        return part
    if isinstance(index, tuple):
        return tuple(convert(p) for p in index)
    return convert(index)


def _describe_index_error(cls, exc, arrays, options):
    kind = IndexingError if isinstance(exc, IndexError) else ShapeError
    return kind(f"{cls.name}: invalid index for a tensor of shape {arrays[0].shape}; expected indices "
                f"within each dim's size, got index {options['index']!r} ({exc}).")


def _getitem_samples(rng):
    x = values(rng, (4, 3))
    return [
        Sample((x,), {"index": (slice(1, 3), 0)}, "slice and int"),
        Sample((x,), {"index": (None, Ellipsis, slice(None, None, -1))}, "None, Ellipsis, negative step"),
        Sample((x,), {"index": (np.array([0, 2, 0, 0]),)}, "repeated integer rows accumulate"),
        Sample((x,), {"index": (np.array([1, 3]), np.array([2, 2]))}, "paired integer arrays"),
        Sample((x,), {"index": x > 0}, "boolean mask"),
        Sample((values(rng, (5,)),), {"index": -1}, "negative int to 0-d"),
    ]


@register("getitem", samples=_getitem_samples)
class GetItem(Function):
    """``x[index]`` with NumPy semantics.  grad_x = zeros with grad_out added at the indexed
    positions; repeated integer indices accumulate their gradients."""

    @staticmethod
    def forward(ctx, x, *, index):
        ctx.in_shape, ctx.index = x.shape, index
        ctx.accumulate = _has_integer_array(index)
        return x[index]

    @staticmethod
    def backward(ctx, grad_out):
        return ctx.xp.getitem_backward(grad_out, ctx.in_shape, ctx.index, ctx.accumulate)

    describe_error = classmethod(_describe_index_error)


def _index_put_samples(rng):
    base = values(rng, (4, 3))
    return [
        Sample((base, values(rng, (3, 3))), {"index": (np.array([0, 2, 0]),), "accumulate": True},
               "repeated rows accumulate"),
        Sample((base, values(rng, (2,))), {"index": (slice(1, 3), 1), "accumulate": False}, "overwrite a slice"),
        Sample((base, values(rng, ())), {"index": (np.array([3]), np.array([0])), "accumulate": False},
               "broadcast value"),
    ]


@register("index_put", samples=_index_put_samples)
class IndexPut(Function):
    """``out = base.copy(); out[index] = values`` (``+=`` when accumulate).

    grad_base = grad_out, zeroed at the written positions unless accumulating;
    grad_values = grad_out[index].
    """

    describe_error = classmethod(_describe_index_error)

    @staticmethod
    def forward(ctx, base, values, *, index, accumulate=False):
        ctx.index, ctx.accumulate = index, accumulate
        return _vjp_math.arrays.index_put(base, index, values, accumulate)

    @staticmethod
    def backward(ctx, grad_out):
        need_base, need_values = ctx.needs_input_grad
        grad_base = None
        if need_base:
            grad_base = grad_out if ctx.accumulate else ctx.xp.index_put(grad_out, ctx.index, 0, False)
        return grad_base, (grad_out[ctx.index] if need_values else None)


def _gather_samples(rng):
    x = values(rng, (3, 4))
    return [
        Sample((x,), {"dim": 1, "index": np.array([[0, 0], [3, 1], [2, 2]])}, "repeated columns"),
        Sample((x,), {"dim": 0, "index": np.array([[2, 0, 1, 1]])}, "index smaller than input"),
        Sample((x,), {"dim": -1, "index": np.array([[1], [0], [3]])}, "negative dim"),
    ]


@register("gather", samples=_gather_samples)
class Gather(Function):
    """``out[i][j] = x[i][index[i][j]]`` along ``dim`` (PyTorch's gather).

    grad_x = zeros with grad_out added back at the gathered positions (scatter_add).
    """

    @staticmethod
    def forward(ctx, x, *, dim, index):
        dim = normalize_dim("gather", dim, x.ndim)
        _check_index("gather", x, dim, index)
        ctx.dim, ctx.index, ctx.in_shape = dim, index, x.shape
        return _vjp_math.gather_arrays(x, dim, index)

    @staticmethod
    def backward(ctx, grad_out):
        xp = ctx.xp
        return xp.scatter_add(xp.zeros(ctx.in_shape, grad_out.dtype), ctx.dim, ctx.index, grad_out)


def _scatter_add_samples(rng):
    return [
        Sample((values(rng, (3, 4)), values(rng, (3, 2))), {"dim": 1, "index": np.array([[0, 0], [3, 1], [2, 2]])},
               "repeated targets add up"),
        Sample((values(rng, (3, 4)), values(rng, (1, 4))), {"dim": 0, "index": np.array([[2, 0, 1, 1]])},
               "one row of sources"),
    ]


@register("scatter_add", samples=_scatter_add_samples)
class ScatterAdd(Function):
    """``out = x.copy(); out[i][index[i][j]] += src[i][j]`` along ``dim`` (PyTorch's scatter_add).

    grad_x = grad_out;  grad_src = grad_out gathered at the index.
    """

    @staticmethod
    def forward(ctx, x, src, *, dim, index):
        dim = normalize_dim("scatter_add", dim, x.ndim)
        _check_index("scatter_add", x, dim, index)
        if src.shape != index.shape:
            raise ShapeError(f"scatter_add: src must have the index's shape; expected {index.shape}, "
                             f"got {src.shape}.")
        ctx.dim, ctx.index = dim, index
        return _vjp_math.scatter_add_arrays(x, dim, index, src)

    @staticmethod
    def backward(ctx, grad_out):
        need_x, need_src = ctx.needs_input_grad
        return (grad_out if need_x else None), (ctx.xp.gather(grad_out, ctx.dim, ctx.index) if need_src else None)


def _check_index(op, x, dim, index):
    if index.dtype.kind not in "iu":
        raise IndexingError(f"{op}: index must hold integers; expected an int64 tensor, got {index.dtype}.")
    if index.ndim != x.ndim or any(i > s for d, (i, s) in enumerate(zip(index.shape, x.shape)) if d != dim):
        raise ShapeError(f"{op}: index shape does not fit the input; expected {x.ndim} dims no larger than "
                         f"{x.shape} outside dim {dim}, got index shape {index.shape}.")
    if index.size and (index.min() < -x.shape[dim] or index.max() >= x.shape[dim]):
        raise IndexingError(f"{op}: index out of range; expected values in [0, {x.shape[dim]}) for dim {dim}, "
                            f"got values in [{index.min()}, {index.max()}].")


def getitem(input, index):
    """``input[index]`` with NumPy semantics: slices, ints, None, Ellipsis, boolean masks, int arrays."""
    return GetItem.apply(as_tensor(input), index=_plain_index(index))


def index_put(input, indices, values, accumulate=False):
    """A copy of ``input`` with ``values`` written (or added, if accumulate) at ``indices``."""
    input, values = common_operands(input, values)
    return IndexPut.apply(input, values, index=_plain_index(indices), accumulate=accumulate)


def gather(input, dim, index):
    """Pick values along ``dim`` by ``index`` (an int tensor shaped like the output)."""
    return Gather.apply(as_tensor(input), dim=dim, index=np.asarray(_plain_index(index)))


def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``; repeated indices add up."""
    input, src = common_operands(input, src)
    return ScatterAdd.apply(input, src, dim=dim, index=np.asarray(_plain_index(index)))


def masked_fill(input, mask, value):
    """A copy of ``input`` with ``value`` where ``mask`` is true (mask broadcasts)."""
    input = as_tensor(input)
    if not isinstance(value, Tensor):
        value = Tensor._wrap(np.array(value, dtype=input.data.dtype))  # the value takes the input's dtype
    return where(mask, value, input)


TENSOR_METHODS = {"__getitem__": getitem, "gather": gather, "scatter_add": scatter_add,
                  "masked_fill": masked_fill, "index_put": index_put}
