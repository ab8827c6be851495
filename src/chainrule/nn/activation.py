"""Activation layers: each wraps one activation function, with PyTorch's arguments and repr.

chainrule never writes into a tensor in place, so PyTorch's ``inplace`` argument is not offered.
"""

from chainrule._checks import normalize_dim
from chainrule.errors import ShapeError
from chainrule.nn.module import Module
from chainrule.ops.activation import elu, gelu, leaky_relu, log_softmax, silu, softmax, softplus
from chainrule.ops._operands import as_tensor
from chainrule.ops.elementwise import relu, sigmoid, tanh

__all__ = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Softplus", "Softmax", "LogSoftmax"]


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise, stable for any input.  Shape: any -> same."""

    def forward(self, x):
        return sigmoid(x)


class Tanh(Module):
    """Hyperbolic tangent elementwise.  Shape: any -> same."""

    def forward(self, x):
        return tanh(x)


class ReLU(Module):
    """``max(x, 0)`` elementwise (slope 0 at 0).  Shape: any -> same."""

    def forward(self, x):
        return relu(x)


class LeakyReLU(Module):
    """``x`` where positive, else ``negative_slope * x``.  Shape: any -> same."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """``x`` where positive, else ``alpha * (exp(x) - 1)``.  Shape: any -> same."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class GELU(Module):
    """``x * Phi(x)`` (exact, via erf) or its tanh approximation (``approximate="tanh"``).  Shape: any -> same."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ShapeError(f"GELU: unknown approximation; expected 'none' or 'tanh', got {approximate!r}.")
        self.approximate = approximate

    def forward(self, x):
        return gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """``x * sigmoid(x)`` (swish).  Shape: any -> same."""

    def forward(self, x):
        return silu(x)


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``.  Shape: any -> same."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class _AlongDim(Module):
    """A normalisation along one dim; the dim is required (PyTorch's implicit choice is deprecated)."""

    function = None

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        x = as_tensor(x)
        if self.dim is None:
            raise ShapeError(f"{self!r}: no dim given; expected the dim to normalise over, got None. "
                             f"Hint: {type(self).__name__}(dim=-1) for the last dim.")
        normalize_dim(repr(self), self.dim, x.ndim)
        return type(self).function(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """Probabilities along ``dim`` (they sum to 1); stable for any input.  Shape: any -> same."""

    function = staticmethod(softmax)


class LogSoftmax(_AlongDim):
    """Log-probabilities along ``dim``; stable, more accurate than log(Softmax).  Shape: any -> same."""

    function = staticmethod(log_softmax)
