"""Recurrent layers RNN, LSTM and GRU, with PyTorch's parameters, gate order, shapes and results.

Each layer and direction projects the whole input sequence at once (one ``linear``: x @ W_ih^T + b)
and then runs its time loop as one fused primitive from ``chainrule.ops.recurrent``, so a time step
costs one matrix product h @ W_hh^T. Stacked layers feed each other the concatenated outputs of both
directions, with dropout between layers while training.

Variable-length batches: pass ``lengths`` (one int per sequence) to ``forward``. Padded steps then
leave the state unchanged and give zero outputs, the final states are those at each sequence's own
end, and the reverse direction starts at each sequence's last element: the results PyTorch gives for
a ``pack_padded_sequence`` input, padded back with ``pad_packed_sequence(total_length=T)``.
"""

import math
import warnings

import numpy as np

from chainrule import _dtypes
from chainrule.creation import zeros
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn import init
from chainrule.nn.dropout import dropout
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.nn import linear
from chainrule.ops.recurrent import gru_recurrence, lstm_layer, rnn_recurrence
from chainrule.ops.shape import cat, stack
from chainrule.tensor import Tensor

__all__ = ["RNN", "LSTM", "GRU"]


class _RecurrentLayer(Module):
    """What RNN, LSTM and GRU share: parameters, checks, and the loop over layers and directions."""

    gates = 1
    """How many blocks of hidden_size rows W_ih and W_hh hold (LSTM 4, GRU 3, RNN 1)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=None):
        super().__init__()
        name = type(self).__name__
        for what, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ShapeError(f"{name}: {what} must be a positive int; expected an int >= 1, got {value!r}.")
        if not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ShapeError(f"{name}: dropout probability out of range; expected 0 <= dropout <= 1, got {dropout!r}.")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} acts between stacked layers only, and num_layers=1; "
                          f"expected num_layers > 1 for it to have an effect.", stacklevel=2)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        dtype = _dtypes.resolve_float(type(self).__name__, dtype)
        rows = self.gates * hidden_size
        for layer in range(num_layers):  # PyTorch's names and order
            for suffix in self._suffixes():
                columns = input_size if layer == 0 else hidden_size * len(self._suffixes())
                setattr(self, f"weight_ih_l{layer}{suffix}", Parameter(zeros(rows, columns, dtype=dtype)))
                setattr(self, f"weight_hh_l{layer}{suffix}", Parameter(zeros(rows, hidden_size, dtype=dtype)))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", Parameter(zeros(rows, dtype=dtype)))
                    setattr(self, f"bias_hh_l{layer}{suffix}", Parameter(zeros(rows, dtype=dtype)))
        self.reset_parameters()

    def _suffixes(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    def reset_parameters(self):
        """PyTorch's default: every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def _layer_parameters(self, layer, suffix):
        """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer and direction (biases None without bias)."""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if self.bias else ("weight_ih", "weight_hh")
        params = tuple(getattr(self, f"{name}_l{layer}{suffix}") for name in names)
        return params if self.bias else params + (None, None)

    # --- forward ----------------------------------------------------------------------------------
    def forward(self, input, hx=None, lengths=None):
        """Run every layer over the sequence.

        Args:
            input: (T, B, input_size), or (B, T, input_size) with batch_first, or unbatched (T, input_size).
            hx: initial state(s) (num_layers * num_directions, B, hidden_size); zeros when None.
                LSTM takes a pair (h0, c0).
            lengths: optional per-sequence lengths (ints in 1..T) for a padded batch.

        Returns:
            (output, h_n) for RNN and GRU, (output, (h_n, c_n)) for LSTM; output is
            (T, B, num_directions * hidden_size) (batch first with batch_first).
        """
        x, batched = self._time_major(input)
        steps, batch = x.shape[0], x.shape[1]
        lengths = self._checked_lengths(lengths, steps, batch, batched)
        initial = self._initial_states(hx, batch, x.data.dtype, batched)
        directions = self._suffixes()
        finals = [[] for _ in initial]
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout > 0:
                x = dropout(x, self.dropout)
            outputs = []
            for direction, suffix in enumerate(directions):
                index = layer * len(directions) + direction
                states = [state[index] for state in initial]
                output, last = self._run(x, self._layer_parameters(layer, suffix), states, lengths, direction == 1)
                outputs.append(output)
                for final, state in zip(finals, last):
                    final.append(state)
            x = outputs[0] if len(outputs) == 1 else cat(outputs, dim=-1)
        if lengths is not None:  # padded steps output 0
            x = x * Tensor._wrap((np.arange(steps)[:, None, None] < lengths[None, :, None]).astype(x.data.dtype))
        if self.batch_first and batched:
            x = x.transpose(0, 1)
        finals = [stack(final) for final in finals]
        if not batched:
            x, finals = x.squeeze(1), [final.squeeze(1) for final in finals]
        return x, (finals[0] if len(finals) == 1 else tuple(finals))

    def _run(self, x, params, states, lengths, reverse):
        """One layer and direction: (outputs (T, B, H), final states)."""
        raise NotImplementedError

    # --- checks -----------------------------------------------------------------------------------
    def _time_major(self, input):
        """The input as a (T, B, input_size) Tensor, and whether it had a batch dim."""
        if not isinstance(input, Tensor):
            input = Tensor(input)
        dtype = self.weight_ih_l0.data.dtype
        steps = 0 if input.ndim not in (2, 3) else input.shape[1 if self.batch_first and input.ndim == 3 else 0]
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size or steps == 0:
            layout = "(B, T, input_size)" if self.batch_first else "(T, B, input_size)"
            raise ShapeError(f"{self!r}: wrong input shape; expected {layout} or (T, input_size) with input_size "
                             f"{self.input_size} and T >= 1, got input shape {tuple(input.shape)}.")
        if input.data.dtype != dtype:
            raise DTypeError(f"{self!r}: input dtype differs from the layer's; expected {dtype}, got "
                             f"{input.data.dtype}. Hint: convert the input with .to({dtype}) or the layer with .to().")
        if input.ndim == 2:
            return input.unsqueeze(1), False
        return (input.transpose(0, 1) if self.batch_first else input), True

    def _checked_lengths(self, lengths, steps, batch, batched):
        """Lengths as an int array, one in 1..T per sequence; None when absent or all full length."""
        if lengths is None:
            return None
        if not batched:
            raise ShapeError(f"{self!r}: lengths need a batch; expected a batched 3-D input with lengths, "
                             f"got an unbatched input of {steps} steps.")
        array = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
        if array.shape != (batch,) or array.dtype.kind not in "iu" or ((array < 1) | (array > steps)).any():
            raise ShapeError(f"{self!r}: lengths must hold one int per sequence, each in 1..{steps}; expected "
                             f"shape ({batch},), got {array.tolist()!r}.")
        return None if (array == steps).all() else array

    def _initial_states(self, hx, batch, dtype, batched):
        """Per kind of state (h, and c for LSTM), the (B, H) initial state of each layer and direction."""
        count = 2 if isinstance(self, LSTM) else 1
        layers = self.num_layers * len(self._suffixes())
        if hx is None:
            zero = Tensor._wrap(np.zeros((batch, self.hidden_size), dtype=dtype))
            return [[zero] * layers] * count
        if count == 2 and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            what = f"a {type(hx).__name__} of length {len(hx)}" if isinstance(hx, (tuple, list)) else type(hx).__name__
            raise ShapeError(f"{self!r}: hx must be a pair (h0, c0); expected a tuple of 2 tensors, got {what}.")
        states = tuple(hx) if count == 2 else (hx,)
        expected = (layers, batch, self.hidden_size) if batched else (layers, self.hidden_size)
        checked = []
        for name, state in zip(("h0", "c0"), states):
            state = state if isinstance(state, Tensor) else Tensor(state, dtype=dtype)
            if tuple(state.shape) != expected:
                raise ShapeError(f"{self!r}: wrong initial state shape; expected {name} of shape {expected} "
                                 f"(num_layers * num_directions, batch, hidden_size), got {tuple(state.shape)}.")
            if state.data.dtype != dtype:
                raise DTypeError(f"{self!r}: initial state dtype differs from the input's; expected {dtype}, "
                                 f"got {name} of dtype {state.data.dtype}.")
            state = state if batched else state.unsqueeze(1)
            checked.append([state[k] for k in range(layers)])
        return checked

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


def _input_gates(x, weight_ih, bias_ih, bias_hh, fold_hh=True):
    """x @ W_ih^T + b for every step at once, (T, B, gates * H); b includes b_hh unless the GRU needs it
    apart. The steps are flattened into rows first: one matrix product is faster than a batch of them."""
    rows = x.reshape(-1, x.shape[-1])
    if bias_ih is None:
        gates = linear(rows, weight_ih)
    else:
        gates = linear(rows, weight_ih, bias_ih + bias_hh if fold_hh else bias_ih)
    return gates.reshape(x.shape[0], x.shape[1], -1)


class RNN(_RecurrentLayer):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), stacked and optionally
    bidirectional, with PyTorch's parameters and results.

    Args:
        input_size, hidden_size: features of each input step and of the state.
        num_layers: stacked layers.  nonlinearity: "tanh" or "relu".  bias: learn b_ih and b_hh.
        batch_first: input and output are (B, T, features).  dropout: between layers, training only.
        bidirectional: add a reverse direction (parameters with suffix ``_reverse``).  dtype: float32 or float64.

    Shape:
        input (T, B, input_size), h0 (num_layers * num_directions, B, hidden_size)
        -> output (T, B, num_directions * hidden_size), h_n like h0.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.rnn import RNN
        >>> rnn = RNN(3, 5, num_layers=2)
        >>> output, h_n = rnn(cr.randn(7, 2, 3))
        >>> output.shape, h_n.shape
        ((7, 2, 5), (2, 2, 5))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ShapeError(f"RNN: unknown nonlinearity; expected 'tanh' or 'relu', got {nonlinearity!r}.")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype)

    def _run(self, x, params, states, lengths, reverse):
        weight_ih, weight_hh, bias_ih, bias_hh = params
        out = rnn_recurrence(_input_gates(x, weight_ih, bias_ih, bias_hh), states[0], weight_hh,
                             self.nonlinearity, lengths, reverse)
        return out, (out[0 if reverse else -1],)

    def extra_repr(self):
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else text + ", nonlinearity=relu"


class LSTM(_RecurrentLayer):
    """Long short-term memory, stacked and optionally bidirectional, with PyTorch's parameters and results.

    Gates i, f, g, o in that order along the rows of W_ih (4H, ·) and W_hh (4H, H):
    c_t = f c_{t-1} + i g,  h_t = o tanh(c_t).  Arguments as :class:`RNN` (no nonlinearity).

    Shape:
        input (T, B, input_size), (h0, c0) each (num_layers * num_directions, B, hidden_size)
        -> output (T, B, num_directions * hidden_size), (h_n, c_n) like (h0, c0).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.rnn import LSTM
        >>> lstm = LSTM(3, 5, batch_first=True, bidirectional=True)
        >>> output, (h_n, c_n) = lstm(cr.randn(2, 7, 3))
        >>> output.shape, h_n.shape, c_n.shape
        ((2, 7, 10), (2, 2, 5), (2, 2, 5))
    """

    gates = 4

    def _run(self, x, params, states, lengths, reverse):
        weight_ih, weight_hh, bias_ih, bias_hh = params
        hidden, last = self.hidden_size, 0 if reverse else -1
        bias = None if bias_ih is None else bias_ih + bias_hh
        out = lstm_layer(x, states[0], states[1], weight_ih, weight_hh, bias, lengths, reverse)
        return out[:, :, :hidden], (out[last, :, :hidden], out[last, :, hidden:])


class GRU(_RecurrentLayer):
    """Gated recurrent unit, stacked and optionally bidirectional, with PyTorch's parameters and results.

    Gates r, z, n in that order:  n = tanh(W_in x + b_in + r (W_hn h + b_hn)),  h' = (1 - z) n + z h.
    Arguments as :class:`RNN` (no nonlinearity).

    Shape:
        input (T, B, input_size), h0 (num_layers * num_directions, B, hidden_size)
        -> output (T, B, num_directions * hidden_size), h_n like h0.
    """

    gates = 3

    def _run(self, x, params, states, lengths, reverse):
        weight_ih, weight_hh, bias_ih, bias_hh = params
        out = gru_recurrence(_input_gates(x, weight_ih, bias_ih, bias_hh, fold_hh=False), states[0], weight_hh,
                             bias_hh, lengths, reverse)
        return out, (out[0 if reverse else -1],)
