"""Window arithmetic and strided window views shared by the convolution and pooling ops.

For a padded input ``xp`` of shape (N, C, H, W), ``window_view`` is the no-copy view::

    windows[n, c, i, j, p, q] = xp[n, c, p * stride_h + i * dilation_h, q * stride_w + j * dilation_w]

and ``col2im`` is its adjoint: it adds a window-shaped array back onto the input grid with one
strided slice per kernel offset (a loop over kh * kw offsets, not over pixels).
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.errors import ShapeError
from chainrule.ops import _compiled

__all__ = ["window_option", "output_length", "pool_output_length", "pool_geometry", "pad_grid", "crop_grid",
           "window_view", "col2im"]


def window_option(who, name, value, dims, minimum):
    """An int or a sequence of ``dims`` ints (each >= minimum) as a tuple, else a ShapeError naming
    ``who`` (an op name, or a layer whose repr is built only for the message)."""
    if type(value) is int and value >= minimum:  # the common case (stride=1), checked on every forward
        return (value,) * dims
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
    entries = (value,) * dims if is_int(value) else value
    if not (isinstance(entries, (tuple, list)) and len(entries) == dims
            and all(is_int(v) and v >= minimum for v in entries)):
        who = who if isinstance(who, str) else repr(who)
        raise ShapeError(f"{who}: invalid {name}; expected an int or {dims} ints, each >= {minimum}, "
                         f"got {name}={value!r}.")
    return tuple(int(v) for v in entries)


def output_length(size, kernel, stride, padding, dilation):
    """How many windows fit along one dim: padding is a (before, after) pair; 0 or less if none."""
    return (size + padding[0] + padding[1] - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_length(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling length: with ceil_mode a last partial window counts if it starts inside
    the input or its left padding."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    length = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (length - 1) * stride >= size + padding:
        length -= 1
    return length


def pool_geometry(shape, kernel_size, stride, padding, dilation, ceil_mode):
    """Output size and the padding pairs a pooling window view needs (ceil_mode pads the end)."""
    out, pairs = [], []
    for size, k, s, p, d in zip(shape[-2:], kernel_size, stride, padding, dilation):
        length = pool_output_length(size, k, s, p, d, ceil_mode)
        extra = max(0, (length - 1) * s + d * (k - 1) + 1 - (size + 2 * p))
        out.append(length)
        pairs.append((p, p + extra))
    return tuple(out), tuple(pairs)


def pad_grid(x, padding, value=0.0):
    """``x`` with ((top, bottom), (left, right)) rows and columns of ``value`` around its last two dims."""
    (top, bottom), (left, right) = padding
    if not (top or bottom or left or right):
        return x
    h, w = x.shape[-2:]
    out = np.full(x.shape[:-2] + (top + h + bottom, left + w + right), value, dtype=x.dtype)
    out[..., top:top + h, left:left + w] = x
    return out


def crop_grid(x, padding, size):
    """The inverse of ``pad_grid``: the ``size`` block after the (top, left) padding, as a
    contiguous (N, C, H, W) array (a no-op for a contiguous grid without padding)."""
    (top, _), (left, _) = padding
    block = x[..., top:top + size[0], left:left + size[1]]
    compiled = _compiled.kernels()
    if compiled is not None and x.ndim == 4 and x.strides[0] == x.itemsize:  # a batch-innermost grid
        out = np.empty(block.shape, dtype=x.dtype)
        compiled.batch_to_front(block.transpose(1, 2, 3, 0), None, out)
        return out
    return np.ascontiguousarray(block)


def window_view(x, kernel_size, stride, dilation, out_size):
    """A read-only strided view (N, C, kh, kw, OH, OW) of the windows of a padded ``x``; no copy."""
    n, c = x.shape[:2]
    sn, sc, sy, sx = x.strides
    strides = (sn, sc, sy * dilation[0], sx * dilation[1], sy * stride[0], sx * stride[1])
    return as_strided(x, (n, c) + tuple(kernel_size) + tuple(out_size), strides, writeable=False)


def col2im(cols, size, stride, dilation, batch_last=False):
    """The adjoint of ``window_view``: add ``cols[n, c, i, j, p, q]`` onto an (N, C) + size grid.

    ``cols`` may have any strides (a broadcast gradient, a transposed product). Overlapping windows
    add up; the loop runs over the kh * kw kernel offsets, each adding one strided slice. With
    ``batch_last`` the grid's memory is ordered (C, H, W, N) like cols that come from a
    batch-innermost product; NumPy follows the memory order, so each slice is long runs.
    """
    n, c, kh, kw, oh, ow = cols.shape
    if batch_last:
        out = np.zeros((c,) + tuple(size) + (n,), dtype=cols.dtype).transpose(3, 0, 1, 2)
    else:
        out = np.zeros((n, c) + tuple(size), dtype=cols.dtype)
    compiled = _compiled.kernels()
    if compiled is not None:
        add = compiled.col2im((kh, kw), tuple(stride), tuple(dilation), batch_last)
        if batch_last:
            add(cols.transpose(1, 2, 3, 4, 5, 0), out.transpose(1, 2, 3, 0))
        else:
            add(cols, out)
        return out
    for i in range(kh):
        top = i * dilation[0]
        rows = slice(top, top + stride[0] * (oh - 1) + 1, stride[0])
        for j in range(kw):
            left = j * dilation[1]
            out[:, :, rows, left:left + stride[1] * (ow - 1) + 1:stride[1]] += cols[:, :, i, j]
    return out
