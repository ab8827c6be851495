"""Dataset, TensorDataset, Subset, and the splits random_split and stratified_split."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import Dataset, Subset, TensorDataset, random_split, stratified_split
from chainrule.errors import DTypeError, IndexingError, ShapeError


def make_dataset(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n) % 3
    return TensorDataset(cr.tensor(x), y), x, y


# --- TensorDataset ----------------------------------------------------------------------------
def test_int_index_gives_one_row_of_each_array_as_tensors():
    data, x, y = make_dataset()
    features, label = data[4]
    assert isinstance(features, cr.Tensor) and isinstance(label, cr.Tensor)
    np.testing.assert_array_equal(features.numpy(), x[4])
    assert label.item() == y[4] and label.dtype == cr.int64
    np.testing.assert_array_equal(data[-1][0].numpy(), x[-1])


def test_index_array_and_slice_give_a_batch():
    data, x, y = make_dataset()
    features, label = data[np.array([7, 0, 7])]
    np.testing.assert_array_equal(features.numpy(), x[[7, 0, 7]])
    np.testing.assert_array_equal(label.numpy(), y[[7, 0, 7]])
    assert data[2:5][0].shape == (3, 3)
    assert data[cr.tensor([1, 2])][1].tolist() == [1, 2]


def test_arrays_keep_their_memory_and_small_dtypes_become_allowed_ones():
    images = np.arange(12, dtype=np.uint8).reshape(4, 3)
    data = TensorDataset(images)
    assert data.arrays[0] is images  # no copy of the whole array
    (batch,) = data[np.array([0, 1])]
    assert batch.dtype == cr.int64 and len(data) == 4


def test_tensor_dataset_errors_name_the_class_and_the_shapes():
    with pytest.raises(ShapeError, match=r"TensorDataset: every tensor .* expected 10 .* got shape \(9,\)"):
        TensorDataset(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ShapeError, match="expected at least one"):
        TensorDataset()
    with pytest.raises(ShapeError, match="0-d"):
        TensorDataset(np.float32(1.0))
    with pytest.raises(DTypeError, match="expected numbers"):
        TensorDataset(np.array(["a", "b"]))
    data, _, _ = make_dataset()
    with pytest.raises(IndexingError, match=r"index 10 is out of range for 10 samples"):
        data[10]
    with pytest.raises(IndexingError, match="index -11"):
        data[np.array([0, -11])]
    with pytest.raises(DTypeError, match="unsupported index"):
        data[np.array([0.5])]


def test_dataset_base_class_asks_for_its_methods():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())


# --- Subset and random_split ------------------------------------------------------------------
def test_subset_maps_indices_and_batches_through_the_parent():
    data, x, _ = make_dataset()
    subset = Subset(data, [9, 2, -1])
    assert len(subset) == 3
    np.testing.assert_array_equal(subset[1][0].numpy(), x[2])
    np.testing.assert_array_equal(subset[np.array([0, 2])][0].numpy(), x[[9, 9]])
    with pytest.raises(IndexingError, match="Subset"):
        Subset(data, [10])


def test_random_split_partitions_the_indices_reproducibly():
    data, _, _ = make_dataset(10)
    parts = random_split(data, [6, 3, 1], seed=3)
    assert [len(p) for p in parts] == [6, 3, 1]
    together = np.concatenate([p.indices for p in parts])
    assert sorted(together.tolist()) == list(range(10))
    again = random_split(data, [6, 3, 1], seed=3)
    assert all(np.array_equal(a.indices, b.indices) for a, b in zip(parts, again))
    assert not np.array_equal(random_split(data, [6, 3, 1], seed=4)[0].indices, parts[0].indices)


def test_random_split_fractions_hand_out_the_remainder_first_come():
    parts = random_split(list(range(11)), [0.5, 0.3, 0.2], seed=0)
    assert [len(p) for p in parts] == [6, 3, 2]  # floors 5, 3, 2; one left over goes to the first
    assert [parts[1][i] for i in range(3)] == parts[1].indices.tolist()  # a plain list works as a dataset


def test_random_split_without_seed_follows_manual_seed():
    cr.manual_seed(5)
    first = random_split(list(range(20)), [10, 10])[0].indices
    cr.manual_seed(5)
    assert np.array_equal(random_split(list(range(20)), [10, 10])[0].indices, first)


@pytest.mark.parametrize("lengths, message", [
    ([0.5, 0.4], r"fractions do not sum to 1.*sum 0.9"),
    ([5, 4], r"expected them to sum to 10.*sum 9"),
    ([-1, 11], "negative length"),
    ([], "bad lengths"),
])
def test_random_split_rejects_bad_lengths(lengths, message):
    with pytest.raises(ShapeError, match=f"random_split: .*{message}"):
        random_split(list(range(10)), lengths)


# --- stratified_split -------------------------------------------------------------------------
def test_stratified_split_keeps_each_class_within_one_sample_of_its_share():
    rng = np.random.default_rng(0)
    labels = rng.choice(np.array(["cat", "dog", "eel", "fox"]), size=203, p=[0.5, 0.3, 0.15, 0.05])
    train, test = stratified_split(labels, test_size=0.3, seed=1)
    assert train.dtype == np.int64 and test.dtype == np.int64
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(203))  # a partition
    assert len(test) == int(np.ceil(0.3 * 203))
    for label in np.unique(labels):
        members = np.sum(labels == label)
        assert abs(np.sum(labels[test] == label) - members * len(test) / 203) < 1.0, label
    again = stratified_split(labels, test_size=0.3, seed=1)
    assert np.array_equal(again[1], test)
    assert not np.array_equal(stratified_split(labels, test_size=0.3, seed=2)[1], test)


def test_stratified_split_takes_a_count_a_tensor_and_exact_fractions():
    labels = cr.tensor([0] * 6 + [1] * 4)
    train, test = stratified_split(labels, test_size=5, seed=0)
    assert len(test) == 5 and len(train) == 5
    _, test = stratified_split(np.repeat([0, 1], 5), test_size=0.3)
    assert len(test) == 3  # 0.3 * 10 is 3.0000000000000004 in floats, not 4


@pytest.mark.parametrize("labels, test_size, error, message", [
    (np.zeros((3, 2)), 0.25, ShapeError, r"1-d array .* got shape \(3, 2\)"),
    (np.arange(10), 1.5, ShapeError, "fraction in \\(0, 1\\)"),
    (np.arange(10), 0.0, ShapeError, "fraction in \\(0, 1\\)"),
    (np.arange(10), 10, ShapeError, "count out of range"),
    (np.arange(10), "half", DTypeError, "must be a number"),
])
def test_stratified_split_rejects_bad_input(labels, test_size, error, message):
    with pytest.raises(error, match=f"stratified_split: .*{message}"):
        stratified_split(labels, test_size=test_size)
