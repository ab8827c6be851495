"""Elementwise functions of one tensor: each output element depends on one input element."""

import numpy as np

from chainrule import _dtypes
from chainrule.autograd import _vjp_math
from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import unary
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops import _compiled
from chainrule.ops._operands import as_tensor
from chainrule.tensor import Tensor

__all__ = ["neg", "exp", "log", "log1p", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu",
           "clamp", "sign"]


# NumPy multiplies by a 0-d array about three times faster than by a Python float; float32 keeps
# float32 inputs float32 and does not narrow float64 ones.
_HALF = np.array(0.5, dtype=np.float32)


@register("neg", samples=unary())
class Neg(Function):
    """Negation.  out = -x;  grad_x = -grad_out."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad_out):
        return -grad_out


@register("exp", samples=unary())
class Exp(Function):
    """Exponential.  out = e**x;  grad_x = grad_out * out."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        out, = ctx.saved
        return grad_out * out


@register("log", samples=unary(low=0.2, high=3.0))
class Log(Function):
    """Natural logarithm.  out = ln x;  grad_x = grad_out / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved
        return grad_out / x


@register("log1p", samples=unary(low=-0.8, high=3.0))
class Log1p(Function):
    """ln(1 + x), accurate for small x.  grad_x = grad_out / (1 + x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved
        return grad_out / (1 + x)


@register("sqrt", samples=unary(low=0.2, high=3.0))
class Sqrt(Function):
    """Square root.  out = sqrt(x);  grad_x = grad_out / (2 * out)."""

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        out, = ctx.saved
        return grad_out / (2 * out)


@register("abs", samples=unary(away_from=(0.0,)))
class Abs(Function):
    """Absolute value.  out = |x|;  grad_x = grad_out * sign(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved
        # At x = 0 the subgradient 0 is used (sign(0) = 0), as PyTorch does.
        return grad_out * ctx.xp.sign(x)


@register("sin", samples=unary())
class Sin(Function):
    """Sine.  grad_x = grad_out * cos(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved
        return grad_out * ctx.xp.cos(x)


@register("cos", samples=unary())
class Cos(Function):
    """Cosine.  grad_x = -grad_out * sin(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved
        return -grad_out * ctx.xp.sin(x)


@register("tanh", samples=unary(low=-3.0, high=3.0))
class Tanh(Function):
    """Hyperbolic tangent.  out = tanh x;  grad_x = grad_out * (1 - out**2)."""

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        out, = ctx.saved
        return grad_out - grad_out * out * out


@register("sigmoid", samples=unary(low=-4.0, high=4.0))
class Sigmoid(Function):
    """Logistic function, fused for stability.  out = 1 / (1 + e**-x);  grad_x = grad_out * out * (1 - out).

    Never overflows, and keeps relative accuracy in both tails (see ``_vjp_math.sigmoid_array``).
    """

    @staticmethod
    def forward(ctx, x):
        out = _vjp_math.sigmoid_array(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        out, = ctx.saved
        return grad_out * (out - out * out)


@register("relu", samples=unary(away_from=(0.0,)))
class ReLU(Function):
    """Rectified linear unit.  out = max(x, 0);  grad_x = grad_out where x > 0, else 0."""

    @staticmethod
    def forward(ctx, x):
        # relu'(0) = 0, as PyTorch: a unit exactly at 0 passes no gradient. The mask is saved
        # rather than x: one byte per element.
        compiled = _compiled.kernels()
        if compiled is not None and x.dtype.kind == "f" and x.flags.c_contiguous and x.ndim:
            out, positive = np.empty_like(x), np.empty(x.shape, dtype=bool)
            compiled.relu_forward(x, out, positive)
        else:
            positive = x > 0
            out = _vjp_math.relu_array(x)
        ctx.save_for_backward(positive)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        positive, = ctx.saved
        compiled = _compiled.kernels()
        if compiled is not None and ctx.xp is _vjp_math.arrays and grad_out.flags.c_contiguous and grad_out.ndim:
            out = np.empty_like(grad_out)
            compiled.relu_backward(grad_out, positive, out)
            return out
        return grad_out * positive


@register("clamp", samples=unary(away_from=(-0.5, 1.0), min=-0.5, max=1.0,
                                  shapes=((3, 4), (), (6,))))
class Clamp(Function):
    """Clip to [min, max].  grad_x = grad_out where min <= x <= max, else 0 (bounds included)."""

    @staticmethod
    def forward(ctx, x, *, min=None, max=None):
        inside = np.ones(x.shape, dtype=bool)
        if min is not None:
            inside &= x >= min
        if max is not None:
            inside &= x <= max
        ctx.save_for_backward(inside)
        return np.clip(x, min, max).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        inside, = ctx.saved
        return grad_out * inside


@register("sign", differentiable=False)
class Sign(Function):
    """Sign (-1, 0 or 1); its derivative is zero almost everywhere, so it carries no gradient."""

    @staticmethod
    def forward(ctx, x):
        return np.sign(x)


def _unary_function(fn_class, name, doc, floating=False):
    """The public function of a unary op; ``floating`` ops turn int and bool inputs into float32."""
    def function(input):
        if not isinstance(input, Tensor):
            input = as_tensor(input)
        if floating and input.data.dtype.kind != "f":
            input = input.to(_dtypes.DEFAULT_FLOAT)
        return fn_class.apply(input)
    function.__name__ = name
    function.__doc__ = doc
    return function


neg = _unary_function(Neg, "neg", "Elementwise negation, ``-input``.")
exp = _unary_function(Exp, "exp", "Elementwise e**input.", floating=True)
log = _unary_function(Log, "log", "Elementwise natural logarithm.", floating=True)
log1p = _unary_function(Log1p, "log1p", "Elementwise ln(1 + input), accurate near 0.", floating=True)
sqrt = _unary_function(Sqrt, "sqrt", "Elementwise square root.", floating=True)
abs = _unary_function(Abs, "abs", "Elementwise absolute value.")
sin = _unary_function(Sin, "sin", "Elementwise sine.", floating=True)
cos = _unary_function(Cos, "cos", "Elementwise cosine.", floating=True)
tanh = _unary_function(Tanh, "tanh", "Elementwise hyperbolic tangent.", floating=True)
sigmoid = _unary_function(Sigmoid, "sigmoid", "Elementwise logistic function 1 / (1 + e**-input), stable everywhere.",
                          floating=True)
relu = _unary_function(ReLU, "relu", "Elementwise max(input, 0).")
sign = _unary_function(Sign, "sign", "Elementwise sign (-1, 0, 1), without gradient.")


def clamp(input, min=None, max=None):
    """Clip every element to ``[min, max]`` (either bound may be None)."""
    if min is None and max is None:
        raise ShapeError("clamp: no bound given; expected min, max or both, got neither.")
    for bound in (min, max):
        if bound is not None and (not isinstance(bound, (int, float)) or isinstance(bound, bool)):
            raise DTypeError(f"clamp: bounds must be numbers; expected an int, a float or None, got {bound!r}.")
    input = as_tensor(input)
    if input.data.dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
        input = input.to(_dtypes.DEFAULT_FLOAT)  # an int tensor clamped to a float bound becomes float
    return Clamp.apply(input, min=min, max=max)


TENSOR_METHODS = {
    "neg": neg, "__neg__": neg, "exp": exp, "log": log, "log1p": log1p, "sqrt": sqrt, "abs": abs,
    "__abs__": abs, "sin": sin, "cos": cos, "tanh": tanh, "sigmoid": sigmoid, "relu": relu,
    "clamp": clamp, "sign": sign,
}
