"""Saliency and integrated gradients: exact on linear models, complete on nonlinear ones, harmless to the model."""

import struct
import sys
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ChainruleError, ShapeError
from chainrule.explain.saliency import (IntegratedGradients, integrated_gradients, saliency, saliency_overlay,
                                        token_table)
from chainrule.nn import functional as F

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) from the IHDR chunk, after checking the file is a PNG."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE
    length, chunk, width, height = struct.unpack(">I4sII", head[8:24])
    assert chunk == b"IHDR" and length == 13
    return width, height


def linear(dtype=np.float64):
    cr.manual_seed(0)
    model = nn.Linear(5, 3)
    return model.double() if dtype == np.float64 else model


def tanh_mlp():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)).double()


def inputs(n=4, seed=1):
    return np.random.default_rng(seed).normal(size=(n, 5)) * 2


@pytest.fixture(scope="module")
def digits_cnn():
    """build_cnn trained for 2 epochs on 400 digits (about a second), and some held-out digits."""
    pytest.importorskip("sklearn")
    from chainrule.apps.digits import build_cnn
    from chainrule.data.datasets import load_digits

    images, labels = load_digits()
    images = images[:, None]
    cr.manual_seed(0)
    model = build_cnn()
    optimizer = cr.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(2):
        for i in range(0, 400, 32):
            loss = F.cross_entropy(model(cr.tensor(images[i:i + 32])), cr.tensor(labels[i:i + 32]))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    return model, images[400:408], labels[400:408]


# --- saliency -------------------------------------------------------------------------------

def test_saliency_of_a_linear_model_is_the_weight_row_of_the_target():
    model = linear(np.float32)
    weight = model.weight.numpy()
    x = inputs().astype(np.float32)
    one = saliency(model, x[0], 2, batched=False)
    assert one.shape == (5,) and one.dtype == np.float32
    np.testing.assert_array_equal(one, weight[2])
    batch = saliency(model, cr.tensor(x), [0, 1, 2, 1])
    assert batch.shape == x.shape
    np.testing.assert_array_equal(batch, weight[[0, 1, 2, 1]])
    np.testing.assert_array_equal(saliency(model, x, 1, reduce="abs"), np.abs(np.tile(weight[1], (4, 1))))


def test_saliency_max_abs_takes_the_largest_magnitude_over_channels(digits_cnn):
    model, images, labels = digits_cnn
    two_channels = np.concatenate([images[:2], 1 - images[:2]], axis=1)  # (2, 2, 8, 8)
    cr.manual_seed(1)
    conv_model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 64, 4))
    signed = saliency(conv_model, two_channels, 3)
    reduced = saliency(conv_model, two_channels, 3, reduce="max_abs")
    assert reduced.shape == (2, 8, 8)
    np.testing.assert_array_equal(reduced, np.abs(signed).max(axis=1))
    single = saliency(model, images[0], int(labels[0]), batched=False, reduce="max_abs")
    assert single.shape == (8, 8) and np.all(single >= 0) and single.max() > 0
    with pytest.raises(ShapeError, match="saliency: reduce='max_abs'.*got \\(5,\\)"):
        saliency(linear(), inputs()[0], 0, batched=False, reduce="max_abs")


def test_saliency_per_sample_rows_match_single_sample_calls():
    model, x = tanh_mlp(), inputs()
    batch = saliency(model, x, [2, 0, 1, 2])
    for i, t in enumerate([2, 0, 1, 2]):
        np.testing.assert_allclose(batch[i], saliency(model, x[i], t, batched=False), rtol=1e-12, atol=1e-15)


# --- integrated gradients -------------------------------------------------------------------

@pytest.mark.parametrize("method", ["trapezoid", "midpoint"])
def test_integrated_gradients_of_a_linear_model_is_input_change_times_weight(method):
    model = linear()
    weight = model.weight.numpy()
    x, baseline = inputs(), np.linspace(-1.0, 1.0, 5)
    targets = [0, 2, 1, 2]
    result = integrated_gradients(model, x, targets, baseline=baseline, steps=7, method=method)
    assert isinstance(result, IntegratedGradients)
    expected = (x - baseline) * weight[targets]
    np.testing.assert_allclose(result.attributions, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(result.score_difference, expected.sum(axis=1), rtol=1e-12)
    assert result.completeness_error.shape == (4,) and np.all(result.completeness_error < 1e-12)
    one = integrated_gradients(model, x[1], 2, steps=3, batched=False, method=method)  # zero baseline
    assert one.attributions.shape == (5,)
    np.testing.assert_allclose(one.attributions, x[1] * weight[2], rtol=1e-12, atol=1e-14)
    assert isinstance(one.score_difference, float) and one.completeness_error < 1e-12


def test_integrated_gradients_on_a_tanh_mlp_is_complete_with_enough_steps():
    model, x = tanh_mlp(), inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = integrated_gradients(model, x, [0, 1, 2, 0], steps=64)
    assert np.all(result.completeness_error < 0.01)
    np.testing.assert_allclose(result.attributions.sum(axis=1), result.score_difference, rtol=0.01)
    with cr.no_grad():
        logits = model(cr.tensor(x)).numpy()
    np.testing.assert_allclose(result.score_difference, logits[np.arange(4), [0, 1, 2, 0]]
                               - model(cr.zeros(1, 5, dtype=cr.float64)).numpy()[0, [0, 1, 2, 0]], rtol=1e-12)


def test_integrated_gradients_with_too_few_steps_warns_or_raises():
    model, x = tanh_mlp(), inputs()
    with pytest.warns(RuntimeWarning, match=r"integrated_gradients: the attributions do not add up.*"
                                            r"within 1\.00%.*Hint: use more steps than steps=2"):
        result = integrated_gradients(model, x, [0, 1, 2, 0], steps=2)
    assert result.completeness_error.max() > 0.01
    with pytest.raises(ChainruleError, match="more steps than steps=2, e.g. steps=8"):
        integrated_gradients(model, x, [0, 1, 2, 0], steps=2, on_incomplete="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        integrated_gradients(model, x, [0, 1, 2, 0], steps=2, on_incomplete="ignore")


def test_integrated_gradients_does_not_depend_on_how_the_path_is_batched():
    model, x = tanh_mlp(), inputs()
    whole = integrated_gradients(model, x, 1, steps=16, batch_size=10_000)
    pieces = integrated_gradients(model, x, 1, steps=16, batch_size=3)  # 1 path point per forward, ragged
    np.testing.assert_allclose(pieces.attributions, whole.attributions, rtol=1e-12, atol=1e-15)
    one = integrated_gradients(model, x[2], 1, steps=16, batched=False)
    np.testing.assert_allclose(one.attributions, whole.attributions[2], rtol=1e-12, atol=1e-15)


def test_integrated_gradients_on_a_trained_digits_cnn_is_complete_and_draws(digits_cnn, tmp_path):
    pytest.importorskip("matplotlib")
    model, images, labels = digits_cnn
    result = integrated_gradients(model, images[0], int(labels[0]), steps=64, batched=False)
    assert result.attributions.shape == (1, 8, 8) and result.attributions.dtype == np.float32
    assert result.score_difference > 0 and result.completeness_error < 0.01
    batch = integrated_gradients(model, images[:4], labels[:4], steps=64)
    assert batch.attributions.shape == (4, 1, 8, 8) and np.all(batch.completeness_error < 0.01)
    path = saliency_overlay(images[0], result.attributions, tmp_path / "figs" / "ig.png", title="digit",
                            figsize=(2.0, 1.5), dpi=40)
    assert path == tmp_path / "figs" / "ig.png"
    assert png_size(path) == (80, 60)


# --- the model is left as it was --------------------------------------------------------------

def test_parameters_grad_stay_none_and_training_flags_are_restored(digits_cnn):
    model, images, labels = digits_cnn
    model.train()
    model[6].eval()  # the dropout: a mixed setting must come back exactly
    before = [m.training for m in model.modules()]
    first = saliency(model, images[:2], labels[:2])
    second = saliency(model, images[:2], labels[:2])
    np.testing.assert_array_equal(first, second)  # eval mode: dropout off, so no randomness
    integrated_gradients(model, images[:2], labels[:2], steps=8, on_incomplete="ignore")
    assert [m.training for m in model.modules()] == before
    assert all(p.grad is None for p in model.parameters())
    model.eval()
    saliency(model, images[:1], 0)
    assert not any(m.training for m in model.modules())


def test_flags_are_restored_when_the_call_fails():
    model = tanh_mlp()
    with pytest.raises(ChainruleError, match="target out of range; expected classes 0..2, got 3"):
        saliency(model, inputs(), 3)
    assert all(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_works_inside_no_grad_and_leaves_existing_grads_alone():
    model, x = tanh_mlp(), inputs()
    loss = model(cr.tensor(x)).sum()
    loss.backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    with cr.no_grad():
        g = saliency(model, x, 0)
        integrated_gradients(model, x, 0, steps=8, on_incomplete="ignore")
    assert g.shape == x.shape and np.any(g != 0)
    for p, before in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad.numpy(), before)


# --- errors ---------------------------------------------------------------------------------

def test_errors_name_the_function_and_say_what_to_fix():
    model, x = linear(), inputs()
    with pytest.raises(ShapeError, match=r"saliency: the model must return one row .* got \(3,\)\. "
                                         r"Hint: pass batched=False"):
        saliency(model, x[0], 0)
    with pytest.raises(ShapeError, match=r"saliency: wrong number of targets; expected an int or 4"):
        saliency(model, x, [0, 1])
    with pytest.raises(ChainruleError, match="saliency: target must be a class index"):
        saliency(model, x, "cat")
    with pytest.raises(ChainruleError, match="saliency: unknown reduce"):
        saliency(model, x, 0, reduce="mean")
    with pytest.raises(ShapeError, match=r"integrated_gradients: baseline does not fit the input; "
                                         r"expected a shape that broadcasts to \(5,\), got \(4,\)"):
        integrated_gradients(model, x[0], 0, baseline=np.zeros(4), batched=False)
    with pytest.raises(ChainruleError, match=r"integrated_gradients: steps .* expected an int >= 2"):
        integrated_gradients(model, x, 0, steps=1)
    with pytest.raises(ChainruleError, match="integrated_gradients: unknown method"):
        integrated_gradients(model, x, 0, method="simpson")
    with pytest.raises(ChainruleError, match="integrated_gradients: unknown on_incomplete"):
        integrated_gradients(model, x, 0, on_incomplete="shout")
    assert integrated_gradients(model, x, 0, steps=1, method="midpoint").completeness_error.max() < 1e-12


# --- renderings -----------------------------------------------------------------------------

def test_token_table_lists_tokens_values_and_signed_bars():
    table = token_table(["the", "film", "was", "not", "great"], [0.01, 0.2, 0.0, -0.4, 0.8], width=8)
    assert table.splitlines() == [
        "token  attribution  bar",
        "-----  -----------  --------",
        "the        +0.0100",
        "film       +0.2000  ##",
        "was        +0.0000",
        "not        -0.4000  ----",
        "great      +0.8000  ########",
    ]
    per_feature = token_table(["a", "longer_token"], np.array([[0.25, 0.25], [-0.5, 0.0]]), width=2)
    assert per_feature.splitlines()[2:] == ["a                 +0.5000  ##", "longer_token      -0.5000  --"]
    assert token_table(["x"], [0.0]).splitlines()[2] == "x          +0.0000"
    with pytest.raises(ShapeError, match=r"token_table: one attribution per token; expected shape \(2,\)"):
        token_table(["a", "b"], [1.0, 2.0, 3.0])


def test_saliency_overlay_checks_its_inputs(tmp_path, monkeypatch):
    with pytest.raises(ShapeError, match=r"saliency_overlay: image and attributions differ in size"):
        saliency_overlay(np.zeros((8, 8)), np.zeros((1, 6, 6)), tmp_path / "x.png")
    with pytest.raises(ShapeError, match=r"saliency_overlay: attributions is not an image"):
        saliency_overlay(np.zeros((8, 8)), np.zeros(64), tmp_path / "x.png")
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ChainruleError, match=r"saliency_overlay: plotting needs matplotlib.*"
                                             r"pip install chainrule\[plot\]"):
        saliency_overlay(np.zeros((8, 8)), np.ones((8, 8)), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
