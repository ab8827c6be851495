"""Convolution layers and their functional forms: conv1d, conv2d, conv_transpose2d, unfold, fold.

The functions check their arguments and input, turn PyTorch's options (an int or a tuple, padding
"same" or "valid") into the normalised form of the ops in ``chainrule.ops.conv``, and call one
primitive. One-dimensional convolution is the two-dimensional op on a unit height; a 3-D input to
conv2d (2-D to conv1d) is treated as one unbatched sample, as in PyTorch.
"""

import math

from chainrule import _dtypes
from chainrule.creation import zeros
from chainrule.errors import ShapeError
from chainrule.nn import init
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops._operands import as_tensor, common_operands
from chainrule.ops._windows import output_length, window_option
from chainrule.ops.conv import Convolution, Fold, TransposedConvolution, Unfold

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d", "conv1d", "conv2d", "conv_transpose2d", "unfold", "fold"]


def _name(who):
    """The op name, or the layer's repr (built only when an error is raised)."""
    return who if isinstance(who, str) else repr(who)


def _conv_padding(who, padding, kernel, stride, dilation):
    """Padding as ((before, after), ...) per spatial dim; "same" puts any odd extra row after, as PyTorch."""
    dims = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * dims
        if padding != "same":
            raise ShapeError(f"{_name(who)}: unknown padding; expected an int, a tuple of ints, 'same' or "
                             f"'valid', got {padding!r}.")
        if any(s != 1 for s in stride):
            raise ShapeError(f"{_name(who)}: padding='same' keeps the size only without striding; expected "
                             f"stride {(1,) * dims}, got stride {stride}.")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in window_option(who, "padding", padding, dims, 0))


def _check_input(who, input, weight, bias, groups, dims, transposed):
    """Raise ShapeError naming ``who`` unless input, weight, bias and groups fit together."""
    spatial = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
    if input.ndim not in (dims + 1, dims + 2):
        raise ShapeError(f"{_name(who)}: wrong number of input dims; expected {dims + 2} dims {spatial} or "
                         f"{dims + 1} for one unbatched sample, got input shape {tuple(input.shape)}.")
    if weight.ndim != dims + 2:
        layout = "(in_channels, out_channels / groups, *kernel)" if transposed else \
            "(out_channels, in_channels / groups, *kernel)"
        raise ShapeError(f"{_name(who)}: wrong number of weight dims; expected {dims + 2} dims {layout}, got "
                         f"weight shape {tuple(weight.shape)}.")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or weight.shape[0] % groups:
        role = "in_channels" if transposed else "out_channels"
        raise ShapeError(f"{_name(who)}: groups must be a positive int dividing weight.shape[0] ({role}); "
                         f"expected a divisor of {weight.shape[0]}, got groups={groups!r}.")
    channels = input.shape[-dims - 1]
    expected = weight.shape[0] if transposed else weight.shape[1] * groups
    if channels != expected:
        raise ShapeError(f"{_name(who)}: wrong number of input channels; expected {expected}, got input shape "
                         f"{tuple(input.shape)}.")
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None and bias.shape != (out_channels,):
        raise ShapeError(f"{_name(who)}: the bias must hold one value per output channel; expected shape "
                         f"({out_channels},), got bias shape {tuple(bias.shape)}.")


def _as_batch(input, dims):
    """A batched view of the input, and whether it was one unbatched sample."""
    unbatched = input.ndim == dims + 1
    return (input.reshape((1,) + input.shape) if unbatched else input), unbatched


def _convolve(who, input, weight, bias, stride, padding, dilation, groups, dims):
    input, weight = common_operands(input, weight)
    bias = None if bias is None else as_tensor(bias, like=weight)
    _check_input(who, input, weight, bias, groups, dims, transposed=False)
    kernel = weight.shape[2:]
    stride = window_option(who, "stride", stride, dims, 1)
    dilation = window_option(who, "dilation", dilation, dims, 1)
    pairs = _conv_padding(who, padding, kernel, stride, dilation)
    size = input.shape[-dims:]
    if any(output_length(s, k, 1, p, d) < 1 for s, k, p, d in zip(size, kernel, pairs, dilation)):
        raise ShapeError(f"{_name(who)}: the input is smaller than the kernel; expected a padded size of at "
                         f"least {tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))}, got padded size "
                         f"{tuple(s + p[0] + p[1] for s, p in zip(size, pairs))} for input shape "
                         f"{tuple(input.shape)}.")
    x, unbatched = _as_batch(input, dims)
    if dims == 1:  # a unit height: the 2-D op does the work
        x = x.reshape(x.shape[:2] + (1,) + x.shape[2:])
        weight = weight.reshape(weight.shape[:2] + (1,) + weight.shape[2:])
        stride, dilation, pairs = (1,) + stride, (1,) + dilation, ((0, 0),) + pairs
    args = (x, weight) if bias is None else (x, weight, bias)
    out = Convolution.apply(*args, stride=stride, padding=pairs, dilation=dilation, groups=groups)
    if dims == 1:
        out = out.reshape(out.shape[:2] + out.shape[3:])
    return out.reshape(out.shape[1:]) if unbatched else out


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as PyTorch) of ``input`` with ``weight``.

    Args:
        input: (N, C_in, H, W), or (C_in, H, W) for one sample.
        weight: (C_out, C_in / groups, kh, kw).
        bias: (C_out,) or None.
        stride, dilation: an int or an (h, w) pair.
        padding: an int, an (h, w) pair, "valid" (none) or "same" (output size = input size; stride 1).
        groups: split the channels into this many independent convolutions.

    Returns:
        (N, C_out, OH, OW) with OH = (H + 2 padding - dilation (kh - 1) - 1) // stride + 1.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.conv import conv2d
        >>> conv2d(cr.ones(1, 1, 4, 4), cr.ones(1, 1, 3, 3), padding=1)[0, 0, 0].tolist()
        [4.0, 6.0, 6.0, 4.0]
    """
    return _convolve("conv2d", input, weight, bias, stride, padding, dilation, groups, dims=2)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution: input (N, C_in, L) or (C_in, L), weight (C_out, C_in / groups, k); as conv2d."""
    return _convolve("conv1d", input, weight, bias, stride, padding, dilation, groups, dims=1)


def _transposed_convolve(who, input, weight, bias, stride, padding, output_padding, groups, dilation):
    input, weight = common_operands(input, weight)
    bias = None if bias is None else as_tensor(bias, like=weight)
    _check_input(who, input, weight, bias, groups, 2, transposed=True)
    stride = window_option(who, "stride", stride, 2, 1)
    padding = window_option(who, "padding", padding, 2, 0)
    output_padding = window_option(who, "output_padding", output_padding, 2, 0)
    dilation = window_option(who, "dilation", dilation, 2, 1)
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise ShapeError(f"{_name(who)}: output_padding must be smaller than stride or dilation; expected "
                         f"output_padding < max(stride, dilation) in each dim, got output_padding={output_padding}, "
                         f"stride={stride}, dilation={dilation}.")
    kernel = weight.shape[2:]
    size = input.shape[-2:]
    out_size = tuple((s - 1) * st - 2 * p + d * (k - 1) + op + 1
                     for s, k, st, p, op, d in zip(size, kernel, stride, padding, output_padding, dilation))
    if min(out_size) < 1:
        raise ShapeError(f"{_name(who)}: the padding removes the whole output; expected a positive output size, "
                         f"got output size {out_size} for input shape {tuple(input.shape)} and padding {padding}.")
    x, unbatched = _as_batch(input, 2)
    args = (x, weight) if bias is None else (x, weight, bias)
    out = TransposedConvolution.apply(*args, stride=stride, padding=padding, output_padding=output_padding,
                                      dilation=dilation, groups=groups)
    return out.reshape(out.shape[1:]) if unbatched else out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution (the gradient of conv2d with respect to its input), as PyTorch.

    Args:
        input: (N, C_in, H, W), or (C_in, H, W) for one sample.
        weight: (C_in, C_out / groups, kh, kw).
        bias: (C_out,) or None.
        stride, padding, output_padding, dilation: an int or an (h, w) pair; output_padding adds
            rows at the bottom and columns at the right, and must be < max(stride, dilation).

    Returns:
        (N, C_out, OH, OW) with OH = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1.
    """
    return _transposed_convolve("conv_transpose2d", input, weight, bias, stride, padding, output_padding, groups,
                                dilation)


def _window_options(op, kernel_size, dilation, padding, stride):
    kernel = window_option(op, "kernel_size", kernel_size, 2, 1)
    pairs = tuple((p, p) for p in window_option(op, "padding", padding, 2, 0))
    return dict(kernel_size=kernel, stride=window_option(op, "stride", stride, 2, 1), padding=pairs,
                dilation=window_option(op, "dilation", dilation, 2, 1))


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding windows (im2col): (N, C, H, W) -> (N, C * kh * kw, L), L the number of windows.

    Column l holds window l in row-major order, its rows ordered (channel, kernel row, kernel column).
    """
    input = as_tensor(input)
    options = _window_options("unfold", kernel_size, dilation, padding, stride)
    if input.ndim not in (3, 4):
        raise ShapeError(f"unfold: wrong number of input dims; expected 4 dims (N, C, H, W) or 3 for one "
                         f"unbatched sample, got input shape {tuple(input.shape)}.")
    lengths = [output_length(s, k, st, p, d) for s, k, st, p, d in
               zip(input.shape[-2:], *options.values())]
    if min(lengths) < 1:
        raise ShapeError(f"unfold: the input is smaller than the kernel; expected at least one window, got "
                         f"input shape {tuple(input.shape)} with {options}.")
    x, unbatched = _as_batch(input, 2)
    out = Unfold.apply(x, **options)
    return out.reshape(out.shape[1:]) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding windows back into an image (col2im), the adjoint of ``unfold``:
    (N, C * kh * kw, L) -> (N, C, *output_size); overlapping values add up."""
    input = as_tensor(input)
    options = _window_options("fold", kernel_size, dilation, padding, stride)
    output_size = window_option("fold", "output_size", output_size, 2, 1)
    kh, kw = options["kernel_size"]
    lengths = [output_length(s, k, st, p, d) for s, k, st, p, d in zip(output_size, *options.values())]
    windows = lengths[0] * lengths[1] if min(lengths) > 0 else 0
    if input.ndim not in (2, 3) or input.shape[-2] % (kh * kw) or input.shape[-1] != windows:
        raise ShapeError(f"fold: the input does not hold the windows of a {output_size} image; expected shape "
                         f"(N, C * {kh * kw}, {windows}) or (C * {kh * kw}, {windows}), got input shape "
                         f"{tuple(input.shape)}.")
    x, unbatched = (input.reshape((1,) + input.shape), True) if input.ndim == 2 else (input, False)
    out = Fold.apply(x, output_size=output_size, **options)
    return out.reshape(out.shape[1:]) if unbatched else out


class _ConvNd(Module):
    """What Conv1d, Conv2d and ConvTranspose2d share: options, parameters, init and repr."""

    dims = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, dtype,
                 output_padding=0):
        super().__init__()
        name, dims = type(self).__name__, self.dims
        for role, count in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ShapeError(f"{name}: {role} must be a positive int; expected 1 or more, got {role}={count!r}.")
        for role, count in (("in_channels", in_channels), ("out_channels", out_channels)):
            if count % groups:
                raise ShapeError(f"{name}: {role} must be divisible by groups; expected a multiple of "
                                 f"{groups}, got {role}={count}.")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = window_option(name, "kernel_size", kernel_size, dims, 1)
        self.stride = window_option(name, "stride", stride, dims, 1)
        self.dilation = window_option(name, "dilation", dilation, dims, 1)
        self.output_padding = window_option(name, "output_padding", output_padding, dims, 0)
        if isinstance(padding, str):
            if self.transposed:
                raise ShapeError(f"{name}: string padding is not supported; expected an int or a tuple of ints, "
                                 f"got {padding!r}.")
            _conv_padding(name, padding, self.kernel_size, self.stride, self.dilation)  # validates
            self.padding = padding
        else:
            self.padding = window_option(name, "padding", padding, dims, 0)
        self.groups = groups
        dtype = _dtypes.resolve_float(type(self).__name__, dtype)
        shape = ((in_channels, out_channels // groups) if self.transposed else
                 (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(zeros(shape, dtype=dtype))
        self.bias = Parameter(zeros(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) weights, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) bias,
        with fan_in = weight.shape[1] * kh * kw (for ConvTranspose2d too, as PyTorch)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        dims = self.dims
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """2-D convolution layer with PyTorch's weight layout (out, in / groups, kh, kw) and default init.

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size, stride, dilation: an int or an (h, w) pair.
        padding: an int, an (h, w) pair, "valid" or "same" (stride 1 only).
        groups: independent channel groups; both channel counts must be divisible by it.
        bias: add a learnable bias per output channel.
        dtype: float32 (default) or float64.

    Shape:
        x: (N, in_channels, H, W) or (in_channels, H, W) -> (N, out_channels, OH, OW)

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.conv import Conv2d
        >>> Conv2d(1, 16, 3)(cr.zeros(8, 1, 28, 28)).shape
        (8, 16, 26, 26)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, dtype)

    def forward(self, x):
        return _convolve(self, x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups, 2)


class Conv1d(_ConvNd):
    """1-D convolution layer: weight (out, in / groups, k); options as Conv2d with single ints.

    Shape:
        x: (N, in_channels, L) or (in_channels, L) -> (N, out_channels, OL)
    """

    dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, dtype)

    def forward(self, x):
        return _convolve(self, x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups, 1)


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution layer (upsampling), PyTorch's weight layout (in, out / groups, kh, kw).

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, dtype: as Conv2d
            (padding an int or a pair only).
        output_padding: extra rows and columns at the bottom and right of the output, to pick among the
            sizes a strided Conv2d maps onto the same input size; < max(stride, dilation).

    Shape:
        x: (N, in_channels, H, W) -> (N, out_channels, (H - 1) stride - 2 padding + dilation (kh - 1)
        + output_padding + 1, ...)
    """

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, dtype,
                         output_padding)
        if any(op >= max(s, d) for op, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ShapeError(f"ConvTranspose2d: output_padding must be smaller than stride or dilation; expected "
                             f"output_padding < max(stride, dilation) in each dim, got output_padding="
                             f"{self.output_padding}, stride={self.stride}, dilation={self.dilation}.")

    def forward(self, x):
        return _transposed_convolve(self, x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                          self.groups, self.dilation)
