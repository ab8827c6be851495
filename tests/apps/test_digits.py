"""The digits application: both networks, the common metrics layout, evaluate/predict/explain on an MLP run."""

import json

import numpy as np
import pytest

from chainrule.apps import digits
from chainrule.cli import main
from chainrule.data.datasets import load_digits
from chainrule.errors import ChainruleError

pytest.importorskip("sklearn")
pytest.importorskip("scipy")


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    """The MLP trained for 3 epochs (a couple of seconds)."""
    out = tmp_path_factory.mktemp("runs") / "digits-mlp"
    return out, digits.train(out=out, model="mlp", epochs=3, seed=1)


def test_metrics_follow_the_common_layout_and_keep_test_accuracy(mlp_run):
    out, result = mlp_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["app"] == "digits" and metrics["model"] == "mlp" and metrics["seed"] == 1
    assert metrics["epochs"] == 3 and metrics["train_samples"] == 1347 and metrics["test_samples"] == 450
    (row,) = metrics["measures"]
    assert row["value"] == metrics["test_accuracy"] == result.metrics["test_accuracy"] > 0.5
    assert row["target"] == 0.98 and row["baseline"]["name"] == "logistic regression on pixels"
    assert 0.9 < row["baseline"]["value"] < 1 and row["met"] == (row["value"] >= 0.98 and row["value"] >= row["baseline"]["value"])
    assert metrics["command"] == "chainrule train digits --seed 1 --model mlp --epochs 3 --lr 0.003 --batch-size 64"
    assert np.array(metrics["confusion_matrix"]).sum() == 450
    assert "MLP: test accuracy" in result.lines[0] and "logistic regression on pixels" in result.lines[0]


def test_evaluate_predict_and_explain_recognise_the_saved_mlp(mlp_run, tmp_path, capsys):
    out, result = mlp_run
    assert main(["evaluate", "--checkpoint", str(out / "checkpoint.npz"), "--seed", "1"]) == 0
    evaluated = float(capsys.readouterr().out.split("test accuracy ")[1].split()[0])
    assert evaluated == pytest.approx(result.metrics["test_accuracy"], abs=1e-4)
    images, _ = load_digits()
    np.save(tmp_path / "four.npy", images[:4])
    assert main(["predict", "digits", str(tmp_path / "four.npy"), "--run", str(out)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4
    rows = digits.explain_digits(checkpoint=out / "checkpoint.npz", out=tmp_path / "saliency", count=1, steps=16,
                                 seed=1)
    assert rows[0]["completeness_error"] < 0.05


def test_the_cnn_trains_from_the_command_line(tmp_path, capsys):
    assert main(["train", "digits", "--model", "cnn", "--epochs", "1", "--out", str(tmp_path / "cnn")]) == 0
    out = capsys.readouterr().out
    assert "epoch 1/1 - loss" in out and "CNN: test accuracy" in out
    assert json.loads((tmp_path / "cnn" / "metrics.json").read_text())["measures"][0]["target"] == 0.99


def test_bad_options_are_errors(tmp_path):
    with pytest.raises(ChainruleError, match="unknown model; expected one of cnn, mlp, got 'svm'"):
        digits.train_digits(out=tmp_path / "run", model="svm")
    with pytest.raises(ChainruleError, match="expected no --data"):
        digits.train(out=tmp_path / "run", data="somewhere")
