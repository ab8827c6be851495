"""Normalization layers: BatchNorm1d, BatchNorm2d, LayerNorm and GroupNorm, as in PyTorch.

Parameter and buffer names, shapes and order match PyTorch's (``weight``, ``bias``,
``running_mean``, ``running_var``, ``num_batches_tracked``), so a PyTorch state_dict loads 1:1.
"""

import math

import numpy as np

from chainrule import _dtypes
from chainrule.autograd.tape import outside_ops
from chainrule.creation import ones, tensor, zeros
from chainrule.errors import ShapeError
from chainrule.nn import init
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.normalization import batch_norm, group_norm, layer_norm

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm"]


def _reset_affine(layer):
    """A normalization layer's learnt scale to 1 and shift to 0 (either may be absent)."""
    if layer.weight is not None:
        init.ones_(layer.weight)
    if layer.bias is not None:
        init.zeros_(layer.bias)


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; subclasses say which input shapes they accept."""

    _shapes = ""  # the accepted input shapes, for error messages

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *,
                 bias=True, dtype=None):
        super().__init__()
        dtype = _dtypes.resolve_float(type(self).__name__, dtype)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_features, dtype=dtype)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=_dtypes.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        """Reset the running statistics, weight 1 and bias 0."""
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input(self, x):
        raise NotImplementedError

    def forward(self, x):
        self._check_input(x)
        if x.shape[1] != self.num_features:
            raise ShapeError(f"{self!r}: wrong number of channels; expected dim 1 of size {self.num_features}, "
                             f"got input shape {tuple(x.shape)}.")
        tracking = self.training and self.track_running_stats
        if self.training and math.prod(x.shape) // x.shape[1] <= 1:
            raise ShapeError(f"{self!r}: training needs more than 1 value per channel to compute batch "
                             f"statistics; expected N * (positions) > 1, got input shape {tuple(x.shape)}.")
        factor = 0.0 if self.momentum is None else self.momentum
        if tracking:
            outside_ops(f"{type(self).__name__} counts its training batches in num_batches_tracked")
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # a cumulative moving average: every batch weighs the same
                factor = 1.0 / float(self.num_batches_tracked.data)
        # Batch statistics in training, and in eval mode when no running statistics are kept.
        use_batch = self.training or self.running_mean is None
        keep_state = not self.training or self.track_running_stats
        return batch_norm(x, self.running_mean if keep_state else None, self.running_var if keep_state else None,
                          self.weight, self.bias, use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of features (N, C) or sequences (N, C, L), as ``torch.nn.BatchNorm1d``.

    In training, each channel is normalised with the batch's mean and biased variance, and the
    running statistics are updated: ``running = (1 - momentum) * running + momentum * batch``
    (unbiased variance; ``momentum=None`` gives the cumulative average). In eval mode the running
    statistics are used.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance.
        momentum: the running statistics' update factor, or None for a cumulative average.
        affine: learn a per-channel ``weight`` (init 1) and ``bias`` (init 0).
        track_running_stats: keep running statistics; if False, batch statistics are used in eval too.
        bias: with ``affine``, also learn the bias.
        dtype: float32 (default) or float64.

    Shape:
        x: (N, C) or (N, C, L) -> same shape

    Example:
        >>> import chainrule as cr
        >>> layer = cr.nn.BatchNorm1d(3)
        >>> layer(cr.randn(8, 3)).shape
        (8, 3)
    """

    def _check_input(self, x):
        if x.ndim not in (2, 3):
            raise ShapeError(f"{self!r}: wrong number of input dims; expected a 2-D (N, C) or 3-D (N, C, L) "
                             f"input, got input shape {tuple(x.shape)}.")


class BatchNorm2d(_BatchNorm):
    """Batch normalization of images (N, C, H, W) per channel, as ``torch.nn.BatchNorm2d``.

    Statistics are taken over N, H and W; see BatchNorm1d for the running statistics and arguments.

    Shape:
        x: (N, C, H, W) -> same shape
    """

    def _check_input(self, x):
        if x.ndim != 4:
            raise ShapeError(f"{self!r}: wrong number of input dims; expected a 4-D (N, C, H, W) input, "
                             f"got input shape {tuple(x.shape)}.")


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` dims, as ``torch.nn.LayerNorm``.

    Args:
        normalized_shape: an int or a tuple: the trailing dims normalised together.
        eps: added to the variance.
        elementwise_affine: learn a ``weight`` (init 1) and ``bias`` (init 0) of shape normalized_shape.
        bias: with ``elementwise_affine``, also learn the bias.
        dtype: float32 (default) or float64.

    Shape:
        x: (*, *normalized_shape) -> same shape

    Example:
        >>> import chainrule as cr
        >>> cr.nn.LayerNorm(4)
        LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, *, dtype=None):
        super().__init__()
        dtype = _dtypes.resolve_float("LayerNorm", dtype)
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps = tuple(int(s) for s in normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        self.weight = Parameter(ones(self.normalized_shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(zeros(self.normalized_shape, dtype=dtype)) if elementwise_affine and bias else None

    def reset_parameters(self):
        """Weight 1 and bias 0."""
        _reset_affine(self)

    def forward(self, x):
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != self.normalized_shape:
            trailing = ", ".join(map(str, self.normalized_shape))
            raise ShapeError(f"{self!r}: the input must end with the normalized shape; expected input shape "
                             f"(*, {trailing}), got input shape {tuple(x.shape)}.")
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalization: each sample's channels normalised in groups, as ``torch.nn.GroupNorm``.

    Args:
        num_groups: G, which must divide num_channels.
        num_channels: C.
        eps: added to the variance.
        affine: learn a per-channel ``weight`` (init 1) and ``bias`` (init 0).
        bias: with ``affine``, also learn the bias.
        dtype: float32 (default) or float64.

    Shape:
        x: (N, C, *) -> same shape

    Raises:
        ShapeError: num_channels is not divisible by num_groups.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, *, bias=True, dtype=None):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ShapeError(f"GroupNorm: the channels must split into equal groups; expected num_groups to "
                             f"divide num_channels={num_channels}, got num_groups={num_groups}.")
        dtype = _dtypes.resolve_float("GroupNorm", dtype)
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight = Parameter(ones(num_channels, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_channels, dtype=dtype)) if affine and bias else None

    def reset_parameters(self):
        """Weight 1 and bias 0."""
        _reset_affine(self)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(f"{self!r}: wrong input shape; expected (N, {self.num_channels}, *), got input "
                             f"shape {tuple(x.shape)}.")
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
