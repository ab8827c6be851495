"""Embedding lookups: one row per index, and sums or means of bags of rows.

The two lookups are primitives of their own:
``embedding`` for speed and for its padding rule (the padding row is read like any other but never
receives a gradient), ``embedding_bag`` so that bags are reduced by segment sums instead of a
Python loop or a padded (B, L, D) intermediate.
"""

import numpy as np

from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, values
from chainrule.errors import DTypeError, IndexingError, ShapeError
from chainrule.ops._operands import as_tensor
from chainrule.tensor import Tensor

__all__ = ["embedding", "embedding_bag"]

_MODES = ("sum", "mean")


def _embedding_samples(rng):
    table = values(rng, (5, 3))
    return [
        Sample((table,), {"indices": np.array([[0, 2, 2], [4, 2, 1]])}, "repeated indices accumulate"),
        # Finite differences see the padding row's true gradient, which the padding convention
        # replaces by zero: this sample sets padding_idx without looking that row up, and
        # tests/nn/test_embedding.py checks the convention against PyTorch.
        Sample((table,), {"indices": np.array([3, 1, 3, 0]), "padding_idx": 2}, "padding_idx not looked up"),
        Sample((table,), {"indices": np.array(4)}, "0-d index"),
    ]


@register("embedding", samples=_embedding_samples)
class EmbeddingLookup(Function):
    """Rows of a table picked by index.  out = weight[indices] (indices of any shape, out (*, D));
    grad_weight = zeros with each row of grad_out added at its index (repeats add up), except
    that the row ``padding_idx`` gets none: by PyTorch's convention it is a fixed vector that
    is read but never trained."""

    @staticmethod
    def forward(ctx, weight, *, indices, padding_idx=None):
        ctx.indices, ctx.padding_idx, ctx.table_shape = indices, padding_idx, weight.shape
        return weight[indices]

    @staticmethod
    def backward(ctx, grad_out):
        flat = ctx.indices.reshape(-1)
        rows = grad_out.reshape((flat.size, ctx.table_shape[1]))
        if ctx.padding_idx is not None:
            rows = rows * (flat != ctx.padding_idx).astype(rows.dtype)[:, None]
        return ctx.xp.getitem_backward(rows, ctx.table_shape, flat, True)


def _embedding_bag_samples(rng):
    table = values(rng, (6, 3))
    indices = np.array([0, 2, 2, 5, 1, 3, 4])
    offsets = np.array([0, 3, 3, 5])  # the second bag is empty
    return [
        Sample((table,), {"indices": indices, "offsets": offsets, "mode": "mean"}, "mean, an empty bag"),
        Sample((table, values(rng, (7,))), {"indices": indices, "offsets": offsets, "mode": "sum"},
               "sum with per-sample weights"),
        Sample((table,), {"indices": indices, "offsets": offsets, "mode": "mean", "padding_idx": 2},
               "mean without the padding entries"),
        Sample((table, values(rng, (6,))),
               {"indices": np.array([1, 0, 1, 5, 5, 0]), "offsets": np.array([0, 2, 4]), "mode": "sum",
                "padding_idx": 0}, "sum, padding and weights"),
    ]


@register("embedding_bag", samples=_embedding_bag_samples)
class EmbeddingBagSum(Function):
    """A weighted sum of table rows per bag; bag b holds indices[offsets[b]:offsets[b + 1]].

    out[b] = sum_i c_i * w_i * weight[indices[i]] over the bag's entries, with per-sample weights w_i
    (1 without them) and c_i = 1 ("sum") or 1 / (the bag's non-padding entries) ("mean"), c_i = 0 for
    padding entries; an empty bag gives zeros.
    grad_weight = c_i * w_i * grad_out[bag of i] added at indices[i];
    grad_w_i = c_i * <grad_out[bag of i], weight[indices[i]]>.
    """

    @staticmethod
    def forward(ctx, weight, per_sample_weights=None, *, indices, offsets, mode="mean", padding_idx=None):
        count = indices.size
        lengths = np.diff(np.append(offsets, count))
        bag_of = np.repeat(np.arange(offsets.size), lengths)
        coeff = np.ones(count) if padding_idx is None else (indices != padding_idx).astype(np.float64)
        if mode == "mean":
            members = np.bincount(bag_of, weights=coeff, minlength=offsets.size)
            coeff = coeff / np.maximum(members, 1.0)[bag_of]
        coeff = coeff.astype(weight.dtype)
        ctx.save_for_backward(weight, per_sample_weights)
        ctx.indices, ctx.bag_of, ctx.coeff = indices, bag_of, coeff
        rows = weight[indices]
        rows *= (coeff if per_sample_weights is None else coeff * per_sample_weights)[:, None]
        return _bag_sums(rows, offsets, lengths)

    @staticmethod
    def backward(ctx, grad_out):
        weight, per_sample_weights = ctx.saved
        needs = ctx.needs_input_grad
        bag_rows = grad_out[ctx.bag_of]
        grad_weight = grad_per_sample = None
        if needs[0]:
            coeff = ctx.coeff if per_sample_weights is None else per_sample_weights * ctx.coeff
            rows = bag_rows * coeff.reshape((-1, 1))
            grad_weight = ctx.xp.getitem_backward(rows, weight.shape, ctx.indices, True)
        if len(needs) > 1 and needs[1]:
            grad_per_sample = (bag_rows * weight[ctx.indices]).sum(1) * ctx.coeff
        return (grad_weight, grad_per_sample)[:len(needs)]


def _bag_sums(rows, offsets, lengths):
    """The sum of ``rows`` over each bag [offset, offset + length); empty bags give zeros."""
    out = np.zeros((offsets.size,) + rows.shape[1:], rows.dtype)
    filled = lengths > 0
    if filled.any():
        # reduceat sums from each start to the next one given, so only non-empty bags' starts are passed.
        out[filled] = np.add.reduceat(rows, offsets[filled], axis=0)
    return out


# --- checks shared by the functions and the layers ---------------------------------------------

def _index_array(owner, input):
    """Indices as an int64 ndarray, or raise naming ``owner`` (an op name or a layer)."""
    array = input.data if isinstance(input, Tensor) else np.asarray(input)
    if array.dtype.kind not in "iu":
        raise DTypeError(f"{owner}: indices must be integers; expected an int64 tensor, got dtype {array.dtype}.")
    return array.astype(np.int64, copy=False)


def _check_range(owner, indices, num_embeddings):
    if indices.size and (indices.min() < 0 or indices.max() >= num_embeddings):
        raise IndexingError(f"{owner}: index out of range; expected indices in [0, {num_embeddings}), got "
                            f"values in [{indices.min()}, {indices.max()}].")


def _padding_index(owner, padding_idx, num_embeddings):
    """``padding_idx`` as a row number in [0, num_embeddings) (negative counts from the end), or None."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise IndexingError(f"{owner}: padding_idx out of range; expected -{num_embeddings} <= padding_idx < "
                            f"{num_embeddings}, got {padding_idx}.")
    return int(padding_idx) % num_embeddings


def _table(owner, weight):
    weight = as_tensor(weight)
    if weight.ndim != 2 or weight.data.dtype.kind != "f":
        raise ShapeError(f"{owner}: the weight must be a float matrix; expected shape (num_embeddings, "
                         f"embedding_dim), got weight.shape={weight.shape}, dtype {weight.data.dtype}.")
    return weight


def _bags(owner, indices, offsets, per_sample_weights, include_last_offset):
    """Flat indices, each bag's start and the flat per-sample weights, from 2-D (B, L) input or from
    1-D input with offsets (which, with ``include_last_offset``, end with the number of indices)."""
    if per_sample_weights is not None and tuple(per_sample_weights.shape) != indices.shape:
        raise ShapeError(f"{owner}: per_sample_weights must match the input; expected shape {indices.shape}, "
                         f"got per_sample_weights.shape={tuple(per_sample_weights.shape)}.")
    if indices.ndim == 2:
        if offsets is not None:
            raise ShapeError(f"{owner}: offsets are only for 1-D input; expected offsets=None with 2-D (B, L) "
                             f"input, got offsets with input shape {indices.shape}.")
        batch, length = indices.shape
        flat_weights = None if per_sample_weights is None else per_sample_weights.reshape(-1)
        return indices.reshape(-1), np.arange(0, batch * length, length, dtype=np.int64), flat_weights
    if indices.ndim != 1 or offsets is None:
        raise ShapeError(f"{owner}: expected 2-D (B, L) input, or 1-D input with offsets, got input shape "
                         f"{indices.shape} and offsets={'None' if offsets is None else 'given'}.")
    offsets = _index_array(owner, offsets)
    if include_last_offset:
        # PyTorch documents the last offset as the number of indices; it treats indices after a
        # smaller one differently by dtype, so chainrule accepts only the documented form.
        if offsets.ndim != 1 or offsets.size < 2 or offsets[-1] != indices.size:
            raise ShapeError(f"{owner}: with include_last_offset the offsets end with the number of indices; "
                             f"expected at least 2 offsets and offsets[-1] == {indices.size}, got offsets "
                             f"{offsets.tolist()}.")
        offsets = offsets[:-1]
    if (offsets.ndim != 1 or offsets.size == 0 or offsets[0] != 0 or offsets[-1] > indices.size
            or np.any(np.diff(offsets) < 0)):
        raise ShapeError(f"{owner}: offsets must be the bags' start positions; expected a 1-D non-decreasing "
                         f"sequence starting at 0 and at most {indices.size}, got offsets {offsets.tolist()}.")
    return indices, offsets, per_sample_weights


def _embedding(owner, input, weight, padding_idx):
    weight = _table(owner, weight)
    indices = _index_array(owner, input)
    _check_range(owner, indices, weight.shape[0])
    return EmbeddingLookup.apply(weight, indices=indices,
                                 padding_idx=_padding_index(owner, padding_idx, weight.shape[0]))


def _embedding_bag(owner, input, weight, offsets, mode, per_sample_weights, include_last_offset, padding_idx):
    if mode not in _MODES:
        raise ShapeError(f"{owner}: unknown mode; expected one of {_MODES}, got {mode!r}.")
    weight = _table(owner, weight)
    if per_sample_weights is not None:
        if mode != "sum":
            raise ShapeError(f"{owner}: per_sample_weights only work with mode='sum'; expected mode 'sum', "
                             f"got mode {mode!r}.")
        per_sample_weights = as_tensor(per_sample_weights)
        if per_sample_weights.data.dtype != weight.data.dtype:
            per_sample_weights = per_sample_weights.to(weight.data.dtype)
    indices = _index_array(owner, input)
    indices, offsets, per_sample_weights = _bags(owner, indices, offsets, per_sample_weights, include_last_offset)
    _check_range(owner, indices, weight.shape[0])
    options = dict(indices=indices, offsets=offsets, mode=mode,
                   padding_idx=_padding_index(owner, padding_idx, weight.shape[0]))
    if per_sample_weights is None:
        return EmbeddingBagSum.apply(weight, **options)
    return EmbeddingBagSum.apply(weight, per_sample_weights, **options)


# --- functions ---------------------------------------------------------------------------------

def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` picked by the int64 ``input``, as ``torch.nn.functional.embedding``.

    Args:
        input: int indices of any shape, each in [0, num_embeddings).
        weight: (num_embeddings, embedding_dim) floats.
        padding_idx: a row that receives no gradient (negative counts from the end).

    Returns:
        (*input.shape, embedding_dim).
    """
    return _embedding("embedding", input, weight, padding_idx)


def embedding_bag(input, weight, offsets=None, *, mode="mean", per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """Sums or means of bags of embedding rows, as ``torch.nn.functional.embedding_bag``.

    Args:
        input: (B, L) int indices (B bags of L), or 1-D indices cut into bags by ``offsets``.
        weight: (num_embeddings, embedding_dim) floats.
        offsets: for 1-D input, each bag's start position (starting at 0, non-decreasing).
        mode: "mean" or "sum" of each bag's rows; an empty bag gives zeros.
        per_sample_weights: with mode "sum", a weight per index (input's shape).
        include_last_offset: ``offsets`` ends with the number of indices (B + 1 entries).
        padding_idx: a row left out of every bag (and of the mean's count), receiving no gradient.

    Returns:
        (B, embedding_dim).
    """
    return _embedding_bag("embedding_bag", input, weight, offsets, mode, per_sample_weights,
                          include_last_offset, padding_idx)


TENSOR_METHODS = {}
