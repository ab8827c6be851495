"""chainrule.plot writes real PNGs of the requested size and names itself when the input is wrong."""

import struct
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import chainrule as cr
from chainrule.apps.xor import XOR_INPUTS, XOR_TARGETS, XorRun
from chainrule.errors import ChainruleError, ShapeError
from chainrule.plot import confusion_matrix, decision_boundary, gradient_norms, learning_curves
from chainrule.plot._figure import region_colors

pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SMALL = {"figsize": (3.0, 2.5), "dpi": 40}  # 120 x 100 pixels: quick to draw

HISTORY = {"loss": [0.9, 0.5, 0.4, 0.35], "val_loss": [1.0, 0.6, 0.55, 0.7],
           "accuracy": [0.5, 0.7, 0.8, 0.9], "val_accuracy": [0.5, 0.65, 0.7, 0.6], "lr": [0.1] * 4}


def png_size(path):
    """(width, height) from the IHDR chunk, after checking the file is a PNG."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE
    length, chunk, width, height = struct.unpack(">I4sII", head[8:24])
    assert chunk == b"IHDR" and length == 13
    return width, height


def read_rgb(path):
    from matplotlib.image import imread
    return imread(path)[..., :3]


def matches(pixels, rgb, tol=2 / 255):
    return np.all(np.abs(pixels - np.asarray(rgb)) <= tol, axis=-1)


# --- learning_curves ------------------------------------------------------------------------

def test_learning_curves_writes_png_of_figsize_times_dpi_creating_folders(tmp_path):
    target = tmp_path / "runs" / "one" / "curves.png"
    out = learning_curves(HISTORY, target, figsize=(6.0, 2.5), dpi=40)
    assert out == target and png_size(out) == (240, 100)


def test_learning_curves_reads_history_objects_and_a_metric_subset(tmp_path):
    history = SimpleNamespace(history=HISTORY)
    out = learning_curves(history, str(tmp_path / "c.png"), metrics="accuracy", figsize=(6.0, 2.5), dpi=40)
    assert png_size(out) == (240, 100)


def test_learning_curves_default_width_grows_with_panels(tmp_path):
    one = learning_curves({"loss": [1.0, 0.5]}, tmp_path / "1.png", dpi=20)
    three = learning_curves(HISTORY, tmp_path / "3.png", dpi=20)  # loss, accuracy, lr
    assert png_size(one)[0] * 3 == png_size(three)[0]


@pytest.mark.parametrize("history", [{}, {"loss": [], "val_loss": []}, SimpleNamespace(history={})])
def test_learning_curves_rejects_an_empty_history(tmp_path, history):
    with pytest.raises(ChainruleError, match=r"^learning_curves: history is empty"):
        learning_curves(history, tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()


def test_learning_curves_rejects_bad_entries_and_unknown_metrics(tmp_path):
    with pytest.raises(ShapeError, match=r"^learning_curves: history 'loss' .* got shape \(2, 2\)"):
        learning_curves({"loss": [[1, 2], [3, 4]]}, tmp_path / "c.png")
    with pytest.raises(ChainruleError, match=r"^learning_curves: history 'loss' must hold numbers"):
        learning_curves({"loss": ["high", "low"]}, tmp_path / "c.png")
    with pytest.raises(ChainruleError, match=r"^learning_curves: metric 'f1' is not in the history"):
        learning_curves(HISTORY, tmp_path / "c.png", metrics=["f1"])
    with pytest.raises(ChainruleError, match=r"^learning_curves: cannot read history"):
        learning_curves([0.5, 0.4], tmp_path / "c.png")


# --- confusion_matrix -----------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    np.array([[5, 1], [2, 7]]),
    cr.tensor([[5.0, 1.0], [2.0, 7.0]]),
    (np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2])),
    ([0, 1, 1, 2], np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.0, 0.3, 0.7]])),
], ids=["matrix", "tensor", "labels", "scores"])
@pytest.mark.parametrize("normalize", [False, True])
def test_confusion_matrix_writes_png(tmp_path, data, normalize):
    out = confusion_matrix(data, tmp_path / "cm" / "m.png", normalize=normalize, **SMALL)
    assert png_size(out) == (120, 100)


def test_confusion_matrix_accepts_names_for_classes_absent_from_the_labels(tmp_path):
    out = confusion_matrix(([0, 1], [1, 1]), tmp_path / "m.png", class_names=["a", "b", "c"], **SMALL)
    assert png_size(out) == (120, 100)


def test_confusion_matrix_rejects_bad_input(tmp_path):
    path = tmp_path / "m.png"
    with pytest.raises(ShapeError, match=r"^confusion_matrix: the matrix is not square.*got \(2, 3\)"):
        confusion_matrix(np.ones((2, 3)), path)
    with pytest.raises(ShapeError, match=r"^confusion_matrix: y_true and y_pred differ in length"):
        confusion_matrix(([0, 1, 1], [0, 1]), path)
    with pytest.raises(ChainruleError, match=r"^confusion_matrix: y_true holds a negative class"):
        confusion_matrix(([0, -1], [0, 1]), path)
    with pytest.raises(ChainruleError, match=r"^confusion_matrix: y_pred must hold whole class numbers"):
        confusion_matrix(([0, 1], [0.5, 1.0]), path)
    with pytest.raises(ChainruleError, match=r"^confusion_matrix: wrong number of class names; expected 2, got 3"):
        confusion_matrix(np.eye(2), path, class_names=["a", "b", "c"])
    with pytest.raises(ChainruleError, match=r"^confusion_matrix: the matrix holds a negative"):
        confusion_matrix(-np.eye(2), path)
    assert not path.exists()


# --- decision_boundary ----------------------------------------------------------------------

POINTS = np.array([[-1.0, -1.0], [-0.5, 1.0], [0.5, -1.0], [1.0, 1.0]])
SIDES = np.array([0, 0, 1, 1])


def test_decision_boundary_paints_both_predicted_classes(tmp_path):
    out = decision_boundary(lambda pts: pts[:, :1] > 0, POINTS, SIDES, tmp_path / "b.png",
                            resolution=40, figsize=(4.0, 3.0), dpi=50)
    assert png_size(out) == (200, 150)
    pixels = read_rgb(out)
    columns = [np.nonzero(matches(pixels, rgb))[1] for rgb in region_colors(2)]
    assert all(len(c) > 0.1 * 200 * 150 for c in columns)   # each class paints a large area
    assert columns[0].max() < columns[1].min()              # class 0 on the left, class 1 on the right


def test_decision_boundary_shows_the_xor_network(tmp_path):
    # The 2-2-1 sigmoid network with hand-set weights: hidden units OR and AND, output OR and not AND.
    params = {"W1": cr.tensor([[20.0, 20.0], [20.0, 20.0]]), "b1": cr.tensor([-10.0, -30.0]),
              "W2": cr.tensor([[20.0], [-20.0]]), "b2": cr.tensor([-10.0])}
    run = XorRun(params)
    np.testing.assert_array_equal(run.predict(XOR_INPUTS).round(), XOR_TARGETS)
    out = decision_boundary(run.predict, XOR_INPUTS, XOR_TARGETS, tmp_path / "xor.png", resolution=60, **SMALL)
    pixels = read_rgb(out)
    assert all(matches(pixels, rgb).mean() > 0.05 for rgb in region_colors(2))


def test_decision_boundary_runs_a_module_on_tensors_and_keeps_its_mode(tmp_path):
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(2, 4), cr.nn.Tanh(), cr.nn.Linear(4, 3))
    x = cr.tensor(np.random.default_rng(0).normal(size=(12, 2)).astype(np.float32))
    out = decision_boundary(net, x, np.arange(12) % 3, tmp_path / "net.png", resolution=20, **SMALL)
    assert png_size(out) == (120, 100) and net.training


@pytest.mark.parametrize("x, y, model, error, message", [
    (np.zeros((4, 3)), SIDES, None, ShapeError, r"x must be 2-D points; expected shape \(N, 2\).*got \(4, 3\)"),
    (POINTS, [0, 1], None, ShapeError, r"x and y differ in length"),
    (POINTS, SIDES, lambda pts: pts[:5], ShapeError, r"the model's output has the wrong shape; expected \(400,\)"),
    (POINTS, SIDES, lambda pts: pts[:, 0] * np.nan, ChainruleError, r"the model's output holds NaN"),
], ids=["x-not-2d", "y-length", "output-shape", "output-nan"])
def test_decision_boundary_rejects_bad_input(tmp_path, x, y, model, error, message):
    model = model or (lambda pts: pts[:, 0] > 0)
    with pytest.raises(error, match="^decision_boundary: " + message):
        decision_boundary(model, x, y, tmp_path / "b.png", resolution=20)


def test_decision_boundary_rejects_a_non_callable_and_a_bad_resolution(tmp_path):
    with pytest.raises(ChainruleError, match=r"^decision_boundary: model must be callable"):
        decision_boundary("net", POINTS, SIDES, tmp_path / "b.png")
    with pytest.raises(ChainruleError, match=r"^decision_boundary: resolution must be an int >= 2"):
        decision_boundary(lambda p: p[:, 0] > 0, POINTS, SIDES, tmp_path / "b.png", resolution=1)


# --- gradient_norms -------------------------------------------------------------------------

def test_gradient_norms_writes_png_from_a_dict_or_a_monitor(tmp_path):
    norms = {"0.weight": [1.0, 0.1, 0.01, 0.0], "2.weight": [2.0, 3.0, 5.0, 8.0]}
    assert png_size(gradient_norms(norms, tmp_path / "g.png", **SMALL)) == (120, 100)
    monitor = SimpleNamespace(norms=norms)
    assert png_size(gradient_norms(monitor, tmp_path / "deep" / "g.png", figsize=(5.0, 2.0), dpi=30)) == (150, 60)


def test_gradient_norms_rejects_bad_input(tmp_path):
    path = tmp_path / "g.png"
    with pytest.raises(ChainruleError, match=r"^gradient_norms: gradient norms is empty"):
        gradient_norms({"0.weight": []}, path)
    with pytest.raises(ChainruleError, match=r"^gradient_norms: layer '0.weight' has a negative gradient norm"):
        gradient_norms({"0.weight": [1.0, -1.0]}, path)
    with pytest.raises(ChainruleError, match=r"^gradient_norms: no gradient norm is positive"):
        gradient_norms({"0.weight": [0.0, 0.0]}, path)
    with pytest.raises(ShapeError, match=r"^gradient_norms: gradient norms '0.weight' must be one value per step"):
        gradient_norms({"0.weight": np.ones((2, 2))}, path)
    assert not path.exists()


# --- shared options and the optional extra --------------------------------------------------

CALLS = {
    "learning_curves": lambda path, **kw: learning_curves(HISTORY, path, **kw),
    "confusion_matrix": lambda path, **kw: confusion_matrix(np.eye(2), path, **kw),
    "decision_boundary": lambda path, **kw: decision_boundary(lambda p: p[:, 0] > 0, POINTS, SIDES, path,
                                                              resolution=10, **kw),
    "gradient_norms": lambda path, **kw: gradient_norms({"w": [1.0, 0.5]}, path, **kw),
}


@pytest.mark.parametrize("name", CALLS)
def test_bad_figsize_dpi_or_path_is_named(tmp_path, name):
    with pytest.raises(ChainruleError, match=f"^{name}: figsize must be"):
        CALLS[name](tmp_path / "x.png", figsize=(0, 3))
    with pytest.raises(ChainruleError, match=f"^{name}: dpi must be positive"):
        CALLS[name](tmp_path / "x.png", dpi=-1)
    with pytest.raises(ChainruleError, match=f"^{name}: path must name a file"):
        CALLS[name](None)


@pytest.mark.parametrize("name", CALLS)
def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch, name):
    for module in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, module, None)  # None in sys.modules makes the import fail
    with pytest.raises(ChainruleError, match=rf"^{name}: plotting needs matplotlib.*pip install chainrule\[plot\]"):
        CALLS[name](tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
