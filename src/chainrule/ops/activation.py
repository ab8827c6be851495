"""Activation functions beyond the elementwise basics: the numerically stable softmax family."""

import numpy as np

from chainrule._checks import normalize_dim
from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, values
from chainrule.ops._operands import as_tensor

__all__ = ["softmax", "log_softmax"]


def _softmax_samples(rng):
    return [Sample((values(rng, (3, 4), -3, 3),), {"dim": -1}),
            Sample((values(rng, (2, 3, 4), -3, 3),), {"dim": 1}),
            Sample((values(rng, (5,), -3, 3),), {"dim": 0}),
            Sample((values(rng, (2, 3), -3, 3) + np.array([[500.0], [-500.0]]),), {"dim": 1}, "huge logits")]


@register("softmax", samples=_softmax_samples)
class Softmax(Function):
    """exp(x) / sum(exp(x)) along ``dim``, shifted by the max so it never overflows.

    grad_x = out * (grad_out - sum(grad_out * out, dim)).
    """

    @staticmethod
    def forward(ctx, x, *, dim):
        ctx.dim = normalize_dim("softmax", dim, x.ndim)
        shifted = np.exp(x - x.max(axis=ctx.dim, keepdims=True))
        out = shifted / shifted.sum(axis=ctx.dim, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        out, = ctx.saved
        weighted = grad_out * out
        return weighted - out * weighted.sum(ctx.dim).reshape(_kept(out.shape, ctx.dim))


@register("log_softmax", samples=_softmax_samples)
class LogSoftmax(Function):
    """x - logsumexp(x) along ``dim``, computed stably.

    grad_x = grad_out - softmax(x) * sum(grad_out, dim), with softmax(x) = exp(out).
    """

    @staticmethod
    def forward(ctx, x, *, dim):
        ctx.dim = normalize_dim("log_softmax", dim, x.ndim)
        shifted = x - x.max(axis=ctx.dim, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=ctx.dim, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        out, = ctx.saved
        return grad_out - ctx.xp.exp(out) * grad_out.sum(ctx.dim).reshape(_kept(out.shape, ctx.dim))


def _kept(shape, dim):
    return shape[:dim] + (1,) + shape[dim + 1:]


def softmax(input, dim):
    """Probabilities along ``dim`` that sum to 1; stable for any input size."""
    return Softmax.apply(as_tensor(input), dim=dim)


def log_softmax(input, dim):
    """Log-probabilities along ``dim``; stable, and more accurate than log(softmax(x))."""
    return LogSoftmax.apply(as_tensor(input), dim=dim)


TENSOR_METHODS = {"softmax": softmax, "log_softmax": log_softmax}
