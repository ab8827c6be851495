"""DataLoader: batching, shuffling, one fancy index per batch, collation, and resuming from a state dict."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Dataset, Subset, TensorDataset, default_collate
from chainrule.errors import ChainruleError, DTypeError, ShapeError
from chainrule.serialization import load, save

N = 23


def numbered(n=N):
    """A TensorDataset whose label is the sample's own index, so batches show the order."""
    return TensorDataset(np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n))


def epoch_order(loader):
    return np.concatenate([labels.numpy() for _, labels in loader]).tolist()


class Samples(Dataset):
    """A generic dataset read one sample at a time: (features array, label int, name str)."""

    def __init__(self, n=N):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        return np.full(3, index, dtype=np.float32), index, f"s{index}"


def test_batches_cover_every_sample_once_per_epoch():
    loader = DataLoader(numbered(), batch_size=5, shuffle=True, seed=0)
    assert len(loader) == 5
    for _ in range(3):
        batches = list(loader)
        assert [len(labels) for _, labels in batches] == [5, 5, 5, 5, 3]
        assert sorted(np.concatenate([y.numpy() for _, y in batches]).tolist()) == list(range(N))
    assert loader.epoch == 3


def test_batches_are_tensors_with_matching_rows():
    for features, labels in DataLoader(numbered(), batch_size=4, shuffle=True, seed=1):
        assert isinstance(features, cr.Tensor) and features.dtype == cr.float32 and labels.dtype == cr.int64
        np.testing.assert_array_equal(features.numpy()[:, 0], 2 * labels.numpy())


def test_without_shuffle_the_order_is_the_dataset_order():
    assert epoch_order(DataLoader(numbered(), batch_size=7)) == list(range(N))


def test_shuffle_differs_between_epochs_and_repeats_with_the_seed():
    first, second = DataLoader(numbered(), batch_size=4, shuffle=True, seed=7), \
        DataLoader(numbered(), batch_size=4, shuffle=True, seed=7)
    orders = [epoch_order(first) for _ in range(3)]
    assert orders[0] != orders[1] != orders[2] and orders[0] != list(range(N))
    assert [epoch_order(second) for _ in range(3)] == orders
    assert epoch_order(DataLoader(numbered(), batch_size=4, shuffle=True, seed=8)) != orders[0]


def test_seed_none_is_drawn_from_chainrules_generator():
    cr.manual_seed(11)
    first = epoch_order(DataLoader(numbered(), batch_size=4, shuffle=True))
    cr.manual_seed(11)
    assert epoch_order(DataLoader(numbered(), batch_size=4, shuffle=True)) == first
    cr.manual_seed(12)
    assert epoch_order(DataLoader(numbered(), batch_size=4, shuffle=True)) != first


def test_drop_last_leaves_out_the_short_batch():
    loader = DataLoader(numbered(), batch_size=5, drop_last=True)
    assert len(loader) == 4 and [len(y) for _, y in loader] == [5, 5, 5, 5]
    assert len(DataLoader(numbered(20), batch_size=5, drop_last=True)) == 4
    assert len(DataLoader(numbered(20), batch_size=50)) == 1
    assert len(DataLoader(numbered(20), batch_size=50, drop_last=True)) == 0


@pytest.mark.parametrize("wrap", [lambda d: d, lambda d: Subset(d, np.arange(len(d))[::-1])],
                         ids=["TensorDataset", "Subset"])
def test_tensor_dataset_is_read_with_one_fancy_index_per_batch(monkeypatch, wrap):
    calls = []
    original = TensorDataset.__getitem__

    def counting(self, index):
        calls.append(np.ndim(index))
        return original(self, index)

    monkeypatch.setattr(TensorDataset, "__getitem__", counting)
    loader = DataLoader(wrap(numbered()), batch_size=8, shuffle=True, seed=0)
    assert sorted(epoch_order(loader)) == list(range(N))
    assert calls == [1] * len(loader)  # one call per batch, each with an index array


def test_collate_fn_gets_the_list_of_samples():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return [int(label) for _, label in samples]

    loader = DataLoader(numbered(10), batch_size=4, collate_fn=collate)
    assert list(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert seen == [4, 4, 2]


def test_generic_datasets_are_stacked_by_default_collate():
    features, labels, names = next(iter(DataLoader(Samples(), batch_size=3, shuffle=True, seed=0)))
    assert features.shape == (3, 3) and features.dtype == cr.float32
    assert labels.dtype == cr.int64 and isinstance(names, list)
    np.testing.assert_array_equal(features.numpy()[:, 0], labels.numpy())
    assert names == [f"s{i}" for i in labels.tolist()]


def test_default_collate_handles_numbers_dicts_and_tensors():
    batch = default_collate([{"x": cr.ones(2), "w": 0.5}, {"x": cr.zeros(2), "w": 1.5}])
    assert batch["x"].shape == (2, 2) and batch["w"].dtype == cr.float32
    assert batch["w"].tolist() == [0.5, 1.5]
    with pytest.raises(ShapeError, match=r"default_collate: samples differ in shape; expected \(3,\) .* got \(2,\) "
                                         r"for sample 1. Hint"):
        default_collate([np.zeros(3), np.zeros(2)])
    with pytest.raises(DTypeError, match="cannot batch"):
        default_collate([object(), object()])


def test_resume_from_state_dict_gives_the_same_next_epoch():
    uninterrupted = DataLoader(numbered(), batch_size=4, shuffle=True, seed=3)
    orders = [epoch_order(uninterrupted) for _ in range(4)]

    before = DataLoader(numbered(), batch_size=4, shuffle=True, seed=3)
    epoch_order(before), epoch_order(before)
    state = before.state_dict()
    assert state["epoch"] == 2 and state["batch"] == 0
    # a fresh process: another seed entirely, then the checkpoint
    resumed = DataLoader(numbered(), batch_size=4, shuffle=True, seed=999)
    resumed.load_state_dict(state)
    assert [epoch_order(resumed) for _ in range(2)] == orders[2:]
    assert resumed.epoch == 4


def test_resume_through_a_saved_checkpoint_file(tmp_path):
    loader = DataLoader(numbered(), batch_size=5, shuffle=True, seed=4)
    epoch_order(loader)
    save({"loader": loader.state_dict()}, tmp_path / "checkpoint.npz")  # 128-bit generator state included
    expected = epoch_order(loader)
    restored = DataLoader(numbered(), batch_size=5, shuffle=True, seed=0)
    restored.load_state_dict(load(tmp_path / "checkpoint.npz")["loader"])
    assert epoch_order(restored) == expected


def test_resume_in_the_middle_of_an_epoch_serves_the_rest():
    uninterrupted = DataLoader(numbered(), batch_size=4, shuffle=True, seed=5)
    expected = [epoch_order(uninterrupted) for _ in range(2)]

    loader = DataLoader(numbered(), batch_size=4, shuffle=True, seed=5)
    served = []
    for _, labels in loader:
        served.extend(labels.tolist())
        if len(served) == 8:
            state = loader.state_dict()  # checkpoint after two batches
            break
    assert state["batch"] == 2 and state["epoch"] == 0
    resumed = DataLoader(numbered(), batch_size=4, shuffle=True, seed=0)
    resumed.load_state_dict(state)
    assert served + epoch_order(resumed) == expected[0]
    assert epoch_order(resumed) == expected[1] and resumed.epoch == 2


def test_state_dict_without_shuffle_counts_epochs():
    loader = DataLoader(numbered(), batch_size=10)
    epoch_order(loader)
    assert loader.state_dict() == {"epoch": 1, "batch": 0, "generator": None}


@pytest.mark.parametrize("kwargs, error, message", [
    ({"batch_size": 0}, ShapeError, r"DataLoader: batch_size must be positive; expected batch_size >= 1, got 0"),
    ({"batch_size": 2.5}, DTypeError, "DataLoader: batch_size must be an int"),
    ({"seed": "x"}, DTypeError, "DataLoader: seed must be an int"),
    ({"collate_fn": 3}, DTypeError, "DataLoader: collate_fn must be callable"),
])
def test_loader_rejects_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        DataLoader(numbered(), **kwargs)


def test_loader_rejects_non_datasets_and_bad_state():
    with pytest.raises(DTypeError, match="DataLoader: not a dataset"):
        DataLoader(42)
    with pytest.raises(ChainruleError, match=r"missing keys.*'generator'"):
        DataLoader(numbered()).load_state_dict({"epoch": 0, "batch": 0})


def test_transform_applies_to_each_batchs_inputs_only():
    x, y = np.arange(6.0, dtype=np.float32).reshape(6, 1), np.arange(6)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, transform=lambda batch: batch * 10)
    (xb, yb), (xb2, yb2) = list(loader)
    assert xb.tolist() == [[0.0], [10.0], [20.0], [30.0]] and yb.tolist() == [0, 1, 2, 3]
    assert isinstance(xb2, cr.Tensor) and yb2.tolist() == [4, 5]
