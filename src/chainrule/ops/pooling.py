"""Pooling primitives: 2-D max and average pooling over strided window views (no pixel loops).

Their backward passes add window-shaped gradients back onto the input with ``col2im`` on arrays,
and with the registered ``fold`` on Tensors, so second derivatives exist.
"""

import numpy as np

from chainrule.autograd import _vjp_math
from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, values
from chainrule.ops import _compiled
from chainrule.ops._windows import crop_grid, pad_grid, pool_geometry, window_view
from chainrule.ops.conv import fold_windows

__all__ = []

TENSOR_METHODS = {}


def _pool_samples(rng, **extra):
    def case(shape, label, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), ceil_mode=False, **options):
        return Sample((values(rng, shape),), dict(kernel_size=kernel_size, stride=stride, padding=padding,
                                                  ceil_mode=ceil_mode, **options, **extra), label)
    return [
        case((2, 2, 4, 4), "2x2, stride 2"),
        case((2, 2, 5, 5), "3x3, stride 2, padding 1", kernel_size=(3, 3), padding=(1, 1)),
        case((1, 2, 5, 6), "overlapping 2x3, stride 1, ceil_mode", kernel_size=(2, 3), stride=(1, 2), ceil_mode=True),
    ]


@register("max_pool2d", samples=lambda rng: _pool_samples(rng, dilation=(1, 1)) + [
    Sample((values(rng, (1, 2, 6, 5)),), dict(kernel_size=(2, 2), stride=(1, 2), padding=(1, 0), dilation=(2, 2),
                                               ceil_mode=True), "dilated, padded, ceil_mode")])
class MaxPooling(Function):
    """2-D max pooling.  out = the largest element of each window (padding counts as -inf);
    grad_x = grad_out routed to each window's argmax (overlapping windows add up).

    Ties go to the first element in the window's row-major order, as PyTorch's CPU kernel; a NaN
    in a window makes its output NaN.
    """

    @staticmethod
    def forward(ctx, x, *, kernel_size, stride, padding, dilation, ceil_mode):
        out_size, pairs = pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
        grid = pad_grid(x, pairs, -np.inf)
        offsets = kernel_size[0] * kernel_size[1]
        # argmax holds each window's offset i * kw + j.
        argmax = np.zeros(x.shape[:2] + out_size, dtype=np.uint8 if offsets <= 256 else np.int32)
        compiled = _compiled.kernels()
        if compiled is not None:
            best = np.empty(argmax.shape, dtype=x.dtype)
            forward, _ = compiled.max_pool(kernel_size, stride, dilation)
            forward(grid, best, argmax)
        else:
            view = window_view(grid, kernel_size, stride, dilation, out_size)
            best = view[:, :, 0, 0].copy()
            # Offsets are visited in increasing order, so "the new value wins only if strictly
            # larger" keeps the first of tied maxima, and the winner's index is a running maximum
            # of better * k (arithmetic beats masked assignment).
            for k in range(1, offsets):
                candidate = view[:, :, k // kernel_size[1], k % kernel_size[1]]
                better = np.greater(candidate, best)
                np.maximum(best, candidate, out=best)  # np.maximum propagates NaN
                np.maximum(argmax, better.astype(argmax.dtype) * argmax.dtype.type(k), out=argmax)
        ctx.argmax, ctx.in_size, ctx.pairs = argmax, x.shape[2:], pairs
        ctx.options = dict(kernel_size=kernel_size, stride=stride, dilation=dilation)
        return best

    @staticmethod
    def backward(ctx, grad_out):
        kh, kw = ctx.options["kernel_size"]
        n, c, oh, ow = grad_out.shape
        if ctx.xp is _vjp_math.arrays:
            stride, dilation = ctx.options["stride"], ctx.options["dilation"]
            padded = tuple(s + p[0] + p[1] for s, p in zip(ctx.in_size, ctx.pairs))
            grid = np.zeros((n, c) + padded, dtype=grad_out.dtype)
            compiled = _compiled.kernels()
            if compiled is not None:
                _, backward = compiled.max_pool((kh, kw), stride, dilation)
                backward(grad_out, ctx.argmax, grid)
                return crop_grid(grid, ctx.pairs, ctx.in_size)
            disjoint = all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, (kh, kw)))
            for k in range(kh * kw):
                top, left = (k // kw) * dilation[0], (k % kw) * dilation[1]
                target = grid[:, :, top:top + stride[0] * (oh - 1) + 1:stride[0],
                              left:left + stride[1] * (ow - 1) + 1:stride[1]]
                if disjoint:  # each grid cell belongs to one window: write, don't add
                    np.multiply(grad_out, ctx.argmax == k, out=target)
                else:
                    target += grad_out * (ctx.argmax == k)
            return crop_grid(grid, ctx.pairs, ctx.in_size)
        offsets = np.arange(kh * kw, dtype=ctx.argmax.dtype).reshape((kh, kw, 1, 1))
        routes = (ctx.argmax[:, :, None, None] == offsets).astype(grad_out.dtype)
        cols = grad_out.reshape((n, c, 1, 1, oh, ow)) * routes
        return fold_windows(ctx.xp, cols, ctx.in_size, padding=ctx.pairs, **ctx.options)


@register("avg_pool2d", samples=lambda rng: _pool_samples(rng, count_include_pad=True) + [
    Sample((values(rng, (1, 2, 5, 6)),), dict(kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), ceil_mode=True,
                                               count_include_pad=False), "padding not counted, ceil_mode")])
class AveragePooling(Function):
    """2-D average pooling.  out = the sum of each window / its divisor;
    grad_x = grad_out / divisor spread evenly over each window.

    The divisor follows PyTorch: kh * kw clipped to the padded input (ceil_mode windows may run
    past it), or only the input elements it covers when ``count_include_pad=False``.
    """

    @staticmethod
    def forward(ctx, x, *, kernel_size, stride, padding, ceil_mode, count_include_pad):
        dilation = (1, 1)
        out_size, pairs = pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
        view = window_view(pad_grid(x, pairs), kernel_size, stride, dilation, out_size)
        total = view[:, :, 0, 0].copy()
        for k in range(1, kernel_size[0] * kernel_size[1]):
            total += view[:, :, k // kernel_size[1], k % kernel_size[1]]
        counts = []
        for size, length, k, s, p in zip(x.shape[2:], out_size, kernel_size, stride, padding):
            start = np.arange(length) * s - p
            end = np.minimum(start + k, size + p)
            if not count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, size)
            counts.append(end - start)
        ctx.scale = (1.0 / np.outer(*counts)).astype(x.dtype)
        ctx.in_size, ctx.pairs = x.shape[2:], pairs
        ctx.options = dict(kernel_size=kernel_size, stride=stride, dilation=dilation)
        total *= ctx.scale
        return total

    @staticmethod
    def backward(ctx, grad_out):
        n, c, oh, ow = grad_out.shape
        kh, kw = ctx.options["kernel_size"]
        spread = ctx.xp.broadcast_to((grad_out * ctx.scale).reshape((n, c, 1, 1, oh, ow)), (n, c, kh, kw, oh, ow))
        return fold_windows(ctx.xp, spread, ctx.in_size, padding=ctx.pairs, **ctx.options)
