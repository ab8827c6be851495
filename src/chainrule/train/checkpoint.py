"""Checkpoints: everything a run needs to go on exactly as if it had never stopped.

A checkpoint is one file written by ``chainrule.save`` (atomic: a temporary file in the same
folder, moved into place with ``os.replace``), holding::

    {"format": "chainrule.train.checkpoint", "version": 1,
     "epoch": 2,                              # epochs completed
     "model": model.state_dict(), "optimizer": optimizer.state_dict(),
     "rng": chainrule.get_rng_state(),        # dropout masks and anything else drawn from it
     "data": train_data.state_dict() or None, # a shuffling loader's position, if it has one
     "val_data": val_data.state_dict() or None,
     "history": {"epoch": [...], "history": {...}},
     "callbacks": {"EarlyStopping": {...}, "LRScheduler": {...}, ...}}   # each callback's get_state()

``Trainer.fit(..., resume_from=path)`` builds on fresh objects made the same way as the first run
(model, optimizer, callbacks, data) and loads this state into them.
"""

import os
import warnings

from chainrule import _random
from chainrule.errors import SerializationError
from chainrule.serialization import load, save
from chainrule.train._monitor import improved, monitored_value, resolve_mode, worst
from chainrule.train.callbacks import Callback

__all__ = ["ModelCheckpoint", "save_checkpoint", "load_checkpoint"]

_FORMAT = "chainrule.train.checkpoint"
_VERSION = 1


def _callback_keys(callbacks):
    """A stable name per callback: its class name, with ``#1``, ``#2`` for later ones of the same class."""
    counts, keys = {}, []
    for callback in callbacks:
        name = type(callback).__name__
        keys.append(name if name not in counts else f"{name}#{counts[name]}")
        counts[name] = counts.get(name, 0) + 1
    return keys


def save_checkpoint(trainer, path):
    """Write the state of ``trainer``'s run (see the module docstring) to ``path``, atomically."""
    callbacks = {}
    for key, callback in zip(_callback_keys(trainer.callbacks), trainer.callbacks):
        state = callback.get_state()
        if state is not None:
            callbacks[key] = state
    save({"format": _FORMAT, "version": _VERSION, "epoch": trainer.epoch,
          "model": trainer.model.state_dict(), "optimizer": trainer.optimizer.state_dict(),
          "rng": _random.get_rng_state(), "data": _data_state(trainer.train_data),
          "val_data": _data_state(trainer.val_data),
          "history": trainer.history.state_dict(), "callbacks": callbacks}, path)


def _data_state(data):
    state_dict = getattr(data, "state_dict", None)
    return state_dict() if callable(state_dict) else None


def _load_data_state(data, state):
    load_state_dict = getattr(data, "load_state_dict", None)
    if state is not None and callable(load_state_dict):
        load_state_dict(state)


def load_checkpoint(path):
    """Read a checkpoint written by ``save_checkpoint``.

    Raises:
        SerializationError: the file is not a training checkpoint (the message names it).
    """
    checkpoint = load(path)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != _FORMAT:
        raise SerializationError(f"load_checkpoint: {os.fspath(path)!r} is not a training checkpoint; expected a file "
                                 f"written by ModelCheckpoint, got another chainrule file. Hint: load a bare state "
                                 f"dict with model.load_state_dict(chainrule.load(path)).")
    if checkpoint.get("version") != _VERSION:
        raise SerializationError(f"load_checkpoint: {os.fspath(path)!r} has checkpoint version "
                                 f"{checkpoint.get('version')!r}; expected {_VERSION}.")
    return checkpoint


def restore_run(trainer, checkpoint):
    """Load model, optimizer, RNG, data position and history from ``checkpoint`` into ``trainer``."""
    trainer.model.load_state_dict(checkpoint["model"])
    trainer.optimizer.load_state_dict(checkpoint["optimizer"])
    _random.set_rng_state(checkpoint["rng"])
    _load_data_state(trainer.train_data, checkpoint["data"])
    _load_data_state(trainer.val_data, checkpoint["val_data"])
    trainer.history.load_state_dict(checkpoint["history"])
    trainer.epoch = trainer.initial_epoch = checkpoint["epoch"]


def restore_callbacks(callbacks, checkpoint):
    """Give each callback its saved state (after ``on_train_begin``, which resets it)."""
    saved = dict(checkpoint["callbacks"])
    fresh = []
    for key, callback in zip(_callback_keys(callbacks), callbacks):
        if key in saved:
            callback.set_state(saved.pop(key))
        elif callback.get_state() is not None:
            fresh.append(key)
    if fresh or saved:
        warnings.warn(f"resume: the callbacks differ from the checkpoint's; starting fresh: {fresh}, saved but "
                      f"not used: {sorted(saved)}. Hint: pass the same callbacks, in the same order, as the "
                      f"interrupted run.", RuntimeWarning, stacklevel=3)


class ModelCheckpoint(Callback):
    """Save a checkpoint at the end of every epoch (or only when ``monitor`` improves).

    It holds model, optimizer, RNG, data-loader position, epoch, history and every callback's state,
    so ``fit(..., resume_from=path)`` goes on bit-identically. It runs after the other callbacks
    each epoch, so their state for that epoch is included.

    Args:
        path: the file; may use ``{epoch}`` (counted from 1) and log keys, e.g. ``"ckpt-{epoch:02d}.npz"``.
        monitor: the epoch-log key that decides "best".
        save_best_only: write only when ``monitor`` improves on the best so far.
        mode: ``"min"``, ``"max"`` or ``"auto"``, as EarlyStopping's.

    Example:
        >>> import os, tempfile
        >>> import chainrule as cr
        >>> from chainrule import nn, optim
        >>> from chainrule.train import ModelCheckpoint, Trainer
        >>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
        >>> def make_trainer():
        ...     _ = cr.manual_seed(0)
        ...     model = nn.Linear(2, 1)
        ...     return Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
        ...                    callbacks=[ModelCheckpoint(path, monitor="loss")])
        >>> data = [(cr.ones(4, 2), cr.ones(4, 1))]
        >>> _ = make_trainer().fit(data, epochs=2)                     # stopped after 2 epochs
        >>> make_trainer().fit(data, epochs=5, resume_from=path).epoch  # a new process goes on
        [0, 1, 2, 3, 4]
    """

    runs_last = True

    def __init__(self, path, monitor="val_loss", save_best_only=False, mode="auto"):
        super().__init__()
        self.path, self.monitor, self.save_best_only = os.fspath(path), monitor, save_best_only
        self.mode = resolve_mode("ModelCheckpoint", monitor, mode)
        self.best = worst(self.mode)
        self.last_path = None
        self._warned = False

    def on_train_begin(self, logs=None):
        self.best = worst(self.mode)
        self._warned = False

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        current = monitored_value("ModelCheckpoint", self.monitor, logs,
                                  warn=self.save_best_only and not self._warned)
        is_best = improved(current, self.best, self.mode)
        if is_best:
            self.best = current
        if current is None:
            self._warned = True
        if is_best or not self.save_best_only:
            self.last_path = self.path.format(epoch=epoch + 1, **logs)
            save_checkpoint(self.trainer, self.last_path)

    def get_state(self):
        return {"best": self.best}

    def set_state(self, state):
        self.best = state["best"]
