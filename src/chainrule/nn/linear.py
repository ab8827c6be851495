"""Linear (fully connected) layers and the shape-only layers Identity, Flatten, Unflatten."""

import math

from chainrule import _dtypes
from chainrule.creation import zeros
from chainrule.errors import ShapeError
from chainrule.nn import init
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.nn import linear
from chainrule.ops.shape import flatten

__all__ = ["Linear", "Identity", "Flatten", "Unflatten"]


class Linear(Module):
    """``y = x @ weight.T + bias``, with PyTorch's layout and default init.

    Args:
        in_features, out_features: sizes of each input and output row.
        bias: add a learnable bias.
        dtype: float32 (default) or float64.

    Shape:
        x: (*, in_features) -> (*, out_features)
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        dtype = _dtypes.resolve_float("Linear", dtype)
        self.weight = Parameter(zeros(out_features, in_features, dtype=dtype))
        self.bias = Parameter(zeros(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) weights, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        if x.shape[-1:] != (self.in_features,):
            raise ShapeError(f"{self!r}: wrong number of input features; expected last dimension "
                             f"{self.in_features}, got input shape {tuple(x.shape)}.")
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input unchanged (a placeholder in a Sequential)."""

    def forward(self, x):
        return x


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` (default: all but the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        shape = list(x.shape)
        dim = self.dim % len(shape)
        return x.reshape(tuple(shape[:dim]) + self.unflattened_size + tuple(shape[dim + 1:]))

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
