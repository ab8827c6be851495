"""Tape: a replayed step gives the eager step's gradients bit for bit, and refuses what it cannot replay."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import Tape
from chainrule.errors import GradError


def _train_both(make_model, make_optimizer, loss_of, batches, zero_grad=True):
    """Train two copies of one model on the same batches, eagerly and with a Tape; return both and the tape."""
    cr.manual_seed(0)
    eager_model = make_model()
    taped_model = make_model()
    taped_model.load_state_dict(eager_model.state_dict())
    eager_opt, taped_opt = make_optimizer(eager_model), make_optimizer(taped_model)
    tape = Tape(lambda *inputs: loss_of(taped_model, *inputs))
    eager_losses, taped_losses = [], []
    for batch in batches:
        if zero_grad:
            eager_opt.zero_grad()
            taped_opt.zero_grad()
        loss = loss_of(eager_model, *batch)
        loss.backward()
        eager_opt.step()
        eager_losses.append(loss.item())
        taped_losses.append(tape(*batch).item())
        taped_opt.step()
    return eager_model, taped_model, tape, eager_losses, taped_losses


def _assert_same_bits(eager_model, taped_model):
    for (name, a), (_, b) in zip(eager_model.named_parameters(), taped_model.named_parameters()):
        assert np.array_equal(a.data, b.data), name
        assert (a.grad is None) == (b.grad is None), name
        if a.grad is not None:
            assert np.array_equal(a.grad.data, b.grad.data), name


def _batches(rng, count, shape, classes, dtype=np.float32):
    return [(cr.tensor(rng.standard_normal(shape).astype(dtype)),
             cr.tensor(rng.integers(0, classes, shape[0]), dtype=cr.int64)) for _ in range(count)]


def test_the_xor_network_replayed_matches_the_eager_step_bit_for_bit():
    x = cr.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = cr.tensor([[0.0], [1.0], [1.0], [0.0]])

    eager, taped, tape, eager_losses, taped_losses = _train_both(
        lambda: nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid()), lambda m: cr.optim.SGD(m.parameters(), lr=2.0), lambda m, x, y: ((m(x) - y) ** 2).mean(),
        [(x, y)] * 30)
    _assert_same_bits(eager, taped)
    assert eager_losses == taped_losses
    assert tape.replays == 28  # two recorded calls, then replays


def test_an_mlp_with_cross_entropy_and_adam_matches_bit_for_bit():
    rng = np.random.default_rng(1)
    eager, taped, tape, eager_losses, taped_losses = _train_both(
        lambda: nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 5)),
        lambda m: cr.optim.Adam(m.parameters(), lr=1e-2), lambda m, x, y: F.cross_entropy(m(x), y),
        _batches(rng, 12, (8, 12), 5))
    _assert_same_bits(eager, taped)
    assert eager_losses == taped_losses and tape.replays == 10


def test_a_cnn_with_pooling_matches_bit_for_bit():
    rng = np.random.default_rng(2)
    eager, taped, tape, _, _ = _train_both(
        lambda: nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(3 * 4 * 4, 4)),
        lambda m: cr.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), lambda m, x, y: F.cross_entropy(m(x), y),
        _batches(rng, 6, (5, 1, 8, 8), 4))
    _assert_same_bits(eager, taped)
    assert tape.replays == 4


class _Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 6)
        self.lstm = nn.LSTM(6, 7, batch_first=True)
        self.head = nn.Linear(7, 3)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out[:, -1])


def test_an_embedding_and_lstm_on_integer_inputs_match_bit_for_bit():
    rng = np.random.default_rng(3)
    batches = [(cr.tensor(rng.integers(0, 20, (4, 5)), dtype=cr.int64),
                cr.tensor(rng.integers(0, 3, 4), dtype=cr.int64)) for _ in range(6)]
    eager, taped, tape, _, _ = _train_both(
        _Tagger, lambda m: cr.optim.Adam(m.parameters(), lr=1e-2), lambda m, t, y: F.cross_entropy(m(t), y), batches)
    _assert_same_bits(eager, taped)
    assert tape.replays == 4


class _Tied(nn.Module):
    """A weight used twice, a hidden value read by three ops, a broadcast bias: gradients must be summed."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(cr.randn(4, 4) * 0.5)
        self.bias = nn.Parameter(cr.randn(4) * 0.1)

    def forward(self, x):
        hidden = (x @ self.weight + self.bias).tanh()
        return (hidden @ self.weight) * hidden + hidden.sigmoid()


def test_a_value_and_a_weight_read_several_times_receive_every_contribution():
    rng = np.random.default_rng(8)
    batches = [(cr.tensor(rng.standard_normal((3, 4)).astype(np.float32)),) for _ in range(5)]
    eager, taped, tape, eager_losses, taped_losses = _train_both(
        _Tied, lambda m: cr.optim.SGD(m.parameters(), lr=0.1), lambda m, x: (m(x) ** 2).mean(), batches)
    _assert_same_bits(eager, taped)
    assert eager_losses == taped_losses and tape.replays == 3


def test_gradients_accumulate_across_calls_as_backward_does():
    rng = np.random.default_rng(4)
    eager, taped, tape, _, _ = _train_both(
        lambda: nn.Linear(3, 2), lambda m: cr.optim.SGD(m.parameters(), lr=0.0),
        lambda m, x, y: F.cross_entropy(m(x), y), _batches(rng, 5, (4, 3), 2), zero_grad=False)
    _assert_same_bits(eager, taped)
    assert tape.replays == 3


def test_a_new_batch_shape_is_recorded_anew_and_stays_exact():
    rng = np.random.default_rng(5)
    sizes = [8, 8, 8, 3, 8, 3, 3, 8]  # a smaller last batch, as an epoch's end gives
    batches = [_batches(rng, 1, (n, 4), 3)[0] for n in sizes]
    eager, taped, tape, eager_losses, taped_losses = _train_both(
        lambda: nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3)),
        lambda m: cr.optim.SGD(m.parameters(), lr=0.1), lambda m, x, y: F.cross_entropy(m(x), y), batches)
    _assert_same_bits(eager, taped)
    assert eager_losses == taped_losses
    assert tape.replays == 4  # batches 3 and 5 of size 8, batch 7 of size 3, batch 8 of size 8


def test_batch_norm_in_eval_mode_replays_and_reads_its_running_statistics():
    rng = np.random.default_rng(6)

    def make():
        model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))
        model.eval()
        return model

    eager, taped, tape, _, _ = _train_both(
        make, lambda m: cr.optim.SGD(m.parameters(), lr=0.1), lambda m, x, y: F.cross_entropy(m(x), y),
        _batches(rng, 5, (6, 4), 2))
    _assert_same_bits(eager, taped)
    assert tape.replays == 3


def test_inputs_that_require_grad_receive_their_gradient():
    w = cr.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    tape = Tape(lambda x: (x @ w).tanh().sum())
    for _ in range(3):
        x = cr.tensor([[0.3, -0.1]], requires_grad=True)
        tape(x)
        expected = cr.tensor([[0.3, -0.1]], requires_grad=True)
        (expected @ cr.tensor(w.data)).tanh().sum().backward()
        assert np.array_equal(x.grad.data, expected.grad.data)
    assert tape.replays == 1


def test_the_loss_is_returned_detached_and_equal_to_the_eager_loss():
    w = cr.tensor([2.0, -1.0], requires_grad=True)
    x = cr.tensor([1.5, 0.5])
    tape = Tape(lambda x: (w * x).sum() ** 2)
    losses = [tape(x) for _ in range(3)]
    assert [loss.item() for loss in losses] == [6.25] * 3
    assert all(loss.grad_fn is None and not loss.requires_grad for loss in losses)


def test_a_replayed_gradient_is_the_leaf_s_own_array():
    w = cr.tensor([[5.0]], requires_grad=True)
    tape = Tape(lambda x: (w * x).sum())  # sum's gradient is a broadcast view of the seed
    x = cr.tensor([[2.0]])
    for _ in range(4):
        w.grad = None
        tape(x)
        assert w.grad.data.flags.writeable and w.grad.tolist() == [[2.0]]
        w.grad.data += 100  # writing into one call's gradient must not reach the next call's


def test_a_step_may_return_other_tensors_after_the_loss():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))

    def step(x, y):
        logits = model(x)
        return F.cross_entropy(logits, y), logits, x

    tape = Tape(step)
    rng = np.random.default_rng(7)
    for x, y in _batches(rng, 4, (5, 3), 2):
        loss, logits, same_x = tape(x, y)
        with cr.no_grad():
            expected = model(x)
        assert np.array_equal(logits.data, expected.data) and logits.grad_fn is None
        assert loss.item() == F.cross_entropy(expected, y).item() and same_x.data is x.data
    assert tape.replays == 2
    with pytest.raises(GradError, match="expected Tensors only"):
        Tape(lambda x, y: (F.cross_entropy(model(x), y), 3))(x, y)


def test_a_constant_made_inside_the_step_with_the_same_value_each_call_is_replayed():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    tape = Tape(lambda x: (w * x * cr.tensor([3.0, 4.0])).sum())
    x = cr.tensor([1.0, 1.0])
    for _ in range(4):
        w.grad = None
        tape(x)
    assert tape.replays == 2 and w.grad.tolist() == [3.0, 4.0]


def test_a_value_made_inside_the_step_that_changes_is_refused():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    calls = []

    def step(x):
        calls.append(1)
        return (w * x * cr.tensor(float(len(calls)))).sum()

    tape = Tape(step)
    tape(cr.tensor([1.0, 1.0]))
    with pytest.raises(GradError, match=r"Tape: op \d+ \(mul\) read a value made inside the step"):
        tape(cr.tensor([1.0, 1.0]))


def test_a_step_that_branches_on_the_data_is_refused():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    calls = []

    def step(x):
        calls.append(1)
        out = (w * x).sum()
        return out * 2 if len(calls) > 1 else out

    tape = Tape(step)
    tape(cr.tensor([1.0, 1.0]))
    with pytest.raises(GradError, match="ran 2 ops on one call and 3 on the next"):
        tape(cr.tensor([1.0, 1.0]))


def test_dropout_and_batch_statistics_in_training_are_refused_by_name():
    x, y = cr.tensor(np.ones((4, 3), np.float32)), cr.tensor([0, 1, 0, 1], dtype=cr.int64)
    dropping = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))
    with pytest.raises(GradError, match="Tape: dropout draws a new random mask"):
        Tape(lambda x, y: F.cross_entropy(dropping(x), y))(x, y)
    normalising = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    with pytest.raises(GradError, match="BatchNorm1d counts its training batches"):
        Tape(lambda x, y: F.cross_entropy(normalising(x), y))(x, y)
    assert int(normalising[1].num_batches_tracked.item()) == 0  # refused before it counted
    dropping.eval()
    tape = Tape(lambda x, y: F.cross_entropy(dropping(x), y))
    for _ in range(3):
        tape(x, y)
    assert tape.replays == 1


def test_a_module_with_a_forward_hook_is_refused():
    layer = nn.Linear(2, 1)
    layer.register_forward_hook(lambda module, args, out: None)
    with pytest.raises(GradError, match="Tape: Linear has a forward hook, Python code, outside the ops"):
        Tape(lambda x: layer(x).sum())(cr.tensor([[1.0, 2.0]]))


def test_a_hook_inside_the_step_is_refused():
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    def step(x):
        hidden = w * x
        hidden.retain_grad()
        return hidden.sum()

    with pytest.raises(GradError, match=r"op 0 \(mul\) has a gradient hook"):
        Tape(step)(cr.tensor([1.0, 1.0]))


def test_a_hooked_parameter_or_a_subscriber_makes_the_call_eager():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    x = cr.tensor([3.0, 4.0])
    tape = Tape(lambda x: (w * x).sum())
    tape(x), tape(x), tape(x)
    assert tape.replays == 1
    seen = []
    handle = w.register_hook(lambda g: g * 10)
    w.grad = None
    tape(x)
    assert tape.replays == 1 and w.grad.tolist() == [30.0, 40.0]  # the hook ran
    handle.remove()
    with cr.autograd.subscribe(seen.append):
        tape(x)
    assert tape.replays == 1 and [e.op for e in seen][:2] == ["mul", "sum"]
    tape(x)
    assert tape.replays == 2


def test_a_parameter_frozen_after_recording_makes_the_tape_record_again():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    x = cr.tensor([1.0, -1.0])
    tape = Tape(lambda x: (a * x + b * x).sum())
    for _ in range(3):
        tape(x)
    b.requires_grad_(False)
    b.grad = None
    for _ in range(3):
        a.grad = None
        tape(x)
        assert b.grad is None and a.grad.tolist() == [1.0, -1.0]
    assert tape.replays == 2


def test_a_graph_made_before_the_step_is_refused():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    outside = w * 2
    with pytest.raises(GradError, match=r"op 0 \(mul\) reads a tensor with a graph made before the step"):
        Tape(lambda x: (outside * x).sum())(cr.tensor([1.0, 1.0]))
    loss_made_before = (w * 3).sum()
    with pytest.raises(GradError, match="returned a loss computed before it was called"):
        Tape(lambda x: loss_made_before)(cr.tensor([1.0]))



def test_bad_calls_get_clear_errors():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="Tape: expected a function"):
        Tape(3)
    tape = Tape(lambda x: (w * x).sum())
    with pytest.raises(TypeError, match="Tape: input 0 is a ndarray; expected Tensors"):
        tape(np.ones(1))
    with cr.no_grad(), pytest.raises(GradError, match="called with gradients disabled"):
        tape(cr.tensor([1.0]))
    with pytest.raises(GradError, match=r"expected a 1-element Tensor, got shape \(2,\)"):
        Tape(lambda x: w * x)(cr.tensor([1.0, 2.0]))
    with pytest.raises(GradError, match="depends on no tensor that requires grad"):
        Tape(lambda x: x.sum())(cr.tensor([1.0, 2.0]))
