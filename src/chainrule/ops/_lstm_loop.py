"""The LSTM time loop on ndarrays, written in place for speed.

The same math as ``_lstm_forward`` and ``_lstm_backward`` in ``recurrent.py`` (which stay the
readable version and run when the backward pass is itself differentiated), arranged so that a step
allocates nothing. A step of a small LSTM costs one product of ~40 µs and a dozen elementwise
operations on a few thousand numbers, each ~1 µs of which most is NumPy's call overhead; writing
every result into an array made once per sequence, with ``out=``, keeps those operations few and
removes the stacking and concatenating of per-step results after the loop.

The gates are kept planar, (T, 4, B, H): gate k of step t is one contiguous (B, H) block, because
NumPy is several times slower on a row-strided slice of a (B, 4H) block than on a contiguous one.
Forward adds each step's product (a batch of four (B, H) x (H, H) products) to that step's gates,
applies the four nonlinearities with one tanh, writes tanh(c_t) into a (T, B, H) array and h_t, c_t
into the (T, B, 2H) states it returns. Backward reads h_t and c_t back from those states (so a
training step keeps them once), computes every factor the state gradients meet, for all steps at
once, then loops with only the product dh_{t-1} = d_pre_t W_hh and a few (B, H) updates per step;
the weight gradient is one product over all steps, read from the states without a copy.
"""

import numpy as np

__all__ = ["lstm_forward", "lstm_backward"]


def _sigmoid_from_tanh(a):
    """Turn tanh(x / 2) into sigmoid(x) = tanh(x / 2) / 2 + 1 / 2 in place, for gates i, f, o of ``a``
    (..., 4, B, H): one tanh call then serves all four gates (g takes tanh(x) as it is)."""
    half = a.dtype.type(0.5)
    for sigmoid_gates in (a[..., :2, :, :], a[..., 3, :, :]):  # i and f side by side; o
        sigmoid_gates *= half
        sigmoid_gates += half


def _halve_sigmoid_rows(a):
    """Halve gates i, f, o of ``a`` (..., 4, X, Y) in place."""
    half = a.dtype.type(0.5)
    a[..., :2, :, :] *= half
    a[..., 3, :, :] *= half


def _steps(length, reverse):
    return range(length - 1, -1, -1) if reverse else range(length)


def _blend_in_place(new, old, keep):
    """new = old + keep (new - old): the new state where the step is taken, the old one on padding."""
    new -= old
    new *= keep
    new += old


def _planar(array, hidden):
    """(T, B, 4H) -> (T, 4, B, H) view: gate k of step t is block [t, k]."""
    steps, batch = array.shape[0], array.shape[1]
    return array.reshape(steps, batch, 4, hidden).transpose(0, 2, 1, 3)


_STEPS_PER_COPY = 4


def _interleave_in_place(planar):
    """(T, 4, B, H) -> (T, B, 4H) in the same memory, a few steps at a time.

    Step t occupies the same bytes in both layouts, so each group of steps is rearranged where it
    lies (NumPy copies an overlapping source through a temporary of the group's size): the
    gradient of the gates then needs no second array of its size.
    """
    steps, _, batch, hidden = planar.shape
    interleaved = planar.reshape(steps, batch, 4, hidden)  # the same memory, read in the other order
    for start in range(0, steps, _STEPS_PER_COPY):
        group = slice(start, start + _STEPS_PER_COPY)
        np.copyto(interleaved[group], planar[group].transpose(0, 2, 1, 3))
    return interleaved.reshape(steps, batch, 4 * hidden)


def lstm_forward(gates, h0, c0, weight_hh, keep, reverse):
    """The states h_t, c_t of every step side by side (T, B, 2H), and what backward needs.

    Args:
        gates: (T, B, 4H) input projections, gates i, f, g, o.  h0, c0: (B, H).  weight_hh: (4H, H).
        keep: (T, B, 1) 1 where a step is taken and 0 on padding, or None.  reverse: last step first.

    Returns:
        (states, trace) with trace = (activations (T, 4, B, H), tanh(c_t) (T, B, H), states): backward
        reads h_t and c_t from the states it returns, so they are kept once.
    """
    steps, batch, hidden = gates.shape[0], gates.shape[1], h0.shape[-1]
    dtype = gates.dtype
    # Gates are kept planar, (4, B, H) per step: each gate one contiguous block, so every operation
    # below runs over contiguous memory (NumPy is several times slower on row-strided views), and
    # the product with the state is a batch of four (B, H) x (H, H) products, faster than one
    # (B, H) x (H, 4H) product at these sizes. The rows of i, f and o are halved (in the input
    # projections and in the weight) so that tanh of the sum gives the sigmoid's tanh(x / 2);
    # halving is exact, so this is the same arithmetic as halving each sum.
    weight = np.ascontiguousarray(weight_hh.reshape(4, hidden, hidden).transpose(0, 2, 1))
    activations = np.empty((steps, 4, batch, hidden), dtype)
    np.copyto(activations, _planar(gates, hidden))
    for scaled in (weight, activations):
        _halve_sigmoid_rows(scaled)
    states, tanh_c = np.empty((steps, batch, 2 * hidden), dtype), np.empty((steps, batch, hidden), dtype)
    product, input_gate = np.empty((4, batch, hidden), dtype), np.empty((batch, hidden), dtype)
    # Each step computes h_t, c_t in one of two contiguous (h, c) pairs, taking turns (the next step
    # reads them there as its h_{t-1}, c_{t-1}), and copies them into the states it returns.
    pairs = np.empty((2, 2, batch, hidden), dtype)
    h, c = h0, c0
    for n, t in enumerate(_steps(steps, reverse)):
        a = activations[t]  # holds the halved input projections; becomes the gates
        a += np.matmul(h, weight, out=product)
        np.tanh(a, out=a)
        _sigmoid_from_tanh(a)
        i, f, g, o = a
        h_new, c_new = pairs[n % 2]
        np.multiply(f, c, out=c_new)
        c_new += np.multiply(i, g, out=input_gate)
        np.tanh(c_new, out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=h_new)
        if keep is not None:
            _blend_in_place(h_new, h, keep[t])
            _blend_in_place(c_new, c, keep[t])
        state = states[t]
        np.copyto(state[:, :hidden], h_new)
        np.copyto(state[:, hidden:], c_new)
        h, c = h_new, c_new
    return states, (activations, tanh_c, states)


def _shift(reverse):
    """(the step that starts from the initial state, the other steps, the states those start from)."""
    return (-1, slice(None, -1), slice(1, None)) if reverse else (0, slice(1, None), slice(None, -1))


def _times_previous(x, states, initial, reverse):
    """x (T, B, H) *= the state each step starts from: ``states`` one step back, ``initial`` at the first."""
    first, later, previous = _shift(reverse)
    x[later] *= states[previous]
    x[first] *= initial


def _previous_product(d_gates, states, initial, reverse):
    """sum over steps of d_gates_t^T h_{t-1} (4H, H), h_{t-1} read from ``states`` without a copy."""
    first, later, previous = _shift(reverse)
    later_rows = d_gates[later].reshape(-1, d_gates.shape[-1])
    return np.dot(later_rows.T, states[previous].reshape(-1, states.shape[-1])) + np.dot(d_gates[first].T, initial)


def _slopes(activations, tanh_c, cs, c0, reverse):
    """(T, 4, B, H): what multiplies dc (gates i, f, g) or dh (gate o) to give d_pre, every step.

    d_pre = (dc g i(1-i), dc c_{t-1} f(1-f), dc i (1-g^2), dh tanh(c_t) o(1-o)).
    """
    i, f, g, o = (activations[:, k] for k in range(4))
    slopes = np.multiply(activations, activations)  # every gate squared, in one call
    s_i, s_f, s_g, s_o = (slopes[:, k] for k in range(4))
    np.subtract(i, s_i, out=s_i)
    s_i *= g
    np.subtract(f, s_f, out=s_f)
    _times_previous(s_f, cs, c0, reverse)
    np.subtract(1, s_g, out=s_g)
    s_g *= i
    np.subtract(o, s_o, out=s_o)
    s_o *= tanh_c
    return slopes


def lstm_backward(trace, grad_out, h0, c0, weight_hh, keep, reverse, need_weight):
    """(grad gates (T, B, 4H), grad h0, grad c0, grad weight_hh or None), backpropagation through time.

    Args:
        trace: what ``lstm_forward`` returned beside the states.  grad_out: (T, B, 2H), the
        gradients of h_t and c_t side by side.  Others as ``lstm_forward``; need_weight: compute
        the weight's gradient.
    """
    activations, tanh_c, states = trace
    steps, _, batch, hidden = activations.shape
    dtype = activations.dtype
    hs, cs = states[..., :hidden], states[..., hidden:]
    d_pre = _slopes(activations, tanh_c, cs, c0, reverse)  # times dc and dh, step by step
    to_cell = np.multiply(tanh_c, tanh_c)  # dc_t += dh_t o (1 - tanh(c_t)^2)
    np.subtract(1, to_cell, out=to_cell)
    to_cell *= activations[:, 3]
    forget = activations[:, 1]
    weight = weight_hh.reshape(4, hidden, hidden)
    grad_h, grad_c = grad_out[..., :hidden], grad_out[..., hidden:]
    dh, dc = np.zeros((batch, hidden), dtype), np.zeros((batch, hidden), dtype)
    through_cell, per_gate = np.empty((batch, hidden), dtype), np.empty((4, batch, hidden), dtype)
    if keep is not None:
        skip = 1 - keep
        h_skipped, c_skipped = np.empty((batch, hidden), dtype), np.empty((batch, hidden), dtype)
    for t in _steps(steps, not reverse):
        dh += grad_h[t]
        dc += grad_c[t]
        if keep is not None:  # on padding the gradient passes to the previous state unchanged
            np.multiply(dh, skip[t], out=h_skipped)
            np.multiply(dc, skip[t], out=c_skipped)
            dh *= keep[t]
            dc *= keep[t]
        dc += np.multiply(dh, to_cell[t], out=through_cell)
        step = d_pre[t]
        step[:3] *= dc
        step[3] *= dh
        np.add.reduce(np.matmul(step, weight, out=per_gate), axis=0, out=dh)  # d_pre_t W_hh
        dc *= forget[t]
        if keep is not None:
            dh += h_skipped
            dc += c_skipped
    d_gates = _interleave_in_place(d_pre)
    d_weight = None
    if need_weight:
        d_weight = _previous_product(d_gates, hs, h0, reverse)
    return d_gates, dh, dc, d_weight
