"""Embedding tables: Embedding (one row per index) and EmbeddingBag (sums or means of bags of rows).

The lookups themselves are the primitives in ``chainrule.ops.embedding``.
"""

import numpy as np

from chainrule import _dtypes
from chainrule.creation import zeros
from chainrule.errors import ShapeError
from chainrule.nn import init
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.ops.embedding import _MODES, _embedding, _embedding_bag, _padding_index
from chainrule.tensor import Tensor

__all__ = ["Embedding", "EmbeddingBag"]


# --- layers ------------------------------------------------------------------------------------

class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors, as ``torch.nn.Embedding``.

    Args:
        num_embeddings: the number of rows (the vocabulary size).
        embedding_dim: the size of each row.
        padding_idx: a row initialised to zeros that receives no gradient (negative counts from the end).
        dtype: float32 (default) or float64.

    Shape:
        input: int64 (*) -> (*, embedding_dim)

    Example:
        >>> import chainrule as cr
        >>> table = cr.nn.Embedding(10, 3, padding_idx=0)
        >>> table(cr.tensor([[0, 2], [4, 0]])).shape
        (2, 2, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, *, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding_index("Embedding", padding_idx, num_embeddings)
        dtype = _dtypes.resolve_float("Embedding", dtype)
        self.weight = Parameter(zeros(num_embeddings, embedding_dim, dtype=dtype))
        self.reset_parameters()

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding holding a copy of the (num_embeddings, embedding_dim) ``embeddings``, frozen by default."""
        array = np.array(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if array.ndim != 2:
            raise ShapeError(f"Embedding.from_pretrained: the embeddings must be a matrix; expected shape "
                             f"(num_embeddings, embedding_dim), got shape {array.shape}.")
        layer = cls(*array.shape, padding_idx=padding_idx, dtype=array.dtype)
        layer.weight.data[...] = array
        layer.weight.requires_grad = not freeze
        return layer

    def reset_parameters(self):
        """Rows drawn from N(0, 1), the padding row zeroed (PyTorch's init)."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input):
        return _embedding(self, input, self.weight, self.padding_idx)

    def extra_repr(self):
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"


class EmbeddingBag(Module):
    """Sums or means of bags of embedding rows, without building each bag's rows, as ``torch.nn.EmbeddingBag``.

    Args:
        num_embeddings: the number of rows.
        embedding_dim: the size of each row.
        mode: "mean" (default) or "sum".
        include_last_offset: ``offsets`` ends with the number of indices.
        padding_idx: a row left out of every bag, initialised to zeros, receiving no gradient.
        dtype: float32 (default) or float64.

    Shape:
        input: int64 (B, L), or 1-D (M,) with offsets (B,) -> (B, embedding_dim)

    Example:
        >>> import chainrule as cr
        >>> bags = cr.nn.EmbeddingBag(10, 3, mode="sum")
        >>> bags(cr.tensor([1, 2, 4, 5, 4]), offsets=cr.tensor([0, 2])).shape
        (2, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, *, mode="mean", include_last_offset=False,
                 padding_idx=None, dtype=None):
        super().__init__()
        if mode not in _MODES:
            raise ShapeError(f"EmbeddingBag: unknown mode; expected one of {_MODES}, got {mode!r}.")
        self.num_embeddings, self.embedding_dim, self.mode = num_embeddings, embedding_dim, mode
        self.include_last_offset = include_last_offset
        self.padding_idx = _padding_index("EmbeddingBag", padding_idx, num_embeddings)
        dtype = _dtypes.resolve_float("EmbeddingBag", dtype)
        self.weight = Parameter(zeros(num_embeddings, embedding_dim, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        """Rows drawn from N(0, 1), the padding row zeroed (PyTorch's init)."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input, offsets=None, per_sample_weights=None):
        return _embedding_bag(self, input, self.weight, offsets, self.mode, per_sample_weights,
                              self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}{padding}"
