"""Ops that move elements without changing them: reshape, permute, expand, flip, cat, stack,
pad, repeat, the dtype cast ``to``, and the composites built on them."""

import math

import numpy as np

from chainrule import _dtypes
from chainrule._checks import normalize_dim, shape_tuple
from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, values
from chainrule.errors import ShapeError
from chainrule.ops._operands import as_tensor, same_dtype

__all__ = ["reshape", "view", "flatten", "unsqueeze", "squeeze", "permute", "transpose", "expand",
           "flip", "cat", "stack", "split", "chunk", "pad", "repeat", "to"]


def _samples(*calls):
    """Samples from (shape, options) pairs with random values."""
    def make(rng):
        return [Sample((values(rng, shape),), options) for shape, options in calls]
    return make


@register("reshape", samples=_samples(((2, 3), {"shape": (3, 2)}), ((2, 3, 4), {"shape": (4, -1)}),
                                      ((), {"shape": (1, 1)}), ((6,), {"shape": (2, 3), "copy": False})))
class Reshape(Function):
    """Same elements, new shape (a view when the layout allows).  grad_x = grad_out reshaped back."""

    @staticmethod
    def forward(ctx, x, *, shape, copy=None):
        ctx.in_shape = x.shape
        return np.reshape(x, shape, copy=copy)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.reshape(ctx.in_shape)

    @classmethod
    def describe_error(cls, exc, arrays, options):
        x, shape = arrays[0], options["shape"]
        if options.get("copy") is False and "copy" in str(exc):
            return ShapeError(f"view: the tensor's memory layout does not allow this view without a copy; "
                              f"expected a contiguous input, got shape {x.shape}. Hint: use reshape().")
        return ShapeError(f"reshape: element counts differ; expected a shape with {x.size} elements, got "
                          f"shape {tuple(shape)} for an input of shape {x.shape}.")


@register("permute", samples=_samples(((2, 3, 4), {"dims": (2, 0, 1)}), ((3, 4), {"dims": (1, 0)}),
                                      ((), {"dims": ()})))
class Permute(Function):
    """Reorder dims (a view).  grad_x = grad_out permuted by the inverse order."""

    @staticmethod
    def forward(ctx, x, *, dims):
        ctx.inverse = tuple(int(i) for i in np.argsort(dims))
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad_out):
        return ctx.xp.permute(grad_out, ctx.inverse)


@register("expand", samples=_samples(((3, 1), {"shape": (3, 4)}), ((4,), {"shape": (2, 3, 4)}),
                                     ((), {"shape": (2, 2)})))
class Expand(Function):
    """Broadcast to a larger shape (a read-only view).  grad_x = grad_out summed back, by the engine."""

    @staticmethod
    def forward(ctx, x, *, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out

    @classmethod
    def describe_error(cls, exc, arrays, options):
        return ShapeError(f"expand: the input cannot be broadcast to the target shape; expected each "
                          f"dim of {arrays[0].shape} to equal the target's or be 1, got target "
                          f"{tuple(options['shape'])}.")


@register("flip", samples=_samples(((3, 4), {"dims": (0,)}), ((2, 3, 4), {"dims": (-1, 0)})))
class Flip(Function):
    """Reverse the order along dims (a view).  grad_x = grad_out flipped the same way."""

    @staticmethod
    def forward(ctx, x, *, dims):
        ctx.dims = dims
        return np.flip(x, dims)

    @staticmethod
    def backward(ctx, grad_out):
        return ctx.xp.flip(grad_out, ctx.dims)


def _cat_samples(rng):
    return [Sample((values(rng, (2, 3)), values(rng, (4, 3))), {"dim": 0}),
            Sample((values(rng, (2, 3)), values(rng, (2, 1)), values(rng, (2, 2))), {"dim": -1})]


@register("cat", samples=_cat_samples)
class Cat(Function):
    """Join tensors along an existing dim.  grad of each input = its slice of grad_out."""

    @staticmethod
    def forward(ctx, *xs, dim=0):
        ctx.dim = normalize_dim("cat", dim, xs[0].ndim)
        ctx.bounds = np.cumsum([0] + [x.shape[ctx.dim] for x in xs])
        return np.concatenate(xs, axis=ctx.dim)

    @staticmethod
    def backward(ctx, grad_out):
        lead = (slice(None),) * ctx.dim
        return tuple(grad_out[lead + (slice(start, stop),)] if need else None
                     for start, stop, need in zip(ctx.bounds[:-1], ctx.bounds[1:], ctx.needs_input_grad))

    @classmethod
    def describe_error(cls, exc, arrays, options):
        shapes = ", ".join(str(a.shape) for a in arrays)
        return ShapeError(f"cat: tensors must match in every dim but dim {options.get('dim', 0)}; "
                          f"expected matching shapes, got {shapes}.")


def _stack_samples(rng):
    return [Sample((values(rng, (2, 3)), values(rng, (2, 3))), {"dim": 0}),
            Sample((values(rng, (2, 3)), values(rng, (2, 3)), values(rng, (2, 3))), {"dim": -1}),
            Sample((values(rng, ()), values(rng, ())), {"dim": 0})]


@register("stack", samples=_stack_samples)
class Stack(Function):
    """Join same-shaped tensors along a new dim.  grad of input i = grad_out[..., i, ...]."""

    @staticmethod
    def forward(ctx, *xs, dim=0):
        ctx.dim = normalize_dim("stack", dim, xs[0].ndim + 1)
        return np.stack(xs, axis=ctx.dim)

    @staticmethod
    def backward(ctx, grad_out):
        lead = (slice(None),) * ctx.dim
        return tuple(grad_out[lead + (i,)] if need else None for i, need in enumerate(ctx.needs_input_grad))

    @classmethod
    def describe_error(cls, exc, arrays, options):
        shapes = ", ".join(str(a.shape) for a in arrays)
        return ShapeError(f"stack: tensors must all have the same shape; expected equal shapes, got {shapes}.")


@register("pad", samples=_samples(((2, 3), {"pad": (1, 2)}), ((2, 3, 4), {"pad": (0, 1, 2, 0), "value": 1.5}),
                                  ((3,), {"pad": (2, 2)})))
class Pad(Function):
    """Constant padding; ``pad`` lists (before, after) pairs starting from the last dim, as PyTorch.

    grad_x = the slice of grad_out that covers the original elements.
    """

    @staticmethod
    def forward(ctx, x, *, pad, value=0.0):
        if len(pad) % 2 or len(pad) // 2 > x.ndim or any(p < 0 for p in pad):
            raise ShapeError(f"pad: invalid padding; expected non-negative (before, after) pairs for at most "
                             f"{x.ndim} dims, got pad={tuple(pad)} for shape {x.shape}.")
        widths = [(0, 0)] * x.ndim
        for i in range(len(pad) // 2):
            widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
        ctx.inside = tuple(slice(before, before + size) for (before, _), size in zip(widths, x.shape))
        return np.pad(x, widths, constant_values=value)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out[ctx.inside]


@register("repeat", samples=_samples(((2, 3), {"repeats": (2, 1)}), ((3,), {"repeats": (2, 2)}),
                                     ((), {"repeats": (3,)})))
class Repeat(Function):
    """Tile the tensor ``repeats[i]`` times along dim i (PyTorch's ``repeat``).

    grad_x = grad_out summed over the copies: reshaped to (r0, n0, r1, n1, ...), summed over each r.
    """

    @staticmethod
    def forward(ctx, x, *, repeats):
        if len(repeats) < x.ndim or any(r < 0 for r in repeats):
            raise ShapeError(f"repeat: invalid repeat counts; expected at least {x.ndim} counts (one per dim), "
                             f"each >= 0, got {tuple(repeats)}.")
        shape = (1,) * (len(repeats) - x.ndim) + x.shape
        ctx.in_shape = x.shape
        ctx.split = tuple(v for pair in zip(repeats, shape) for v in pair)
        ctx.copies_axes = tuple(range(0, 2 * len(shape), 2))
        return np.tile(x.reshape(shape), repeats)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.reshape(ctx.split).sum(ctx.copies_axes).reshape(ctx.in_shape)


@register("to", samples=_samples(((2, 3), {"dtype": np.float64}), ((), {"dtype": np.float64})))
class To(Function):
    """Cast to another float dtype.  grad_x = grad_out cast back to the input's dtype.

    Its samples cast float64 to float64: a float32 cast is too coarse for a float64 finite
    difference; the float32 <-> float64 paths are covered by the dtype tests.
    """

    @staticmethod
    def forward(ctx, x, *, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad_out):
        # an array, a NumPy scalar (a product of 0-d arrays is one), or a Tensor under create_graph
        return grad_out.astype(ctx.in_dtype) if isinstance(grad_out, (np.ndarray, np.generic)) \
            else grad_out.to(ctx.in_dtype)


def reshape(input, *shape):
    """The same elements in a new shape; one dim may be -1 (inferred). A view when possible."""
    return Reshape.apply(as_tensor(input), shape=shape_tuple("reshape", shape))


def view(input, *shape):
    """Like ``reshape``, but never copies: raises if the memory layout does not allow a view."""
    return Reshape.apply(as_tensor(input), shape=shape_tuple("view", shape), copy=False)


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one."""
    input = as_tensor(input)
    if input.ndim == 0:
        return reshape(input, 1)
    start = normalize_dim("flatten", start_dim, input.ndim)
    end = normalize_dim("flatten", end_dim, input.ndim)
    shape = input.shape
    merged = math.prod(shape[start:end + 1])  # explicit, since -1 is ambiguous for 0 elements
    return reshape(input, shape[:start] + (merged,) + shape[end + 1:])


def unsqueeze(input, dim):
    """Insert a dim of size 1 at ``dim``."""
    input = as_tensor(input)
    dim = normalize_dim("unsqueeze", dim, input.ndim + 1)
    return reshape(input, input.shape[:dim] + (1,) + input.shape[dim:])


def squeeze(input, dim=None):
    """Remove dims of size 1 (only ``dim`` when given, if its size is 1)."""
    input = as_tensor(input)
    if dim is None:
        shape = tuple(s for s in input.shape if s != 1)
    else:
        dim = normalize_dim("squeeze", dim, input.ndim)
        shape = input.shape[:dim] + input.shape[dim + 1:] if input.shape[dim] == 1 else input.shape
    return reshape(input, shape)


def permute(input, *dims):
    """Reorder the dims: ``dims[i]`` is the input dim that becomes dim i."""
    input = as_tensor(input)
    dims = shape_tuple("permute", dims)
    if sorted(d % input.ndim if input.ndim else d for d in dims) != list(range(input.ndim)):
        raise ShapeError(f"permute: dims must be a permutation of the input's dims; expected an order of "
                         f"{tuple(range(input.ndim))}, got {dims}.")
    return Permute.apply(input, dims=tuple(d % input.ndim for d in dims))


def transpose(input, dim0, dim1):
    """Swap two dims."""
    input = as_tensor(input)
    order = list(range(input.ndim))
    dim0, dim1 = normalize_dim("transpose", dim0, input.ndim), normalize_dim("transpose", dim1, input.ndim)
    order[dim0], order[dim1] = order[dim1], order[dim0]
    return Permute.apply(input, dims=tuple(order))


def expand(input, *shape):
    """Broadcast size-1 dims to larger sizes without copying; -1 keeps a dim's size."""
    input = as_tensor(input)
    shape = shape_tuple("expand", shape)
    lead = len(shape) - input.ndim
    if lead < 0:
        raise ShapeError(f"expand: the target has fewer dims than the input; expected at least "
                         f"{input.ndim} dims, got shape {shape} for input shape {input.shape}.")
    shape = tuple(input.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    return Expand.apply(input, shape=shape)


def flip(input, dims):
    """Reverse the element order along ``dims`` (an int or a tuple)."""
    input = as_tensor(input)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return Flip.apply(input, dims=tuple(normalize_dim("flip", d, input.ndim) for d in dims))


def cat(tensors, dim=0):
    """Join tensors along an existing dim."""
    return Cat.apply(*same_dtype("cat", tensors), dim=dim)


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dim."""
    return Stack.apply(*same_dtype("stack", tensors), dim=dim)


def split(input, split_size_or_sections, dim=0):
    """Split into pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes."""
    input = as_tensor(input)
    dim = normalize_dim("split", dim, input.ndim)
    size = input.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ShapeError(f"split: split_size must be positive; expected > 0, got {step}.")
        sizes = [min(step, size - start) for start in range(0, size, step)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != size:
            raise ShapeError(f"split: section sizes must add up to the dim's size; expected a sum of {size}, "
                             f"got {sizes} (sum {sum(sizes)}).")
    lead = (slice(None),) * dim
    starts = np.cumsum([0] + sizes[:-1])
    return tuple(input[lead + (slice(int(start), int(start) + n),)] for start, n in zip(starts, sizes))


def chunk(input, chunks, dim=0):
    """Split into ``chunks`` nearly equal pieces along ``dim`` (as PyTorch: ceil-sized pieces)."""
    input = as_tensor(input)
    if chunks <= 0:
        raise ShapeError(f"chunk: chunks must be positive; expected > 0, got {chunks}.")
    size = input.shape[normalize_dim("chunk", dim, input.ndim)]
    return split(input, max(1, -(-size // chunks)), dim)


def pad(input, pad, value=0.0):
    """Pad with a constant; ``pad`` = (last_before, last_after, second_last_before, ...), as PyTorch."""
    return Pad.apply(as_tensor(input), pad=tuple(pad), value=value)


def repeat(input, *repeats):
    """Tile the tensor: ``repeats[i]`` copies along dim i (extra leading counts add dims)."""
    return Repeat.apply(as_tensor(input), repeats=shape_tuple("repeat", repeats))


def to(input, dtype):
    """The tensor cast to ``dtype``; differentiable between float dtypes, detached otherwise."""
    input = as_tensor(input)
    dtype = _dtypes.resolve(dtype)
    if dtype == input.data.dtype:
        return input
    if dtype.kind != "f":
        return type(input)._wrap(input.data.astype(dtype))
    return To.apply(input, dtype=dtype)


def _float(input):
    """The tensor as float32."""
    return to(input, _dtypes.float32)


def _double(input):
    """The tensor as float64."""
    return to(input, _dtypes.float64)


def _long(input):
    """The tensor as int64 (no gradient)."""
    return to(input, _dtypes.int64)


def _transpose_2d(input):
    """The tensor with its dims reversed (``.T``)."""
    return Permute.apply(input, dims=tuple(range(input.ndim))[::-1])


def _matrix_transpose(input):
    """The tensor with its last two dims swapped (``.mT``)."""
    return transpose(input, -2, -1)


TENSOR_METHODS = {
    "reshape": reshape, "view": view, "flatten": flatten, "unsqueeze": unsqueeze, "squeeze": squeeze,
    "permute": permute, "transpose": transpose, "expand": expand, "flip": flip, "split": split,
    "chunk": chunk, "repeat": repeat, "to": to, "float": _float, "double": _double, "long": _long,
    "T": property(_transpose_2d), "mT": property(_matrix_transpose),
}
