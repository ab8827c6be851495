"""Normalization: batch_norm, layer_norm and group_norm, each one fused op for speed.

All three standardise ``x`` over some axes of a view of it, ``xhat = (x - mean) / sqrt(var + eps)``
with the biased variance, then apply a learnable affine map ``out = xhat * weight + bias``. They
differ only in the view, the normalised axes and the axes the weight is shared over:

    batch_norm  (N, C, *)  statistics over N and *, one weight per channel C
    layer_norm  (*, D...)  statistics over the trailing normalized_shape, one weight per element of it
    group_norm  (N, C, *)  viewed as (N, G, C/G, *), statistics over (C/G, *), one weight per channel

so one forward and one backward serve them all. With statistics m = mean_A(x) and
r = 1 / sqrt(var_A(x) + eps) over the normalised axes A (n elements) and g' = grad_out * weight:

    grad_x = r * (g' - mean_A(g') - xhat * mean_A(g' * xhat))   (batch statistics)
    grad_x = r * g'                                              (fixed running statistics)
    grad_weight = sum(grad_out * xhat),  grad_bias = sum(grad_out)  over the axes the weight is shared on.
"""

import functools

import numpy as np

from chainrule.autograd import _vjp_math
from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, values
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._operands import as_tensor
from chainrule.tensor import Tensor

__all__ = ["batch_norm", "layer_norm", "group_norm"]


def _set_layout(ctx, x, view, axes, affine, weight_axes, param_shape, batch_stats, eps):
    """Record where ``x`` is normalised: its view, the reduced axes, the weight's broadcast shape."""
    ctx.in_shape, ctx.view, ctx.axes, ctx.affine = x.shape, view, axes, affine
    ctx.weight_axes, ctx.param_shape = weight_axes, param_shape
    ctx.batch_stats, ctx.eps = batch_stats, eps
    ctx.inv_count = 1.0 / max(int(np.prod([view[a] for a in axes])), 1)


def _normalize(ctx, x, weight, bias, running=None):
    """Standardise ``x`` over ``ctx.axes`` (batch statistics, or the given ``running`` (mean, var))
    and apply the affine map; keeps mean, var and 1 / std on ``ctx``."""
    ctx.save_for_backward(x, weight)
    view = x.reshape(ctx.view)
    if running is None:
        mean = view.mean(ctx.axes, keepdims=True)
        out = view - mean
        var = np.square(out).mean(ctx.axes, keepdims=True)
    else:
        mean, var = running
        out = view - mean
    rstd = 1.0 / np.sqrt(var + ctx.eps)
    ctx.mean, ctx.var, ctx.rstd = mean, var, rstd
    if weight is None:
        out *= rstd
    elif ctx.weight_axes == ctx.axes:  # batch norm: both factors are per channel, so multiply them first
        out *= rstd * weight.reshape(ctx.affine)
    else:
        out *= rstd
        out *= weight.reshape(ctx.affine)
    if bias is not None:
        out += bias.reshape(ctx.affine)
    return out.reshape(ctx.in_shape)


def _statistics(ctx, view):
    """The mean and 1 / std used by the backward pass."""
    if not ctx.batch_stats or ctx.xp is _vjp_math.arrays:
        return ctx.mean, ctx.rstd
    # With create_graph=True they are recomputed from the saved input, so that the second
    # derivative sees how the batch statistics depend on it (saved arrays would be constants).
    mean = view.mean(ctx.axes, keepdim=True)
    centred = view - mean
    return mean, ((centred * centred).mean(ctx.axes, keepdim=True) + ctx.eps) ** -0.5


def _normalization_backward(ctx, grad_out):
    """The VJP shared by the three normalizations (the math is in the module docstring)."""
    x, weight = ctx.saved
    needs = ctx.needs_input_grad
    need_weight = len(needs) > 1 and needs[1]
    need_bias = len(needs) > 2 and needs[2]
    view, g = x.reshape(ctx.view), grad_out.reshape(ctx.view)
    mean, rstd = _statistics(ctx, view)
    xhat = (view - mean) * rstd
    grad_weight = (g * xhat).sum(ctx.weight_axes) if need_weight else None
    grad_bias = g.sum(ctx.weight_axes) if need_bias else None
    grad_x = None
    if needs[0]:
        # Batch norm's weight is constant over the normalised axes: it factors out of the means
        # (multiplied into the final scale), and grad_x reuses the parameters' sums.
        shared = ctx.weight_axes == ctx.axes
        gw = g if weight is None or shared else g * weight.reshape(ctx.affine)
        if ctx.batch_stats:
            sum_gw = grad_bias if shared and grad_bias is not None else gw.sum(ctx.axes)
            sum_gw_xhat = grad_weight if shared and grad_weight is not None else (gw * xhat).sum(ctx.axes)
            kept, inv_n = ctx.mean.shape, ctx.inv_count
            gw = gw - (sum_gw.reshape(kept) * inv_n + xhat * (sum_gw_xhat.reshape(kept) * inv_n))
        scale = rstd * weight.reshape(ctx.affine) if shared and weight is not None else rstd
        grad_x = (gw * scale).reshape(ctx.in_shape)
    if grad_weight is not None:
        grad_weight = grad_weight.reshape(ctx.param_shape)
    if grad_bias is not None:
        grad_bias = grad_bias.reshape(ctx.param_shape)
    return (grad_x, grad_weight, grad_bias)[:len(needs)]


def _batch_norm_samples(rng):
    def params(c):
        return values(rng, (c,), 0.5, 2.0), values(rng, (c,))
    running = {"training": False, "running_mean": values(rng, (2,)), "running_var": values(rng, (2,), 0.5, 2.0)}
    return [
        Sample((values(rng, (5, 3)), *params(3)), {"training": True}, "(N, C) batch statistics"),
        Sample((values(rng, (3, 2, 4)), *params(2)), {"training": True, "eps": 1e-3},
               "(N, C, L) batch statistics"),
        Sample((values(rng, (2, 3, 2, 2)), *params(3)), {"training": True}, "(N, C, H, W) batch statistics"),
        Sample((values(rng, (4, 3)),), {"training": True}, "no affine"),
        Sample((values(rng, (3, 2, 4)), *params(2)), running, "(N, C, L) running statistics"),
    ]


@register("batch_norm", samples=_batch_norm_samples)
class BatchNorm(Function):
    """Normalise each channel of (N, C, *) over N and *, fused for speed (a hot path in training).

    out = (x - mean) / sqrt(var + eps) * weight + bias with batch statistics when ``training``,
    else the running ones; the VJP is in the module docstring. In training, running statistics
    passed as options are updated in place (as PyTorch's kernel does, so the batch statistics
    are computed once): they are state, not differentiated inputs.
    """

    @staticmethod
    def forward(ctx, x, weight=None, bias=None, *, training=True, running_mean=None, running_var=None,
                momentum=0.1, eps=1e-5):
        channels = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        affine = (1, channels) + (1,) * (x.ndim - 2)
        _set_layout(ctx, x, x.shape, axes, affine, axes, (channels,), training, eps)
        if not training:
            running = (running_mean.astype(x.dtype, copy=False).reshape(affine),
                       running_var.astype(x.dtype, copy=False).reshape(affine))
            return _normalize(ctx, x, weight, bias, running)
        out = _normalize(ctx, x, weight, bias)
        if running_mean is not None:
            count = x.size // channels
            running_mean *= 1.0 - momentum
            running_mean += momentum * ctx.mean.reshape(channels)
            running_var *= 1.0 - momentum  # the running variance is the unbiased estimate
            running_var += (momentum * count / max(count - 1, 1)) * ctx.var.reshape(channels)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return _normalization_backward(ctx, grad_out)


def _layer_norm_samples(rng):
    return [
        Sample((values(rng, (3, 4)), values(rng, (4,), 0.5, 2.0), values(rng, (4,))),
               {"normalized_shape": (4,)}, "last dim"),
        Sample((values(rng, (2, 3, 4)), values(rng, (3, 4), 0.5, 2.0), values(rng, (3, 4))),
               {"normalized_shape": (3, 4), "eps": 1e-3}, "last two dims"),
        Sample((values(rng, (2, 5)),), {"normalized_shape": (5,)}, "no affine"),
        Sample((values(rng, (5,)), values(rng, (5,), 0.5, 2.0)), {"normalized_shape": (5,)},
               "one row, weight only"),
    ]


@register("layer_norm", samples=_layer_norm_samples)
class LayerNorm(Function):
    """Normalise over the trailing ``normalized_shape`` dims, fused for speed.

    out = (x - mean) / sqrt(var + eps) * weight + bias, statistics per leading index; the VJP is in
    the module docstring.
    """

    @staticmethod
    def forward(ctx, x, weight=None, bias=None, *, normalized_shape, eps=1e-5):
        lead = x.ndim - len(normalized_shape)
        _set_layout(ctx, x, x.shape, tuple(range(lead, x.ndim)), tuple(normalized_shape), tuple(range(lead)),
                    tuple(normalized_shape), True, eps)
        return _normalize(ctx, x, weight, bias)

    @staticmethod
    def backward(ctx, grad_out):
        return _normalization_backward(ctx, grad_out)


def _group_norm_samples(rng):
    return [
        Sample((values(rng, (2, 4, 3)), values(rng, (4,), 0.5, 2.0), values(rng, (4,))),
               {"num_groups": 2}, "(N, C, L) two groups"),
        Sample((values(rng, (2, 6, 2, 2)), values(rng, (6,), 0.5, 2.0), values(rng, (6,))),
               {"num_groups": 3, "eps": 1e-3}, "(N, C, H, W) three groups"),
        Sample((values(rng, (3, 6)),), {"num_groups": 2}, "(N, C) no affine"),
    ]


@register("group_norm", samples=_group_norm_samples)
class GroupNorm(Function):
    """Normalise each group of C / G channels (with all positions) per sample, fused for speed.

    x (N, C, *) is viewed as (N, G, C/G, *); out = (x - mean) / sqrt(var + eps) * weight + bias with
    one weight per channel; the VJP is in the module docstring.
    """

    @staticmethod
    def forward(ctx, x, weight=None, bias=None, *, num_groups, eps=1e-5):
        batch, channels, positions = x.shape[0], x.shape[1], x.shape[2:]
        view = (batch, num_groups, channels // num_groups) + positions
        trailing = tuple(range(3, 3 + len(positions)))
        affine = (1, num_groups, channels // num_groups) + (1,) * len(positions)
        _set_layout(ctx, x, view, (2,) + trailing, affine, (0,) + trailing, (channels,), True, eps)
        return _normalize(ctx, x, weight, bias)

    @staticmethod
    def backward(ctx, grad_out):
        return _normalization_backward(ctx, grad_out)


# --- public functions --------------------------------------------------------------------------

def _float_operands(op, input, *params):
    """The input and its optional parameters as Tensors of one float dtype (PyTorch's promotion)."""
    tensors = [as_tensor(t) if t is not None else None for t in (input,) + params]
    present = [t for t in tensors if t is not None]
    for t in present:
        if t.data.dtype.kind != "f":
            raise DTypeError(f"{op}: the input and parameters must be floating point; expected float32 or "
                             f"float64, got {t.data.dtype}.")
    dtype = functools.reduce(np.promote_types, [t.data.dtype for t in present])
    return [t.to(dtype) if t is not None and t.data.dtype != dtype else t for t in tensors]


def _check_param(op, name, value, shape):
    if value is not None and tuple(value.shape) != shape:
        raise ShapeError(f"{op}: {name} has the wrong shape; expected shape {shape}, got {name}.shape="
                         f"{tuple(value.shape)}.")


def _state_array(value):
    """A running-statistics buffer as the ndarray to read (and, in training, update in place)."""
    if value is None or isinstance(value, np.ndarray):
        return value
    return value.data if isinstance(value, Tensor) else np.asarray(value, dtype=np.float64)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Batch normalization of (N, C, *) over N and the positions *, as ``torch.nn.functional.batch_norm``.

    In training, the batch's statistics are used and, when given, ``running_mean`` and
    ``running_var`` are updated in place: ``running = (1 - momentum) * running + momentum * batch``
    with the unbiased batch variance. Otherwise the running statistics are used.

    Args:
        input: (N, C, *) floats.
        running_mean, running_var: (C,) buffers, or None (training only).
        weight, bias: optional (C,) affine parameters.
        training: use and track batch statistics.
        momentum: the running statistics' update factor.
        eps: added to the variance.

    Raises:
        ShapeError: no channel dim, parameters not of shape (C,), one value per channel in
            training, or no running statistics outside training.
    """
    input, weight, bias = _float_operands("batch_norm", input, weight, bias)
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: the input needs a channel dim; expected shape (N, C, *), got input "
                         f"shape {input.shape}.")
    channels = input.shape[1]
    for name, value in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                        ("running_var", running_var)):
        _check_param("batch_norm", name, value, (channels,))
    if training and input.data.size // max(channels, 1) <= 1:
        raise ShapeError(f"batch_norm: training needs more than 1 value per channel to compute batch "
                         f"statistics; expected N * (positions) > 1, got input shape {input.shape}.")
    if not training and (running_mean is None or running_var is None):
        raise ShapeError("batch_norm: outside training the running statistics are used; expected "
                         "running_mean and running_var tensors, got None.")
    return BatchNorm.apply(input, weight, bias, training=bool(training), running_mean=_state_array(running_mean),
                           running_var=_state_array(running_var), momentum=float(momentum), eps=eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization over the trailing ``normalized_shape`` dims, as ``torch.nn.functional.layer_norm``.

    Args:
        input: (*, *normalized_shape) floats.
        normalized_shape: an int or a tuple: the trailing dims to normalise over.
        weight, bias: optional affine parameters of shape ``normalized_shape``.
        eps: added to the variance.

    Raises:
        ShapeError: the input does not end with ``normalized_shape``, or a parameter has another shape.
    """
    input, weight, bias = _float_operands("layer_norm", input, weight, bias)
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if not shape or input.ndim < len(shape) or input.shape[input.ndim - len(shape):] != shape:
        raise ShapeError(f"layer_norm: the input must end with the normalized shape; expected input shape "
                         f"(*, {', '.join(map(str, shape))}), got input shape {input.shape}.")
    _check_param("layer_norm", "weight", weight, shape)
    _check_param("layer_norm", "bias", bias, shape)
    return LayerNorm.apply(input, weight, bias, normalized_shape=shape, eps=eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization of (N, C, *), as ``torch.nn.functional.group_norm``.

    Args:
        input: (N, C, *) floats.
        num_groups: G, dividing C: each sample's channels are normalised in G groups.
        weight, bias: optional (C,) affine parameters.
        eps: added to the variance.

    Raises:
        ShapeError: no channel dim, C not divisible by G, or a parameter not of shape (C,).
    """
    input, weight, bias = _float_operands("group_norm", input, weight, bias)
    if input.ndim < 2:
        raise ShapeError(f"group_norm: the input needs a channel dim; expected shape (N, C, *), got input "
                         f"shape {input.shape}.")
    channels = input.shape[1]
    if not isinstance(num_groups, (int, np.integer)) or num_groups <= 0 or channels % num_groups:
        raise ShapeError(f"group_norm: the channels must split into equal groups; expected num_groups to "
                         f"divide C={channels}, got num_groups={num_groups!r}.")
    _check_param("group_norm", "weight", weight, (channels,))
    _check_param("group_norm", "bias", bias, (channels,))
    return GroupNorm.apply(input, weight, bias, num_groups=int(num_groups), eps=eps)


TENSOR_METHODS = {}
