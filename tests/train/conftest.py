"""Tiny problems for the training tests: two Gaussian blobs, batched lists and a shuffling iterable."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _blobs(n=64, seed=0):
    """Two classes in 2-d, centred at (-1.5, -1.5) and (1.5, 1.5): nearly separable."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    points = rng.normal(size=(n, 2)) + np.where(labels[:, None] == 1, 1.5, -1.5)
    return points.astype(np.float32), labels.astype(np.int64)


def _batched(points, labels, size):
    return [(cr.tensor(points[i:i + size]), cr.tensor(labels[i:i + size])) for i in range(0, len(points), size)]


class ShuffledBatches:
    """A shuffling batch iterable with its own generator and a state dict, like a DataLoader's."""

    def __init__(self, points, labels, size, seed=0):
        self.points, self.labels, self.size = points, labels, size
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return -(-len(self.points) // self.size)

    def __iter__(self):
        order = self.rng.permutation(len(self.points))
        for start in range(0, len(order), self.size):
            index = order[start:start + self.size]
            yield cr.tensor(self.points[index]), cr.tensor(self.labels[index])

    def state_dict(self):
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state):
        self.rng.bit_generator.state = state["rng"]


@pytest.fixture
def blobs():
    """(train batches of 16, validation batches of 16, raw train points, raw train labels)."""
    points, labels = _blobs(64, seed=0)
    val_points, val_labels = _blobs(32, seed=1)
    return _batched(points, labels, 16), _batched(val_points, val_labels, 16), points, labels


@pytest.fixture
def batched():
    return _batched


@pytest.fixture
def shuffled():
    points, labels = _blobs(48, seed=2)
    return lambda seed=0: ShuffledBatches(points, labels, 16, seed)


@pytest.fixture
def mlp():
    """A factory for a small classifier: Linear(2, 8) - ReLU - [Dropout] - Linear(8, 2), seeded."""
    def make(seed=0, dropout=0.0):
        cr.manual_seed(seed)
        layers = [nn.Linear(2, 8), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else []) + [nn.Linear(8, 2)]
        return nn.Sequential(*layers)
    return make
