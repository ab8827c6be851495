"""The command line: the digits demo, training the XOR network, evaluate, predict, info, errors."""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from chainrule.cli import main


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One full default demo run (about 30 s), shared by the tests that read its output."""
    out = tmp_path_factory.mktemp("runs") / "demo"
    result = subprocess.run([sys.executable, "-m", "chainrule", "demo", "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    return out, result


def test_demo_reaches_98_percent_and_writes_its_run_folder(demo_run):
    out, result = demo_run
    assert result.returncode == 0, result.stderr
    accuracy = json.loads((out / "metrics.json").read_text())["test_accuracy"]
    assert accuracy >= 0.98
    assert f"test accuracy {accuracy:.4f}" in result.stdout and "confusion matrix" in result.stdout
    assert "epoch 1/60 - loss" in result.stdout  # the plain progress line when output is not a terminal
    for name in ("learning_curves.png", "confusion_matrix.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "checkpoint.npz").stat().st_size > 0


def test_evaluate_and_predict_use_the_saved_model(demo_run, tmp_path, capsys):
    out, _ = demo_run
    assert main(["evaluate", "--checkpoint", str(out / "checkpoint.npz")]) == 0
    evaluated = float(capsys.readouterr().out.split("test accuracy ")[1].split()[0])
    assert evaluated == pytest.approx(json.loads((out / "metrics.json").read_text())["test_accuracy"], abs=1e-4)
    from chainrule.data.datasets import load_digits
    images, labels = load_digits()
    np.save(tmp_path / "three.npy", images[:5])
    assert main(["predict", "digits", str(tmp_path / "three.npy"), "--run", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    predicted = [int(line.split("digit ")[1].split()[0]) for line in lines]
    assert len(predicted) == 5 and np.mean(np.array(predicted) == labels[:5]) >= 0.8


def test_train_xor_prints_a_converged_truth_table(capsys):
    from chainrule.ops import _compiled
    assert main(["train", "xor", "--seed", "1"]) == 0
    numba_installed = importlib.util.find_spec("numba") is not None
    assert (_compiled.kernels() is not None) == numba_installed  # train uses the compiled kernels where it can
    out = capsys.readouterr().out
    assert "converged after" in out and "x1  x2 | target | output" in out
    rows = [line for line in out.splitlines() if line.strip().startswith(("0", "1"))]
    assert len(rows) == 4
    for row in rows:
        target, output = row.split("|")[1:]
        assert round(float(output)) == int(target)


def test_failures_are_one_line_errors_with_exit_code_1(tmp_path, capsys):
    assert main(["evaluate", "--checkpoint", str(tmp_path / "missing.npz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chainrule: error:") and err.count("\n") == 1 and "Traceback" not in err
    np.save(tmp_path / "bad.npy", np.zeros((3, 5)))
    assert main(["predict", "digits", str(tmp_path / "bad.npy"), "--run", str(tmp_path)]) == 1
    assert "predict_digits: wrong image shape" in capsys.readouterr().err


def test_usage_errors_exit_with_code_2():
    result = subprocess.run([sys.executable, "-m", "chainrule", "train", "nonsense"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "invalid choice" in result.stderr and "Traceback" not in result.stderr


def test_info_lists_versions_and_extras(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("chainrule: ") and "numpy: " in out and "matplotlib: found" in out


def test_xor_that_cannot_converge_exits_with_1():
    result = subprocess.run([sys.executable, "-m", "chainrule", "train", "xor", "--max-steps", "3"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "did NOT converge after 3 steps" in result.stdout


def test_a_nan_loss_is_a_one_line_failure_without_run_files(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    from chainrule.apps import digits
    from chainrule.nn import functional as F
    poisoned = SimpleNamespace(cross_entropy=lambda logits, target: F.cross_entropy(logits, target) * float("nan"),
                               softmax=F.softmax)
    monkeypatch.setattr(digits, "F", poisoned)
    with pytest.warns(RuntimeWarning, match="TerminateOnNaN: the loss became nan in epoch 1, batch 1"):
        status = main(["demo", "--epochs", "2", "--out", str(tmp_path / "run")])
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("chainrule: error: train_digits: training diverged") and err.count("\n") == 1
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_explain_prints_every_step_in_both_languages(tmp_path, capsys):
    assert main(["explain", "xor"]) == 0
    english = capsys.readouterr().out
    assert "1. Forward pass" in english and "Backward through step 9" in english and "w <- w - lr * g" in english
    assert main(["explain", "article-net", "--lang", "zh", "--steps", "2", "--format", "md",
                 "--out", str(tmp_path / "trace.md")]) == 0
    chinese = (tmp_path / "trace.md").read_text(encoding="utf-8")
    assert "# 第 2 步训练（共 2 步）" in chinese and "前向传播" in chinese and "$" in chinese


def test_explain_digits_writes_complete_saliency_overlays(demo_run, tmp_path, capsys):
    out, _ = demo_run
    assert main(["explain", "digits", "--saliency", "--checkpoint", str(out / "checkpoint.npz"),
                 "--out", str(tmp_path / "saliency")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    for line in lines:
        error = float(line.split("complete to ")[1].split("%")[0])
        assert error < 1.0
        png = line.split("-> ")[1]
        assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
