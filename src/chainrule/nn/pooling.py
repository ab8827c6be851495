"""Pooling layers and their functional forms: max and average pooling in 1-D and 2-D, and adaptive
average pooling to a fixed output size.

Max and average pooling are the sliding-window primitives of ``chainrule.ops.conv`` (1-D pooling
runs them on a unit height). Adaptive average pooling is composed: each output row averages the
input rows floor(i H / OH) .. ceil((i + 1) H / OH) (PyTorch's rule, so sizes need not divide), which
is a constant (OH, H) averaging matrix, and the layer is ``A_h @ x @ A_w^T``: two matrix products.
"""

import numpy as np

from chainrule.errors import DTypeError, ShapeError
from chainrule.nn.module import Module
from chainrule.ops._operands import as_tensor
from chainrule.ops._windows import pool_output_length, window_option
from chainrule.ops.pooling import AveragePooling, MaxPooling
from chainrule.ops.linalg import matmul
from chainrule.tensor import Tensor

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d", "max_pool1d", "max_pool2d",
           "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d"]


def _name(who):
    return who if isinstance(who, str) else repr(who)


def _check_input(who, input, dims):
    if input.ndim not in (dims + 1, dims + 2):
        layout = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
        raise ShapeError(f"{_name(who)}: wrong number of input dims; expected {dims + 2} dims {layout} or "
                         f"{dims + 1} for one unbatched sample, got input shape {tuple(input.shape)}.")
    if input.data.dtype.kind != "f":
        raise DTypeError(f"{_name(who)}: the input must be floating point; expected float32 or float64, got "
                         f"{input.data.dtype}. Hint: call .float() first.")


def _pool(kind, who, input, kernel_size, stride, padding, dilation, ceil_mode, dims, **options):
    """Check the arguments, run the 2-D pooling primitive (on a unit height for 1-D), restore the shape."""
    input = as_tensor(input)
    _check_input(who, input, dims)
    kernel = window_option(who, "kernel_size", kernel_size, dims, 1)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        window_option(who, "stride", stride, dims, 1)
    padding = window_option(who, "padding", padding, dims, 0)
    dilation = window_option(who, "dilation", dilation, dims, 1)
    for k, p, d in zip(kernel, padding, dilation):
        if 2 * p > d * (k - 1) + 1:
            raise ShapeError(f"{_name(who)}: the padding is too wide for the window; expected padding at most "
                             f"half the effective kernel size (dilation * (kernel_size - 1) + 1), got "
                             f"padding={padding}, kernel_size={kernel}, dilation={dilation}.")
    size = input.shape[-dims:]
    out = tuple(pool_output_length(s, k, st, p, d, ceil_mode)
                for s, k, st, p, d in zip(size, kernel, stride, padding, dilation))
    if min(out) < 1:
        raise ShapeError(f"{_name(who)}: the input is smaller than the window; expected a padded size of at least "
                         f"{tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))}, got input shape "
                         f"{tuple(input.shape)} with padding {padding}.")
    unbatched = input.ndim == dims + 1
    x = input.reshape((1,) + input.shape) if unbatched else input
    if dims == 1:
        x = x.reshape(x.shape[:2] + (1,) + x.shape[2:])
        kernel, stride, padding, dilation = (1,) + kernel, (1,) + stride, (0,) + padding, (1,) + dilation
    if kind is MaxPooling:
        options["dilation"] = dilation
    y = kind.apply(x, kernel_size=kernel, stride=stride, padding=padding, ceil_mode=bool(ceil_mode), **options)
    if dims == 1:
        y = y.reshape(y.shape[:2] + y.shape[3:])
    return y.reshape(y.shape[1:]) if unbatched else y


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, *, ceil_mode=False):
    """The largest value of each window (padding counts as -inf).

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, padding, dilation: an int or an (h, w) pair; padding at most half the window.
        stride: an int or a pair; defaults to kernel_size.
        ceil_mode: round the output size up, keeping a last partial window that starts inside the input.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.pooling import max_pool2d
        >>> max_pool2d(cr.tensor([[[[1.0, 2.0], [4.0, 3.0]]]]), 2).tolist()
        [[[[4.0]]]]
    """
    return _pool(MaxPooling, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, 2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, *, ceil_mode=False):
    """The largest value of each window of (N, C, L) or (C, L); options as max_pool2d with single ints."""
    return _pool(MaxPooling, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode, 1)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """The mean of each window; zero padding counts in the divisor unless ``count_include_pad=False``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, padding: an int or an (h, w) pair; padding at most half the window.
        stride: an int or a pair; defaults to kernel_size.
        ceil_mode: round the output size up (a last partial window divides by what it covers).
        count_include_pad: divide by the window size including zero padding (PyTorch's default).
    """
    return _pool(AveragePooling, "avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode, 2,
                 count_include_pad=bool(count_include_pad))


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """The mean of each window of (N, C, L) or (C, L); options as avg_pool2d with single ints."""
    return _pool(AveragePooling, "avg_pool1d", input, kernel_size, stride, padding, 1, ceil_mode, 1,
                 count_include_pad=bool(count_include_pad))


def _averaging_matrix(size, length, dtype):
    """(length, size): row i averages inputs floor(i size / length) .. ceil((i + 1) size / length) - 1."""
    i = np.arange(length)
    start = (i * size) // length
    end = -((-(i + 1) * size) // length)
    columns = np.arange(size)
    inside = (columns >= start[:, None]) & (columns < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a given output size, whatever the input size (windows may overlap by one).

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: an int, or an (OH, OW) pair where None keeps that input dim.

    Returns:
        (N, C, OH, OW): out[..., i, j] is the mean of rows floor(i H / OH) .. ceil((i + 1) H / OH) - 1
        and the matching columns, as PyTorch.
    """
    return _adaptive_average("adaptive_avg_pool2d", input, output_size)


def _adaptive_average(who, input, output_size):
    input = as_tensor(input)
    _check_input(who, input, 2)
    size = input.shape[-2:]
    pair = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(pair) == 2:  # None keeps the input's size along that dim
        pair = tuple(s if o is None else o for o, s in zip(pair, size))
    filled = window_option(who, "output_size", pair, 2, 1)
    out = input
    if filled[0] != size[0]:
        out = matmul(Tensor._wrap(_averaging_matrix(size[0], filled[0], input.data.dtype)), out)
    if filled[1] != size[1]:
        out = matmul(out, Tensor._wrap(_averaging_matrix(size[1], filled[1], input.data.dtype).T))
    return out


class MaxPool2d(Module):
    """Max pooling layer; see ``max_pool2d``. ``stride`` defaults to ``kernel_size``.

    Shape:
        x: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW), OH = (H + 2 padding - dilation (k - 1) - 1) // stride + 1
    """

    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, *, ceil_mode=False):
        super().__init__()
        name = type(self).__name__
        window_option(name, "kernel_size", kernel_size, self.dims, 1)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode
        for option, minimum in (("stride", 1), ("padding", 0), ("dilation", 1)):
            window_option(name, option, getattr(self, option), self.dims, minimum)

    def forward(self, x):
        return _pool(MaxPooling, self, x, self.kernel_size, self.stride, self.padding, self.dilation,
                     self.ceil_mode, self.dims)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(MaxPool2d):
    """Max pooling over (N, C, L) or (C, L); see ``max_pool1d``."""

    dims = 1


class AvgPool2d(Module):
    """Average pooling layer; see ``avg_pool2d``. ``stride`` defaults to ``kernel_size``.

    Shape:
        x: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW), OH = (H + 2 padding - k) // stride + 1
    """

    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad
        for option, minimum in (("kernel_size", 1), ("stride", 1), ("padding", 0)):
            checked = window_option(name, option, getattr(self, option), self.dims, minimum)
            if self.dims == 1:  # PyTorch keeps AvgPool1d's options as 1-tuples
                setattr(self, option, checked)

    def forward(self, x):
        return _pool(AveragePooling, self, x, self.kernel_size, self.stride, self.padding, 1, self.ceil_mode,
                     self.dims, count_include_pad=bool(self.count_include_pad))

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(AvgPool2d):
    """Average pooling over (N, C, L) or (C, L); see ``avg_pool1d``."""

    dims = 1


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size; see ``adaptive_avg_pool2d``.

    Shape:
        x: (N, C, H, W) or (C, H, W) -> (N, C, *output_size)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return _adaptive_average(self, x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
