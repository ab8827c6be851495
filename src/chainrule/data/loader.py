"""DataLoader: a dataset served in batches of Tensors, shuffled reproducibly and resumably.

Each epoch (each ``iter(loader)``) draws one permutation from the loader's own NumPy generator,
then serves it in slices of ``batch_size``. A :class:`TensorDataset` (or a Subset of one) is
batched with one fancy index per array; any other dataset is read sample by sample and the
samples are stacked by ``collate_fn`` (:func:`default_collate` unless given).

``state_dict()`` holds the generator state and the epoch count, so a run resumed from a checkpoint
sees the same batch order as one that was never interrupted. Taken in the middle of an epoch, it
also holds how many batches were served, and the resumed loader serves the rest of that epoch.
"""

import numbers

import numpy as np

from chainrule import _dtypes, _random
from chainrule.data.dataset import Subset, TensorDataset, as_batch_tensor
from chainrule.errors import ChainruleError, DTypeError, ShapeError
from chainrule.tensor import Tensor

__all__ = ["DataLoader", "default_collate"]

_STATE_KEYS = ("epoch", "batch", "generator")


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a Dataset (anything with ``__getitem__`` and ``__len__``).
        batch_size: samples per batch, an int >= 1.
        shuffle: serve the samples in a new random order every epoch.
        seed: seed of the loader's generator; None seeds it from chainrule's generator
            (``chainrule.manual_seed``), drawn once, when the loader is made.
        drop_last: leave out the last batch when it is smaller than ``batch_size``.
        collate_fn: ``collate_fn(list_of_samples) -> batch``; given, it is called for every dataset
            (a TensorDataset too), with its samples read one by one.
        transform: a callable applied to each batch's inputs (its first element), e.g. an
            augmentation from ``chainrule.data.transforms``, which works on whole batches.

    Raises:
        ShapeError: ``batch_size < 1``.
        DTypeError: a dataset without ``__len__``/``__getitem__``, or a non-int batch size or seed.

    Example:
        >>> import numpy as np
        >>> from chainrule.data import TensorDataset
        >>> loader = DataLoader(TensorDataset(np.arange(10.0), np.arange(10)), batch_size=4)
        >>> len(loader)
        3
        >>> [x.shape for x, y in loader]
        [(4,), (4,), (2,)]
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, seed=None, drop_last=False, collate_fn=None,
                 transform=None):
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise DTypeError(f"DataLoader: not a dataset; expected an object with __getitem__ and __len__, got "
                             f"{type(dataset).__name__}.")
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool):
            raise DTypeError(f"DataLoader: batch_size must be an int; expected an int >= 1, got {batch_size!r}.")
        if batch_size < 1:
            raise ShapeError(f"DataLoader: batch_size must be positive; expected batch_size >= 1, got {batch_size}.")
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise DTypeError(f"DataLoader: seed must be an int or None; expected an int, got {seed!r}.")
        if collate_fn is not None and not callable(collate_fn):
            raise DTypeError(f"DataLoader: collate_fn must be callable; expected a function of a list of samples, "
                             f"got {type(collate_fn).__name__}.")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if transform is not None and not callable(transform):
            raise DTypeError(f"DataLoader: transform must be callable; expected a function of a batch of inputs, "
                             f"got {type(transform).__name__}.")
        self.collate_fn = collate_fn
        self.transform = transform
        self.epoch = 0  # epochs served to the end
        self._generator = None
        if self.shuffle:
            self._generator = np.random.default_rng(
                _random.generator().integers(2 ** 63) if seed is None else seed)
        self._in_epoch = False
        self._batch = 0  # batches served in the epoch in progress
        self._epoch_start_state = None  # generator state before this epoch's draw
        self._resume_batch = 0

    def __len__(self):
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self):
        return self._serve_epoch()

    def _serve_epoch(self):
        order = self._draw_order()
        skip, self._resume_batch = self._resume_batch, 0
        self._batch = skip
        stop = len(self) * self.batch_size
        for number, start in enumerate(range(skip * self.batch_size, stop, self.batch_size), start=skip):
            self._batch = number + 1  # counted before the yield: a checkpoint taken now includes this batch
            yield self._fetch(order[start:start + self.batch_size])
        self._in_epoch = False
        self._batch = 0
        self.epoch += 1

    def _draw_order(self):
        self._in_epoch, self._batch = True, 0
        size = len(self.dataset)
        if self._generator is None:
            return np.arange(size)
        self._epoch_start_state = self._generator.bit_generator.state
        return self._generator.permutation(size)

    def _fetch(self, indices):
        if self.collate_fn is None and _indexes_batches(self.dataset):
            batch = self.dataset[indices]
        else:
            batch = (self.collate_fn or default_collate)([self.dataset[int(i)] for i in indices])
        if self.transform is None:
            return batch
        if isinstance(batch, tuple):
            return (self.transform(batch[0]),) + batch[1:]
        return self.transform(batch)

    # --- checkpoints ----------------------------------------------------------------------
    def state_dict(self):
        """Where the loader is: ``{"epoch", "batch", "generator"}`` (plain values, for ``chainrule.save``).

        Between epochs ``batch`` is 0 and ``generator`` is the state the next epoch draws from; in
        the middle of an epoch they are the batches served so far and the state before the epoch's
        draw, so the resumed loader replays the same order and skips what was served.
        """
        if self._generator is None:
            generator = None
        else:
            generator = self._epoch_start_state if self._in_epoch else self._generator.bit_generator.state
        return {"epoch": self.epoch, "batch": self._batch if self._in_epoch else 0, "generator": generator}

    def load_state_dict(self, state_dict):
        """Restore a state from ``state_dict()``; the next ``iter(loader)`` continues from there."""
        missing = [key for key in _STATE_KEYS if key not in state_dict]
        if missing:
            raise ChainruleError(f"DataLoader.load_state_dict: missing keys; expected {list(_STATE_KEYS)}, got "
                                 f"{sorted(state_dict)} (missing {missing}).")
        if state_dict["generator"] is not None:
            if self._generator is None:
                self._generator = np.random.default_rng()
            self._generator.bit_generator.state = state_dict["generator"]
        self.epoch = int(state_dict["epoch"])
        self._resume_batch = int(state_dict["batch"])
        self._in_epoch, self._batch = False, 0

    def __repr__(self):
        return (f"DataLoader(batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last}, "
                f"batches={len(self)})")


def _indexes_batches(dataset):
    """True when ``dataset[index_array]`` returns a whole batch (one fancy index per array)."""
    if isinstance(dataset, Subset):
        return _indexes_batches(dataset.dataset)
    return isinstance(dataset, TensorDataset)


def default_collate(samples):
    """Stack a list of samples into a batch.

    Tensors, ndarrays and numbers become one Tensor with a new first dimension (Python floats
    become float32, as in ``chainrule.tensor``); tuples and lists are collated field by field into
    a tuple, dicts key by key; strings stay a list.

    Raises:
        ShapeError: samples whose fields differ in shape or length.
        DTypeError: a sample field of an unsupported type.

    Example:
        >>> default_collate([(1.0, 0), (2.0, 1)])
        (tensor([1., 2.]), tensor([0, 1]))
    """
    if not samples:
        raise ShapeError("default_collate: no samples; expected a list of at least one sample, got an empty list.")
    first = samples[0]
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, (tuple, list)):
        lengths = {len(sample) for sample in samples}
        if len(lengths) != 1:
            raise ShapeError(f"default_collate: samples have different numbers of fields; expected {len(first)} "
                             f"in every sample, got {sorted(lengths)}.")
        return tuple(default_collate([sample[i] for sample in samples]) for i in range(len(first)))
    if isinstance(first, dict):
        return {key: default_collate([sample[key] for sample in samples]) for key in first}
    if isinstance(first, numbers.Number) and not isinstance(first, np.generic):
        return Tensor._wrap(_dtypes.as_array(list(samples)))
    if isinstance(first, (Tensor, np.ndarray, np.generic)):
        arrays = [np.asarray(sample.data if isinstance(sample, Tensor) else sample) for sample in samples]
        for position, array in enumerate(arrays):
            if array.shape != arrays[0].shape:
                raise ShapeError(f"default_collate: samples differ in shape; expected {arrays[0].shape} like "
                                 f"sample 0, got {array.shape} for sample {position}. Hint: pass a collate_fn "
                                 f"that pads or crops, or a transform that makes samples one size.")
        return as_batch_tensor(np.stack(arrays))
    raise DTypeError(f"default_collate: cannot batch a sample field; expected a Tensor, ndarray, number, string, "
                     f"tuple, list or dict, got {type(first).__name__}.")
