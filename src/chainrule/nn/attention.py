"""Attention: scaled_dot_product_attention, MultiheadAttention and the Transformer encoder, as in PyTorch.

Everything here is composed from existing ops (matmul, softmax, linear, where, dropout), so the
gradients are those of the ops and need no checking of their own. Masks follow PyTorch, whose two
functions read a boolean mask in opposite ways:

- ``scaled_dot_product_attention``: ``attn_mask`` True = this query may attend to this key.
- ``MultiheadAttention`` and the encoder: ``attn_mask`` and ``key_padding_mask`` True = masked out.

A float mask is added to the attention scores in both (use -inf to mask out, or learned biases).
"""

import copy
import math

import numpy as np

from chainrule import _dtypes
from chainrule.creation import zeros
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn import init
from chainrule.nn.container import ModuleList
from chainrule.nn.dropout import dropout
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.activation import softmax
from chainrule.ops.elementwise import relu
from chainrule.ops.indexing import masked_fill
from chainrule.ops.nn import linear
from chainrule.tensor import Tensor

__all__ = ["scaled_dot_product_attention", "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder"]


def _as_tensor(x, op, name):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._wrap(x)
    raise DTypeError(f"{op}: {name} must be a Tensor; expected a Tensor or ndarray, got {type(x).__name__}.")


def _additive(mask, dtype, masked_value, op, name):
    """A mask as a Tensor to add to the scores: bool gives -inf where it equals ``masked_value``; a
    float mask is added as it is (in the scores' dtype, and differentiable: a learned bias works)."""
    kind = mask.data.dtype.kind
    if kind == "b":
        return Tensor._wrap(np.where(mask.data == masked_value, -np.inf, 0.0).astype(dtype))
    if kind != "f":
        raise DTypeError(f"{op}: {name} must be bool or float; expected a bool mask or a float mask to add, "
                         f"got dtype {mask.data.dtype}.")
    return mask.to(dtype)


def _attend(query, key, value, mask, dropout_p, scale, empty_rows_give_zero=False):
    """softmax(query key^T * scale + mask) value, and the attention weights.

    A query whose keys are all masked out has no weights to share: softmax gives NaN there. With
    ``empty_rows_give_zero`` (PyTorch's scaled_dot_product_attention) its weights and output are 0
    instead, and no NaN reaches the gradients: its scores are replaced before the softmax.
    """
    scores = (query * scale) @ key.mT
    empty = None
    if mask is not None:
        scores = scores + mask
        if empty_rows_give_zero:
            empty = np.isneginf(mask.data).all(axis=-1, keepdims=True)
            empty = empty if empty.any() else None
    if empty is not None:
        scores = masked_fill(scores, empty, 0.0)
    weights = softmax(scores, dim=-1)
    if empty is not None:
        weights = masked_fill(weights, empty, 0.0)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights @ value, weights


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """softmax(query @ key^T * scale + mask) @ value, over any leading batch dims, as PyTorch.

    Args:
        query: (..., L, E).  key: (..., S, E).  value: (..., S, Ev).
        attn_mask: broadcastable to (..., L, S); bool (True = may attend) or float (added to the scores).
            A query with every key masked out gets output 0, as PyTorch.
        dropout_p: dropout on the attention weights (always applied when > 0, as PyTorch's function).
        is_causal: query i attends to keys 0..i only (top-left aligned when L != S); no attn_mask with it.
        scale: the factor on the scores; default 1 / sqrt(E).

    Returns:
        (..., L, Ev).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.attention import scaled_dot_product_attention
        >>> q = cr.randn(2, 4, 3, 8)
        >>> scaled_dot_product_attention(q, q, q, is_causal=True).shape
        (2, 4, 3, 8)
    """
    op = "scaled_dot_product_attention"
    query, key, value = (_as_tensor(t, op, n) for t, n in ((query, "query"), (key, "key"), (value, "value")))
    if (min(query.ndim, key.ndim, value.ndim) < 2 or query.shape[-1] != key.shape[-1]
            or key.shape[-2] != value.shape[-2]):
        raise ShapeError(f"{op}: query, key and value do not fit; expected query (..., L, E), key (..., S, E) and "
                         f"value (..., S, Ev), got query {query.shape}, key {key.shape}, value {value.shape}.")
    if not query.data.dtype == key.data.dtype == value.data.dtype or query.data.dtype.kind != "f":
        raise DTypeError(f"{op}: query, key and value must share one float dtype; expected float32 or float64 "
                         f"throughout, got {query.data.dtype}, {key.data.dtype}, {value.data.dtype}.")
    steps = (query.shape[-2], key.shape[-2])
    if is_causal:
        if attn_mask is not None:
            raise ShapeError(f"{op}: is_causal builds its own mask; expected attn_mask=None with is_causal=True, "
                             f"got a mask of shape {tuple(attn_mask.shape)}.")
        attn_mask = Tensor._wrap(np.tril(np.ones(steps, dtype=bool)))
    mask = None
    if attn_mask is not None:
        attn_mask = _as_tensor(attn_mask, op, "attn_mask")
        if attn_mask.ndim < 2 or not _broadcasts(attn_mask.shape[-2:], steps):
            raise ShapeError(f"{op}: attn_mask does not fit the scores; expected a mask broadcastable to "
                             f"(..., {steps[0]}, {steps[1]}), got shape {attn_mask.shape}.")
        mask = _additive(attn_mask, query.data.dtype, False, op, "attn_mask")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    return _attend(query, key, value, mask, dropout_p, scale, empty_rows_give_zero=True)[0]


def _broadcasts(shape, target):
    return all(a in (1, b) for a, b in zip(shape, target))


class MultiheadAttention(Module):
    """Multi-head attention with PyTorch's parameters: in_proj_weight (3E, E), in_proj_bias (3E,),
    out_proj (Linear E -> E), and its masks and results.

    Args:
        embed_dim: E, the model width; split into num_heads heads of E / num_heads.
        num_heads: the number of heads.  dropout: on the attention weights, training only.
        bias: learn in_proj_bias and out_proj.bias.  batch_first: (N, L, E) instead of (L, N, E).
        dtype: float32 (default) or float64.

    Shape:
        query (L, N, E), key and value (S, N, E) -> output (L, N, E), weights (N, L, S)
        (or (N, num_heads, L, S) with average_attn_weights=False); unbatched (L, E) works too.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.attention import MultiheadAttention
        >>> attention = MultiheadAttention(8, 2, batch_first=True)
        >>> x = cr.randn(3, 5, 8)
        >>> output, weights = attention(x, x, x)
        >>> output.shape, weights.shape
        ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False, dtype=None):
        super().__init__()
        if num_heads < 1 or embed_dim % num_heads:
            raise ShapeError(f"MultiheadAttention: embed_dim must split evenly into heads; expected embed_dim "
                             f"divisible by num_heads, got embed_dim={embed_dim}, num_heads={num_heads}.")
        if not 0.0 <= dropout <= 1.0:
            raise ShapeError(f"MultiheadAttention: dropout probability out of range; expected 0 <= dropout <= 1, "
                             f"got {dropout}.")
        dtype = _dtypes.resolve_float(type(self).__name__, dtype)
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.in_proj_weight = Parameter(zeros(3 * embed_dim, embed_dim, dtype=dtype))
        self.in_proj_bias = Parameter(zeros(3 * embed_dim, dtype=dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's: xavier_uniform_ in_proj_weight, zero biases, out_proj.weight as Linear's."""
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """Attend from ``query`` to ``key``/``value``; returns (output, weights or None).

        Args:
            key_padding_mask: (N, S); bool True = ignore this key, or float added to the scores.
            need_weights: also return the attention weights (after dropout, as PyTorch).
            attn_mask: (L, S) or (N * num_heads, L, S); bool True = not allowed, or float added.
            average_attn_weights: average the returned weights over heads.
            is_causal: without attn_mask, mask out the keys after each query (with one, only a hint).
        """
        self_attention = query is key and key is value
        query = _as_tensor(query, self._label(), "query")
        batched = query.ndim == 3
        query = self._batch_major(query, "query", batched)
        if self_attention:
            key = value = query
        else:
            key, value = self._batch_major(key, "key", batched), self._batch_major(value, "value", batched)
        (batch, target, _), source = query.shape, key.shape[1]
        if key.shape[:2] != value.shape[:2] or key.shape[0] != batch:
            raise ShapeError(f"{self._label()}: query, key and value do not fit; expected the same batch size, and "
                             f"key and value of the same length, got query {query.shape}, key {key.shape}, value "
                             f"{value.shape} (batch first).")
        if key_padding_mask is not None and not batched:
            key_padding_mask = _as_tensor(key_padding_mask, self._label(), "key_padding_mask").reshape(1, -1)
        q, k, v = self._project(query, key, value, self_attention)
        mask = self._merged_mask(attn_mask, key_padding_mask, is_causal, batch, target, source, q.data.dtype)
        dropout_p = self.dropout if self.training else 0.0
        out, weights = _attend(q, k, v, mask, dropout_p, 1.0 / math.sqrt(self.head_dim))
        out = self.out_proj(out.transpose(1, 2).reshape(batch, target, self.embed_dim))
        if not batched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(dim=1)
        return out, (weights if batched else weights.squeeze(0))

    def _batch_major(self, x, name, batched):
        """``x`` as (N, L, E), checking its shape and dtype."""
        x = _as_tensor(x, self._label(), name)
        if x.ndim != (3 if batched else 2) or x.shape[-1] != self.embed_dim:
            layout = ("(N, L, E)" if self.batch_first else "(L, N, E)") if batched else "(L, E) like the query"
            raise ShapeError(f"{self._label()}: wrong {name} shape; expected {layout} with E = {self.embed_dim}, got "
                             f"{name} shape {tuple(x.shape)}.")
        if x.data.dtype != self.in_proj_weight.data.dtype:
            raise DTypeError(f"{self._label()}: {name} dtype differs from the layer's; expected "
                             f"{self.in_proj_weight.data.dtype}, got {x.data.dtype}.")
        if not batched:
            return x.unsqueeze(0)
        return x if self.batch_first else x.transpose(0, 1)

    def _project(self, query, key, value, self_attention):
        """q, k, v as (N, heads, length, head_dim); self-attention uses one fused projection."""
        batch, heads, size = query.shape[0], self.num_heads, self.head_dim
        if self_attention:
            qkv = linear(query, self.in_proj_weight, self.in_proj_bias)
            qkv = qkv.reshape(batch, query.shape[1], 3, heads, size).permute(2, 0, 3, 1, 4)
            return qkv[0], qkv[1], qkv[2]
        width = self.embed_dim
        projected = []
        for k, x in enumerate((query, key, value)):
            rows = slice(k * width, (k + 1) * width)
            bias = None if self.in_proj_bias is None else self.in_proj_bias[rows]
            y = linear(x, self.in_proj_weight[rows], bias)
            projected.append(y.reshape(batch, x.shape[1], heads, size).transpose(1, 2))
        return tuple(projected)

    def _merged_mask(self, attn_mask, key_padding_mask, is_causal, batch, target, source, dtype):
        """attn_mask and key_padding_mask as one additive mask broadcastable to (N, heads, L, S), or None."""
        if attn_mask is None and is_causal:
            attn_mask = Tensor._wrap(np.triu(np.ones((target, source), dtype=bool), k=1))
        mask = None
        if attn_mask is not None:
            attn_mask = _as_tensor(attn_mask, self._label(), "attn_mask")
            shapes = ((target, source), (batch * self.num_heads, target, source))
            if tuple(attn_mask.shape) not in shapes:
                raise ShapeError(f"{self._label()}: wrong attn_mask shape; expected {shapes[0]} or {shapes[1]} "
                                 f"(L, S) or (N * num_heads, L, S), got {tuple(attn_mask.shape)}.")
            mask = _additive(attn_mask, dtype, True, self._label(), "attn_mask")
            if mask.ndim == 3:
                mask = mask.reshape(batch, self.num_heads, target, source)
        if key_padding_mask is not None:
            key_padding_mask = _as_tensor(key_padding_mask, self._label(), "key_padding_mask")
            if tuple(key_padding_mask.shape) != (batch, source):
                raise ShapeError(f"{self._label()}: wrong key_padding_mask shape; expected (N, S) = {(batch, source)}, "
                                 f"got {tuple(key_padding_mask.shape)}.")
            padding = _additive(key_padding_mask, dtype, True, self._label(), "key_padding_mask")
            padding = padding.reshape(batch, 1, 1, source)
            mask = padding if mask is None else mask + padding
        return mask

    def _label(self):
        """The one-line name errors start with (repr adds out_proj on further lines)."""
        return f"MultiheadAttention({self.extra_repr()})"

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward block, each with a residual connection and LayerNorm, as PyTorch.

    Post-norm (default): x = norm1(x + sa(x)); x = norm2(x + ff(x)).  With norm_first:
    x = x + sa(norm1(x)); x = x + ff(norm2(x)).  ff(x) = linear2(dropout(activation(linear1(x)))).

    Args:
        d_model: the model width.  nhead: attention heads.  dim_feedforward: the hidden width of ff.
        dropout: after attention, inside and after ff (training only).
        activation: "relu", "gelu" or a function.  layer_norm_eps: LayerNorm's eps.
        batch_first: (N, L, E) instead of (L, N, E).  norm_first: pre-norm.  bias: learn biases.
        dtype: float32 (default) or float64.

    Shape:
        src (L, N, d_model) -> the same shape.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, dtype=None):
        super().__init__()
        from chainrule.nn.normalization import LayerNorm
        if not callable(activation) and activation not in ("relu", "gelu"):
            raise ShapeError(f"TransformerEncoderLayer: unknown activation; expected 'relu', 'gelu' or a function, "
                             f"got {activation!r}.")
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout, self.norm_first, self.activation = dropout, norm_first, activation

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        """Encode ``src``; masks as MultiheadAttention's attn_mask and key_padding_mask."""
        x = src
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))

    def _self_attention(self, x, attn_mask, key_padding_mask, is_causal):
        out = self.self_attn(x, x, x, key_padding_mask=key_padding_mask, need_weights=False, attn_mask=attn_mask,
                             is_causal=is_causal)[0]
        return dropout(out, self.dropout, self.training)

    def _feed_forward(self, x):
        hidden = self._activate(self.linear1(x))
        return dropout(self.linear2(dropout(hidden, self.dropout, self.training)), self.dropout, self.training)

    def _activate(self, x):
        if callable(self.activation):
            return self.activation(x)
        if self.activation == "gelu":
            from chainrule.ops.activation import gelu
            return gelu(x)
        return relu(x)

    def extra_repr(self):
        activation = self.activation if isinstance(self.activation, str) else getattr(self.activation, "__name__", "?")
        return f"dropout={self.dropout}, activation={activation}, norm_first={self.norm_first}"


class TransformerEncoder(Module):
    """``num_layers`` independent copies of ``encoder_layer`` applied in turn, then ``norm`` if given.

    Parameters are named ``layers.0.self_attn.in_proj_weight``, ..., ``norm.weight`` as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.attention import TransformerEncoder, TransformerEncoderLayer
        >>> layer = TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
        >>> encoder = TransformerEncoder(layer, num_layers=2)
        >>> encoder(cr.randn(3, 5, 8)).shape
        (3, 5, 8)
    """

    def __init__(self, encoder_layer, num_layers, norm=None):
        super().__init__()
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ShapeError(f"TransformerEncoder: num_layers must be a positive int; expected >= 1, "
                             f"got {num_layers!r}.")
        self.layers = ModuleList(copy.deepcopy(encoder_layer) for _ in range(num_layers))
        self.num_layers, self.norm = num_layers, norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=False):
        """Run every layer with the same masks; returns the same shape as ``src``."""
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        return x if self.norm is None else self.norm(x)
