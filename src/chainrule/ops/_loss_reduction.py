"""What every loss shares: PyTorch's reductions, and the checks of its inputs and options."""

import numpy as np

from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._operands import as_tensor, common_operands
from chainrule.tensor import Tensor

__all__ = ["REDUCTIONS", "reduce", "upstream", "check_reduction", "float_input", "same_shape_operands",
           "array_of"]

REDUCTIONS = ("mean", "sum", "none")


def reduce(ctx, losses, reduction, denominator):
    """Reduce elementwise losses and remember how to spread the gradient back over them."""
    ctx.reduction = reduction
    ctx.denominator = np.asarray(denominator, dtype=losses.dtype)
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    return _divide(total, ctx.denominator)


def upstream(ctx, grad_out):
    """The gradient reaching each elementwise loss: grad_out, divided by the mean's denominator."""
    if ctx.reduction == "sum" or ctx.reduction == "none":
        return grad_out
    return _divide(grad_out, ctx.denominator)


def _divide(value, denominator):
    """value / denominator; a mean over nothing (denominator 0) is NaN, silently."""
    if denominator != 0:  # the usual case, without the cost of entering np.errstate
        return value / denominator
    with np.errstate(invalid="ignore", divide="ignore"):
        return value / denominator


def check_reduction(op, reduction, allowed=REDUCTIONS):
    if reduction not in allowed:
        raise ShapeError(f"{op}: unknown reduction; expected one of {allowed}, got {reduction!r}.")


def float_input(op, input):
    input = as_tensor(input)
    if input.data.dtype.kind != "f":
        raise DTypeError(f"{op}: the input must be floating point; expected float32 or float64, "
                         f"got {input.data.dtype}.")
    return input


def same_shape_operands(op, input, target):
    """Input and target as float Tensors of one dtype and one shape."""
    input, target = common_operands(float_input(op, input), target)
    if target.data.dtype.kind != "f":
        target = target.to(input.data.dtype)
    if input.shape != target.shape:
        raise ShapeError(f"{op}: input and target shapes differ; expected equal shapes, got "
                         f"input.shape={input.shape}, target.shape={target.shape}.")
    return input, target


def array_of(x):
    return x.data if isinstance(x, Tensor) else x
