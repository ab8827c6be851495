"""Compiled loops (numba) for the ops whose NumPy form makes many passes over memory.

Imported only through ``chainrule.ops._compiled`` when the compiled kernels are switched on.
Each kernel computes exactly what the NumPy form of its op computes, bit for bit (the tests run
both and compare), in one pass and without temporaries.

Max pooling in NumPy is kh * kw passes over strided views, with a comparison, a maximum and an
index update each; the loop below reads each window once. col2im in NumPy is one strided ``+=``
per kernel offset; the loop below makes the same additions in the same order without NumPy's
per-call iteration set-up. For these two, the window's geometry is built into each compiled
function as constants (one per geometry, made on first use and cached on disk by numba): with the
sizes known, the compiler unrolls the window and vectorises the rows, which makes a 2x2 pooling
about ten times faster than the same loop with the sizes as arguments. ReLU's forward pass is
one loop instead of a comparison and a maximum; ``batch_to_front`` moves a batch-innermost array
to (N, C, H, W), adding a bias on the way, in an order that reads and writes runs. An LSTM step's
gate arithmetic, a dozen NumPy calls on (H, B) blocks between the step's products, is one loop
each way; the tanh stays NumPy's (numba's scalar tanh is several times slower). The SGD and
Adam updates are one pass over each parameter instead of two (plain SGD: a product into a
temporary, then the subtraction) to a dozen (Adam).

The loops are serial. A parallel max pooling forward (numba's ``prange`` over the batch) made the
benchmark CNN's step slower at two threads, 27 against 13 ms: OpenBLAS's threads keep spinning on
the second core after each product, and the loop's second thread waits for them.
"""

import functools

import numba
import numpy as np


@functools.lru_cache(maxsize=None)
def max_pool(kernel_size, stride, dilation):
    """The compiled ``(forward, backward)`` pair of max pooling with this window geometry.

    ``forward(grid, out, argmax)`` fills ``out`` (N, C, OH, OW) with each window's maximum of the
    padded ``grid`` (N, C, H, W) and ``argmax`` with its offset i * kw + j in the window. Ties keep
    the first offset. A NaN makes the output NaN and leaves the offset at the largest value before
    it, as the NumPy form does (np.maximum propagates NaN, and ``>`` is false against it).

    ``backward(grad_out, argmax, grid)`` adds each window's upstream gradient onto ``grid`` (zeros
    of the padded size) at its argmax. Where windows overlap, a cell can receive several
    gradients; they are added offset by offset (every window's offset 0, then 1, ...), the NumPy
    form's order, so both round alike.
    """
    kh, kw = kernel_size
    sh, sw = stride
    dh, dw = dilation
    disjoint = sh >= dh * (kh - 1) + 1 and sw >= dw * (kw - 1) + 1

    @numba.njit(cache=True, nogil=True)
    def forward(grid, out, argmax):
        n, c, oh, ow = out.shape
        for b in range(n):
            for ch in range(c):
                for p in range(oh):
                    for q in range(ow):
                        top, left = p * sh, q * sw
                        best = grid[b, ch, top, left]
                        pick = 0
                        for k in range(1, kh * kw):
                            value = grid[b, ch, top + (k // kw) * dh, left + (k % kw) * dw]
                            larger = value > best
                            pick = k if larger else pick
                            best = value if larger | (value != value) else best
                        out[b, ch, p, q] = best
                        argmax[b, ch, p, q] = pick

    @numba.njit(cache=True, nogil=True)
    def backward(grad_out, argmax, grid):
        n, c, oh, ow = grad_out.shape
        for offset in range(1 if disjoint else kh * kw):
            for b in range(n):
                for ch in range(c):
                    for p in range(oh):
                        for q in range(ow):
                            k = argmax[b, ch, p, q]
                            if disjoint or k == offset:
                                grid[b, ch, p * sh + (k // kw) * dh, q * sw + (k % kw) * dw] += grad_out[b, ch, p, q]

    return forward, backward


@functools.lru_cache(maxsize=None)
def col2im(kernel_size, stride, dilation, batch_last):
    """The compiled ``add(cols, out)`` of ``chainrule.ops._windows.col2im`` for one window geometry.

    It adds window-shaped ``cols`` onto the zeros of ``out``, kernel offset by kernel offset as the
    NumPy form does, so each cell sums its windows in the same order. With ``batch_last`` both
    arrays come batch-innermost, ``cols`` (C, kh, kw, OH, OW, N) and ``out`` (C, H, W, N);
    otherwise ``cols`` is (N, C, kh, kw, OH, OW) and ``out`` (N, C, H, W). The innermost loop runs
    along the last dim, the one the memory runs along.
    """
    kh, kw = kernel_size
    sh, sw = stride
    dh, dw = dilation

    @numba.njit(cache=True, nogil=True)
    def add_batch_inner(cols, out):
        c, _, _, oh, ow, n = cols.shape
        for i in range(kh):
            for j in range(kw):
                for ch in range(c):
                    for p in range(oh):
                        for q in range(ow):
                            y, x = p * sh + i * dh, q * sw + j * dw
                            for b in range(n):
                                out[ch, y, x, b] += cols[ch, i, j, p, q, b]

    @numba.njit(cache=True, nogil=True)
    def add_batch_outer(cols, out):
        n, c, _, _, oh, ow = cols.shape
        for i in range(kh):
            for j in range(kw):
                for b in range(n):
                    for ch in range(c):
                        for p in range(oh):
                            for q in range(ow):
                                out[b, ch, p * sh + i * dh, q * sw + j * dw] += cols[b, ch, i, j, p, q]

    return add_batch_inner if batch_last else add_batch_outer


@numba.njit(cache=True, nogil=True)
def batch_to_front(source, bias, out):
    """Copy batch-innermost ``source`` (C, H, W, N) into contiguous ``out`` (N, C, H, W), adding
    ``bias`` (C,) on the way unless it is None.

    NumPy's transposing copy walks one of the two arrays element by element across cache lines;
    this loop keeps the batch in the middle, so it reads runs of N and writes runs of W.
    """
    c, h, w, n = source.shape
    for ch in range(c):
        for y in range(h):
            for b in range(n):
                for x in range(w):
                    if bias is None:
                        out[b, ch, y, x] = source[ch, y, x, b]
                    else:
                        out[b, ch, y, x] = source[ch, y, x, b] + bias[ch]


@numba.njit(cache=True, nogil=True)
def relu_forward(x, out, positive):
    """ReLU of C-contiguous ``x`` into ``out`` and the mask ``x > 0`` into ``positive``, one pass.

    As np.maximum(x, 0): -0.0 gives +0.0 and NaN stays NaN (the NumPy form's two passes).
    """
    flat_x, flat_out, flat_positive = x.reshape(-1), out.reshape(-1), positive.reshape(-1)
    for k in range(flat_x.size):
        value = flat_x[k]
        flat_positive[k] = value > 0
        flat_out[k] = value if value > 0 or value != value else 0


@numba.njit(cache=True, nogil=True)
def relu_backward(grad_out, positive, out):
    """``out = grad_out * positive`` for C-contiguous arrays: the gradient times 1 or 0, as the
    NumPy form's product with the boolean mask (so -g * 0 is -0.0 and NaN * 0 is NaN alike)."""
    flat_grad, flat_positive, flat_out = grad_out.reshape(-1), positive.reshape(-1), out.reshape(-1)
    for k in range(flat_grad.size):
        flat_out[k] = flat_grad[k] * (1 if flat_positive[k] else 0)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def lstm_cell_forward(gates, c_before, c_after, hidden):
    """One LSTM step after its tanh (``_lstm_layer_loop``), in one pass over the (4H, B) gates.

    ``gates`` rows i, f, o, g hold tanh of the (sigmoid rows halved) pre-activations: rows i, f, o
    become tanh / 2 + 1 / 2, their sigmoid; then ``c_after = f c_before + i g``. The NumPy form's
    five whole-block operations, element by element in the same order.
    """
    batch = gates.shape[1]
    for row in range(3 * hidden):
        for b in range(batch):
            gates[row, b] = gates[row, b] * 0.5 + 0.5
    for row in range(hidden):
        for b in range(batch):
            c_after[row, b] = gates[hidden + row, b] * c_before[row, b] + gates[row, b] * gates[3 * hidden + row, b]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def lstm_step_backward(dh, dc, upstream, gates, tanh_c, c_before, d_pre, kept, skipped, h_skipped, c_skipped,
                       scratch, one):
    """One LSTM step of backpropagation through time up to its product (``_lstm_layer_loop``).

    Adds the step's upstream gradients (``upstream`` (B, 2H), dh then dc, or None) to dh, dc (H, B); on
    padding (``kept`` (1, B) not None) moves the skipped part into ``h_skipped``, ``c_skipped``;
    adds dh's path through the cell to dc; writes the pre-activations' gradient ``d_pre`` (4H, B),
    rows i, f, o, g, from the step's ``gates``, ``tanh_c`` and ``c_before`` (H, B); and leaves
    dc = dc f (+ c_skipped) for the step before. The NumPy form's operations (``_slopes`` and
    ``_steps_back``), element by element in the same order; ``one`` is 1 in the arrays' dtype, so
    float32 stays float32. The upstream gradients are first turned into (H, B) blocks of
    ``scratch`` (2, H, B), so that the main loop runs over contiguous arrays, which the compiler
    vectorises.
    """
    hidden, batch = dh.shape
    size = hidden * batch
    if upstream is not None:  # None: no gradient from outside, nothing added (as the NumPy form)
        for b in range(batch):
            for row in range(hidden):
                scratch[0, row, b] = upstream[b, row]
                scratch[1, row, b] = upstream[b, hidden + row]
    grad_h, grad_c = scratch[0].reshape(-1), scratch[1].reshape(-1)
    gate, slope, squashed, previous = gates.reshape(-1), d_pre.reshape(-1), tanh_c.reshape(-1), c_before.reshape(-1)
    flat_h, flat_c = dh.reshape(-1), dc.reshape(-1)
    for k in range(size):
        i, f, o, g = gate[k], gate[size + k], gate[2 * size + k], gate[3 * size + k]
        h, c = flat_h[k], flat_c[k]
        if upstream is not None:
            h = h + grad_h[k]
            c = c + grad_c[k]
        if kept is not None:
            b = k % batch
            h_skipped.reshape(-1)[k] = h * skipped[0, b]
            c_skipped.reshape(-1)[k] = c * skipped[0, b]
            h = h * kept[0, b]
            c = c * kept[0, b]
        c = c + h * ((one - squashed[k] * squashed[k]) * o)
        slope[k] = ((i - i * i) * g) * c
        slope[size + k] = ((f - f * f) * previous[k]) * c
        slope[2 * size + k] = ((o - o * o) * squashed[k]) * h
        slope[3 * size + k] = ((one - g * g) * i) * c
        c = c * f
        if kept is not None:
            c = c + c_skipped.reshape(-1)[k]
        flat_c[k] = c


@numba.njit(cache=True, nogil=True)
def sgd_step(param, grad, lr, l2, buffer, first, momentum, keep, nesterov):
    """One SGD step (``chainrule.optim.SGD._update``) for C-contiguous arrays of one dtype, in one
    pass: the NumPy form's operations element by element in the same order, every scalar already
    in the arrays' dtype (plain SGD: ``param -= lr * grad``, a product into a temporary and a
    subtraction in NumPy).

    ``l2`` (not None) adds ``l2 * param`` to the gradient. ``buffer`` (not None) is the momentum
    buffer: set to the gradient on the ``first`` step, else ``momentum * buffer + keep * grad``;
    the step is then along ``grad + momentum * buffer`` with ``nesterov``, else along the buffer.
    """
    flat_param, flat_grad = param.reshape(-1), grad.reshape(-1)
    flat_buffer = flat_grad  # read only with momentum
    if buffer is not None:
        flat_buffer = buffer.reshape(-1)
    for k in range(flat_param.size):
        g = flat_grad[k]
        if l2 is not None:
            g = g + l2 * flat_param[k]
        if buffer is not None:
            b = g if first else flat_buffer[k] * momentum + keep * g
            flat_buffer[k] = b
            g = g + momentum * b if nesterov else b
        flat_param[k] -= lr * g


@numba.njit(cache=True, nogil=True, error_model="numpy")
def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, decay, l2, beta1, beta2, one_minus_beta1,
              one_minus_beta2, bias_correction2_sqrt, eps, step_size):
    """One Adam step (``chainrule.optim.Adam._update``) for C-contiguous arrays of one dtype, in one
    pass: the NumPy form's dozen whole-array operations, element by element in the same order,
    every scalar already in the arrays' dtype.

    ``decay`` (not None: decoupled weight decay) multiplies the weights first; ``l2`` (not None)
    adds ``l2 * param`` to the gradient; ``max_exp_avg_sq`` (not None: amsgrad) keeps the largest
    second moment, NaN propagating as with np.maximum.
    """
    flat_param, flat_grad = param.reshape(-1), grad.reshape(-1)
    flat_avg, flat_avg_sq = exp_avg.reshape(-1), exp_avg_sq.reshape(-1)
    flat_max = flat_avg_sq  # read only with amsgrad
    if max_exp_avg_sq is not None:
        flat_max = max_exp_avg_sq.reshape(-1)
    for k in range(flat_param.size):
        weight = flat_param[k]
        if decay is not None:
            weight = weight * decay
        g = flat_grad[k]
        if l2 is not None:
            g = g + l2 * weight
        avg = flat_avg[k] * beta1 + g * one_minus_beta1
        avg_sq = flat_avg_sq[k] * beta2 + (g * g) * one_minus_beta2
        flat_avg[k], flat_avg_sq[k] = avg, avg_sq
        second_moment = avg_sq
        if max_exp_avg_sq is not None:
            largest = flat_max[k]
            if not (largest > avg_sq or largest != largest):
                largest = avg_sq
            flat_max[k] = largest
            second_moment = largest
        denom = np.sqrt(second_moment) / bias_correction2_sqrt + eps
        flat_param[k] = weight - (avg / denom) * step_size
