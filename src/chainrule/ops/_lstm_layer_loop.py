"""A whole LSTM layer on ndarrays, its input projection included, kept feature-major for speed.

The same math as ``_lstm_forward`` and ``_lstm_backward`` in ``recurrent.py`` (which stay the
readable version and run when the backward pass is itself differentiated), laid out differently
from ``_lstm_loop``: each step's gates are one (4H, B) block and each state one (H, B) block,
features along the rows, batch along the columns. Why: the step's product is then
``W_hh (4H, H) @ h (H, B)``, which OpenBLAS splits over two threads (27 µs at this benchmark's
size, against 38 µs for ``_lstm_loop``'s batch of four (B, H) x (H, H) products, which it never
splits), and the backward step's ``W_hh^T (H, 4H) @ d_pre (4H, B)`` likewise (29 against 42 µs).
At one thread these products are slower (48 and 49 µs). Turning whole (T, B, 4H) arrays into this
layout costs more than it saves, so the layer takes x itself: the input projection is made
straight into (T, 4H, B) blocks, and the gradients of x, W_ih, W_hh and b are products with the
gate gradients laid out as (4H, steps * B), a few steps at a time.

Rows are reordered to i, f, o, g so that the three sigmoid gates are one block: one tanh serves
all four gates (sigmoid(x) = tanh(x / 2) / 2 + 1 / 2, the sigmoid rows halved beforehand, which
is exact). Arrays along time are in the order the steps are taken (the last step first for a
reverse layer); the returned states and gradients are in time order. With the compiled kernels on
(``chainrule.performance.use_compiled_kernels()``), each step's gate arithmetic between its tanh
calls and its product is one compiled pass each way, the same bits as the NumPy operations here.
"""

import numpy as np

from chainrule.ops import _compiled
from chainrule.ops._lstm_loop import _blend_in_place

__all__ = ["layer_forward", "layer_backward"]


def _sigmoids_first(hidden):
    """Row order i, f, o, g of PyTorch's i, f, g, o rows."""
    return np.r_[0:2 * hidden, 3 * hidden:4 * hidden, 2 * hidden:3 * hidden]


def _taken_order(array, reverse):
    """``array`` (T, ...) in the order its steps are taken."""
    return array[::-1] if reverse else array


def _feature_major(array, reverse):
    """(T, B, F) in time order -> (T, F, B), contiguous, in the order the steps are taken."""
    return np.ascontiguousarray(_taken_order(array, reverse).transpose(0, 2, 1))


def layer_forward(x, h0, c0, weight_ih, weight_hh, bias, keep, reverse):
    """The states h_t, c_t of every step side by side, (T, B, 2H), and what backward needs.

    Args:
        x: (T, B, I).  h0, c0: (B, H).  weight_ih: (4H, I), weight_hh: (4H, H), gates i, f, g, o.
        bias: (4H,) or None.  keep: (T, B, 1) 1 where a step is taken and 0 on padding, or None.
        reverse: last step first.

    Returns:
        (states, trace): backward reads h_t and c_t back from the states it returns, so a training
        step keeps them once.
    """
    steps, batch, hidden = x.shape[0], x.shape[1], weight_hh.shape[1]
    dtype = x.dtype
    order = _sigmoids_first(hidden)
    sigmoid_rows = slice(0, 3 * hidden)
    weight_in, weight = weight_ih[order], weight_hh[order]  # reordered copies, halved where they lie
    weight_in[sigmoid_rows] *= 0.5
    weight[sigmoid_rows] *= 0.5
    activations = np.matmul(weight_in, _feature_major(x, reverse))  # (T, 4H, B): the halved projections
    if bias is not None:
        shifted = bias[order]
        shifted[sigmoid_rows] *= 0.5
        activations += shifted[:, None]
    hs, cs = np.empty((steps + 1, hidden, batch), dtype), np.empty((steps + 1, hidden, batch), dtype)
    hs[0], cs[0] = h0.T, c0.T
    tanh_c = np.empty((steps, hidden, batch), dtype)
    product, input_gate = np.empty((4 * hidden, batch), dtype), np.empty((hidden, batch), dtype)
    kept = None if keep is None else _feature_major(keep, reverse)  # (T, 1, B)
    compiled = _compiled.kernels()
    for n in range(steps):
        a = activations[n]  # holds the halved input projections; becomes the gates
        a += np.matmul(weight, hs[n], out=product)
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
    states = np.empty((steps, batch, 2 * hidden), dtype)
    np.copyto(states[..., :hidden], _taken_order(hs[1:], reverse).transpose(0, 2, 1))
    np.copyto(states[..., hidden:], _taken_order(cs[1:], reverse).transpose(0, 2, 1))
    return states, (activations, tanh_c, states)


def _slopes(activations, tanh_c, c_before):
    """(T, 4H, B): what multiplies dc (gates i, f, g) or dh (gate o) to give d_pre, every step.

    d_pre = (dc g i(1-i), dc c_{t-1} f(1-f), dh tanh(c_t) o(1-o), dc i (1-g^2)), rows i, f, o, g.
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
    return slopes


def layer_backward(trace, grad_out, x, h0, c0, weight_ih, weight_hh, keep, reverse, needs):
    """(grad x, grad h0, grad c0, grad weight_ih, grad weight_hh, grad bias), backpropagation through time.

    Args:
        trace: what ``layer_forward`` returned beside the states.  grad_out: (T, B, 2H), the gradients
        of h_t and c_t side by side.  needs: one bool per gradient, in the order returned; a gradient
        not needed is None.  Others as ``layer_forward``.
    """
    activations, tanh_c, states = trace
    steps, hidden, batch = tanh_c.shape
    order = _sigmoids_first(hidden)
    dtype = activations.dtype
    c_before = np.empty((steps, hidden, batch), dtype)  # c_{t-1} of every step taken, feature-major
    c_before[0] = c0.T
    np.copyto(c_before[1:], _taken_order(states[..., hidden:], reverse)[:-1].transpose(0, 2, 1))
    d_pre = _slopes(activations, tanh_c, c_before)  # times dc and dh, step by step
    del c_before
    to_cell = np.multiply(tanh_c, tanh_c)  # dc_t += dh_t o (1 - tanh(c_t)^2)
    np.subtract(1, to_cell, out=to_cell)
    to_cell *= activations[:, 2 * hidden:3 * hidden]
    forget = activations[:, hidden:2 * hidden]
    grad_h, grad_c = _feature_major(grad_out[..., :hidden], reverse), _feature_major(grad_out[..., hidden:], reverse)
    kept = None if keep is None else _feature_major(keep, reverse)
    weight_t = np.ascontiguousarray(weight_hh[order].T)  # (H, 4H)
    dh, dc = np.zeros((hidden, batch), dtype), np.zeros((hidden, batch), dtype)
    through_cell = np.empty((hidden, batch), dtype)
    skipped = h_skipped = c_skipped = None
    if kept is not None:
        skipped = 1 - kept
        h_skipped, c_skipped = np.empty((hidden, batch), dtype), np.empty((hidden, batch), dtype)
    compiled = _compiled.kernels()
    for n in range(steps - 1, -1, -1):
        step = d_pre[n]
        if compiled is not None:
            compiled.lstm_step_backward(dh, dc, grad_h[n], grad_c[n], to_cell[n], step,
                                        None if kept is None else kept[n], None if kept is None else skipped[n],
                                        h_skipped, c_skipped)
        else:
            dh += grad_h[n]
            dc += grad_c[n]
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
    del to_cell, forget, grad_h, grad_c
    grad_x, grad_weight_ih, grad_weight_hh, grad_bias = _input_and_weight_grads(d_pre, x, h0, states, weight_ih,
                                                                                order, reverse, needs)
    return grad_x, np.ascontiguousarray(dh.T), np.ascontiguousarray(dc.T), grad_weight_ih, grad_weight_hh, grad_bias


_STEPS_PER_BLOCK = 8


def _input_and_weight_grads(d_pre, x, h0, states, weight_ih, order, reverse, needs):
    """The gradients of x, W_ih, W_hh and b (None where ``needs`` says so).

    Each is a product over all steps with d_pre as (4H, steps * B); d_pre is laid out that way a few
    steps at a time, so the backward pass holds one gate-sized array, not two.
    """
    steps, rows, batch = d_pre.shape
    hidden, dtype = rows // 4, d_pre.dtype
    in_time_order = _taken_order(d_pre, reverse)
    weight_in = weight_ih[order] if needs[0] else None
    grad_x = np.empty(x.shape, dtype) if needs[0] else None
    grad_weight_ih = np.zeros((rows, x.shape[-1]), dtype) if needs[3] else None
    grad_weight_hh = np.zeros((rows, hidden), dtype) if needs[4] else None
    grad_bias = np.zeros(rows, dtype) if len(needs) > 5 and needs[5] else None
    for start in range(0, steps, _STEPS_PER_BLOCK):
        stop = min(start + _STEPS_PER_BLOCK, steps)
        block = np.ascontiguousarray(in_time_order[start:stop].transpose(1, 0, 2)).reshape(rows, -1)
        if grad_x is not None:
            np.matmul(block.T, weight_in, out=grad_x[start:stop].reshape(-1, x.shape[-1]))
        if grad_weight_ih is not None:
            grad_weight_ih += np.matmul(block, x[start:stop].reshape(-1, x.shape[-1]))
        if grad_weight_hh is not None:
            grad_weight_hh += np.matmul(block, _previous_states(states[..., :hidden], h0, start, stop, reverse))
        if grad_bias is not None:
            grad_bias += block.sum(axis=1)
    restore = np.argsort(order)  # back to PyTorch's rows i, f, g, o
    return grad_x, *(None if grad is None else grad[restore] for grad in (grad_weight_ih, grad_weight_hh, grad_bias))


def _previous_states(hs, h0, start, stop, reverse):
    """(rows of steps start..stop-1, H): the state h_{t-1} each of those steps started from."""
    hidden = hs.shape[-1]
    if not reverse:
        if start > 0:
            return hs[start - 1:stop - 1].reshape(-1, hidden)
        return np.concatenate([h0, hs[:stop - 1].reshape(-1, hidden)])
    if stop < len(hs):
        return hs[start + 1:stop + 1].reshape(-1, hidden)
    return np.concatenate([hs[start + 1:].reshape(-1, hidden), h0])
