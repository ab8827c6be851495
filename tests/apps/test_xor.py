"""The article's XOR network trains to its convergence criterion and learns the truth table."""

import numpy as np

from chainrule.apps.xor import XOR_TARGETS, train_xor


def test_xor_converges_and_rounds_to_the_truth_table():
    run = train_xor(threshold=0.005)
    assert run.converged and run.losses[-1] < 0.005 < run.losses[0]
    np.testing.assert_array_equal(run.predict(np.array([[0, 0], [0, 1], [1, 0], [1, 1]])).round(), XOR_TARGETS)


def test_xor_reports_failure_to_converge_within_the_step_budget():
    run = train_xor(max_steps=5)
    assert not run.converged and len(run.losses) == 5


def test_train_writes_the_run_folder_and_predict_reads_it(tmp_path, capsys):
    import json

    from chainrule.apps import xor
    from chainrule.cli import main
    result = xor.train(out=tmp_path, seed=1)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert result.succeeded and metrics["converged"] and 0 < metrics["steps"] < 20000
    assert [round(v) for v in metrics["outputs"]] == [0, 1, 1, 0]
    assert all(row["met"] for row in metrics["measures"])
    assert (tmp_path / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["predict", "xor", "--run", str(tmp_path), "0,1", "1,1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("(class 1)") and lines[1].endswith("(class 0)")
    assert main(["predict", "xor", "--run", str(tmp_path), "0,1,1"]) == 1
    assert "expected two numbers" in capsys.readouterr().err
