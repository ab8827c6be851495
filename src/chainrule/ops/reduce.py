"""Reductions: ops that combine elements along dims (sum, mean, max, min, prod) and their composites."""

import builtins
import math
from typing import NamedTuple

import numpy as np

from chainrule._checks import normalize_dim, normalize_dims
from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, reduction, values
from chainrule.errors import DTypeError
from chainrule.ops._operands import as_tensor
from chainrule.tensor import Tensor

__all__ = ["sum", "mean", "var", "std", "max", "min", "prod", "argmax", "argmin", "all", "any"]


def _kept_shape(shape, dims):
    """The shape of a reduction with keepdim=True: reduced dims become 1."""
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _spread(ctx, grad_out):
    """Broadcast a reduction's upstream gradient back over the input's shape."""
    return ctx.xp.broadcast_to(grad_out.reshape(ctx.kept_shape), ctx.in_shape)


def _sum(ctx, op, x, dim, keepdim):
    """The sum over ``dim``, recording the shapes the backward pass spreads the gradient over."""
    ctx.in_shape = x.shape
    if dim is None:
        ctx.kept_shape, ctx.count = (1,) * x.ndim, x.size
        return np.add.reduce(x, None, keepdims=keepdim)  # x.sum's own work, without its Python wrapper
    dims = normalize_dims(op, dim, x.ndim)
    ctx.kept_shape = _kept_shape(x.shape, dims)
    ctx.count = math.prod(x.shape[d] for d in dims)
    return x.sum(axis=dims, keepdims=keepdim)


@register("sum", samples=reduction())
class Sum(Function):
    """Sum over dims.  grad_x = grad_out broadcast back over the summed dims."""

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        return _sum(ctx, "sum", x, dim, keepdim)

    @staticmethod
    def backward(ctx, grad_out):
        return _spread(ctx, grad_out)


@register("mean", samples=reduction())
class Mean(Function):
    """Mean over dims, a primitive for speed.  grad_x = grad_out / n broadcast over the reduced dims."""

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        # a 0-d array, not the NumPy scalar a full reduction gives: apply then has nothing to convert
        return np.asarray(_sum(ctx, "mean", x, dim, keepdim) / ctx.count)

    @staticmethod
    def backward(ctx, grad_out):
        return _spread(ctx, grad_out / ctx.count)


def _extremum_samples(rng):
    ties = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]])
    return reduction(dims=(None, 0, -1))(rng) + [
        Sample((ties,), {"dim": None, "keepdim": False}, "a tie over all elements splits the gradient",
               second_order=False)]


class _Extremum:
    """Shared forward/backward of max and min; ``pick`` is np.argmax or np.argmin."""

    pick = None

    @classmethod
    def forward(cls, ctx, x, *, dim=None, keepdim=False):
        weight_dtype = x.dtype if x.dtype.kind == "f" else np.float32
        if dim is None or x.ndim == 0:
            if dim is not None:
                normalize_dim(cls.name, dim, 0)
            out = np.max(x) if cls.pick is np.argmax else np.min(x)
            # Over all elements the gradient is split evenly among ties (PyTorch's max()/min()).
            weights = (x == out).astype(weight_dtype)
            weights /= weights.sum()
            ctx.save_for_backward(weights)
            ctx.kept_shape = (1,) * x.ndim
            return np.asarray(out)
        axis = normalize_dim(cls.name, dim, x.ndim)
        index = np.expand_dims(cls.pick(x, axis=axis), axis)
        # Along a dim the whole gradient goes to the returned index (PyTorch's max(dim)/min(dim)).
        weights = np.zeros_like(x)
        np.put_along_axis(weights, index, 1, axis)
        ctx.save_for_backward(weights)
        ctx.kept_shape = _kept_shape(x.shape, (axis,))
        out = np.take_along_axis(x, index, axis)
        return out if keepdim else np.squeeze(out, axis)

    @staticmethod
    def backward(ctx, grad_out):
        weights, = ctx.saved
        return grad_out.reshape(ctx.kept_shape) * weights


@register("max", samples=_extremum_samples)
class Max(_Extremum, Function):
    """Largest element, over all elements or along one dim.  grad goes to the chosen element."""
    pick = np.argmax


@register("min", samples=_extremum_samples)
class Min(_Extremum, Function):
    """Smallest element, over all elements or along one dim.  grad goes to the chosen element."""
    pick = np.argmin


def _prod_samples(rng):
    with_zero = values(rng, (3, 4), 0.5, 1.5)
    with_zero[1, 2] = 0.0
    return reduction(low=0.5, high=1.5, dims=(None, 0, -1))(rng) + [
        Sample((with_zero,), {"dim": 1, "keepdim": False}, "a zero element", second_order=False),
        Sample((with_zero,), {"dim": None, "keepdim": False}, "a zero element, all dims", second_order=False)]


@register("prod", samples=_prod_samples)
class Prod(Function):
    """Product over one dim or all.  grad_x = grad_out * (product of the other elements).

    The product of the others is out / x when no element is zero, else computed exactly.
    """

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        axis = None if dim is None else normalize_dim("prod", dim, x.ndim)
        kept = np.prod(x, axis=axis, keepdims=True)
        out = kept if keepdim else (kept.reshape(()) if axis is None else np.squeeze(kept, axis))
        ctx.save_for_backward(x, out)
        ctx.axis, ctx.kept_shape, ctx.has_zero = axis, kept.shape, bool((x == 0).any())
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved
        grad_kept = grad_out.reshape(ctx.kept_shape)
        if ctx.has_zero:
            return grad_kept * ctx.xp.prod_of_others(x, ctx.axis)
        return grad_kept * out.reshape(ctx.kept_shape) / x


class _Index:
    """Shared forward of argmax and argmin: int64 indices, into the flattened tensor when dim is None."""

    pick = None

    @classmethod
    def forward(cls, ctx, x, *, dim=None, keepdim=False):
        if dim is None or x.ndim == 0:
            if dim is not None:
                normalize_dim(cls.name, dim, 0)
            return np.asarray(cls.pick(x), dtype=np.int64)
        return cls.pick(x, axis=normalize_dim(cls.name, dim, x.ndim), keepdims=keepdim).astype(np.int64)


@register("argmax", differentiable=False)
class ArgMax(_Index, Function):
    """Index of the largest element (of the flattened tensor when dim is None)."""
    pick = staticmethod(np.argmax)


@register("argmin", differentiable=False)
class ArgMin(_Index, Function):
    """Index of the smallest element (of the flattened tensor when dim is None)."""
    pick = staticmethod(np.argmin)


class _Truth:
    """Shared forward of all and any over ``dim`` (all dims when None)."""

    test = None

    @classmethod
    def forward(cls, ctx, x, *, dim=None, keepdim=False):
        return cls.test(x, axis=normalize_dims(cls.name, dim, x.ndim), keepdims=keepdim)


@register("all", differentiable=False)
class All(_Truth, Function):
    """Whether every element is true (nonzero)."""
    test = staticmethod(np.all)


@register("any", differentiable=False)
class Any(_Truth, Function):
    """Whether some element is true (nonzero)."""
    test = staticmethod(np.any)


class MinMax(NamedTuple):
    """``(values, indices)`` returned by ``max``/``min`` along a dim, as in PyTorch."""
    values: Tensor
    indices: Tensor


def sum(input, dim=None, keepdim=False):
    """Sum of the elements over ``dim`` (an int, a tuple, or None for all)."""
    return Sum.apply(as_tensor(input), dim=dim, keepdim=keepdim)


def mean(input, dim=None, keepdim=False):
    """Mean of the elements over ``dim`` (an int, a tuple, or None for all); floats only."""
    if not isinstance(input, Tensor):
        input = as_tensor(input)
    if input.data.dtype.kind != "f":
        raise DTypeError(f"mean: the input must be floating point; expected float32 or float64, got "
                         f"{input.data.dtype}. Hint: call .float() first.")
    if dim is None and not keepdim:
        return Mean.apply(input)  # the defaults: no options to pass on
    return Mean.apply(input, dim=dim, keepdim=keepdim)


def var(input, dim=None, keepdim=False, correction=1):
    """Variance over ``dim``, dividing by n - correction (1: the unbiased estimate, as PyTorch)."""
    input = as_tensor(input)
    dims = normalize_dims("var", dim, input.ndim)
    count = int(np.prod([input.shape[d] for d in dims]))
    centred = input - mean(input, dims, keepdim=True)
    return sum(centred * centred, dims, keepdim=keepdim) / builtins.max(count - correction, 0)


def std(input, dim=None, keepdim=False, correction=1):
    """Standard deviation over ``dim``: the square root of ``var``."""
    return var(input, dim, keepdim, correction).sqrt()


def max(input, dim=None, keepdim=False):
    """The largest element; with ``dim``, the named tuple ``(values, indices)`` along that dim."""
    input = as_tensor(input)
    values_ = Max.apply(input, dim=dim, keepdim=keepdim)
    if dim is None:
        return values_
    return MinMax(values_, argmax(input, dim, keepdim))


def min(input, dim=None, keepdim=False):
    """The smallest element; with ``dim``, the named tuple ``(values, indices)`` along that dim."""
    input = as_tensor(input)
    values_ = Min.apply(input, dim=dim, keepdim=keepdim)
    if dim is None:
        return values_
    return MinMax(values_, argmin(input, dim, keepdim))


def prod(input, dim=None, keepdim=False):
    """Product of the elements over one ``dim`` or all."""
    return Prod.apply(as_tensor(input), dim=dim, keepdim=keepdim)


def argmax(input, dim=None, keepdim=False):
    """Index of the largest element along ``dim`` (in the flattened tensor when None)."""
    return ArgMax.apply(as_tensor(input), dim=dim, keepdim=keepdim)


def argmin(input, dim=None, keepdim=False):
    """Index of the smallest element along ``dim`` (in the flattened tensor when None)."""
    return ArgMin.apply(as_tensor(input), dim=dim, keepdim=keepdim)


def all(input, dim=None, keepdim=False):
    """Whether all elements (along ``dim``) are true."""
    return All.apply(as_tensor(input), dim=dim, keepdim=keepdim)


def any(input, dim=None, keepdim=False):
    """Whether any element (along ``dim``) is true."""
    return Any.apply(as_tensor(input), dim=dim, keepdim=keepdim)


TENSOR_METHODS = {"sum": sum, "mean": mean, "var": var, "std": std, "max": max, "min": min,
                  "prod": prod, "argmax": argmax, "argmin": argmin, "all": all, "any": any}
