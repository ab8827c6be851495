"""Activation functions beyond the elementwise basics: softmax family, leaky_relu, elu, gelu, silu, softplus.

Every one is stable for huge inputs (no overflow, no NaN, no warning). Their backward formulas
need tanh, sigmoid, erf or clipping, which ``ctx.xp`` lacks: ``on_tensors(ctx)`` picks the
Tensor method (so create_graph=True gives second derivatives) or the NumPy function.
"""

import math

import numpy as np

from chainrule import _dtypes
from chainrule._checks import normalize_dim
from chainrule.autograd._vjp_math import on_tensors, relu_array
from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, unary, values
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._operands import as_tensor

__all__ = ["softmax", "log_softmax", "leaky_relu", "elu", "gelu", "silu", "softplus", "erf"]


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


# --- helpers for backward formulas that run on arrays and on Tensors ----------------------------

def _sigmoid_exact_tail(x):
    """Sigmoid whose far negative tail is exactly 0 rather than the tiny floor of ``chainrule.sigmoid``:
    silu multiplies it by x itself, and -1e300 * 1e-308 must not give -1e-8."""
    # e**-|x| never overflows, and dividing by 1 + e**-|x| on both sides keeps both tails accurate.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


# --- erf: W. J. Cody's rational Chebyshev approximations (Math. Comp. 23, 1969; netlib CALERF) --
# Relative error below 1e-15 in float64 on each of the ranges |x| <= 0.46875, <= 4, > 4.

_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERFC_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
           2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
           2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERFC_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
           1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
           3.43936767414372164e03, 1.23033935480374942e03)
_ERFC_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
           1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERFC_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)
_SMALL, _MEDIUM, _UNDERFLOW = 0.46875, 4.0, 26.543  # erfc(26.543) is below the smallest double
_INV_SQRT_PI = 1 / math.sqrt(math.pi)
_INV_SQRT2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _rational(num, den, z):
    """Cody's nested evaluation (num[-1] leads the numerator; the denominator is monic), in place."""
    top, bottom = z * num[-1], z.copy()
    for a, b in zip(num[:len(den) - 1], den[:-1]):
        top += a
        top *= z
        bottom += b
        bottom *= z
    top += num[len(den) - 1]
    bottom += den[-1]
    top /= bottom
    return top


def _erf_small(x):
    """erf(x) for |x| <= 0.46875."""
    return x * _rational(_ERF_A, _ERF_B, x * x)


def _erfc_large(y):
    """erfc(y) for y > 0.46875; 0 past the underflow point, NaN for NaN."""
    out = np.where(np.isnan(y), y, 0)
    medium = y <= _MEDIUM
    far = ~medium & (y < _UNDERFLOW)
    ym, yf = y[medium], y[far]
    z = 1 / (yf * yf)
    for mask, ys, ratio in ((medium, ym, _rational(_ERFC_C, _ERFC_D, ym)),
                            (far, yf, (_INV_SQRT_PI - z * _rational(_ERFC_P, _ERFC_Q, z)) / yf)):
        # exp(-y*y) as exp(-r*r) * exp(-(y - r)(y + r)), r = y rounded down to 1/16: r*r is exact.
        rounded = np.trunc(ys * 16) / 16
        ratio *= np.exp(-rounded * rounded) * np.exp(-(ys - rounded) * (ys + rounded))
        out[mask] = ratio
    return out


def _erf_array(x):
    """erf of a float ndarray, in its own dtype (float32 arithmetic is accurate to ~5e-7)."""
    y = np.abs(x)
    small = y <= _SMALL
    out = np.empty_like(x)
    out[small] = _erf_small(x[small])
    large = ~small
    out[large] = np.copysign(1 - _erfc_large(y[large]), x[large])
    return out


def _normal_cdf_array(x):
    """Phi(x) = erfc(-x / sqrt 2) / 2, accurate in the far left tail where 1 + erf(x) cancels."""
    z = x * -_INV_SQRT2
    y = np.abs(z)
    small = y <= _SMALL
    out = np.empty_like(z)
    out[small] = 1 - _erf_small(z[small])
    large = ~small
    tail = _erfc_large(y[large])
    out[large] = np.where(z[large] < 0, 2 - tail, tail)
    out *= 0.5
    return out


_GELU_CUBIC = 0.044715
# Past these |x| the terms they bound are exactly 0 in float64 (exp(-x*x) underflows, tanh is
# exactly +-1), so clipping x there changes no value and keeps x*x and x**3 from overflowing.
_ERF_CLIP, _GELU_CLIP, _GELU_TANH_CLIP = 30.0, 40.0, 10.0


@register("erf", samples=unary(low=-2.5, high=2.5))
class Erf(Function):
    """Gauss error function, pure NumPy (Cody's approximations).  out = erf(x);
    grad_x = grad_out * 2 / sqrt(pi) * exp(-x**2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf_array(x)

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved
        clipped = ctx.xp.clip(x, -_ERF_CLIP, _ERF_CLIP)
        return grad_out * (ctx.xp.exp(-(clipped * clipped)) * _TWO_OVER_SQRT_PI)


def _kink_free(**options):
    return unary(away_from=(0.0,), **options)


@register("leaky_relu", samples=_kink_free(negative_slope=0.2))
class LeakyReLU(Function):
    """x where x > 0, else negative_slope * x.  grad_x = grad_out where x > 0, else grad_out * negative_slope."""

    @staticmethod
    def forward(ctx, x, *, negative_slope=0.01):
        positive = x > 0
        # At x = 0 the slope of the negative side is used, as PyTorch does.
        ctx.save_for_backward(positive)
        ctx.slope = np.asarray(negative_slope, dtype=x.dtype)
        return np.where(positive, x, x * ctx.slope)

    @staticmethod
    def backward(ctx, grad_out):
        positive, = ctx.saved
        return ctx.xp.where(positive, grad_out, grad_out * ctx.slope)


def _elu_samples(rng):
    return _kink_free(alpha=1.0)(rng) + _kink_free(alpha=0.5, shapes=((4, 3),))(rng)


@register("elu", samples=_elu_samples)
class ELU(Function):
    """x where x > 0, else alpha * (e**x - 1).  grad_x = grad_out where x > 0, else grad_out * alpha * e**x."""

    @staticmethod
    def forward(ctx, x, *, alpha=1.0):
        positive = x > 0
        ctx.alpha = np.asarray(alpha, dtype=x.dtype)
        # At x = 0 the negative side's slope alpha is used, as PyTorch does.
        ctx.save_for_backward(positive, x)
        return np.where(positive, x, ctx.alpha * np.expm1(np.minimum(x, 0)))

    @staticmethod
    def backward(ctx, grad_out):
        positive, x = ctx.saved
        xp = ctx.xp
        # alpha * e**x, not out + alpha, which cancels to 0 for x below about -37. The exponent
        # is 0 on the positive side so no unused branch overflows.
        slope = xp.exp(xp.where(positive, 0.0, x)) * ctx.alpha
        return xp.where(positive, grad_out, grad_out * slope)


def _gelu_samples(rng):
    return (unary(low=-3.0, high=3.0, approximate="none")(rng)
            + unary(low=-3.0, high=3.0, approximate="tanh", shapes=((3, 4), ()))(rng)
            + [Sample((values(rng, (4,), 5.0, 12.0) * np.array([1, -1, 1, -1]),), {"approximate": "tanh"},
                      "tanh form past the clipping point")])


@register("gelu", samples=_gelu_samples)
class GELU(Function):
    """Gaussian error linear unit.  out = x * Phi(x), Phi the standard normal CDF;
    grad_x = grad_out * (Phi(x) + x * phi(x)), phi the normal density.

    ``approximate="tanh"``: out = x/2 * (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x**3);
    grad_x = grad_out * ((1 + t)/2 + x/2 (1 - t**2) sqrt(2/pi) (1 + 3 * 0.044715 x**2)), t = tanh(u).
    """

    @staticmethod
    def forward(ctx, x, *, approximate="none"):
        ctx.approximate = approximate
        if approximate == "tanh":
            ctx.save_for_backward(x)
            clipped = np.clip(x, -_GELU_TANH_CLIP, _GELU_TANH_CLIP)
            return x * (np.tanh(_gelu_tanh_argument(clipped)) + 1) * 0.5
        cdf = _normal_cdf_array(x)
        ctx.save_for_backward(x, cdf)
        return x * cdf

    @staticmethod
    def backward(ctx, grad_out):
        x = ctx.saved[0]
        if ctx.approximate == "tanh":
            clipped = ctx.xp.clip(x, -_GELU_TANH_CLIP, _GELU_TANH_CLIP)
            t = ctx.xp.tanh(_gelu_tanh_argument(clipped))
            slope = (t + 1) * 0.5 + clipped * (1 - t * t) * (clipped * clipped * (3 * _GELU_CUBIC) + 1) * (
                0.5 * _SQRT_2_OVER_PI)
            return grad_out * slope
        # Phi(x) is kept from forward; recomputed from erf on Tensors so it stays a function of x.
        cdf = erf(x * _INV_SQRT2) * 0.5 + 0.5 if on_tensors(ctx) else ctx.saved[1]
        clipped = ctx.xp.clip(x, -_GELU_CLIP, _GELU_CLIP)
        return grad_out * (cdf + clipped * ctx.xp.exp(clipped * clipped * -0.5) * _INV_SQRT_2PI)


def _gelu_tanh_argument(x):
    return (x * x * x * _GELU_CUBIC + x) * _SQRT_2_OVER_PI


@register("silu", samples=unary(low=-4.0, high=4.0))
class SiLU(Function):
    """Sigmoid-weighted linear unit (swish).  out = x * s, s = sigmoid(x);
    grad_x = grad_out * s * (1 + x * (1 - s))."""

    @staticmethod
    def forward(ctx, x):
        s = _sigmoid_exact_tail(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad_out):
        x, s = ctx.saved
        if on_tensors(ctx):
            s = x.sigmoid()  # the saved s would be a constant; the second derivative needs s(x)
        return grad_out * (s * (x * (1 - s) + 1))


def _softplus_samples(rng):
    return (unary(low=-4.0, high=4.0, beta=1.0, threshold=20.0)(rng)
            + [Sample((values(rng, (3, 4), -3.0, 3.0, away_from=(1.5,)),), {"beta": 2.0, "threshold": 3.0},
                      "beta 2, linear above x = 1.5")])


@register("softplus", samples=_softplus_samples)
class Softplus(Function):
    """Smooth relu.  out = log(1 + e**(beta x)) / beta, or x where beta x > threshold;
    grad_x = grad_out * sigmoid(beta x), or grad_out where beta x > threshold.

    Computed as (max(z, 0) + log1p(e**-|z|)) / beta, z = beta x, which never overflows.
    """

    @staticmethod
    def forward(ctx, x, *, beta=1.0, threshold=20.0):
        z = x * beta
        linear = z > threshold
        ctx.save_for_backward(x, linear)
        ctx.beta = beta
        smooth = (relu_array(z) + np.log1p(np.exp(-np.abs(z)))) / beta
        return np.where(linear, x, smooth)

    @staticmethod
    def backward(ctx, grad_out):
        x, linear = ctx.saved
        return ctx.xp.where(linear, grad_out, grad_out * ctx.xp.sigmoid(x * ctx.beta))


# --- public functions ------------------------------------------------------------------------

def _floating(op, input):
    """``input`` as a float Tensor: ints and bools become float32."""
    input = as_tensor(input)
    if input.data.dtype.kind != "f":
        input = input.to(_dtypes.DEFAULT_FLOAT)
    return input


def _number(op, name, value):
    if not isinstance(value, (int, float, np.number)) or isinstance(value, bool):
        raise DTypeError(f"{op}: {name} must be a number; expected an int or a float, got {value!r}.")
    return float(value)


def leaky_relu(input, negative_slope=0.01):
    """``input`` where positive, else ``negative_slope * input``."""
    return LeakyReLU.apply(_floating("leaky_relu", input),
                           negative_slope=_number("leaky_relu", "negative_slope", negative_slope))


def elu(input, alpha=1.0):
    """``input`` where positive, else ``alpha * (exp(input) - 1)``; stable for any input."""
    return ELU.apply(_floating("elu", input), alpha=_number("elu", "alpha", alpha))


_GELU_FORMS = ("none", "tanh")


def gelu(input, approximate="none"):
    """``input * Phi(input)`` (Phi the standard normal CDF, via erf), or its tanh approximation."""
    if approximate not in _GELU_FORMS:
        raise ShapeError(f"gelu: unknown approximation; expected one of {_GELU_FORMS}, got {approximate!r}.")
    return GELU.apply(_floating("gelu", input), approximate=approximate)


def silu(input):
    """``input * sigmoid(input)`` (swish); stable for any input."""
    return SiLU.apply(_floating("silu", input))


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * input)) / beta``, and ``input`` itself where ``beta * input > threshold``."""
    beta = _number("softplus", "beta", beta)
    if beta == 0:
        raise ShapeError("softplus: beta divides the result; expected beta != 0, got 0.")
    return Softplus.apply(_floating("softplus", input), beta=beta,
                          threshold=_number("softplus", "threshold", threshold))


def erf(input):
    """The Gauss error function, elementwise (accurate to ~1e-15 in float64)."""
    return Erf.apply(_floating("erf", input))


TENSOR_METHODS = {"softmax": softmax, "log_softmax": log_softmax, "erf": erf}
