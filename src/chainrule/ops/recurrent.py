"""The time loops of RNN, LSTM and GRU layers, each one fused primitive for speed.

A recurrent layer's input projection ``x @ W_ih^T + b`` does not depend on the state, so the layer
computes it for all time steps at once with one ``linear``. What is left is the recurrence: each
step needs the previous state, and costs one matrix product ``h @ W_hh^T`` plus the gate arithmetic.
Recorded op by op that is about fifteen graph nodes per step; here it is one node per layer and
direction, and its backward runs backpropagation through time in one loop.

The math is written once, over a namespace ``m`` of the few functions it needs (tanh, sigmoid,
dot, cat, stack, ...). Forward runs it on ndarrays and keeps the activations of every step, stacked.
Backward first computes, for all steps at once, every factor the state gradients meet (gate slopes
and the values they multiply), so the loop through time carries only dh (and dc): few, large array
operations instead of many small ones. When the backward pass is itself differentiated
(``create_graph=True``) it gets Tensors: it then recomputes the steps from its graph-connected
inputs with the Tensor namespace, so the second derivative also flows through the activations
(saved arrays would be constants). The LSTM, the layer most used, runs on arrays a version of the
same loop written in place for speed (``_lstm_loop``); its Tensor form here serves create_graph.
``nn.LSTM`` goes one step further: ``lstm_layer`` takes the input projection into the op too, so
that its loop (``_lstm_layer_loop``) can keep every array feature-major, (4H, B) per step, whose
products split better over two BLAS threads.

Variable lengths: with ``lengths``, step ``t`` of sequence ``b`` is padding when ``t >= lengths[b]``.
Padding leaves the state unchanged, so a forward recurrence ends each sequence with its state at its
own last element, and a reverse one starts each sequence there from the initial state: the results
of PyTorch's packed sequences. The state returned at a padded step is the state carried through it.
"""

import numpy as np

from chainrule.autograd import _vjp_math
from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, values
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops import _lstm_layer_loop, _lstm_loop
from chainrule.ops._operands import as_tensor
from chainrule.ops.elementwise import relu, sigmoid, tanh
from chainrule.ops.nn import linear
from chainrule.ops.shape import cat, stack
from chainrule.tensor import Tensor

__all__ = ["rnn_recurrence", "lstm_recurrence", "lstm_layer", "gru_recurrence"]

_HALF = np.array(0.5, dtype=np.float32)  # a 0-d float32 keeps float32 float32 and float64 float64


class _ArrayMath:
    """The functions a step needs, on ndarrays (forward and the ordinary backward pass)."""

    tanh = staticmethod(np.tanh)
    dot = staticmethod(np.ndarray.dot)  # as in _vjp_math.arrays: no array-function dispatch per step
    stack = staticmethod(np.stack)

    @staticmethod
    def relu(x):
        return _vjp_math.relu_array(x)

    @staticmethod
    def sigmoid(x):
        out = np.tanh(x * _HALF)  # as the sigmoid op: never overflows
        out *= _HALF
        out += _HALF
        return out

    @staticmethod
    def cat(xs, dim=-1):
        return np.concatenate(xs, axis=dim)

    @staticmethod
    def times_transposed(h, weight):
        # h @ W^T as (W @ h^T)^T: the same numbers, and OpenBLAS is faster with the long side first
        return weight.dot(h.T).T


class _TensorMath:
    """The same functions from registered ops, so a backward under create_graph records a graph."""

    tanh = staticmethod(tanh)
    sigmoid = staticmethod(sigmoid)
    relu = staticmethod(relu)

    @staticmethod
    def dot(a, b):
        return a @ b

    @staticmethod
    def stack(xs):
        return stack(xs)

    @staticmethod
    def cat(xs, dim=-1):
        return cat(xs, dim=dim)

    @staticmethod
    def times_transposed(h, weight):
        return h @ weight.T

    @staticmethod
    def lstm_gates(pre, hidden):
        i, f, o = (sigmoid(pre[:, k * hidden:(k + 1) * hidden]) for k in (0, 1, 3))
        return cat([i, f, tanh(pre[:, 2 * hidden:3 * hidden]), o], dim=-1)


def _math(ctx):
    return _ArrayMath if ctx.xp is _vjp_math.arrays else _TensorMath


def _time_steps(length, reverse, backward=False):
    """The order steps are taken in (forward), or revisited in (backward)."""
    forward_order = range(length - 1, -1, -1) if reverse else range(length)
    return forward_order[::-1] if backward else forward_order


def _keep_mask(lengths, gates):
    """(T, B, 1) in the gates' dtype: 1 where a step is taken, 0 on padding; None without lengths."""
    if lengths is None:
        return None
    steps = np.arange(gates.shape[0])[:, None, None]
    return (steps < np.asarray(lengths)[None, :, None]).astype(gates.dtype)


def _blend(new, old, keep):
    """The new state where the step is taken, the old one on padding."""
    return new if keep is None else old + keep * (new - old)


def _split_blend(grad, keep):
    """The gradient of ``_blend``: (to the new state, to the old state through padding)."""
    if keep is None:
        return grad, None
    to_new = grad * keep
    return to_new, grad - to_new


def _carry(grad, skipped):
    return grad if skipped is None else grad + skipped


def _previous(m, states, initial, reverse):
    """(T, B, H): the state each step starts from: the initial state, then the states shifted in time."""
    if reverse:
        return m.cat([states[1:], initial[None]], dim=0)
    return m.cat([initial[None], states[:-1]], dim=0)


def _weight_grad(m, d_pre, hs, h0, reverse):
    """grad W_hh = sum over steps of d_pre_t^T h_{t-1}, as one matrix product over all steps."""
    rows = d_pre.reshape((-1, d_pre.shape[-1]))
    return m.dot(rows.T, _previous(m, hs, h0, reverse).reshape((-1, h0.shape[-1])))


# Each backward below first computes, for all steps at once, the factors that the state gradients
# meet at each step; only dh (and dc) then pass from step to step. On a padded step these factors are
# computed from the carried state rather than from the skipped step's, which is harmless: keep = 0
# multiplies everything that uses them there.

# --- RNN: h_t = act(gates_t + h_{t-1} W_hh^T) ---------------------------------------------------

def _rnn_forward(m, gates, h0, weight_hh, keep, reverse, relu):
    h, states = h0, [None] * len(gates)
    for t in _time_steps(len(gates), reverse):
        pre = gates[t] + m.times_transposed(h, weight_hh)
        h = states[t] = _blend(m.relu(pre) if relu else m.tanh(pre), h, None if keep is None else keep[t])
    return m.stack(states)


def _rnn_backward(m, states, grad_out, h0, weight_hh, keep, reverse, relu, need_weight):
    # act' from the output: tanh' = 1 - h^2; relu' = (h > 0), so relu'(0) = 0 as in PyTorch.
    slopes = (states > 0) if relu else 1 - states * states
    dh, d_pre = None, [None] * len(states)
    for t in _time_steps(len(states), reverse, backward=True):
        dh, skipped = _split_blend(_carry(grad_out[t], dh), None if keep is None else keep[t])
        d_pre[t] = dh * slopes[t]
        dh = _carry(m.dot(d_pre[t], weight_hh), skipped)
    d_pre = m.stack(d_pre)
    return d_pre, dh, (_weight_grad(m, d_pre, states, h0, reverse) if need_weight else None)


# --- LSTM: gates i, f, g, o;  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t) --------------------------
# On arrays the LSTM runs the in-place loop of ``_lstm_loop`` (the same math, for speed); these two
# run when its backward is differentiated (create_graph=True).

def _lstm_forward(m, gates, h0, c0, weight_hh, keep, reverse):
    hidden, h, c = h0.shape[-1], h0, c0
    hs, cs, activations = [None] * len(gates), [None] * len(gates), [None] * len(gates)
    for t in _time_steps(len(gates), reverse):
        a = activations[t] = m.lstm_gates(gates[t] + m.times_transposed(h, weight_hh), hidden)
        c_new = a[:, hidden:2 * hidden] * c + a[:, :hidden] * a[:, 2 * hidden:3 * hidden]
        h_new = a[:, 3 * hidden:] * m.tanh(c_new)
        step_keep = None if keep is None else keep[t]
        h, c = hs[t], cs[t] = _blend(h_new, h, step_keep), _blend(c_new, c, step_keep)
    hs, cs = m.stack(hs), m.stack(cs)
    return m.cat([hs, cs]), (m.stack(activations), hs, cs)


def _lstm_backward(m, trace, grad_out, h0, c0, weight_hh, keep, reverse, need_weight):
    (activations, hs, cs), hidden = trace, weight_hh.shape[1]
    i, f = activations[..., :hidden], activations[..., hidden:2 * hidden]
    g, o = activations[..., 2 * hidden:3 * hidden], activations[..., 3 * hidden:]
    tanh_c = m.tanh(cs)
    to_cell = o * (1 - tanh_c * tanh_c)  # dc_t += dh_t * to_cell_t
    # d_pre_t = (dc_t, dc_t, dc_t, dh_t) * slopes_t: each gate's slope times what multiplies the gate
    slopes = m.cat([g * (i - i * i), _previous(m, cs, c0, reverse) * (f - f * f), i * (1 - g * g),
                    tanh_c * (o - o * o)])
    dh = dc = None
    d_pre = [None] * len(cs)
    for t in _time_steps(len(cs), reverse, backward=True):
        step_keep = None if keep is None else keep[t]
        dh, h_skipped = _split_blend(_carry(grad_out[t, :, :hidden], dh), step_keep)
        dc, c_skipped = _split_blend(_carry(grad_out[t, :, hidden:], dc), step_keep)
        dc = dc + dh * to_cell[t]
        d_pre[t] = m.cat([dc, dc, dc, dh]) * slopes[t]
        dh = _carry(m.dot(d_pre[t], weight_hh), h_skipped)
        dc = _carry(dc * f[t], c_skipped)
    d_pre = m.stack(d_pre)
    return d_pre, dh, dc, (_weight_grad(m, d_pre, hs, h0, reverse) if need_weight else None)


# --- GRU: gates r, z, n;  n = tanh(x_n + r (h W_hn^T + b_hn));  h_t = n + z (h_{t-1} - n) --------

def _gru_forward(m, gates, h0, weight_hh, bias_hh, keep, reverse):
    hidden, h = h0.shape[-1], h0
    states, rz, n, rec_n = ([None] * len(gates) for _ in range(4))
    for t in _time_steps(len(gates), reverse):
        rec = m.times_transposed(h, weight_hh)
        if bias_hh is not None:
            rec = rec + bias_hh
        x = gates[t]
        rz[t] = m.sigmoid(x[:, :2 * hidden] + rec[:, :2 * hidden])  # r and z side by side
        rec_n[t] = rec[:, 2 * hidden:]
        n[t] = m.tanh(x[:, 2 * hidden:] + rz[t][:, :hidden] * rec_n[t])
        h = states[t] = _blend(n[t] + rz[t][:, hidden:] * (h - n[t]), h, None if keep is None else keep[t])
    states = m.stack(states)
    return states, (m.stack(rz), m.stack(n), m.stack(rec_n), states)


def _gru_backward(m, trace, grad_out, h0, weight_hh, keep, reverse, need_weight, need_bias):
    (rz, n, rec_n, states), hidden = trace, h0.shape[-1]
    r, z = rz[..., :hidden], rz[..., hidden:]
    to_n = (1 - z) * (1 - n * n)                                 # d_n = dh * to_n
    to_r = rec_n * (r - r * r)                                    # d_r = d_n * to_r
    to_z = (_previous(m, states, h0, reverse) - n) * (z - z * z)  # d_z = dh * to_z
    dh = None
    d_input, d_recurrent = [None] * len(states), [None] * len(states)
    for t in _time_steps(len(states), reverse, backward=True):
        dh, skipped = _split_blend(_carry(grad_out[t], dh), None if keep is None else keep[t])
        d_n = dh * to_n[t]
        d_rz = m.cat([d_n * to_r[t], dh * to_z[t]])
        d_input[t] = m.cat([d_rz, d_n])
        d_recurrent[t] = m.cat([d_rz, d_n * r[t]])
        dh = _carry(dh * z[t] + m.dot(d_recurrent[t], weight_hh), skipped)
    d_input, d_recurrent = m.stack(d_input), m.stack(d_recurrent)
    d_weight = _weight_grad(m, d_recurrent, states, h0, reverse) if need_weight else None
    d_bias = d_recurrent.reshape((-1, 3 * hidden)).sum(0) if need_bias else None
    return d_input, dh, d_weight, d_bias


# --- the primitives ---------------------------------------------------------------------------------

_SAMPLE_CASES = (({}, "forward"), ({"lengths": (2, 3), "reverse": True}, "reverse, lengths (2, 3)"),
                 ({"lengths": (3, 1)}, "forward, lengths (3, 1)"))
"""Time 3, batch 2, hidden 2: a full pass, and padding in both directions."""


def _rnn_samples(rng):
    samples = []
    for options, label in _SAMPLE_CASES:
        samples.append(Sample((values(rng, (3, 2, 2)), values(rng, (2, 2)), values(rng, (2, 2), -1, 1)),
                              dict(options), "tanh, " + label))
    for options, label in _SAMPLE_CASES[:2]:
        # relu: positive inputs, states and weights keep every pre-activation >= 0.2, far from the kink
        samples.append(Sample((values(rng, (3, 2, 2), 0.2, 1.5), values(rng, (2, 2), 0.2, 1.0),
                               values(rng, (2, 2), 0.0, 1.0)), {"nonlinearity": "relu", **options}, "relu, " + label))
    return samples


@register("rnn_recurrence", samples=_rnn_samples)
class RNNRecurrence(Function):
    """The Elman RNN's time loop for one layer and direction, fused for speed (one node for all steps).

    h_t = act(gates_t + h_{t-1} W_hh^T), act = tanh or relu;  out = (h_t for every t).
    VJP through time: d_pre_t = dh_t act'(pre_t), dh_{t-1} = d_pre_t W_hh;  grad_gates = d_pre,
    grad_h0 = dh_{-1}, grad_W_hh = sum_t d_pre_t^T h_{t-1}.
    """

    @staticmethod
    def forward(ctx, gates, h0, weight_hh, *, nonlinearity="tanh", lengths=None, reverse=False):
        ctx.relu, ctx.reverse, ctx.keep = nonlinearity == "relu", reverse, _keep_mask(lengths, gates)
        states = _rnn_forward(_ArrayMath, gates, h0, weight_hh, ctx.keep, reverse, ctx.relu)
        ctx.save_for_backward(gates, h0, weight_hh, states)
        return states

    @staticmethod
    def backward(ctx, grad_out):
        gates, h0, weight_hh, states = ctx.saved
        m = _math(ctx)
        if m is _TensorMath:  # differentiating this backward: recompute the steps from the inputs
            states = _rnn_forward(m, gates, h0, weight_hh, ctx.keep, ctx.reverse, ctx.relu)
        return _rnn_backward(m, states, grad_out, h0, weight_hh, ctx.keep, ctx.reverse, ctx.relu,
                             ctx.needs_input_grad[2])


def _lstm_samples(rng):
    return [Sample((values(rng, (3, 2, 8)), values(rng, (2, 2)), values(rng, (2, 2)), values(rng, (8, 2), -1, 1)),
                   dict(options), label) for options, label in _SAMPLE_CASES]


@register("lstm_recurrence", samples=_lstm_samples)
class LSTMRecurrence(Function):
    """The LSTM's time loop for one layer and direction, fused for speed (one node for all steps).

    pre_t = gates_t + h_{t-1} W_hh^T split into i, f, g, o (PyTorch's order); i, f, o = sigmoid,
    g = tanh;  c_t = f c_{t-1} + i g,  h_t = o tanh(c_t);  out = (h_t, c_t) side by side, (T, B, 2H).
    VJP through time: dc += dh o (1 - tanh(c_t)^2);  d_pre = (dc g i(1-i), dc c_{t-1} f(1-f),
    dc i (1-g^2), dh tanh(c_t) o(1-o));  dh_{t-1} = d_pre W_hh,  dc_{t-1} = dc f;
    grad_W_hh = sum_t d_pre_t^T h_{t-1}.
    """

    @staticmethod
    def forward(ctx, gates, h0, c0, weight_hh, *, lengths=None, reverse=False):
        ctx.reverse, ctx.keep = reverse, _keep_mask(lengths, gates)
        states, trace = _lstm_loop.lstm_forward(gates, h0, c0, weight_hh, ctx.keep, reverse)
        ctx.save_for_backward(gates, h0, c0, weight_hh, trace)
        return states

    @staticmethod
    def backward(ctx, grad_out):
        gates, h0, c0, weight_hh, trace = ctx.saved
        if _math(ctx) is _ArrayMath:
            return _lstm_loop.lstm_backward(trace, grad_out, h0, c0, weight_hh, ctx.keep, ctx.reverse,
                                            ctx.needs_input_grad[3])
        # differentiating this backward: recompute the steps from the inputs, recording a graph
        trace = _lstm_forward(_TensorMath, gates, h0, c0, weight_hh, ctx.keep, ctx.reverse)[1]
        return _lstm_backward(_TensorMath, trace, grad_out, h0, c0, weight_hh, ctx.keep, ctx.reverse,
                              ctx.needs_input_grad[3])


def _lstm_layer_samples(rng):
    samples = [Sample((values(rng, (3, 2, 3)), values(rng, (2, 2)), values(rng, (2, 2)), values(rng, (8, 3), -1, 1),
                       values(rng, (8, 2), -1, 1), values(rng, (8,))), dict(options), label)
               for options, label in _SAMPLE_CASES]
    samples.append(Sample((values(rng, (3, 2, 3)), values(rng, (2, 2)), values(rng, (2, 2)), values(rng, (8, 3), -1, 1),
                           values(rng, (8, 2), -1, 1)), {"reverse": True}, "reverse, no bias"))
    return samples


@register("lstm_layer", samples=_lstm_layer_samples)
class LSTMLayer(Function):
    """One LSTM layer and direction whole: the input projection and the time loop in one node.

    gates_t = x_t W_ih^T + b, then ``lstm_recurrence``'s step:  out = (h_t, c_t) side by side, (T, B, 2H).
    VJP: ``lstm_recurrence``'s through time gives d_pre; then grad_x = d_pre W_ih,
    grad_W_ih = sum_t d_pre_t^T x_t, grad_b = sum_t d_pre_t. Fused so that the loop can keep its
    arrays feature-major (``_lstm_layer_loop``), the faster layout at two threads, which whole
    (T, B, 4H) gates would cost more to turn into than it saves.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, weight_ih, weight_hh, bias=None, *, lengths=None, reverse=False):
        ctx.reverse, ctx.keep = reverse, _keep_mask(lengths, x)
        states, trace = _lstm_layer_loop.layer_forward(x, h0, c0, weight_ih, weight_hh, bias, ctx.keep, reverse)
        ctx.save_for_backward(x, h0, c0, weight_ih, weight_hh, bias, trace)
        return states

    @staticmethod
    def backward(ctx, grad_out):
        x, h0, c0, weight_ih, weight_hh, bias, trace = ctx.saved
        needs = ctx.needs_input_grad
        if _math(ctx) is _ArrayMath:
            grads = _lstm_layer_loop.layer_backward(trace, grad_out, x, weight_ih, weight_hh, ctx.keep,
                                                    ctx.reverse, needs)
            return grads[:len(needs)]
        # differentiating this backward: recompute the steps from the inputs, recording a graph
        steps, batch = x.shape[0], x.shape[1]
        rows = x.reshape(steps * batch, x.shape[-1])
        gates = linear(rows, weight_ih, bias).reshape(steps, batch, -1)
        trace = _lstm_forward(_TensorMath, gates, h0, c0, weight_hh, ctx.keep, ctx.reverse)[1]
        d_gates, dh, dc, d_weight_hh = _lstm_backward(_TensorMath, trace, grad_out, h0, c0, weight_hh, ctx.keep,
                                                      ctx.reverse, needs[4])
        d_rows = d_gates.reshape(steps * batch, -1)
        grads = ((d_rows @ weight_ih).reshape(x.shape), dh, dc, d_rows.T @ rows, d_weight_hh, d_rows.sum(dim=0))
        return grads[:len(needs)]


def _gru_samples(rng):
    samples = [Sample((values(rng, (3, 2, 6)), values(rng, (2, 2)), values(rng, (6, 2), -1, 1), values(rng, (6,))),
                      dict(options), label) for options, label in _SAMPLE_CASES]
    samples.append(Sample((values(rng, (3, 2, 6)), values(rng, (2, 2)), values(rng, (6, 2), -1, 1)),
                          {"reverse": True}, "reverse, no bias"))
    return samples


@register("gru_recurrence", samples=_gru_samples)
class GRURecurrence(Function):
    """The GRU's time loop for one layer and direction, fused for speed (one node for all steps).

    With rec = h_{t-1} W_hh^T + b_hh split into r, z, n parts (PyTorch's order and formula):
    r = sigmoid(x_r + rec_r), z = sigmoid(x_z + rec_z), n = tanh(x_n + r rec_n), h_t = n + z (h_{t-1} - n).
    VJP through time: d_n = dh (1-z)(1-n^2), d_r = d_n rec_n r(1-r), d_z = dh (h_{t-1}-n) z(1-z);
    grad_x = (d_r, d_z, d_n), d_rec = (d_r, d_z, d_n r), dh_{t-1} = dh z + d_rec W_hh;
    grad_W_hh = sum_t d_rec_t^T h_{t-1}, grad_b_hh = sum_t d_rec_t.
    """

    @staticmethod
    def forward(ctx, gates, h0, weight_hh, bias_hh=None, *, lengths=None, reverse=False):
        ctx.reverse, ctx.keep = reverse, _keep_mask(lengths, gates)
        states, trace = _gru_forward(_ArrayMath, gates, h0, weight_hh, bias_hh, ctx.keep, reverse)
        ctx.save_for_backward(gates, h0, weight_hh, bias_hh, trace)
        return states

    @staticmethod
    def backward(ctx, grad_out):
        gates, h0, weight_hh, bias_hh, trace = ctx.saved
        m, needs = _math(ctx), ctx.needs_input_grad
        if m is _TensorMath:  # differentiating this backward: recompute the steps from the inputs
            trace = _gru_forward(m, gates, h0, weight_hh, bias_hh, ctx.keep, ctx.reverse)[1]
        grads = _gru_backward(m, trace, grad_out, h0, weight_hh, ctx.keep, ctx.reverse, needs[2],
                              len(needs) == 4 and needs[3])
        return grads[:len(needs)]


# --- public functions ---------------------------------------------------------------------------

def _check(op, gates, states, weight_hh, size, bias=None):
    """Validate shapes (gates (T, B, size*H), states (B, H), weight (size*H, H)) and dtypes."""
    _check_dtypes(op, {"gates": gates, **states, "weight_hh": weight_hh, **({} if bias is None else {"bias_hh": bias})})
    hidden = _checked_hidden_size(op, weight_hh, size)
    if gates.ndim != 3 or gates.shape[-1] != size * hidden or gates.shape[0] == 0:
        raise ShapeError(f"{op}: the input gates must be (time, batch, {size} * hidden_size) with time >= 1; "
                         f"expected shape (T, B, {size * hidden}), got gates.shape={gates.shape}.")
    _check_states(op, states, gates.shape[1], hidden)
    if bias is not None and bias.shape != (size * hidden,):
        raise ShapeError(f"{op}: the recurrent bias must be ({size} * hidden_size,); expected shape "
                         f"({size * hidden},), got bias_hh.shape={bias.shape}.")


def _check_layer(x, h0, c0, weight_ih, weight_hh, bias=None):
    """Validate ``lstm_layer``'s shapes (x (T, B, I), states (B, H), W_ih (4H, I), W_hh (4H, H), b (4H,)) and dtypes."""
    states = {"h0": h0, "c0": c0}
    _check_dtypes("lstm_layer", {"x": x, **states, "weight_ih": weight_ih, "weight_hh": weight_hh,
                                 **({} if bias is None else {"bias": bias})})
    hidden = _checked_hidden_size("lstm_layer", weight_hh, 4)
    if x.ndim != 3 or x.shape[0] == 0:
        raise ShapeError(f"lstm_layer: the input must be (time, batch, input_size) with time >= 1; expected "
                         f"3 dimensions, got x.shape={x.shape}.")
    if weight_ih.shape != (4 * hidden, x.shape[-1]):
        raise ShapeError(f"lstm_layer: the input weight must be (4 * hidden_size, input_size); expected "
                         f"weight_ih.shape={(4 * hidden, x.shape[-1])} for x.shape={x.shape} and "
                         f"weight_hh.shape={weight_hh.shape}, got weight_ih.shape={weight_ih.shape}.")
    _check_states("lstm_layer", states, x.shape[1], hidden)
    if bias is not None and bias.shape != (4 * hidden,):
        raise ShapeError(f"lstm_layer: the bias must be (4 * hidden_size,); expected shape ({4 * hidden},), got "
                         f"bias.shape={bias.shape}.")


def _check_dtypes(op, tensors):
    """Every tensor of ``tensors`` (name: Tensor, the first the input) in one float dtype."""
    dtypes = {name: t.data.dtype for name, t in tensors.items()}
    if next(iter(dtypes.values())).kind != "f" or len(set(dtypes.values())) > 1:
        raise DTypeError(f"{op}: inputs must share one float dtype; expected float32 or float64 throughout, "
                         f"got " + ", ".join(f"{name} {dtype}" for name, dtype in dtypes.items()) + ".")


def _checked_hidden_size(op, weight_hh, size):
    """H of a recurrent weight (size*H, H)."""
    hidden = weight_hh.shape[-1] if weight_hh.ndim == 2 else 0
    if weight_hh.ndim != 2 or weight_hh.shape[0] != size * hidden:
        raise ShapeError(f"{op}: the recurrent weight must be ({size} * hidden_size, hidden_size); expected "
                         f"shape ({size} * H, H), got weight_hh.shape={weight_hh.shape}.")
    return hidden


def _check_states(op, states, batch, hidden):
    for name, state in states.items():
        if state.shape != (batch, hidden):
            raise ShapeError(f"{op}: the initial state must be (batch, hidden_size); expected {name}.shape="
                             f"{(batch, hidden)}, got {name}.shape={state.shape}.")


def _checked_lengths(op, lengths, gates):
    """Lengths as a tuple of ints in 1..T, one per sequence; None when every sequence is full length."""
    if lengths is None:
        return None
    array = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    steps, batch = gates.shape[0], gates.shape[1]
    if array.shape != (batch,) or array.dtype.kind not in "iu" or ((array < 1) | (array > steps)).any():
        raise ShapeError(f"{op}: lengths must hold one int per sequence, each in 1..{steps}; expected "
                         f"shape ({batch},), got {array.tolist()!r}.")
    return None if (array == steps).all() else tuple(int(n) for n in array)


def rnn_recurrence(gates, h0, weight_hh, nonlinearity="tanh", lengths=None, reverse=False):
    """The states h_t = act(gates_t + h_{t-1} @ weight_hh.T) of every step, shape (T, B, H).

    Args:
        gates: (T, B, H) input projections ``x_t @ W_ih.T + b_ih + b_hh`` of every step.
        h0: (B, H) initial state.  weight_hh: (H, H).  nonlinearity: "tanh" or "relu".
        lengths: per-sequence lengths; padded steps keep the state (see the module docstring).
        reverse: run from the last step to the first.
    """
    gates, h0, weight_hh = as_tensor(gates), as_tensor(h0), as_tensor(weight_hh)
    if nonlinearity not in ("tanh", "relu"):
        raise ShapeError(f"rnn_recurrence: unknown nonlinearity; expected 'tanh' or 'relu', got {nonlinearity!r}.")
    _check("rnn_recurrence", gates, {"h0": h0}, weight_hh, 1)
    lengths = _checked_lengths("rnn_recurrence", lengths, gates)
    return RNNRecurrence.apply(gates, h0, weight_hh, nonlinearity=nonlinearity, lengths=lengths, reverse=reverse)


def lstm_recurrence(gates, h0, c0, weight_hh, lengths=None, reverse=False):
    """The LSTM states of every step, h_t and c_t side by side: shape (T, B, 2H).

    Args:
        gates: (T, B, 4H) input projections ``x_t @ W_ih.T + b_ih + b_hh``, gates i, f, g, o.
        h0, c0: (B, H) initial hidden and cell states.  weight_hh: (4H, H).
        lengths: per-sequence lengths; padded steps keep the state (see the module docstring).
        reverse: run from the last step to the first.
    """
    gates, h0, c0, weight_hh = as_tensor(gates), as_tensor(h0), as_tensor(c0), as_tensor(weight_hh)
    _check("lstm_recurrence", gates, {"h0": h0, "c0": c0}, weight_hh, 4)
    lengths = _checked_lengths("lstm_recurrence", lengths, gates)
    return LSTMRecurrence.apply(gates, h0, c0, weight_hh, lengths=lengths, reverse=reverse)


def lstm_layer(x, h0, c0, weight_ih, weight_hh, bias=None, lengths=None, reverse=False):
    """An LSTM layer's states of every step, h_t and c_t side by side: shape (T, B, 2H).

    The same as ``lstm_recurrence(x @ weight_ih.T + bias, h0, c0, weight_hh, lengths, reverse)``, in one
    op that is faster at two threads (see ``LSTMLayer``).

    Args:
        x: (T, B, I) inputs.  h0, c0: (B, H) initial hidden and cell states.
        weight_ih: (4H, I), weight_hh: (4H, H), bias: (4H,) (b_ih + b_hh) or None; gates i, f, g, o.
        lengths: per-sequence lengths; padded steps keep the state (see the module docstring).
        reverse: run from the last step to the first.
    """
    x, h0, c0 = as_tensor(x), as_tensor(h0), as_tensor(c0)
    weight_ih, weight_hh = as_tensor(weight_ih), as_tensor(weight_hh)
    weights = (weight_ih, weight_hh) if bias is None else (weight_ih, weight_hh, as_tensor(bias))
    _check_layer(x, h0, c0, *weights)
    lengths = _checked_lengths("lstm_layer", lengths, x)
    return LSTMLayer.apply(x, h0, c0, *weights, lengths=lengths, reverse=reverse)


def gru_recurrence(gates, h0, weight_hh, bias_hh=None, lengths=None, reverse=False):
    """The GRU states of every step, shape (T, B, H).

    Args:
        gates: (T, B, 3H) input projections ``x_t @ W_ih.T + b_ih``, gates r, z, n.
        h0: (B, H) initial state.  weight_hh: (3H, H).  bias_hh: (3H,) or None.
        lengths: per-sequence lengths; padded steps keep the state (see the module docstring).
        reverse: run from the last step to the first.
    """
    gates, h0, weight_hh = as_tensor(gates), as_tensor(h0), as_tensor(weight_hh)
    bias_hh = None if bias_hh is None else as_tensor(bias_hh)
    _check("gru_recurrence", gates, {"h0": h0}, weight_hh, 3, bias_hh)
    lengths = _checked_lengths("gru_recurrence", lengths, gates)
    inputs = (gates, h0, weight_hh) if bias_hh is None else (gates, h0, weight_hh, bias_hh)
    return GRURecurrence.apply(*inputs, lengths=lengths, reverse=reverse)


TENSOR_METHODS = {}
