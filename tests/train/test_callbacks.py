"""EarlyStopping, StopAtLoss, TerminateOnNaN, LRScheduler and CSVLogger inside real fits."""

import csv
import math

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.optim import lr_scheduler
from chainrule.train import (CSVLogger, Callback, EarlyStopping, LRScheduler, ModelCheckpoint, StopAtLoss,
                             TerminateOnNaN, Trainer)


class Scripted(Callback):
    """Overwrites ``logs[key]`` with a scripted value per epoch (it runs before the callback under test),
    and keeps a copy of the weights at every epoch end."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values, self.weights = key, values, []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.weights.append([p.data.copy() for p in self.model.parameters()])


def _fit(model, train, callbacks, epochs=10, lr=0.1, val=None):
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr), callbacks=callbacks)
    return trainer, trainer.fit(train, val, epochs=epochs)


def test_early_stopping_stops_after_patience_and_restores_the_best_weights(blobs, mlp):
    train, _, _, _ = blobs
    model = mlp()
    script = Scripted("val_loss", [1.0, 0.5, 0.6, 0.55, 0.7, 0.2, 0.1, 0.1, 0.1, 0.1])
    stopper = EarlyStopping(patience=3, restore_best_weights=True)
    _, history = _fit(model, train[:1], [script, stopper])
    assert history.epoch == [0, 1, 2, 3, 4]                       # epochs 2, 3, 4 did not beat 0.5
    assert stopper.stopped_epoch == 4 and stopper.best_epoch == 1 and stopper.best == 0.5
    for param, best in zip(model.parameters(), script.weights[1]):
        np.testing.assert_array_equal(param.data, best)


def test_early_stopping_min_delta_mode_max_baseline_and_start_from_epoch(blobs, mlp):
    train, _, _, _ = blobs
    # min_delta: 0.95 -> 0.94 is not an improvement of more than 0.05
    stopper = EarlyStopping(monitor="loss", min_delta=0.05, patience=1)
    _, history = _fit(mlp(), train[:1], [Scripted("loss", [1.0, 0.95, 0.94, 0.5, 0.4]), stopper], epochs=5)
    assert history.epoch == [0, 1]
    # accuracy is maximized under mode="auto"
    stopper = EarlyStopping(monitor="val_accuracy", patience=1)
    _, history = _fit(mlp(), train[:1], [Scripted("val_accuracy", [0.5, 0.6, 0.7, 0.65, 0.6, 0.9]), stopper],
                      epochs=6)
    assert stopper.mode == "max" and history.epoch == [0, 1, 2, 3]
    # baseline: epochs that improve but stay above 0.3 still count toward patience (as in Keras)
    losses = [0.9, 0.8, 0.85, 0.7, 0.6, 0.5]
    _, history = _fit(mlp(), train[:1], [Scripted("loss", losses), EarlyStopping(monitor="loss", patience=2)], epochs=6)
    assert history.epoch == [0, 1, 2, 3, 4, 5]
    stopper = EarlyStopping(monitor="loss", patience=2, baseline=0.3)
    _, history = _fit(mlp(), train[:1], [Scripted("loss", losses), stopper], epochs=6)
    assert history.epoch == [0, 1, 2]
    # start_from_epoch: the bad first epochs are not watched
    stopper = EarlyStopping(monitor="loss", patience=1, start_from_epoch=3)
    _, history = _fit(mlp(), train[:1], [Scripted("loss", [0.1, 0.9, 0.9, 0.5, 0.4, 0.4, 0.4]), stopper], epochs=7)
    assert history.epoch == [0, 1, 2, 3, 4, 5]


def test_early_stopping_counts_nan_as_worse_and_resets_in_on_train_begin(blobs, mlp):
    train, _, _, _ = blobs
    stopper = EarlyStopping(monitor="loss", patience=2)
    script = Scripted("loss", [1.0, math.nan, math.nan, 0.1])
    trainer, history = _fit(mlp(), train[:1], [script, stopper], epochs=4)
    assert history.epoch == [0, 1, 2] and stopper.best == 1.0
    script.values = [5.0, 4.0, 3.0, 2.0]           # a second fit starts from scratch: 5.0 is a new best
    history = trainer.fit(train[:1], epochs=4)
    assert history.epoch == [0, 1, 2, 3] and stopper.best == 2.0 and stopper.wait == 0


def test_a_missing_monitored_key_warns_once_listing_the_keys_and_training_goes_on(blobs, mlp):
    train, _, _, _ = blobs
    with pytest.warns(RuntimeWarning, match=r"'val_loss' is not in the epoch logs; the keys there are \['loss'\]"
                      ) as caught:
        _, history = _fit(mlp(), train[:1], [EarlyStopping()], epochs=3)
    assert len([w for w in caught if "EarlyStopping" in str(w.message)]) == 1
    assert history.epoch == [0, 1, 2]


def test_stop_at_loss_stops_at_the_first_epoch_at_or_below_the_threshold(blobs, mlp):
    train, val, _, _ = blobs
    _, history = _fit(mlp(), train, [StopAtLoss(0.2)], epochs=50, lr=0.5)
    losses = history.history["loss"]
    assert losses[-1] <= 0.2 and all(loss > 0.2 for loss in losses[:-1]) and len(losses) < 50
    _, history = _fit(mlp(), train, [StopAtLoss(0.2, monitor="val_loss")], epochs=50, lr=0.5, val=val)
    assert history.history["val_loss"][-1] <= 0.2 and len(history.epoch) < 50


def test_terminate_on_nan_stops_at_the_bad_batch_and_restores_the_last_good_weights(blobs, mlp, batched):
    _, _, points, labels = blobs
    poisoned = points.copy()
    poisoned[40] = np.nan                              # in the third batch of 16
    train = batched(poisoned, labels, 16)
    model = mlp()
    seen = []

    class Watch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)
            if batch == 1:
                self.good = [p.data.copy() for p in self.model.parameters()]

    watch = Watch()
    with pytest.warns(RuntimeWarning, match=r"the loss became nan in epoch 1, batch 3; training stopped"):
        _, history = _fit(model, train, [watch, TerminateOnNaN()], epochs=5)
    assert history.epoch == [0] and seen == [0, 1, 2]
    assert math.isnan(history.history["loss"][0])
    for param, good in zip(model.parameters(), watch.good):
        assert np.all(np.isfinite(param.data))
        np.testing.assert_array_equal(param.data, good)


def test_lr_scheduler_steps_per_epoch_per_batch_and_on_plateau(blobs, mlp):
    train, _, _, _ = blobs
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    Trainer(model, nn.CrossEntropyLoss(), opt,
            callbacks=[LRScheduler(lr_scheduler.StepLR(opt, step_size=1, gamma=0.5))]).fit(train, epochs=3)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 3)

    opt = optim.SGD(model.parameters(), lr=0.1)
    Trainer(model, nn.CrossEntropyLoss(), opt,
            callbacks=[LRScheduler(lr_scheduler.ExponentialLR(opt, gamma=0.9), per="batch")]).fit(train, epochs=2)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.9 ** (2 * len(train)))

    opt = optim.SGD(model.parameters(), lr=0.1)
    plateau = lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    Trainer(model, nn.CrossEntropyLoss(), opt,
            callbacks=[Scripted("loss", [1.0, 1.0, 1.0]), LRScheduler(plateau, monitor="loss")]).fit(train, epochs=3)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)
    with pytest.raises(ValueError, match="unknown per"):
        LRScheduler(plateau, per="step")


def test_csv_logger_writes_a_header_and_a_row_per_epoch(blobs, mlp, tmp_path):
    train, val, _, _ = blobs
    path = tmp_path / "log.csv"
    model = mlp()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), metrics=["accuracy"],
                      callbacks=[CSVLogger(path)])
    history = trainer.fit(train, val, epochs=3)
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [row[0] for row in rows[1:]] == ["0", "1", "2"]
    assert [float(row[2]) for row in rows[1:]] == history.history["loss"]


def test_csv_logger_on_resume_keeps_the_checkpointed_epochs_and_appends(blobs, mlp, tmp_path):
    train, _, _, _ = blobs
    log, checkpoint = tmp_path / "log.csv", tmp_path / "run.npz"

    def trainer():
        model = mlp()
        return Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                       callbacks=[CSVLogger(log), ModelCheckpoint(checkpoint, monitor="loss", save_best_only=True),
                                  Scripted("loss", [0.5, 0.4, 0.9, 0.9, 0.3, 0.2])])
    trainer().fit(train, epochs=4)                    # best (saved) at epoch 1; epochs 2, 3 also logged
    trainer().fit(train, epochs=6, resume_from=checkpoint)
    with open(log, newline="") as file:
        rows = list(csv.reader(file))
    assert [row[0] for row in rows] == ["epoch", "0", "1", "2", "3", "4", "5"]
