"""Trainer: the training loop written once: fit, evaluate, predict, with callbacks and checkpoints.

One training step is the five steps of backpropagation::

    outputs = model(inputs)              # 1. forward: compute the prediction
    loss = loss_fn(outputs, targets)     # 2. loss: how wrong it is
    loss.backward()                      # 3. backward: the gradient of the loss for every weight
    optimizer.step()                     # 4. update: move each weight against its gradient
    optimizer.zero_grad()                # 5. forget the gradients before the next batch

``fit`` repeats it over the batches of each epoch, evaluates on the validation data, records the
epoch's numbers in a History, and calls the callbacks (see callbacks.py for the hook order).
"""

import numpy as np

from chainrule.autograd import Tape, no_grad
from chainrule.tensor import Tensor
from chainrule.train import metrics as _metrics
from chainrule.train.checkpoint import load_checkpoint, restore_callbacks, restore_run

__all__ = ["Trainer", "History"]


class History:
    """The numbers of each epoch: ``history["loss"][i]`` is epoch ``epoch[i]``'s mean training loss.

    Attributes:
        history: a dict from log key (``loss``, ``val_loss``, metric names, ``val_`` metric names)
            to one value per epoch.
        epoch: the epoch indices recorded, from 0.
    """

    def __init__(self):
        self.history = {}
        self.epoch = []

    def append(self, epoch, logs):
        """Record one epoch's logs."""
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def state_dict(self):
        return {"epoch": list(self.epoch), "history": {key: list(values) for key, values in self.history.items()}}

    def load_state_dict(self, state):
        self.epoch = list(state["epoch"])
        self.history = {key: list(values) for key, values in state["history"].items()}

    def __repr__(self):
        last = {key: round(values[-1], 4) for key, values in self.history.items()}
        return f"History(epochs={len(self.epoch)}, last={last})"


class Trainer:
    """Train a model with a loss and an optimizer, Keras-style: ``fit``, ``evaluate``, ``predict``.

    Args:
        model: a ``chainrule.nn.Module``.
        loss_fn: ``loss_fn(outputs, targets) -> scalar Tensor``, e.g. ``nn.CrossEntropyLoss()``.
        optimizer: an optimizer over the model's parameters.
        metrics: names from ``chainrule.train.metrics`` (``"accuracy"``, ``"f1"``, ...), callables
            ``metric(predictions, targets) -> float`` (named by ``__name__``), or a dict name -> either.
        callbacks: a list of Callback objects.
        tape: replay each step's forward and backward from a ``chainrule.autograd.Tape`` instead
            of building a graph per batch: the same gradients, bit for bit, with less overhead per
            op (about a quarter off the article's XOR step). The model must run the same ops on
            every batch: no dropout or batch statistics in training (the Tape says so if it does).

    Data is any sized iterable of ``(inputs, targets)`` batches: a list of tuples of Tensors, or a
    DataLoader. ``inputs`` may be a tuple, passed to the model as separate arguments.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import nn, optim
        >>> from chainrule.train import Trainer
        >>> _ = cr.manual_seed(0)
        >>> x = cr.randn(8, 2)
        >>> y = x.sum(dim=1, keepdim=True)
        >>> model = nn.Linear(2, 1)
        >>> trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.3), metrics=["mae"])
        >>> history = trainer.fit([(x, y)], epochs=40)
        >>> history.history["loss"][-1] < 0.01 * history.history["loss"][0]
        True
    """

    def __init__(self, model, loss_fn, optimizer, metrics=None, callbacks=None, tape=False):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.tape = Tape(self._loss_and_outputs) if tape else None
        self.metrics = _metrics.resolve(metrics)
        self.callbacks = list(callbacks or [])
        self.history = History()
        self.stop_training = False
        self.train_data = self.val_data = None
        self.epochs = 0
        self.epoch = 0            # epochs completed
        self.initial_epoch = 0    # the epoch this fit started from (non-zero after resume_from)

    # --- the step -------------------------------------------------------------------------
    def train_step(self, inputs, targets):
        """One step of gradient descent on one batch; returns (loss, outputs)."""
        if self.tape is not None:
            return self._taped_step(inputs, targets)
        outputs = self._forward(inputs)           # 1. forward
        loss = self.loss_fn(outputs, targets)     # 2. loss
        loss.backward()                           # 3. backward: gradients by the chain rule
        self.optimizer.step()                     # 4. update the weights
        self.optimizer.zero_grad()                # 5. clear the gradients for the next batch
        return loss, outputs

    def _forward(self, inputs):
        return self.model(*inputs) if isinstance(inputs, tuple) else self.model(inputs)

    def _taped_step(self, inputs, targets):
        """Steps 1-3 replayed from the tape, which recorded ``_loss_and_outputs`` on the first batches."""
        tensors = (*inputs, targets) if isinstance(inputs, tuple) else (inputs, targets)
        loss, outputs = self.tape(*tensors)       # 1.-3. forward, loss, backward
        self.optimizer.step()                     # 4. update the weights
        self.optimizer.zero_grad()                # 5. clear the gradients for the next batch
        return loss, outputs

    def _loss_and_outputs(self, *tensors):
        *inputs, targets = tensors
        outputs = self.model(*inputs)
        return self.loss_fn(outputs, targets), outputs

    # --- fit ------------------------------------------------------------------------------
    def fit(self, train_data, val_data=None, epochs=1, resume_from=None):
        """Train for ``epochs`` epochs (in total, counting those a resumed checkpoint already did).

        Args:
            train_data: a sized iterable of (inputs, targets) batches. If it has ``state_dict`` and
                ``load_state_dict`` (a shuffling DataLoader), checkpoints keep its position (so
                for val_data).
            val_data: batches to evaluate on after every epoch; adds ``val_`` keys to the logs.
            epochs: the epoch to stop at.
            resume_from: a checkpoint written by ModelCheckpoint; training goes on from it exactly
                as the interrupted run would have. Build model, optimizer, callbacks and data the
                same way as for that run.

        Returns:
            History: the numbers of every epoch (including those restored from a checkpoint).
        """
        _check_data("fit", "train_data", train_data)
        if val_data is not None:
            _check_data("fit", "val_data", val_data)
        self.train_data, self.val_data, self.epochs = train_data, val_data, epochs
        self.history, self.stop_training = History(), False
        self.epoch = self.initial_epoch = 0
        callbacks = _CallbackList(self.callbacks, self)
        checkpoint = load_checkpoint(resume_from) if resume_from is not None else None
        if checkpoint is not None:
            restore_run(self, checkpoint)
        self.model.train()
        callbacks.call("on_train_begin", {})
        if checkpoint is not None:
            restore_callbacks(self.callbacks, checkpoint)
        logs = {}
        for epoch in range(self.initial_epoch, epochs):
            callbacks.call("on_epoch_begin", epoch, {})
            logs = self._train_epoch(train_data, callbacks)
            if val_data is not None:
                logs.update({f"val_{key}": value for key, value in self.evaluate(val_data).items()})
            self.epoch = epoch + 1
            self.history.append(epoch, logs)
            callbacks.call("on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        callbacks.call("on_train_end", logs)
        return self.history

    def _train_epoch(self, data, callbacks):
        results = _Accumulator(self.metrics)
        for batch, (inputs, targets) in enumerate(_batches("fit", data)):
            callbacks.call("on_train_batch_begin", batch, {})
            loss, outputs = self.train_step(inputs, targets)
            size = results.add(loss, outputs, targets)
            callbacks.call("on_train_batch_end", batch, {"loss": float(loss.item()), "size": size})
            if self.stop_training:
                break
        return results.logs()

    # --- evaluate and predict -------------------------------------------------------------
    def evaluate(self, data):
        """The mean loss and the metrics over ``data``, in eval mode without gradients.

        Returns:
            dict: ``{"loss": ..., metric name: ...}``.
        """
        _check_data("evaluate", "data", data)
        results = _Accumulator(self.metrics)
        with _evaluating(self.model):
            for inputs, targets in _batches("evaluate", data):
                outputs = self._forward(inputs)
                results.add(self.loss_fn(outputs, targets), outputs, targets)
        return results.logs()

    def predict(self, data):
        """The model's outputs for every batch of ``data``, joined along dim 0, in eval mode.

        ``data`` yields (inputs, targets) batches, (inputs,) batches or bare input Tensors; a single
        Tensor is taken as one batch.
        """
        if isinstance(data, Tensor):
            data = [data]
        outputs = []
        with _evaluating(self.model):
            for batch in data:
                inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
                outputs.append(np.array(self._forward(inputs).data))
        if not outputs:
            raise ValueError("predict: no batches in data; expected at least one, got none.")
        return Tensor(np.concatenate(outputs, axis=0))


class _evaluating:
    """Eval mode and no gradients inside; the previous mode after (training, back in ``fit``)."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.was_training = self.model.training
        self.model.eval()
        self.no_grad = no_grad()
        self.no_grad.__enter__()

    def __exit__(self, *exc):
        self.no_grad.__exit__(*exc)
        self.model.train(self.was_training)


class _CallbackList:
    """Calls a hook on every callback: those marked ``runs_last`` after the others."""

    def __init__(self, callbacks, trainer):
        self.ordered = [c for c in callbacks if not c.runs_last] + [c for c in callbacks if c.runs_last]
        for callback in self.ordered:
            callback.set_trainer(trainer)

    def call(self, hook, *args):
        for callback in self.ordered:
            getattr(callback, hook)(*args)


class _Accumulator:
    """Batch-size-weighted mean loss, and the outputs and targets kept for the epoch's metrics."""

    def __init__(self, metrics):
        self.metrics, self.total, self.count = metrics, 0.0, 0
        self.outputs, self.targets = [], []

    def add(self, loss, outputs, targets):
        size = _batch_size(outputs)
        self.total += float(loss.item()) * size
        self.count += size
        if self.metrics:
            self.outputs.append(np.array(outputs.data))
            self.targets.append(np.array(targets.data if isinstance(targets, Tensor) else targets))
        return size

    def logs(self):
        logs = {"loss": self.total / self.count if self.count else float("nan")}
        if self.metrics and self.outputs:
            outputs, targets = np.concatenate(self.outputs), np.concatenate(self.targets)
            for name, metric in self.metrics.items():
                logs[name] = float(metric(outputs, targets))
        return logs


def _batch_size(outputs):
    shape = outputs.shape
    return shape[0] if len(shape) else 1


def _check_data(where, name, data):
    if isinstance(data, Tensor) or not hasattr(data, "__iter__") or not hasattr(data, "__len__"):
        raise TypeError(f"{where}: {name} must be a sized iterable of (inputs, targets) batches; expected e.g. a "
                        f"list of tuples of Tensors or a DataLoader, got {type(data).__name__}.")
    if len(data) == 0:
        raise ValueError(f"{where}: {name} has no batches; expected at least one, got len({name}) == 0.")


def _batches(where, data):
    for index, batch in enumerate(data):
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            got = f"a {type(batch).__name__} of length {len(batch)}" if isinstance(batch, (tuple, list)) \
                else type(batch).__name__
            raise TypeError(f"{where}: batch {index} is not an (inputs, targets) pair; expected a tuple of two, "
                            f"got {got}.")
        yield batch
