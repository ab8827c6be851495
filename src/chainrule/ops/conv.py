"""Convolution primitives: convolution, transposed convolution, and the im2col pair
``unfold``/``fold`` they (and pooling, in ``chainrule.ops.pooling``) are differentiated through.

Every op here reads the windows of its input through one strided view, never a Python loop over
pixels or batch items. For a padded input ``xp`` of shape (N, C, H, W)::

    windows[n, c, i, j, p, q] = xp[n, c, p * stride_h + i * dilation_h, q * stride_w + j * dilation_w]

``window_view`` (in ``chainrule.ops._windows``) builds that view without copying; its adjoint
``col2im`` adds a window-shaped array back onto the input grid with one strided slice per kernel
offset (a loop over kh * kw offsets, not over pixels). A convolution copies the windows once into
a (C * kh * kw, N * OH * OW) matrix (im2col) and multiplies it by the (O, C * kh * kw) weight
matrix: one BLAS product per group.
The matrix keeps the batch innermost when that makes its copies cheaper (see
``_batch_innermost``); every op still takes and returns contiguous (N, C, H, W) arrays.

Options are normalised by the public functions in ``chainrule.nn`` before they reach these ops:
``kernel_size``, ``stride``, ``dilation`` are (h, w) pairs; a convolution's ``padding`` is
((top, bottom), (left, right)), so that ``padding="same"`` with an even kernel can pad one more
row at the bottom, as PyTorch does; pooling takes PyTorch's symmetric (h, w) ``padding`` and
``ceil_mode``. One-dimensional layers call these ops with a unit height.

Backward formulas run on ndarrays in an ordinary backward pass and on Tensors when
``create_graph=True``. The convolutions keep a BLAS fast path for arrays (reusing the im2col
matrix of the forward pass) and otherwise differentiate through the registered ops ``unfold``,
``fold`` and ``einsum``, whose own backward passes are each other, so second derivatives exist.
"""

import numpy as np

from chainrule.autograd import _vjp_math
from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, values
from chainrule.ops import _compiled
from chainrule.ops._windows import col2im, crop_grid, output_length, pad_grid, window_view

__all__ = ["fold_windows"]

TENSOR_METHODS = {}


# --- the matrices of a convolution ---------------------------------------------------------
#
# A convolution is a product of a (G, O/G, C/G kh kw) weight matrix with a (G, C/G kh kw, positions)
# window matrix, positions being every (n, p, q). Which of n, p, q runs innermost is a speed choice:
# with the batch outermost (n, p, q) only the rows of each window (OW values) are contiguous, which
# makes im2col and col2im slow when the image is small and the kernel matrix tall; with the batch
# innermost (p, q, n) they move runs of OW * N values, at the price of transposing the input and
# the output between (N, C, H, W) and (C, H, W, N). ``_batch_innermost`` picks the layout whose
# copies are smaller; both give the same numbers.

def _batch_innermost(channels_per_group, outputs_per_group, kernel_size):
    """Batch-innermost columns when the window matrix (C/G kh kw rows) outweighs the transposes
    of input and output (C/G + O/G rows each way)."""
    return channels_per_group * kernel_size[0] * kernel_size[1] >= 2 * (channels_per_group + outputs_per_group)


def _as_columns(a, groups, batch_last):
    """(N, C, H, W) -> (G, C/G, positions), positions ordered (h, w, n) or (n, h, w); a copy."""
    a = a.transpose(1, 2, 3, 0) if batch_last else a.transpose(1, 0, 2, 3)
    return a.reshape((groups, a.shape[0] // groups, -1))


def _from_columns(product, channels, size, batch, batch_last, bias=None):
    """(G, C/G, positions) -> a contiguous (N, C, *size) array, plus ``bias`` (C,) if given."""
    if batch_last:
        source = product.reshape((channels,) + tuple(size) + (batch,))
        compiled = _compiled.kernels()
        if compiled is not None:
            out = np.empty((batch, channels) + tuple(size), dtype=product.dtype)
            compiled.batch_to_front(source, bias, out)
            return out
        out = np.ascontiguousarray(source.transpose(3, 0, 1, 2))
    else:
        out = np.ascontiguousarray(product.reshape((channels, batch) + tuple(size)).transpose(1, 0, 2, 3))
    if bias is not None:
        out += bias.reshape((channels, 1, 1))
    return out


def _im2col(x, kernel_size, stride, padding, dilation, out_size, groups, batch_last):
    """The window matrix (G, C/G kh kw, positions): rows (channel, kernel row, kernel column) as in
    the weight, columns in the same position order as ``_as_columns``."""
    if batch_last:  # one copy pads and moves the batch innermost
        n, c, h, w = x.shape
        (top, bottom), (left, right) = padding
        grid = np.zeros((c, top + h + bottom, left + w + right, n), dtype=x.dtype)
        grid[:, top:top + h, left:left + w] = x.transpose(1, 2, 3, 0)
        view = window_view(grid.transpose(3, 0, 1, 2), kernel_size, stride, dilation, out_size)
        cols = np.ascontiguousarray(view.transpose(1, 2, 3, 4, 5, 0))
    else:
        view = window_view(pad_grid(x, padding), kernel_size, stride, dilation, out_size)
        cols = np.ascontiguousarray(view.transpose(1, 2, 3, 0, 4, 5))
    return cols.reshape((groups, -1, cols[0, 0, 0].size))


def _col2im_columns(product, channels, kernel_size, out_size, batch, size, stride, dilation, batch_last):
    """Sum a (G, C/G kh kw, positions) window-gradient matrix onto an (N, C, *size) grid."""
    if batch_last:
        cols = product.reshape((channels,) + tuple(kernel_size) + tuple(out_size) + (batch,))
        cols = cols.transpose(5, 0, 1, 2, 3, 4)
    else:
        cols = product.reshape((channels,) + tuple(kernel_size) + (batch,) + tuple(out_size))
        cols = cols.transpose(3, 0, 1, 2, 4, 5)
    return col2im(cols, size, stride, dilation, batch_last)


def _unfold_array(x, kernel_size, stride, padding, dilation):
    n, c, h, w = x.shape
    out_size = tuple(output_length(s, k, st, p, d)
                     for s, k, st, p, d in zip((h, w), kernel_size, stride, padding, dilation))
    view = window_view(pad_grid(x, padding), kernel_size, stride, dilation, out_size)
    return view.copy().reshape((n, c * kernel_size[0] * kernel_size[1], out_size[0] * out_size[1]))


def _fold_array(cols, output_size, kernel_size, stride, padding, dilation):
    n, ckk, _ = cols.shape
    kh, kw = kernel_size
    padded = tuple(s + p[0] + p[1] for s, p in zip(output_size, padding))
    out_size = tuple(output_length(s, k, st, p, d)
                     for s, k, st, p, d in zip(output_size, kernel_size, stride, padding, dilation))
    cols = cols.reshape((n, ckk // (kh * kw), kh, kw) + out_size)
    return crop_grid(col2im(cols, padded, stride, dilation), padding, output_size)


def fold_windows(xp, cols, output_size, kernel_size, stride, padding, dilation):
    """Sum window-shaped ``cols`` (N, C, kh, kw, OH, OW) back onto (N, C) + output_size, on arrays
    with ``col2im`` and on Tensors with the registered ``fold``."""
    if xp is _vjp_math.arrays:
        padded = tuple(s + p[0] + p[1] for s, p in zip(output_size, padding))
        return crop_grid(col2im(cols, padded, stride, dilation), padding, output_size)
    n, c, kh, kw, oh, ow = cols.shape
    return Fold.apply(cols.reshape((n, c * kh * kw, oh * ow)), output_size=tuple(output_size),
                      kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)


# --- unfold and fold -----------------------------------------------------------------------

def _unfold_samples(rng):
    return [
        Sample((values(rng, (2, 2, 5, 5)),), dict(kernel_size=(3, 3), stride=(1, 1), padding=((1, 1), (1, 1)),
                                                   dilation=(1, 1)), "3x3, padding 1"),
        Sample((values(rng, (1, 2, 6, 5)),), dict(kernel_size=(2, 3), stride=(2, 1), padding=((0, 1), (2, 0)),
                                                   dilation=(1, 2)), "strided, dilated, uneven padding"),
    ]


@register("unfold", samples=_unfold_samples)
class Unfold(Function):
    """im2col with PyTorch's layout: (N, C, H, W) -> (N, C * kh * kw, OH * OW).

    out[n, (c, i, j), (p, q)] = xpad[n, c, p * sh + i * dh, q * sw + j * dw];  grad_x = fold(grad_out).
    """

    @staticmethod
    def forward(ctx, x, *, kernel_size, stride, padding, dilation):
        ctx.options = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
        ctx.in_size = x.shape[-2:]
        return _unfold_array(x, **ctx.options)

    @staticmethod
    def backward(ctx, grad_out):
        if ctx.xp is _vjp_math.arrays:
            return _fold_array(grad_out, ctx.in_size, **ctx.options)
        return Fold.apply(grad_out, output_size=ctx.in_size, **ctx.options)


def _fold_samples(rng):
    return [
        Sample((values(rng, (2, 18, 25)),), dict(output_size=(5, 5), kernel_size=(3, 3), stride=(1, 1),
                                                  padding=((1, 1), (1, 1)), dilation=(1, 1)), "3x3, padding 1"),
        Sample((values(rng, (1, 12, 9)),), dict(output_size=(6, 5), kernel_size=(2, 3), stride=(2, 1),
                                                 padding=((0, 1), (2, 0)), dilation=(1, 2)),
               "strided, dilated, uneven padding"),
    ]


@register("fold", samples=_fold_samples)
class Fold(Function):
    """col2im, the adjoint of unfold: (N, C * kh * kw, L) -> (N, C, H, W), overlapping windows add.

    grad_cols = unfold(grad_out).
    """

    @staticmethod
    def forward(ctx, cols, *, output_size, kernel_size, stride, padding, dilation):
        ctx.options = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
        return _fold_array(cols, output_size, **ctx.options)

    @staticmethod
    def backward(ctx, grad_out):
        if ctx.xp is _vjp_math.arrays:
            return _unfold_array(grad_out, **ctx.options)
        return Unfold.apply(grad_out, **ctx.options)


# --- convolution ---------------------------------------------------------------------------

def _conv_samples(rng):
    def case(x, w, bias, label, stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
        inputs = (values(rng, x), values(rng, w)) + ((values(rng, (w[0],)),) if bias else ())
        return Sample(inputs, dict(stride=stride, padding=padding, dilation=dilation, groups=groups), label)
    return [
        case((2, 2, 5, 5), (3, 2, 3, 3), True, "3x3 with bias (batch-innermost columns)"),
        case((2, 2, 5, 5), (3, 2, 3, 2), False, "stride 2, padding 1, no bias", stride=(2, 2),
             padding=((1, 1), (1, 1))),
        case((1, 4, 5, 6), (4, 2, 2, 2), True, "2 groups, dilation 2, uneven padding (same)", dilation=(2, 1),
             padding=((1, 1), (0, 1)), groups=2),
        case((2, 1, 4, 5), (4, 1, 2, 2), True, "one input channel (batch-outermost columns)", padding=((1, 0), (0, 1))),
    ]


@register("conv2d", samples=_conv_samples)
class Convolution(Function):
    """2-D cross-correlation (PyTorch's conv2d) as one im2col copy and one matrix product per group.

    out[n, o, p, q] = b[o] + sum_{c, i, j} w[o, c, i, j] xpad[n, g(o) C/G + c, p s + i d, q s + j d];
    with cols the (C kh kw, positions) window matrix and go grad_out as (O, positions):
    grad_w = go cols^T,  grad_x = col2im(w^T go),  grad_b = grad_out summed over n, p, q.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride, padding, dilation, groups):
        n, c, h, w = x.shape
        o, kernel = weight.shape[0], weight.shape[2:]
        out_size = tuple(output_length(s, k, st, p, d)
                         for s, k, st, p, d in zip((h, w), kernel, stride, padding, dilation))
        batch_last = _batch_innermost(c // groups, o // groups, kernel)
        cols = _im2col(x, kernel, stride, padding, dilation, out_size, groups, batch_last)
        out = np.matmul(weight.reshape((groups, o // groups, -1)), cols)
        out = _from_columns(out, o, out_size, n, batch_last, bias)
        ctx.save_for_backward(x, weight, cols)
        ctx.options = dict(stride=stride, padding=padding, dilation=dilation)
        ctx.groups, ctx.batch_last = groups, batch_last
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, cols = ctx.saved
        needs, groups = ctx.needs_input_grad, ctx.groups
        grad_bias = grad_out.sum((0, 2, 3)) if len(needs) > 2 and needs[2] else None
        if ctx.xp is _vjp_math.arrays:
            grad_x, grad_weight = _convolution_grads_arrays(x, weight, cols, grad_out, needs, groups,
                                                            ctx.batch_last, **ctx.options)
        else:
            grad_x, grad_weight = _convolution_grads_tensors(x, weight, grad_out, needs, groups, **ctx.options)
        return (grad_x, grad_weight) if len(needs) == 2 else (grad_x, grad_weight, grad_bias)


def _convolution_grads_arrays(x, weight, cols, grad_out, needs, groups, batch_last, stride, padding, dilation):
    """The BLAS path: products with the saved im2col matrix, then col2im for the input."""
    n, c, h, w = x.shape
    o, kernel = weight.shape[0], weight.shape[2:]
    go = _as_columns(grad_out, groups, batch_last)
    grad_weight = np.matmul(go, cols.transpose(0, 2, 1)).reshape(weight.shape) if needs[1] else None
    grad_x = None
    if needs[0]:
        product = np.matmul(weight.reshape((groups, o // groups, -1)).transpose(0, 2, 1), go)
        padded = (h + padding[0][0] + padding[0][1], w + padding[1][0] + padding[1][1])
        grid = _col2im_columns(product, c, kernel, grad_out.shape[2:], n, padded, stride, dilation, batch_last)
        grad_x = crop_grid(grid, padding, (h, w))
    return grad_x, grad_weight


def _convolution_grads_tensors(x, weight, grad_out, needs, groups, stride, padding, dilation):
    """The differentiable path (create_graph=True): unfold, einsum and fold are registered ops."""
    from chainrule.ops.linalg import einsum
    n, c, h, w = x.shape
    o, kernel = weight.shape[0], weight.shape[2:]
    options = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation)
    go = grad_out.reshape((n, groups, o // groups, -1))
    grad_weight = grad_x = None
    if needs[1]:
        cols = Unfold.apply(x, **options)
        cols = cols.reshape((n, groups, -1, cols.shape[-1]))
        grad_weight = einsum("ngol,ngkl->gok", go, cols).reshape(weight.shape)
    if needs[0]:
        grad_cols = einsum("ngol,gok->ngkl", go, weight.reshape((groups, o // groups, -1)))
        grad_x = Fold.apply(grad_cols.reshape((n, c * kernel[0] * kernel[1], -1)), output_size=(h, w), **options)
    return grad_x, grad_weight


# --- transposed convolution ----------------------------------------------------------------

def _conv_transpose_samples(rng):
    def case(x, w, bias, label, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1), groups=1):
        inputs = (values(rng, x), values(rng, w)) + ((values(rng, (w[1] * groups,)),) if bias else ())
        return Sample(inputs, dict(stride=stride, padding=padding, output_padding=output_padding,
                                   dilation=dilation, groups=groups), label)
    return [
        case((2, 2, 3, 3), (2, 3, 3, 3), True, "3x3 with bias (batch-innermost columns)"),
        case((2, 2, 3, 3), (2, 2, 3, 2), False, "stride 2, padding 1, output_padding 1, no bias", stride=(2, 2),
             padding=(1, 1), output_padding=(1, 1)),
        case((1, 4, 3, 2), (4, 1, 2, 2), True, "2 groups, dilation 2, output_padding >= stride", stride=(1, 2),
             dilation=(2, 1), output_padding=(1, 0), groups=2),
        case((2, 4, 2, 3), (4, 1, 2, 2), True, "one output channel (batch-outermost columns)", stride=(2, 1)),
    ]


def _transposed_geometry(in_size, kernel, stride, padding, output_padding, dilation):
    """Output size, and how to crop and pad grad_out so its windows land on the input grid."""
    full = tuple((s - 1) * st + d * (k - 1) + 1 for s, k, st, d in zip(in_size, kernel, stride, dilation))
    out_size = tuple(f - 2 * p + op for f, p, op in zip(full, padding, output_padding))
    # The last output_padding rows receive nothing but the bias; rows beyond the windows' reach
    # are cropped, and the rest is padded as in the forward pass.
    kept = tuple(min(size, f - p) for size, f, p in zip(out_size, full, padding))
    pairs = tuple((p, max(0, f - p - k)) for f, p, k in zip(full, padding, kept))
    return full, out_size, kept, pairs


@register("conv_transpose2d", samples=_conv_transpose_samples)
class TransposedConvolution(Function):
    """2-D transposed convolution (PyTorch's conv_transpose2d), the adjoint of conv2d in x.

    With xm the input as (C_in, positions) and cols = w^T xm:  out = crop(col2im(cols)) + b;
    with gc the windows of the padded grad_out as (C_out kh kw, positions):
    grad_x = w gc,  grad_w = xm gc^T,  grad_b = grad_out summed over n, p, q.
    Weight layout (C_in, C_out / groups, kh, kw).
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride, padding, output_padding, dilation, groups):
        n, c_in, h, w = x.shape
        c_out, kernel = weight.shape[1] * groups, weight.shape[2:]
        full, out_size, _, _ = _transposed_geometry((h, w), kernel, stride, padding, output_padding, dilation)
        # The window matrix is C_out/G kh kw rows over the input's positions; as for conv2d.
        batch_last = _batch_innermost(c_out // groups, c_in // groups, kernel)
        x_mat = _as_columns(x, groups, batch_last)
        product = np.matmul(weight.reshape((groups, c_in // groups, -1)).transpose(0, 2, 1), x_mat)
        grid_size = (full[0] + output_padding[0], full[1] + output_padding[1])
        grid = _col2im_columns(product, c_out, kernel, (h, w), n, grid_size, stride, dilation, batch_last)
        out = crop_grid(grid, ((padding[0], 0), (padding[1], 0)), out_size)
        if bias is not None:
            out += bias.reshape((c_out, 1, 1))
        ctx.save_for_backward(x, weight)
        ctx.options = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
        ctx.groups, ctx.batch_last = groups, batch_last
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved
        needs, groups, batch_last = ctx.needs_input_grad, ctx.groups, ctx.batch_last
        n, c_in, h, w = x.shape
        kernel = weight.shape[2:]
        _, _, kept, pairs = _transposed_geometry((h, w), kernel, **ctx.options)
        stride, dilation = ctx.options["stride"], ctx.options["dilation"]
        grad_bias = grad_out.sum((0, 2, 3)) if len(needs) > 2 and needs[2] else None
        kept_grad = grad_out if kept == grad_out.shape[2:] else grad_out[:, :, :kept[0], :kept[1]]
        w_mat = weight.reshape((groups, c_in // groups, -1))
        grad_x = grad_weight = None
        if ctx.xp is _vjp_math.arrays:
            cols = _im2col(kept_grad, kernel, stride, pairs, dilation, (h, w), groups, batch_last)
            if needs[0]:
                grad_x = _from_columns(np.matmul(w_mat, cols), c_in, (h, w), n, batch_last)
            if needs[1]:
                x_mat = _as_columns(x, groups, batch_last)
                grad_weight = np.matmul(x_mat, cols.transpose(0, 2, 1)).reshape(weight.shape)
        else:
            from chainrule.ops.linalg import einsum
            cols = Unfold.apply(kept_grad, kernel_size=kernel, stride=stride, padding=pairs, dilation=dilation)
            cols = cols.reshape((n, groups, -1, cols.shape[-1]))
            if needs[0]:
                grad_x = einsum("gck,ngkl->ngcl", w_mat, cols).reshape(x.shape)
            if needs[1]:
                grad_weight = einsum("ngcl,ngkl->gck", x.reshape((n, groups, c_in // groups, -1)),
                                     cols).reshape(weight.shape)
        return (grad_x, grad_weight) if len(needs) == 2 else (grad_x, grad_weight, grad_bias)
