"""The article's 3-3-3-1 network: trains on the slab problem, beats logistic regression, predicts."""

import json

import numpy as np
import pytest

from chainrule.apps import article_net
from chainrule.cli import main
from chainrule.errors import ChainruleError, ShapeError


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "article-net"
    return out, article_net.train(out=out, epochs=120)


def test_slab_is_balanced_enough_and_not_linearly_separable():
    points, labels = article_net.make_slab(2000, seed=0)
    assert points.shape == (2000, 3) and labels.shape == (2000, 1)
    assert 0.4 < labels.mean() < 0.7
    np.testing.assert_array_equal(labels[:, 0], np.abs(points.sum(1)) < article_net.SLAB_HALF_WIDTH)


def test_network_learns_the_slab_and_beats_its_baseline(run):
    out, result = run
    metrics = json.loads((out / "metrics.json").read_text())
    row = metrics["measures"][0]
    assert row["value"] >= 0.95 and row["baseline"]["value"] < 0.7 and row["met"]
    assert metrics["command"].startswith("chainrule train article-net")
    for name in ("learning_curves.png", "confusion_matrix.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert sum(map(sum, metrics["confusion_matrix"])) == 1000
    assert result.succeeded and "test accuracy" in result.lines[0]


def test_predict_from_the_run_folder(run, capsys):
    out, _ = run
    assert main(["predict", "article-net", "--run", str(out), "0.1,0.2,-0.3", "1,1,1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "between the planes" in lines[0] and "outside" in lines[1]
    with pytest.raises(ShapeError, match="predict article-net: cannot read point '1,2'"):
        article_net.predict(["1,2"], run=out)


def test_generated_problem_refuses_data():
    with pytest.raises(ChainruleError, match="expected no --data"):
        article_net.train(data="somewhere.csv")
