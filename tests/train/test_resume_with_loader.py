"""Exact resume through the real pieces: a shuffling DataLoader, a batch augmentation, dropout."""

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset
from chainrule.data import transforms as T
from chainrule.nn import functional as F
from chainrule.train import ModelCheckpoint, Trainer


def _run(checkpoint, epochs, resume_from=None):
    cr.manual_seed(0)
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(-1, 1, (40, 2)), rng.normal(1, 1, (40, 2))]).astype(np.float32)
    y = np.repeat([0, 1], 40)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, transform=T.GaussianNoise(0.1))
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
    trainer = Trainer(model, F.cross_entropy, cr.optim.Adam(model.parameters(), lr=0.01),
                      callbacks=[ModelCheckpoint(checkpoint, monitor="loss")])
    history = trainer.fit(loader, epochs=epochs, resume_from=resume_from)
    return [p.numpy().copy() for p in model.parameters()], history.history


def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path):
    full_params, full_history = _run(tmp_path / "full.npz", epochs=4)
    _run(tmp_path / "half.npz", epochs=2)
    resumed_params, resumed_history = _run(tmp_path / "half.npz", epochs=4, resume_from=tmp_path / "half.npz")
    for full, resumed in zip(full_params, resumed_params):
        np.testing.assert_array_equal(full, resumed)
    assert resumed_history == full_history and len(full_history["loss"]) == 4
