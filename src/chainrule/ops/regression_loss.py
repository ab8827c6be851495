"""Regression and divergence losses: L1, Huber, smooth L1 and KL divergence.

``huber_loss`` and ``kl_div`` are fused primitives, for speed, and for kl_div's 0 * log 0 = 0 at
zero targets; ``l1_loss`` (abs of the difference, then the reduction) and ``smooth_l1_loss``
(``huber_loss(delta=beta) / beta``, or ``l1_loss`` when beta is 0) are composed from primitives.
Reductions as in PyTorch: "mean", "sum", "none" (kl_div also "batchmean", the sum divided by the
batch size).
"""

import numpy as np

from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, values
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._loss_reduction import (REDUCTIONS, array_of, check_reduction, reduce, same_shape_operands,
                                           upstream)

__all__ = ["l1_loss", "huber_loss", "smooth_l1_loss", "kl_div"]

TENSOR_METHODS = {}


def _huber_samples(rng):
    def pair(shape):
        target = values(rng, shape)
        # |input - target| stays 0.2 away from delta = 0.6, where the second derivative jumps.
        return np.asarray(values(rng, shape, -0.5, 0.5, away_from=(-0.15, 0.15), margin=0.05) * 4 + target), target
    return [Sample(pair((4, 3)), {"delta": 0.6, "reduction": reduction}) for reduction in REDUCTIONS] + [
        Sample(pair(()), {"delta": 0.6, "reduction": "mean"}, "0-d")]


@register("huber_loss", samples=_huber_samples)
class HuberLoss(Function):
    """Quadratic near 0, linear beyond delta, fused for speed. With d = input - target:
    out = d**2 / 2 where |d| <= delta, else delta (|d| - delta / 2), reduced;
    grad_input = g * clip(d, -delta, delta),  grad_target = -grad_input."""

    @staticmethod
    def forward(ctx, input, target, *, delta=1.0, reduction="mean"):
        diff = input - target
        size = np.abs(diff)
        # At |d| = delta both pieces have slope +-delta; the quadratic side is used.
        inside = size <= delta
        ctx.save_for_backward(input, target, inside, np.where(diff > 0, delta, -delta).astype(diff.dtype))
        losses = np.where(inside, diff * diff * 0.5, (size - delta * 0.5) * delta)
        return reduce(ctx, losses, reduction, diff.size)

    @staticmethod
    def backward(ctx, grad_out):
        input, target, inside, edge = ctx.saved
        # The difference is recomputed from the saved inputs so it stays a function of them.
        grad_input = upstream(ctx, grad_out) * ctx.xp.where(inside, input - target, edge)
        need_input, need_target = ctx.needs_input_grad
        return (grad_input if need_input else None), (-grad_input if need_target else None)


def _kl_samples(rng):
    shape = (4, 3)
    return [Sample((values(rng, shape, -3.0, 0.0), values(rng, shape, 0.1, 1.0)), {"reduction": reduction})
            for reduction in ("batchmean", "mean", "sum", "none")] + [
        Sample((values(rng, shape, -3.0, 0.0), values(rng, shape, -3.0, 0.0)),
               {"reduction": "batchmean", "log_target": True}, "log target")]


@register("kl_div", samples=_kl_samples)
class KLDiv(Function):
    """Kullback-Leibler divergence of a target from log-probabilities x, fused (0 log 0 = 0) and for speed.
    out = t (log t - x) (0 where t = 0), or e**t (t - x) with log_target, reduced;
    grad_x = -g t (or -g e**t),  grad_t = g (log t + 1 - x) (0 where t = 0), or g e**t (t - x + 1)."""

    @staticmethod
    def forward(ctx, input, target, *, reduction="mean", log_target=False):
        ctx.save_for_backward(input, target)
        ctx.log_target = log_target
        if log_target:
            losses = np.exp(target) * (target - input)
        else:
            positive = target > 0
            losses = np.where(positive, target * (np.log(np.where(positive, target, 1)) - input), 0)
        if reduction == "batchmean":
            return reduce(ctx, losses, "mean", input.shape[0] if input.ndim else 1)
        return reduce(ctx, losses, reduction, input.size)

    @staticmethod
    def backward(ctx, grad_out):
        input, target = ctx.saved
        xp = ctx.xp
        g = upstream(ctx, grad_out)
        grad_input = grad_target = None
        if ctx.log_target:
            probability = xp.exp(target)
            if ctx.needs_input_grad[0]:
                grad_input = -(g * probability)
            if ctx.needs_input_grad[1]:
                grad_target = g * probability * (target - input + 1)
            return grad_input, grad_target
        if ctx.needs_input_grad[0]:
            grad_input = -(g * target)
        if ctx.needs_input_grad[1]:
            # At t = 0 the derivative is -inf; 0 is used, like the loss term itself (PyTorch gives NaN).
            positive = array_of(target) > 0
            grad_target = g * xp.where(positive, xp.log(xp.where(positive, target, 1.0)) + 1 - input, 0.0)
        return grad_input, grad_target


def _reduce_composite(losses, reduction):
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def l1_loss(input, target, *, reduction="mean"):
    """Mean absolute error (composed: abs of the difference, then the reduction; slope 0 at a tie)."""
    check_reduction("l1_loss", reduction)
    input, target = same_shape_operands("l1_loss", input, target)
    return _reduce_composite((input - target).abs(), reduction)


def _positive(op, name, value, allow_zero=False):
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise DTypeError(f"{op}: {name} must be a number; expected a float, got {value!r}.")
    if value < 0 or (value == 0 and not allow_zero):
        raise ShapeError(f"{op}: {name} out of range; expected {name} {'>=' if allow_zero else '>'} 0, got {value}.")
    return float(value)


def huber_loss(input, target, *, reduction="mean", delta=1.0):
    """Huber loss: squared error within ``delta`` of the target, absolute error (times delta) beyond."""
    check_reduction("huber_loss", reduction)
    delta = _positive("huber_loss", "delta", delta)
    input, target = same_shape_operands("huber_loss", input, target)
    return HuberLoss.apply(input, target, delta=delta, reduction=reduction)


def smooth_l1_loss(input, target, *, reduction="mean", beta=1.0):
    """Smooth L1: ``huber_loss(delta=beta) / beta`` (composed), and ``l1_loss`` when beta is 0."""
    check_reduction("smooth_l1_loss", reduction)
    beta = _positive("smooth_l1_loss", "beta", beta, allow_zero=True)
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    input, target = same_shape_operands("smooth_l1_loss", input, target)
    return HuberLoss.apply(input, target, delta=beta, reduction=reduction) / beta


def kl_div(input, target, *, reduction="mean", log_target=False):
    """KL divergence ``sum target * (log target - input)`` of a target from log-probabilities ``input``.

    ``reduction="batchmean"`` divides the sum by the batch size (the true KL per sample);
    ``"mean"`` divides by the number of elements, as PyTorch does.
    """
    check_reduction("kl_div", reduction, REDUCTIONS + ("batchmean",))
    input, target = same_shape_operands("kl_div", input, target)
    return KLDiv.apply(input, target, reduction=reduction, log_target=bool(log_target))
