"""Trainer: the loop learns, logs what it should, calls hooks in Keras's order, evaluates in eval mode."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import Callback, History, Trainer


class Spy(Callback):
    """Records every hook call, with the model's mode and the logs' keys."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end", sorted(logs)))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, list(logs), self.model.training))

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(("batch_begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", batch, sorted(logs)))


def _trainer(model, lr=0.1, **options):
    return Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr), **options)


def test_fit_learns_the_blobs_and_history_has_a_value_per_epoch_for_every_key(blobs, mlp):
    train, val, _, _ = blobs
    trainer = _trainer(mlp(), metrics=["accuracy", "f1"])
    history = trainer.fit(train, val, epochs=15)
    assert isinstance(history, History) and history is trainer.history
    assert list(history.history) == ["loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1"]
    assert all(len(values) == 15 for values in history.history.values())
    assert history.epoch == list(range(15))
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["val_accuracy"][-1] >= 0.9


def test_hooks_run_in_keras_order_with_val_keys_at_epoch_end(blobs, mlp):
    train, val, _, _ = blobs
    spy = Spy()
    _trainer(mlp(), metrics=["accuracy"], callbacks=[spy]).fit(train[:2], val, epochs=2)
    epoch_keys = ["loss", "accuracy", "val_loss", "val_accuracy"]
    per_epoch = lambda e: [("epoch_begin", e), ("batch_begin", 0), ("batch_end", 0, ["loss", "size"]),
                           ("batch_begin", 1), ("batch_end", 1, ["loss", "size"]), ("epoch_end", e, epoch_keys, True)]
    assert spy.calls == [("train_begin",)] + per_epoch(0) + per_epoch(1) + [("train_end", sorted(epoch_keys))]


def test_stop_training_set_in_a_batch_ends_the_run_after_that_epoch(blobs, mlp):
    train, _, _, _ = blobs

    class StopAtSecondBatch(Spy):
        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            if batch == 1:
                self.trainer.stop_training = True

    spy = StopAtSecondBatch()
    history = _trainer(mlp(), callbacks=[spy]).fit(train, epochs=5)
    assert history.epoch == [0]
    assert [call[0] for call in spy.calls].count("batch_end") == 2
    assert spy.calls[-1][0] == "train_end"


def test_loss_is_the_batch_size_weighted_mean(blobs, mlp, batched):
    _, _, points, labels = blobs
    model = mlp()
    trainer = _trainer(model)
    uneven = batched(points[:40], labels[:40], 16)          # batches of 16, 16 and 8
    whole = nn.CrossEntropyLoss()(model(cr.tensor(points[:40])), cr.tensor(labels[:40])).item()
    assert trainer.evaluate(uneven)["loss"] == pytest.approx(whole, rel=1e-6)
    plain_mean = np.mean([nn.CrossEntropyLoss()(model(x), y).item() for x, y in uneven])
    assert abs(plain_mean - whole) > 1e-4  # the weighting matters on these batches


def test_evaluate_and_predict_run_in_eval_mode_without_grad_and_return_to_training(blobs, mlp):
    train, val, points, _ = blobs
    model = mlp(dropout=0.5)
    trainer = _trainer(model, metrics=["accuracy"])
    assert model.training
    first, second = trainer.evaluate(val), trainer.evaluate(val)
    assert first == second and set(first) == {"loss", "accuracy"}   # dropout off: deterministic
    assert model.training
    outputs = trainer.predict(train)
    assert outputs.shape == (64, 2) and not outputs.requires_grad
    assert np.array_equal(outputs.numpy(), trainer.predict(cr.tensor(points)).numpy())
    assert model.training
    assert all(p.grad is None for p in model.parameters())


def test_train_step_runs_the_five_steps_and_leaves_no_gradient(blobs, mlp):
    train, _, _, _ = blobs
    model = mlp()
    trainer = _trainer(model)
    before = [p.data.copy() for p in model.parameters()]
    loss, outputs = trainer.train_step(*train[0])
    assert loss.shape == () and outputs.shape == (16, 2)
    assert all(p.grad is None for p in model.parameters())   # zero_grad came last
    assert all(not np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))


def test_tuple_inputs_are_passed_as_separate_arguments():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(1, 1), nn.Linear(1, 1)

        def forward(self, x, z):
            return self.a(x) + self.b(z)

    cr.manual_seed(0)
    model = Pair()
    x, z = cr.randn(8, 1), cr.randn(8, 1)
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1))
    history = trainer.fit([((x, z), 2 * x - z)], epochs=20)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]


@pytest.mark.parametrize("data, error, text", [
    (cr.zeros(4, 2), TypeError, "sized iterable of (inputs, targets) batches"),
    ([], ValueError, "has no batches"),
    ([(cr.zeros(2, 2),)], TypeError, "batch 0 is not an (inputs, targets) pair"),
])
def test_bad_data_is_refused_with_a_message_that_says_what_to_pass(mlp, data, error, text):
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        _trainer(mlp()).fit(data)


def test_metrics_by_name_callable_or_dict_and_unknown_names_refused(blobs, mlp):
    _, val, _, _ = blobs

    def share_of_class_one(predictions, targets):
        return float(np.mean(predictions.argmax(axis=1) == 1))

    trainer = _trainer(mlp(), metrics={"acc": "accuracy", "ones": share_of_class_one})
    assert set(trainer.evaluate(val)) == {"loss", "acc", "ones"}
    assert set(_trainer(mlp(), metrics=[share_of_class_one]).evaluate(val)) == {"loss", "share_of_class_one"}
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        _trainer(mlp(), metrics=["acuracy"])
    with pytest.raises(ValueError, match="it is a matrix"):
        _trainer(mlp(), metrics=["confusion_matrix"])


class _TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.left, self.right = nn.Linear(3, 4), nn.Linear(2, 4)
        self.head = nn.Linear(4, 3)

    def forward(self, a, b):
        return self.head((self.left(a) + self.right(b)).tanh())


def test_fit_on_a_tape_matches_fit_without_it_bit_for_bit():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((22, 3)).astype(np.float32), rng.standard_normal((22, 2)).astype(np.float32)
    y = rng.integers(0, 3, 22)
    batches = [((cr.tensor(a[i:i + 8]), cr.tensor(b[i:i + 8])), cr.tensor(y[i:i + 8])) for i in range(0, 22, 8)]
    results = []
    for tape in (False, True):
        cr.manual_seed(0)
        model = _TwoInputs()
        trainer = _trainer(model, lr=0.2, metrics=["accuracy"], tape=tape)
        history = trainer.fit(batches, val_data=batches[:1], epochs=4)
        results.append((history.history, [p.data.copy() for p in model.parameters()], trainer))
    (eager_history, eager_params, _), (taped_history, taped_params, trainer) = results
    assert taped_history == eager_history
    assert all(np.array_equal(e, t) for e, t in zip(eager_params, taped_params))
    assert trainer.tape.replays == 4 * 3 - 4  # two recorded batches per batch shape (8 and 6)


def test_fit_on_a_tape_refuses_a_model_with_dropout():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    data = [(cr.tensor(np.ones((4, 3), np.float32)), cr.tensor([0, 1, 2, 0]))]
    with pytest.raises(cr.GradError, match="dropout draws a new random mask"):
        _trainer(model, tape=True).fit(data, epochs=1)
