"""Fused primitives of neural-network layers and losses, each one op for speed.

``linear`` replaces ``x @ W.T + b`` (two graph nodes and a broadcast reduction) with one node,
and ``mse_loss`` replaces ``((input - target) ** 2).mean()`` (three nodes) with one. Both are
registered with samples like every other primitive, so their gradients are checked the same way.
"""

import numpy as np

from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, values
from chainrule.errors import ShapeError
from chainrule.ops._operands import as_tensor, common_operands

__all__ = ["linear", "mse_loss"]


def _linear_samples(rng):
    return [
        Sample((values(rng, (4, 3)), values(rng, (2, 3)), values(rng, (2,))), label="batch of rows"),
        Sample((values(rng, (2, 4, 3)), values(rng, (5, 3)), values(rng, (5,))), label="batched sequence"),
        Sample((values(rng, (3,)), values(rng, (2, 3)), values(rng, (2,))), label="one row"),
        Sample((values(rng, (4, 3)), values(rng, (2, 3))), label="no bias"),
    ]


@register("linear", samples=_linear_samples)
class Linear(Function):
    """Affine map with PyTorch's weight layout (out_features, in_features), fused for speed.

    out = x @ W^T + b;  grad_x = grad_out @ W,  grad_W = grad_out^T @ x (over all rows),
    grad_b = grad_out summed over all rows.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        out = x.dot(weight.T) if x.ndim <= 2 else np.matmul(x, weight.T)
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved
        needs = ctx.needs_input_grad
        dot = ctx.xp.dot
        rows = grad_out.reshape((-1, weight.shape[0]))
        grad_x = dot(grad_out, weight) if needs[0] else None
        grad_weight = dot(rows.T, x.reshape((-1, weight.shape[1]))) if needs[1] else None
        grad_bias = ctx.xp.column_sums(rows) if len(needs) > 2 and needs[2] else None
        return (grad_x, grad_weight) if len(needs) == 2 else (grad_x, grad_weight, grad_bias)

    @classmethod
    def describe_error(cls, exc, arrays, options):
        x, weight = arrays[0], arrays[1]
        bias = arrays[2] if len(arrays) > 2 else None
        if weight.ndim != 2:
            return ShapeError(f"linear: the weight must be a matrix; expected shape (out_features, "
                              f"in_features), got weight.shape={weight.shape}.")
        if x.shape[-1:] != weight.shape[1:]:
            return ShapeError(f"linear: wrong number of input features; expected last dimension "
                              f"{weight.shape[1]}, got input shape {x.shape}.")
        return ShapeError(f"linear: the bias must have one value per output feature; expected shape "
                          f"({weight.shape[0]},), got bias.shape={getattr(bias, 'shape', None)}.")


def _mse_samples(rng):
    return [Sample((values(rng, (4, 3)), values(rng, (4, 3))), {"reduction": reduction})
            for reduction in ("mean", "sum", "none")] + [
        Sample((values(rng, (4, 1)), values(rng, (4, 1))), {"reduction": "mean"}, "a column of outputs"),
        Sample((values(rng, ()), values(rng, ())), {"reduction": "mean"}, "0-d")]


@register("mse_loss", samples=_mse_samples)
class MSELoss(Function):
    """Mean squared error, fused for speed.  out = mean((input - target)**2);
    grad_input = grad_out * 2 (input - target) / n,  grad_target = -grad_input ("sum": no /n,
    "none": elementwise)."""

    @staticmethod
    def forward(ctx, input, target, *, reduction="mean"):
        ctx.save_for_backward(input, target)
        ctx.scale = 2.0 / input.size if reduction == "mean" else 2.0
        diff = input - target
        if reduction == "none":
            return diff * diff
        flat = diff.reshape(-1)
        total = np.dot(flat, flat)  # the sum of squares in one BLAS call
        return total / diff.size if reduction == "mean" else total

    @staticmethod
    def backward(ctx, grad_out):
        input, target = ctx.saved
        # The difference is recomputed from the saved inputs, so that with create_graph=True it
        # stays connected to them and the loss has its second derivative.
        grad_input = (input - target) * (grad_out * ctx.scale)
        need_input, need_target = ctx.needs_input_grad
        return (grad_input if need_input else None), (-grad_input if need_target else None)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` as one op; ``weight`` is (out_features, in_features) as in PyTorch."""
    input, weight = common_operands(input, weight)
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, as_tensor(bias, like=weight))


_REDUCTIONS = ("mean", "sum", "none")


def mse_loss(input, target, reduction="mean"):
    """Mean squared error between ``input`` and ``target`` (reduction "mean" | "sum" | "none")."""
    if reduction not in _REDUCTIONS:
        raise ShapeError(f"mse_loss: unknown reduction; expected one of {_REDUCTIONS}, got {reduction!r}.")
    input, target = common_operands(input, target)
    if input.shape != target.shape:
        raise ShapeError(f"mse_loss: input and target shapes differ; expected equal shapes, got "
                         f"input.shape={input.shape}, target.shape={target.shape}.")
    return MSELoss.apply(input, target, reduction=reduction)


TENSOR_METHODS = {}
