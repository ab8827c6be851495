"""A whole LSTM layer on ndarrays, its input projection included, kept feature-major for speed.

The same math as ``_lstm_forward`` and ``_lstm_backward`` in ``recurrent.py`` (which stay the
readable version and run when the backward pass is itself differentiated), laid out differently
from ``_lstm_loop``: each step's gates are one (4H, B) block and each state one (H, B) block,
features along the rows, batch along the columns. Why: the step's product is then
``W_hh (4H, H) @ h (H, B)``, which OpenBLAS splits over two threads (27 µs at this benchmark's
size, against 38 µs for ``_lstm_loop``'s batch of four (B, H) x (H, H) products, which it never
splits), and the backward step's ``W_hh^T (H, 4H) @ d_pre (4H, B)`` likewise (29 against 42 µs).
At one thread these products are slower (48 and 49 µs).

Turning whole (T, B, 4H) arrays into this layout costs more than it saves, so the layer takes x
itself and keeps one block of columns per step, [x_t; 1; h_{t-1}; c_{t-1}] (feature-major; the
row of ones only with a bias):
- its first rows are the operand of the step's one product, ``[W_ih | b | W_hh] @ [x_t; 1; h_{t-1}]``,
  which makes the gates with the input projection and the bias and writes them where they are kept
  (35 µs at two threads for the 161-row operand here, against 27 µs plus a separate projection of
  all steps, a bias addition and a sum that took ~16 µs a step);
- the step writes h_t, c_t straight into the next block, and the (T, B, 2H) states the layer
  returns are a view of those rows: no copy, and a training step keeps the states once;
- backward pairs each step's gate gradient with the same operand, so the gradients of W_ih, b and
  W_hh are one product, with both laid out as (rows, steps * B) a few steps at a time.

Rows are reordered to i, f, o, g so that the three sigmoid gates are one block: one tanh serves
all four gates (sigmoid(x) = tanh(x / 2) / 2 + 1 / 2, the sigmoid rows halved beforehand, which
is exact). Arrays along time are in the order the steps are taken (the last step first for a
reverse layer); the returned states and gradients are in time order. With the compiled kernels on
(``chainrule.performance.use_compiled_kernels()``), each step's gate arithmetic between its tanh
calls and its product is one compiled pass each way, the same bits as the NumPy operations here;
backward's pass also makes the step's slopes, which the NumPy form makes for all steps at once.
"""

import functools

import numpy as np

from chainrule.ops import _compiled
from chainrule.ops._lstm_loop import _blend_in_place

__all__ = ["layer_forward", "layer_backward"]


_SIGMOIDS_FIRST = (0, 1, 3, 2)  # PyTorch's gate blocks i, f, g, o, taken as i, f, o, g


@functools.lru_cache(maxsize=64)
def _sigmoids_first(hidden):
    """Row order i, f, o, g of PyTorch's i, f, g, o rows (read-only, made once per size).

    It swaps the last two blocks, so it is its own inverse: indexing with it again restores
    PyTorch's order.
    """
    order = np.concatenate([np.arange(k * hidden, (k + 1) * hidden) for k in _SIGMOIDS_FIRST])
    order.flags.writeable = False
    return order


def _stacked_weights(weight_ih, weight_hh, bias, hidden):
    """[W_ih | b | W_hh] (4H, I (+ 1) + H), gate blocks i, f, o, g, the sigmoid rows halved (exact)."""
    inputs = weight_ih.shape[1]
    stacked = np.empty((4 * hidden, inputs + (bias is not None) + hidden), weight_hh.dtype)
    for k, source in enumerate(_SIGMOIDS_FIRST):
        rows, source_rows = slice(k * hidden, (k + 1) * hidden), slice(source * hidden, (source + 1) * hidden)
        stacked[rows, :inputs] = weight_ih[source_rows]
        if bias is not None:
            stacked[rows, inputs] = bias[source_rows]
        stacked[rows, -hidden:] = weight_hh[source_rows]
    stacked[:3 * hidden] *= 0.5
    return stacked


def _taken_order(array, reverse):
    """``array`` (T, ...) in the order its steps are taken."""
    return array[::-1] if reverse else array


def _feature_major(array, reverse):
    """(T, B, F) in time order -> (T, F, B), contiguous, in the order the steps are taken."""
    return np.ascontiguousarray(_taken_order(array, reverse).transpose(0, 2, 1))


def _returned_states(columns, hidden, reverse):
    """The (T, B, 2H) states, h then c, in time order: a view of the steps' columns."""
    return _taken_order(columns[1:, -2 * hidden:], reverse).transpose(0, 2, 1)


def layer_forward(x, h0, c0, weight_ih, weight_hh, bias, keep, reverse):
    """The states h_t, c_t of every step side by side, (T, B, 2H), and what backward needs.

    Args:
        x: (T, B, I).  h0, c0: (B, H).  weight_ih: (4H, I), weight_hh: (4H, H), gates i, f, g, o.
        bias: (4H,) or None.  keep: (T, B, 1) 1 where a step is taken and 0 on padding, or None.
        reverse: last step first.

    Returns:
        (states, trace): the states are a view of the steps' columns (below), which backward reads
        too, so a training step keeps them once.
    """
    steps, batch, hidden = x.shape[0], x.shape[1], weight_hh.shape[1]
    dtype = x.dtype
    weight = _stacked_weights(weight_ih, weight_hh, bias, hidden)
    sigmoid_rows = slice(0, 3 * hidden)
    # Step n's column block is [x_n; 1; h_n; c_n] (feature-major): its first rows are the operand
    # of one product that makes the step's gates, input projection and bias included, and the
    # step writes h_{n+1}, c_{n+1} straight into the next block, where the returned states see them.
    columns = np.empty((steps + 1, weight.shape[1] + hidden, batch), dtype)
    operands = columns[:, :weight.shape[1]]
    hs, cs = columns[:, -2 * hidden:-hidden], columns[:, -hidden:]
    np.copyto(columns[:steps, :x.shape[2]], _taken_order(x, reverse).transpose(0, 2, 1))
    if bias is not None:
        columns[:, x.shape[2]] = 1
    hs[0], cs[0] = h0.T, c0.T
    activations = np.empty((steps, 4 * hidden, batch), dtype)  # the gates of every step
    tanh_c = np.empty((steps, hidden, batch), dtype)
    input_gate = np.empty((hidden, batch), dtype)
    kept = None if keep is None else _feature_major(keep, reverse)  # (T, 1, B)
    compiled = _compiled.kernels()
    for n in range(steps):
        a = np.matmul(weight, operands[n], out=activations[n])  # the pre-activations, sigmoid rows halved
        np.tanh(a, out=a)
        h_new, c_new = hs[n + 1], cs[n + 1]
        if compiled is not None:
            compiled.lstm_cell_forward(a, cs[n], c_new, hidden)
        else:
            sigmoids = a[sigmoid_rows]
            sigmoids *= 0.5
            sigmoids += 0.5
            i, f, g = a[:hidden], a[hidden:2 * hidden], a[3 * hidden:]
            np.multiply(f, cs[n], out=c_new)
            c_new += np.multiply(i, g, out=input_gate)
        np.tanh(c_new, out=tanh_c[n])
        np.multiply(a[2 * hidden:3 * hidden], tanh_c[n], out=h_new)  # o tanh(c_t)
        if kept is not None:
            _blend_in_place(h_new, hs[n], kept[n])
            _blend_in_place(c_new, cs[n], kept[n])
    return _returned_states(columns, hidden, reverse), (activations, tanh_c, columns)


def _slopes(activations, tanh_c, c_before):
    """(slopes, to_cell): what multiplies dc or dh to give each step's d_pre, and dh's path to dc.

    slopes (T, 4H, B), rows i, f, o, g, times dc (i, f, g) or dh (o) give d_pre =
    (dc g i(1-i), dc c_{t-1} f(1-f), dh tanh(c_t) o(1-o), dc i (1-g^2)); to_cell (T, H, B) =
    o (1 - tanh(c_t)^2), dc_t += dh_t to_cell. ``c_before`` (T, H, B): c_{t-1} of every step taken.
    """
    hidden = tanh_c.shape[1]
    i, f, o, g = (activations[:, k * hidden:(k + 1) * hidden] for k in range(4))
    slopes = np.multiply(activations, activations)  # every gate squared, in one call
    s_i, s_f, s_o, s_g = (slopes[:, k * hidden:(k + 1) * hidden] for k in range(4))
    np.subtract(i, s_i, out=s_i)
    s_i *= g
    np.subtract(f, s_f, out=s_f)
    s_f *= c_before
    np.subtract(o, s_o, out=s_o)
    s_o *= tanh_c
    np.subtract(1, s_g, out=s_g)
    s_g *= i
    to_cell = np.multiply(tanh_c, tanh_c)
    np.subtract(1, to_cell, out=to_cell)
    to_cell *= o
    return slopes, to_cell


def layer_backward(trace, grad_out, x, weight_ih, weight_hh, keep, reverse, needs):
    """(grad x, grad h0, grad c0, grad weight_ih, grad weight_hh, grad bias), backpropagation through time.

    Args:
        trace: what ``layer_forward`` returned beside the states.  grad_out: (T, B, 2H), the gradients
        of h_t and c_t side by side.  needs: one bool per gradient, in the order returned; a gradient
        not needed is None.  Others as ``layer_forward``.
    """
    activations, tanh_c, columns = trace
    hidden = tanh_c.shape[1]
    order = _sigmoids_first(hidden)
    c_before = columns[:-1, -hidden:]  # c_{t-1} of every step taken, (T, H, B)
    kept = None if keep is None else _feature_major(keep, reverse)
    weight_t = np.ascontiguousarray(weight_hh[order].T)  # (H, 4H)
    # Which steps' states get a gradient from outside: when only the last state is read (a
    # classifier), every other step skips adding zeros (one pass here against two a step).
    reached = _taken_order(grad_out.reshape(grad_out.shape[0], -1).any(axis=1), reverse)
    if _compiled.kernels() is not None:
        d_pre, dh, dc = _steps_back_compiled(activations, tanh_c, c_before, _taken_order(grad_out, reverse),
                                             reached, kept, weight_t)
    else:  # the upstream gradients as (T, 2H, B) views, read in place rather than copied
        d_pre, dh, dc = _steps_back(activations, tanh_c, c_before,
                                    _taken_order(grad_out, reverse).transpose(0, 2, 1), reached, kept, weight_t)
    grad_x, grad_weight_ih, grad_weight_hh, grad_bias = _input_and_weight_grads(
        d_pre, columns[:-1, :-hidden], x.shape, weight_ih, order, reverse, needs)
    return grad_x, np.ascontiguousarray(dh.T), np.ascontiguousarray(dc.T), grad_weight_ih, grad_weight_hh, grad_bias


def _padding_buffers(kept, hidden, batch, dtype):
    """(1 - kept, h_skipped, c_skipped): where padding passes the states' gradients on unchanged,
    and the buffers that carry them past a step; all None without padding."""
    if kept is None:
        return None, None, None
    return 1 - kept, np.empty((hidden, batch), dtype), np.empty((hidden, batch), dtype)


def _steps_back(activations, tanh_c, c_before, upstream, reached, kept, weight_t):
    """(d_pre, dh, dc): the pre-activations' gradient of every step, and the states' gradients at
    the start, stepping back through time with NumPy (the slopes made for all steps first)."""
    steps, hidden, batch = tanh_c.shape
    dtype = activations.dtype
    d_pre, to_cell = _slopes(activations, tanh_c, c_before)  # times dc and dh, step by step
    forget = activations[:, hidden:2 * hidden]
    dh, dc = np.zeros((hidden, batch), dtype), np.zeros((hidden, batch), dtype)
    through_cell = np.empty((hidden, batch), dtype)
    skipped, h_skipped, c_skipped = _padding_buffers(kept, hidden, batch, dtype)
    for n in range(steps - 1, -1, -1):
        step = d_pre[n]
        if reached[n]:
            dh += upstream[n, :hidden]
            dc += upstream[n, hidden:]
        if kept is not None:  # on padding the gradient passes to the previous state unchanged
            np.multiply(dh, skipped[n], out=h_skipped)
            np.multiply(dc, skipped[n], out=c_skipped)
            dh *= kept[n]
            dc *= kept[n]
        dc += np.multiply(dh, to_cell[n], out=through_cell)
        input_and_forget = step[:2 * hidden].reshape(2, hidden, batch)
        input_and_forget *= dc
        step[2 * hidden:3 * hidden] *= dh
        step[3 * hidden:] *= dc
        np.matmul(weight_t, step, out=dh)  # d_pre_t W_hh
        dc *= forget[n]
        if kept is not None:
            dh += h_skipped
            dc += c_skipped
    return d_pre, dh, dc


def _steps_back_compiled(activations, tanh_c, c_before, grad_rows, reached, kept, weight_t):
    """``_steps_back`` with each step's arithmetic in one compiled pass that makes its slopes as it
    goes, so d_pre is written once and no slopes are stored. The same bits. ``grad_rows`` (T, B, 2H):
    the states' upstream gradients in the order the steps are taken."""
    compiled = _compiled.kernels()
    steps, hidden, batch = tanh_c.shape
    dtype = activations.dtype
    d_pre = np.empty_like(activations)
    dh, dc = np.zeros((hidden, batch), dtype), np.zeros((hidden, batch), dtype)
    scratch = np.empty((2, hidden, batch), dtype)
    skipped, h_skipped, c_skipped = _padding_buffers(kept, hidden, batch, dtype)
    one = dtype.type(1)
    for n in range(steps - 1, -1, -1):
        compiled.lstm_step_backward(dh, dc, grad_rows[n] if reached[n] else None, activations[n], tanh_c[n],
                                    c_before[n], d_pre[n], None if kept is None else kept[n],
                                    None if kept is None else skipped[n], h_skipped, c_skipped, scratch, one)
        np.matmul(weight_t, d_pre[n], out=dh)  # d_pre_t W_hh
        if kept is not None:
            dh += h_skipped
    return d_pre, dh, dc


_STEPS_PER_BLOCK = 8


def _input_and_weight_grads(d_pre, operands, x_shape, weight_ih, order, reverse, needs):
    """The gradients of x, W_ih, W_hh and b (None where ``needs`` says so).

    The weights' gradients are one product, d_pre as (4H, steps * B) against each step's operand
    [x_t; 1; h_{t-1}] (``operands`` (T, K, B), both in the order the steps are taken), giving
    [dW_ih | db | dW_hh]. Both are laid out for it a few steps at a time, so the backward pass holds
    one gate-sized array, not two.
    """
    steps, rows, batch = d_pre.shape
    inputs, hidden = x_shape[-1], rows // 4
    grad_x = np.empty(x_shape, d_pre.dtype) if needs[0] else None
    taken_grad_x = None if grad_x is None else _taken_order(grad_x, reverse)
    weight_in = weight_ih[order] if needs[0] else None
    wanted = any(needs[3:])
    grad_stacked = np.zeros((rows, operands.shape[1]), d_pre.dtype) if wanted else None
    for start in range(0, steps, _STEPS_PER_BLOCK):
        stop = min(start + _STEPS_PER_BLOCK, steps)
        block = np.ascontiguousarray(d_pre[start:stop].transpose(1, 0, 2)).reshape(rows, -1)
        if grad_x is not None:
            np.copyto(taken_grad_x[start:stop], np.matmul(block.T, weight_in).reshape(stop - start, batch, inputs))
        if wanted:
            block_operands = np.ascontiguousarray(operands[start:stop].transpose(1, 0, 2))
            grad_stacked += np.matmul(block, block_operands.reshape(operands.shape[1], -1).T)
    grad_weight_ih = grad_stacked[:, :inputs][order] if needs[3] else None
    grad_weight_hh = grad_stacked[:, -hidden:][order] if needs[4] else None
    grad_bias = grad_stacked[:, inputs][order] if len(needs) > 5 and needs[5] else None
    return grad_x, grad_weight_ih, grad_weight_hh, grad_bias
