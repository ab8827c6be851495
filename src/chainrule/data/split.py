"""Splitting a dataset: at random into given lengths or fractions, or stratified by class."""

import math
import numbers

import numpy as np

from chainrule import _random
from chainrule.data.dataset import Subset
from chainrule.errors import DTypeError, ShapeError
from chainrule.tensor import Tensor

__all__ = ["random_split", "stratified_split"]


def random_split(dataset, lengths, seed=None):
    """Split ``dataset`` into non-overlapping random :class:`Subset` s.

    Args:
        dataset: any dataset with ``__len__``.
        lengths: ints that sum to ``len(dataset)``, or fractions that sum to 1 (floor of each share,
            the remainder handed out one by one from the first subset, as PyTorch does).
        seed: an int for a reproducible split; None draws from chainrule's generator
            (``chainrule.manual_seed``).

    Returns:
        a list of Subsets, one per length.

    Raises:
        ShapeError: negative lengths, ints that do not sum to the dataset size, or fractions that
            do not sum to 1.

    Example:
        >>> train, val = random_split(list(range(10)), [0.8, 0.2], seed=0)
        >>> len(train), len(val)
        (8, 2)
    """
    total = len(dataset)
    sizes = _split_sizes(lengths, total)
    rng = _random.generator() if seed is None else np.random.default_rng(seed)
    order = rng.permutation(total)
    bounds = np.cumsum([0] + sizes)
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]


def _split_sizes(lengths, total):
    lengths = list(lengths)
    if not lengths or not all(isinstance(n, numbers.Real) and not isinstance(n, bool) for n in lengths):
        raise ShapeError(f"random_split: bad lengths; expected a list of ints or of fractions, got {lengths!r}.")
    if any(n < 0 for n in lengths):
        raise ShapeError(f"random_split: negative length; expected lengths >= 0, got {lengths!r}.")
    if all(isinstance(n, numbers.Integral) for n in lengths):
        if sum(lengths) != total:
            raise ShapeError(f"random_split: lengths do not cover the dataset; expected them to sum to "
                             f"{total}, got {lengths!r} (sum {sum(lengths)}).")
        return [int(n) for n in lengths]
    if not math.isclose(sum(lengths), 1.0, abs_tol=1e-6) or any(n > 1 for n in lengths):
        raise ShapeError(f"random_split: fractions do not sum to 1; expected fractions in [0, 1] that sum to "
                         f"1, got {lengths!r} (sum {sum(lengths):g}).")
    sizes = [int(math.floor(total * f)) for f in lengths]
    for i in range(total - sum(sizes)):
        sizes[i % len(sizes)] += 1
    return sizes


def stratified_split(labels, test_size=0.25, seed=0):
    """Indices of a train/test split that keeps every class's share of the samples.

    The number of test samples is ``ceil(test_size * n)`` (or ``test_size`` itself when an int).
    Each class gets its exact share of it rounded down, and the samples left over go to the classes
    with the largest remainders, so every class is within one sample of its proportion.

    Args:
        labels: a 1-d array, list or Tensor of class labels (ints or strings).
        test_size: the fraction of samples in the test set, in (0, 1), or a count in [1, n - 1].
        seed: seed of the generator that picks the samples.

    Returns:
        ``(train_indices, test_indices)``: int64 arrays, each in random order, together a
        permutation of ``range(n)``.

    Raises:
        ShapeError: labels that are not 1-d with at least two samples, or a bad ``test_size``.

    Example:
        >>> train, test = stratified_split([0, 0, 0, 0, 1, 1, 1, 1], test_size=0.5, seed=0)
        >>> len(train), len(test)
        (4, 4)
    """
    labels = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if labels.ndim != 1 or labels.shape[0] < 2:
        raise ShapeError(f"stratified_split: labels must be a 1-d array of at least 2 samples; expected shape "
                         f"(n,) with n >= 2, got shape {labels.shape}.")
    total = labels.shape[0]
    num_test = _test_count(test_size, total)
    classes, class_of, class_counts = np.unique(labels, return_inverse=True, return_counts=True)
    exact = class_counts * num_test / total
    per_class = np.floor(exact).astype(np.int64)
    leftover = num_test - int(per_class.sum())
    # stable sort: equal remainders go to the earlier class, so the split does not depend on chance
    per_class[np.argsort(-(exact - per_class), kind="stable")[:leftover]] += 1
    rng = np.random.default_rng(seed)
    test_parts, train_parts = [], []
    for label_index, count in enumerate(per_class):
        members = rng.permutation(np.flatnonzero(class_of.reshape(-1) == label_index))
        test_parts.append(members[:count])
        train_parts.append(members[count:])
    train = rng.permutation(np.concatenate(train_parts)).astype(np.int64)
    test = rng.permutation(np.concatenate(test_parts)).astype(np.int64)
    return train, test


def _test_count(test_size, total):
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        if not 1 <= test_size <= total - 1:
            raise ShapeError(f"stratified_split: test_size is a count out of range; expected 1 <= test_size <= "
                             f"{total - 1}, got {test_size}.")
        return int(test_size)
    if not isinstance(test_size, numbers.Real) or isinstance(test_size, bool):
        raise DTypeError(f"stratified_split: test_size must be a number; expected a fraction or an int, got "
                         f"{type(test_size).__name__}.")
    if not 0.0 < test_size < 1.0:
        raise ShapeError(f"stratified_split: test_size must be a fraction in (0, 1); expected 0 < test_size < 1, "
                         f"got {test_size}.")
    # 1e-9 keeps float noise (0.3 * 10 = 3.0000000000000004) from adding a sample
    return min(max(math.ceil(test_size * total - 1e-9), 1), total - 1)
