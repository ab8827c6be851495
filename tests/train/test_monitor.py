"""GradientMonitor: vanishing and exploding gradients, dead ReLUs, saturated sigmoids, its history."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import init
from chainrule.train import GradientMonitor, Trainer


def _fit(model, train, monitor, lr=0.1, epochs=1):
    Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr), callbacks=[monitor]).fit(
        train, epochs=epochs)
    return monitor


def test_a_deep_sigmoid_net_with_tiny_init_warns_that_gradients_vanish(blobs):
    train, _, _, _ = blobs
    cr.manual_seed(0)
    layers = [nn.Linear(2, 16), nn.Sigmoid()]
    for _ in range(6):
        layers += [nn.Linear(16, 16), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(16, 2))
    for module in model.modules():
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, std=0.01)
    with pytest.warns(RuntimeWarning, match=r"gradients vanish toward the input .* Hint: try ReLU instead of "
                      r"sigmoid, or a smaller depth / better init"):
        monitor = _fit(model, train, GradientMonitor())
    norms = monitor.history["grad_norm"]
    assert list(norms) == [str(i) for i in range(0, 15, 2)]     # the Linear layers, by name
    assert norms["0"][0] < 1e-7 * norms["14"][0]
    assert set(monitor.history["saturated_sigmoid"]) == {str(i) for i in range(1, 15, 2)}


def test_dead_relus_are_reported_and_warned_about(blobs):
    train, _, _, _ = blobs
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    init.constant_(model[0].bias, -100.0)       # every unit negative for every input: all dead
    with pytest.warns(RuntimeWarning, match=r"100% of the units after ReLU 1 never fired .* LeakyReLU"):
        monitor = _fit(model, train, GradientMonitor())
    assert monitor.history["dead_relu"]["1"] == [1.0] * len(train)
    assert monitor.history["grad_norm"]["0"] == [0.0] * len(train)   # no gradient passes a dead ReLU


def test_a_healthy_net_is_recorded_every_n_batches_without_warnings(blobs, mlp):
    train, _, _, _ = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monitor = _fit(mlp(), train, GradientMonitor(every=3), epochs=3)   # 12 batches: 0, 3, 6, 9
    assert monitor.history["epoch"] == [0, 0, 1, 2] and monitor.history["batch"] == [0, 3, 2, 1]
    ratios = monitor.history["update_ratio"]["0"]
    assert len(ratios) == 4 and all(0 < r < 1 for r in ratios)
    assert all(0 <= f <= 1 for f in monitor.history["dead_relu"]["1"])
    assert all(n > 0 for n in monitor.history["grad_norm"]["2"])


def test_update_ratio_is_the_step_size_over_the_weight_size(blobs):
    train, _, _, _ = blobs
    cr.manual_seed(0)
    model = nn.Linear(2, 2)
    before = np.concatenate([p.data.ravel() for p in model.parameters()]).astype(np.float64)
    monitor = _fit(model, train[:1], GradientMonitor(), lr=0.1)
    after = np.concatenate([p.data.ravel() for p in model.parameters()]).astype(np.float64)
    expected = np.linalg.norm(after - before) / np.linalg.norm(before)
    assert monitor.history["update_ratio"]["Linear"][0] == pytest.approx(expected, rel=1e-5)
    assert monitor.history["grad_norm"]["Linear"][0] == pytest.approx(np.linalg.norm(after - before) / 0.1, rel=1e-4)


def test_exploding_gradients_warn_with_a_suggestion(blobs, batched):
    _, _, points, labels = blobs
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 1))
    data = batched(points * 1e4, labels.astype(np.float32)[:, None] * 1e4, 16)
    with pytest.warns(RuntimeWarning, match=r"gradients explode .* Hint: try a lower lr or clip_grad_norm_"):
        Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1e-12), callbacks=[GradientMonitor()]).fit(
            data[:1])
    assert not math.isnan(model[0].weight.data.sum())
