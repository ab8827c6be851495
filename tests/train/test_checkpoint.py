"""ModelCheckpoint and resume_from: a run stopped and resumed equals an uninterrupted run, bit for bit."""

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim import lr_scheduler
from chainrule.serialization import load, save
from chainrule.train import EarlyStopping, GradientMonitor, LRScheduler, ModelCheckpoint, Trainer


def _run(mlp, shuffled, path, epochs, resume_from=None, seed=0):
    """Build everything as a fresh process would (dropout, shuffled batches, Adam, a schedule,
    early stopping that restores its best weights) and fit."""
    model = mlp(seed=seed, dropout=0.3)
    opt = optim.Adam(model.parameters(), lr=0.05)
    callbacks = [ModelCheckpoint(path, monitor="val_loss"),
                 EarlyStopping(monitor="val_accuracy", patience=10, restore_best_weights=True),
                 LRScheduler(lr_scheduler.StepLR(opt, step_size=1, gamma=0.8)), GradientMonitor(every=2)]
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, metrics=["accuracy"], callbacks=callbacks)
    history = trainer.fit(shuffled(seed), val_data=shuffled(seed + 1), epochs=epochs, resume_from=resume_from)
    return model, opt, history, callbacks


def test_resuming_from_a_checkpoint_matches_an_uninterrupted_run_exactly(mlp, shuffled, tmp_path):
    model, opt, history, callbacks = _run(mlp, shuffled, tmp_path / "full.npz", epochs=4)

    _run(mlp, shuffled, tmp_path / "half.npz", epochs=2)
    cr.manual_seed(12345)  # the new process's generator is somewhere else: the checkpoint must put it back
    resumed, resumed_opt, resumed_history, resumed_callbacks = _run(mlp, shuffled, tmp_path / "half.npz",
                                                                    epochs=4, resume_from=tmp_path / "half.npz")

    assert resumed_history.history == history.history and resumed_history.epoch == [0, 1, 2, 3]
    for (name, a), (_, b) in zip(model.state_dict().items(), resumed.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert resumed_opt.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    assert resumed_callbacks[3].history == callbacks[3].history
    assert resumed_callbacks[1].best_epoch == callbacks[1].best_epoch


def test_without_the_rng_and_loader_state_the_run_would_differ(mlp, shuffled, tmp_path):
    """The control for the test above: model and optimizer state alone are not enough here."""
    model, _, history, _ = _run(mlp, shuffled, tmp_path / "full.npz", epochs=3)
    _run(mlp, shuffled, tmp_path / "half.npz", epochs=2)
    checkpoint = load(tmp_path / "half.npz")
    checkpoint["rng"] = cr.get_rng_state()
    checkpoint["data"] = None
    save(checkpoint, tmp_path / "partial.npz")
    partial, _, partial_history, _ = _run(mlp, shuffled, tmp_path / "x.npz", epochs=3,
                                          resume_from=tmp_path / "partial.npz")
    assert partial_history.history["loss"][:2] == history.history["loss"][:2]
    assert partial_history.history["loss"][2] != history.history["loss"][2]


def test_checkpoint_holds_every_part_and_leaves_no_temporary_file(mlp, shuffled, tmp_path):
    _run(mlp, shuffled, tmp_path / "run.npz", epochs=1)
    checkpoint = load(tmp_path / "run.npz")
    assert {"model", "optimizer", "rng", "data", "epoch", "history", "callbacks"} <= set(checkpoint)
    assert checkpoint["epoch"] == 1 and checkpoint["data"]["rng"]["bit_generator"] == "PCG64"
    assert set(checkpoint["callbacks"]) == {"ModelCheckpoint", "EarlyStopping", "LRScheduler", "GradientMonitor"}
    assert os.listdir(tmp_path) == ["run.npz"]


def test_save_best_only_writes_only_improving_epochs_and_paths_can_name_the_epoch(blobs, mlp, tmp_path):
    train, val, _, _ = blobs
    model = mlp()

    class Script(EarlyStopping):  # any callback running before the checkpoint may edit the logs
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = [0.9, 0.5, 0.7, 0.4][epoch]

    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[ModelCheckpoint(tmp_path / "best-{epoch:02d}.npz", save_best_only=True), Script()])
    trainer.fit(train, val, epochs=4)
    assert sorted(os.listdir(tmp_path)) == ["best-01.npz", "best-02.npz", "best-04.npz"]
    assert load(tmp_path / "best-04.npz")["callbacks"]["ModelCheckpoint"]["best"] == 0.4


def test_resume_refuses_a_file_that_is_not_a_checkpoint_and_warns_on_other_callbacks(blobs, mlp, tmp_path):
    train, _, _, _ = blobs
    model = mlp()
    save(model.state_dict(), tmp_path / "weights.npz")
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(cr.SerializationError, match="is not a training checkpoint"):
        trainer.fit(train, epochs=2, resume_from=tmp_path / "weights.npz")

    trainer.callbacks = [ModelCheckpoint(tmp_path / "run.npz", monitor="loss"), EarlyStopping(monitor="loss")]
    trainer.fit(train, epochs=1)
    trainer.callbacks = [ModelCheckpoint(tmp_path / "run.npz", monitor="loss")]
    with pytest.warns(RuntimeWarning, match=r"saved but not used: \['EarlyStopping'\]"):
        history = trainer.fit(train, epochs=2, resume_from=tmp_path / "run.npz")
    assert history.epoch == [0, 1]
