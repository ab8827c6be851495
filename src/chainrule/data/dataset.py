"""Datasets: indexable collections of samples.

A :class:`Dataset` is anything with ``__getitem__`` and ``__len__``. :class:`TensorDataset` holds
whole arrays and indexes them all at once, so a batch of 128 samples is one fancy index per array
rather than 128 Python calls. :class:`Subset` is a view of some of a dataset's indices (what
``random_split`` returns).
"""

import numbers

import numpy as np

from chainrule import _dtypes
from chainrule.errors import DTypeError, IndexingError, ShapeError
from chainrule.tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "as_batch_tensor", "checked_indices"]


class Dataset:
    """Base class of datasets: subclasses define ``__getitem__(index)`` and ``__len__()``.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, index):
        ...         return index, index * index
        >>> Squares()[3]
        (3, 9)
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index).")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__().")


class TensorDataset(Dataset):
    """Samples are rows of arrays that share their first dimension (features, labels, ...).

    Indexing with an int gives one row of each array; indexing with an index array (or a slice)
    gives a whole batch in one fancy index per array. Either way the result is a tuple of Tensors.
    The arrays are kept as given (no copy), so a uint8 image array stays small in memory and
    becomes an int64 Tensor only batch by batch.

    Args:
        *tensors: Tensors or ndarrays, each of shape ``(num_samples, ...)``.

    Raises:
        ShapeError: no arrays, a 0-d array, or first dimensions that differ.
        DTypeError: an array that does not hold numbers or booleans.

    Example:
        >>> import numpy as np
        >>> data = TensorDataset(np.arange(6.0).reshape(3, 2), np.array([0, 1, 0]))
        >>> len(data)
        3
        >>> data[np.array([2, 0])]
        (tensor([[4., 5.],
                [0., 1.]], dtype=float64), tensor([0, 0]))
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ShapeError("TensorDataset: no arrays given; expected at least one Tensor or ndarray, got none.")
        arrays = []
        for position, item in enumerate(tensors):
            array = item.data if isinstance(item, Tensor) else np.asarray(item)
            if array.dtype.kind not in "biuf":
                raise DTypeError(f"TensorDataset: tensors[{position}] does not hold numbers; expected numbers or "
                                 f"booleans, got dtype {array.dtype}.")
            if array.ndim == 0:
                raise ShapeError(f"TensorDataset: tensors[{position}] has no sample dimension; expected shape "
                                 f"(num_samples, ...), got a 0-d array.")
            if arrays and array.shape[0] != arrays[0].shape[0]:
                raise ShapeError(f"TensorDataset: every tensor needs the same number of samples; expected "
                                 f"{arrays[0].shape[0]} (the length of tensors[0]), got shape {array.shape} for "
                                 f"tensors[{position}].")
            arrays.append(array)
        self.arrays = tuple(arrays)

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        index = checked_indices("TensorDataset", index, len(self))
        return tuple(as_batch_tensor(array[index]) for array in self.arrays)

    def __repr__(self):
        shapes = ", ".join(str(array.shape) for array in self.arrays)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Args:
        dataset: the dataset to draw from.
        indices: a sequence of ints, each in ``[0, len(dataset))``.
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        indices = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
        if indices.size == 0:
            indices = indices.astype(np.int64)
        self.indices = checked_indices("Subset", indices, len(dataset)).astype(np.int64) % max(len(dataset), 1)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        index = checked_indices("Subset", index, len(self))
        picked = self.indices[index]
        return self.dataset[int(picked) if np.ndim(picked) == 0 else picked]

    def __repr__(self):
        return f"Subset({len(self)} of {len(self.dataset)} samples)"


def as_batch_tensor(array):
    """Wrap an ndarray (a fresh fancy-indexed copy, or a row view) as a Tensor of an allowed dtype."""
    return Tensor._wrap(_dtypes.as_array(array, copy=False))


def checked_indices(owner, index, length):
    """Return ``index`` (an int, a slice, or an int array or Tensor) checked against ``length`` samples.

    Raises:
        IndexingError: an index outside ``[-length, length)``.
        DTypeError: an index that is not an int, a slice or an integer array.
    """
    if isinstance(index, slice):
        return index
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, numbers.Integral) and not isinstance(index, (bool, np.bool_)):
        if not -length <= index < length:
            raise IndexingError(f"{owner}: index {index} is out of range for {length} samples; expected "
                                f"{-length} <= index < {length}.")
        return int(index)
    array = np.asarray(index)
    if array.dtype.kind not in "iu" or array.ndim != 1:
        raise DTypeError(f"{owner}: unsupported index; expected an int, a slice or a 1-d integer array, got "
                         f"{type(index).__name__} with dtype {array.dtype} and shape {array.shape}.")
    if array.size and not (-length <= array.min() and array.max() < length):
        bad = array[(array < -length) | (array >= length)][0]
        raise IndexingError(f"{owner}: index {bad} is out of range for {length} samples; expected "
                            f"{-length} <= index < {length}.")
    return array
