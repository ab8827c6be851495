"""Elementwise ops of two (or three) broadcasting tensors, and the comparisons.

Broadcasting is undone by the engine: each backward returns gradients of the broadcast shape.
"""

import numpy as np

from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, binary, values
from chainrule.ops._operands import as_tensor, cached_constant, common_operands, float_dtype_of
from chainrule.tensor import Tensor

__all__ = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "where",
           "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not"]


@register("add", samples=binary(), broadcasting=True)
class Add(Function):
    """Sum.  out = a + b;  grad_a = grad_out,  grad_b = grad_out."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, grad_out


@register("sub", samples=binary(), broadcasting=True)
class Sub(Function):
    """Difference.  out = a - b;  grad_a = grad_out,  grad_b = -grad_out."""

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, (-grad_out if ctx.needs_input_grad[1] else None)


@register("mul", samples=binary(), broadcasting=True)
class Mul(Function):
    """Product.  out = a * b;  grad_a = grad_out * b,  grad_b = grad_out * a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        return (grad_out * b if need_a else None), (grad_out * a if need_b else None)


@register("div", samples=binary(low_b=0.5, high_b=2.0), broadcasting=True)
class Div(Function):
    """Quotient.  out = a / b;  grad_a = grad_out / b,  grad_b = -grad_out * a / b**2."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_out / b if need_a else None
        grad_b = -grad_out * a / (b * b) if need_b else None
        return grad_a, grad_b


def _pow_samples(rng):
    return binary(low=0.5, high=2.0, low_b=-2.0, high_b=2.0)(rng) + [
        Sample((values(rng, (3,), -2.0, 2.0), np.array(2.0)), label="negative base, constant exponent 2",
               constants=(1,)),
        Sample((values(rng, (3,), -2.0, 2.0), np.array(3.0)), label="negative base, constant exponent 3",
               constants=(1,)),
    ]


@register("pow", samples=_pow_samples, broadcasting=True)
class Pow(Function):
    """Power.  out = a ** b;  grad_a = grad_out * b * a**(b-1),  grad_b = grad_out * out * log(a).

    The exponent's gradient is taken as 0 where a <= 0 (log(a) is undefined there).
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.square = b.ndim == 0 and float(b) == 2.0  # x ** 2, the most common power, has a cheaper gradient
        out = a * a if ctx.square else a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, b, out = ctx.saved
        xp = ctx.xp
        need_a, need_b = ctx.needs_input_grad
        if need_a:
            # d(a**0)/da is 0 even at a = 0: the base is replaced by 1 where b = 0, so that neither
            # this gradient nor its own derivative meets 0 * inf.
            grad_a = grad_out * (a + a) if ctx.square else grad_out * b * xp.where(b == 0, 1, a) ** (b - 1)
        else:
            grad_a = None
        grad_b = None
        if need_b:
            positive = a > 0
            grad_b = xp.where(positive, grad_out * out * xp.log(xp.where(positive, a, 1)), 0)
        return grad_a, grad_b


def _extremum_samples(rng):
    ties = np.array([1.0, -0.5, 0.25])
    return binary()(rng) + [Sample((ties, ties.copy()), label="ties split the gradient", second_order=False)]


@register("maximum", samples=_extremum_samples, broadcasting=True)
class Maximum(Function):
    """Elementwise max.  grad goes to the larger input; at a tie each input gets half (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved
        return _split_at_ties(ctx.xp, grad_out, a > b, a == b, ctx.needs_input_grad)


@register("minimum", samples=_extremum_samples, broadcasting=True)
class Minimum(Function):
    """Elementwise min.  grad goes to the smaller input; at a tie each input gets half."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved
        return _split_at_ties(ctx.xp, grad_out, a < b, a == b, ctx.needs_input_grad)


def _split_at_ties(xp, grad_out, a_wins, tie, needs):
    half = grad_out * 0.5
    grad_a = xp.where(tie, half, xp.where(a_wins, grad_out, 0)) if needs[0] else None
    grad_b = xp.where(tie, half, xp.where(a_wins, 0, grad_out)) if needs[1] else None
    return grad_a, grad_b


def _where_samples(rng):
    samples = []
    for shape_c, shape_a, shape_b in (((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), ()), ((3, 1), (1, 4), (3, 4))):
        condition = rng.uniform(size=shape_c) > 0.5
        samples.append(Sample((condition, values(rng, shape_a), values(rng, shape_b))))
    return samples


@register("where", samples=_where_samples, broadcasting=True)
class Where(Function):
    """Choice.  out = a where condition else b;  grad_a = grad_out where condition, grad_b elsewhere."""

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad_out):
        condition, = ctx.saved
        xp = ctx.xp
        _, need_a, need_b = ctx.needs_input_grad
        return (None,
                xp.where(condition, grad_out, 0) if need_a else None,
                xp.where(condition, 0, grad_out) if need_b else None)


def _comparison(name, ufunc):
    class Comparison(Function):
        __doc__ = f"Elementwise ``{ufunc.__name__}``; a boolean result that carries no gradient."

        @staticmethod
        def forward(ctx, a, b):
            return ufunc(a, b)
    Comparison.__name__ = Comparison.__qualname__ = name.capitalize()
    return register(name, differentiable=False, broadcasting=True)(Comparison)


Eq = _comparison("eq", np.equal)
Ne = _comparison("ne", np.not_equal)
Lt = _comparison("lt", np.less)
Le = _comparison("le", np.less_equal)
Gt = _comparison("gt", np.greater)
Ge = _comparison("ge", np.greater_equal)
LogicalAnd = _comparison("logical_and", np.logical_and)
LogicalOr = _comparison("logical_or", np.logical_or)


@register("logical_not", differentiable=False)
class LogicalNot(Function):
    """Elementwise not of a boolean tensor."""

    @staticmethod
    def forward(ctx, a):
        return np.logical_not(a)


def add(input, other):
    """``input + other`` with broadcasting."""
    return Add.apply(*common_operands(input, other))


def sub(input, other):
    """``input - other`` with broadcasting."""
    return Sub.apply(*common_operands(input, other))


def mul(input, other):
    """``input * other`` with broadcasting."""
    return Mul.apply(*common_operands(input, other))


def div(input, other):
    """``input / other`` with broadcasting; integer inputs divide as floats (as PyTorch)."""
    a, b = common_operands(input, other)
    if a.data.dtype.kind != "f":
        dtype = float_dtype_of(a, b)
        a, b = a.to(dtype), b.to(dtype)
    return Div.apply(a, b)


def pow(input, exponent):
    """``input ** exponent`` with broadcasting."""
    return Pow.apply(*common_operands(input, exponent))


def maximum(input, other):
    """Elementwise maximum of two tensors."""
    return Maximum.apply(*common_operands(input, other))


def minimum(input, other):
    """Elementwise minimum of two tensors."""
    return Minimum.apply(*common_operands(input, other))


def where(condition, input, other):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (all three broadcast)."""
    a, b = common_operands(input, other)
    condition = as_tensor(condition)
    if condition.data.dtype.kind != "b":
        condition = condition.to(bool)
    return Where.apply(condition, a, b)


def _comparison_function(fn_class, name):
    def compare(input, other):
        return fn_class.apply(*common_operands(input, other))
    compare.__name__ = name
    compare.__doc__ = f"Elementwise ``{name}`` comparison, a bool tensor without gradient."
    return compare


eq = _comparison_function(Eq, "eq")
ne = _comparison_function(Ne, "ne")
lt = _comparison_function(Lt, "lt")
le = _comparison_function(Le, "le")
gt = _comparison_function(Gt, "gt")
ge = _comparison_function(Ge, "ge")
logical_and = _comparison_function(LogicalAnd, "logical_and")
logical_or = _comparison_function(LogicalOr, "logical_or")


def logical_not(input):
    """Elementwise not of a boolean tensor."""
    return LogicalNot.apply(as_tensor(input))


def _operator(fn_class, reflected=False):
    """A Tensor operator for a binary op, with a fast path when both sides are same-dtype Tensors."""
    if reflected:
        def operator(self, other):
            return fn_class.apply(*common_operands(other, self))
    else:
        def operator(self, other):
            if isinstance(other, Tensor):
                if other.data.dtype is self.data.dtype:
                    return fn_class.apply(self, other)
            else:
                constant = cached_constant(other, self)
                if constant is not None and constant.data.dtype is self.data.dtype:
                    return fn_class.apply(self, constant)  # x ** 2, x * 0.5: nothing to promote
            return fn_class.apply(*common_operands(self, other))
    return operator


def _reflected(fn):
    def reflected(self, other):
        return fn(other, self)
    return reflected


TENSOR_METHODS = {
    "add": add, "sub": sub, "mul": mul, "div": div, "pow": pow, "maximum": maximum, "minimum": minimum,
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge,
    "__add__": _operator(Add), "__radd__": _operator(Add, reflected=True),
    "__sub__": _operator(Sub), "__rsub__": _operator(Sub, reflected=True),
    "__mul__": _operator(Mul), "__rmul__": _operator(Mul, reflected=True),
    "__truediv__": div, "__rtruediv__": _reflected(div),
    "__pow__": _operator(Pow), "__rpow__": _operator(Pow, reflected=True),
    "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
    "__and__": logical_and, "__or__": logical_or, "__invert__": logical_not,
}
