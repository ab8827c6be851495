"""Callbacks: code that runs at fixed points of ``Trainer.fit``, with Keras's hooks and order.

``fit`` calls, in this order::

    on_train_begin(logs)
    for each epoch:   on_epoch_begin(epoch, logs)
        for each batch:   on_train_batch_begin(batch, logs)  ...train_step...  on_train_batch_end(batch, logs)
        validation, then on_epoch_end(epoch, logs)     # logs: loss, metrics, val_loss, val_ metrics
        stop if trainer.stop_training is set
    on_train_end(logs)

Epochs and batches are counted from 0, as in Keras. A callback reaches the run through
``self.trainer`` (and ``self.model``), and stops it by setting ``self.trainer.stop_training``.
A callback with state that a resumed run needs returns it from ``get_state()`` (nested dicts and
lists of arrays and plain values) and takes it back in ``set_state()``; checkpoints store it.

This file holds the base class and the callbacks that stop or steer training; ModelCheckpoint,
ProgressBar and GradientMonitor live in checkpoint.py, progress.py and monitor.py.
"""

import csv
import math
import os
import warnings

import numpy as np

from chainrule.optim.lr_scheduler import LRScheduler as _Schedule, ReduceLROnPlateau
from chainrule.train._monitor import improved, monitored_value, resolve_mode, worst

__all__ = ["Callback", "EarlyStopping", "StopAtLoss", "TerminateOnNaN", "LRScheduler", "CSVLogger"]


class Callback:
    """Base class: override the hooks you need; each does nothing by default.

    Attributes:
        trainer: the Trainer running ``fit`` (set before ``on_train_begin``).
        runs_last: run this callback's hooks after every other callback's (ModelCheckpoint does,
            so that a checkpoint holds the other callbacks' state for the epoch it saves).
    """

    runs_last = False

    def __init__(self):
        self.trainer = None

    def set_trainer(self, trainer):
        self.trainer = trainer

    @property
    def model(self):
        return self.trainer.model

    def on_train_begin(self, logs=None):
        """Before the first epoch."""

    def on_train_end(self, logs=None):
        """After the last epoch; ``logs`` are the last epoch's."""

    def on_epoch_begin(self, epoch, logs=None):
        """Before the first batch of ``epoch``."""

    def on_epoch_end(self, epoch, logs=None):
        """After validation; ``logs`` hold the epoch's ``loss``, metrics and their ``val_`` twins."""

    def on_train_batch_begin(self, batch, logs=None):
        """Before the training step on ``batch``."""

    def on_train_batch_end(self, batch, logs=None):
        """After the step; ``logs`` hold this batch's ``loss`` and ``size``."""

    def get_state(self):
        """What a resumed run needs of this callback, or None when there is nothing."""
        return None

    def set_state(self, state):
        """Take back what ``get_state`` returned."""


def copy_weights(model):
    """A copy of every parameter and buffer of ``model``, by name."""
    return {name: tensor.data.copy() for name, tensor in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop training when a monitored metric has stopped improving.

    Args:
        monitor: the epoch-log key to watch.
        min_delta: the least change that counts as an improvement.
        patience: the number of epochs without improvement to wait before stopping.
        mode: ``"min"``, ``"max"``, or ``"auto"`` (max for accuracy, precision, recall, f1; else min).
        baseline: stop unless the metric beats this value within ``patience`` epochs.
        restore_best_weights: at the end of training, load the weights of the best epoch.
        start_from_epoch: epochs to let pass before watching (a warm-up).

    A NaN value counts as worse than any other. The state is reset in ``on_train_begin``; if the
    monitored key is missing, a warning lists the keys there are and training goes on.

    Example:
        >>> from chainrule.train import EarlyStopping
        >>> stopper = EarlyStopping(monitor="val_accuracy", patience=3, restore_best_weights=True)
        >>> stopper.mode  # "auto": accuracy is maximized
        'max'
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if patience < 0 or start_from_epoch < 0:
            raise ValueError(f"EarlyStopping: patience and start_from_epoch must not be negative; expected >= 0, "
                             f"got patience={patience}, start_from_epoch={start_from_epoch}.")
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.mode = resolve_mode("EarlyStopping", monitor, mode)
        self.baseline, self.restore_best_weights, self.start_from_epoch = baseline, restore_best_weights, start_from_epoch
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = worst(self.mode)
        self.best_epoch = 0
        self.best_weights = None
        self._warned = False

    def on_epoch_end(self, epoch, logs=None):
        current = monitored_value("EarlyStopping", self.monitor, logs, warn=not self._warned)
        if current is None:
            self._warned = True
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # so that even a run that never improves ends with the weights of a watched epoch
            self.best_weights, self.best_epoch = copy_weights(self.model), epoch
        self.wait += 1
        if improved(current, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = copy_weights(self.model)
            if self.baseline is None or improved(current, self.baseline, self.mode, self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def get_state(self):
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch, "best": self.best,
                "best_epoch": self.best_epoch, "best_weights": self.best_weights}

    def set_state(self, state):
        self.wait, self.stopped_epoch = state["wait"], state["stopped_epoch"]
        self.best, self.best_epoch, self.best_weights = state["best"], state["best_epoch"], state["best_weights"]


class StopAtLoss(Callback):
    """Stop once an epoch's ``monitor`` value is at or below ``threshold``: "repeat until the error
    reaches a convergence criterion".

    Args:
        threshold: the value to reach.
        monitor: the epoch-log key to compare (``"loss"``, or e.g. ``"val_loss"``).
    """

    def __init__(self, threshold, monitor="loss"):
        super().__init__()
        self.threshold, self.monitor = threshold, monitor
        self._warned = False

    def on_train_begin(self, logs=None):
        self._warned = False

    def on_epoch_end(self, epoch, logs=None):
        current = monitored_value("StopAtLoss", self.monitor, logs, warn=not self._warned)
        if current is None:
            self._warned = True
        elif current <= self.threshold:
            self.trainer.stop_training = True


class TerminateOnNaN(Callback):
    """Stop at the first batch whose loss (or whose updated weights) is not finite, and put back the
    weights from before that step.

    A copy of the weights is kept after every good step; a warning names the epoch and batch
    (counted from 1) where training broke. The optimizer's state is left as it is.
    """

    def on_train_begin(self, logs=None):
        self._good_weights = copy_weights(self.model)
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", 0.0))
        weights = copy_weights(self.model)
        finite_weights = all(map(_all_finite, weights.values()))
        if math.isfinite(loss) and finite_weights:
            self._good_weights = weights
            return
        what = f"the loss became {loss}" if not math.isfinite(loss) else "the weights became non-finite"
        warnings.warn(f"TerminateOnNaN: {what} in epoch {self._epoch + 1}, batch {batch + 1}; training stopped and "
                      f"the weights from before that step were restored. Hint: lower the learning rate, clip the "
                      f"gradients (clip_grad_norm_), or check the data for NaN.", RuntimeWarning, stacklevel=2)
        self.model.load_state_dict(self._good_weights)
        self.trainer.stop_training = True


def _all_finite(array):
    return array.dtype.kind != "f" or bool(np.isfinite(array).all())


class LRScheduler(Callback):
    """Step a learning-rate scheduler from ``chainrule.optim.lr_scheduler`` during ``fit``.

    Args:
        scheduler: the scheduler, built on the trainer's optimizer.
        per: ``"epoch"`` (step after each epoch) or ``"batch"`` (after each training step, e.g. OneCycleLR).
        monitor: for ReduceLROnPlateau, the epoch-log key passed to ``step`` (stepped per epoch).

    Its state (the scheduler's ``state_dict``) goes into checkpoints.
    """

    def __init__(self, scheduler, per="epoch", monitor="val_loss"):
        super().__init__()
        if not isinstance(scheduler, (_Schedule, ReduceLROnPlateau)):
            raise TypeError(f"LRScheduler: expected a scheduler from chainrule.optim.lr_scheduler, "
                            f"got {type(scheduler).__name__}.")
        if per not in ("epoch", "batch"):
            raise ValueError(f"LRScheduler: unknown per; expected 'epoch' or 'batch', got {per!r}.")
        self.scheduler, self.per, self.monitor = scheduler, per, monitor
        self._on_plateau = isinstance(scheduler, ReduceLROnPlateau)
        self._warned = False

    def on_train_batch_end(self, batch, logs=None):
        if self.per == "batch" and not self._on_plateau:
            self.scheduler.step()

    def on_epoch_end(self, epoch, logs=None):
        if self._on_plateau:
            value = monitored_value("LRScheduler", self.monitor, logs, warn=not self._warned)
            if value is None:
                self._warned = True
            else:
                self.scheduler.step(value)
        elif self.per == "epoch":
            self.scheduler.step()

    def get_state(self):
        return self.scheduler.state_dict()

    def set_state(self, state):
        self.scheduler.load_state_dict(state)


class CSVLogger(Callback):
    """Write each epoch's logs as one CSV row: ``epoch`` (from 0), then the keys in sorted order.

    The file is rewritten by a new run. A resumed run keeps the rows of the epochs the checkpoint
    holds and appends after them.

    Args:
        path: the file to write.
        separator: the field separator.
    """

    def __init__(self, path, separator=","):
        super().__init__()
        self.path, self.separator = os.fspath(path), separator
        self._file = self._writer = self._keys = None

    def on_train_begin(self, logs=None):
        kept = self._rows_before(self.trainer.initial_epoch) if self.trainer.initial_epoch > 0 else []
        self._file = open(self.path, "w", newline="")
        self._writer = csv.writer(self._file, delimiter=self.separator)
        self._keys = kept[0][1:] if kept else None
        self._writer.writerows(kept)
        self._file.flush()

    def _rows_before(self, epoch):
        """The header and the rows of epochs before ``epoch`` already in the file."""
        if not os.path.exists(self.path):
            return []
        with open(self.path, newline="") as file:
            rows = list(csv.reader(file, delimiter=self.separator))
        if not rows:
            return []
        return [rows[0]] + [row for row in rows[1:] if row and int(row[0]) < epoch]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer.writerow(["epoch"] + self._keys)
        self._writer.writerow([epoch] + [logs.get(key, "") for key in self._keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None
