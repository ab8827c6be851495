"""The MNIST and Fashion-MNIST applications end to end on small slices of the shared data."""

import json

import numpy as np
import pytest

from chainrule.apps import fashion_mnist, mnist
from chainrule.cli import main
from chainrule.errors import ChainruleError, ShapeError

pytest.importorskip("sklearn")
pytest.importorskip("scipy")

SLICE = dict(epochs=2, batch_size=32, train_size=500, test_size=200, baseline_size=300)


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    """MNIST trained for 2 epochs on 500 images of the shared .npz (a few seconds), and its data path."""
    from tests.conftest import find_shared_data
    data = find_shared_data("mnist") / "mnist.npz"
    out = tmp_path_factory.mktemp("runs") / "mnist"
    result = mnist.train(out=out, data=str(data), seed=0, **SLICE)
    return out, data, result


def test_mnist_writes_its_run_folder_with_a_baseline_on_the_same_test_images(mnist_run):
    out, data, result = mnist_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["app"] == "mnist" and metrics["seed"] == 0 and metrics["epochs"] == 2
    assert metrics["train_images"] + metrics["validation_images"] == 500 and metrics["test_images"] == 200
    (row,) = metrics["measures"]
    assert row["name"] == "test accuracy (first 200 official test images)" and row["target"] == 0.992
    assert row["baseline"]["name"].startswith("logistic regression on pixels") and 0.5 < row["baseline"]["value"] < 1
    assert 0.3 < row["value"] == result.metrics["test_accuracy"] and row["met"] is False  # 2 epochs on 450 images
    assert np.array(metrics["confusion_matrix"]).sum() == 200
    assert "--train-size 500" in metrics["command"] and str(data) in metrics["command"]
    for name in ("learning_curves.png", "confusion_matrix.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_checkpoint_keeps_batch_norm_statistics_recomputed_on_the_clean_training_images(mnist_run):
    from chainrule.train.checkpoint import load_checkpoint
    out, _, _ = mnist_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.3 < metrics["validation_accuracy_after_bn_update"] <= 1
    state = load_checkpoint(out / "checkpoint.npz")["model"]
    counts = {k: int(np.asarray(v)) for k, v in state.items() if k.endswith("num_batches_tracked")}
    # 2 epochs of 450 images in batches of 32 tracked 30 batches; the recomputation, one of 500.
    assert len(counts) == len(mnist.TASK.channels) and set(counts.values()) == {1}


def test_predict_reads_npy_and_png_the_same_way(mnist_run, tmp_path, capsys):
    out, data, _ = mnist_run
    x_test = np.load(data)["x_test"][:8]
    np.save(tmp_path / "eight.npy", x_test)
    assert main(["predict", "mnist", str(tmp_path / "eight.npy"), "--run", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 and all(line.startswith(f"{i}: digit ") for i, line in enumerate(lines))
    plt = pytest.importorskip("matplotlib.pyplot")
    plt.imsave(tmp_path / "drawn.png", 255 - x_test[3], cmap="gray", vmin=0, vmax=255)  # dark ink on white
    assert main(["predict", "mnist", str(tmp_path / "drawn.png"), "--run", str(out)]) == 0
    png_digit = capsys.readouterr().out.split("digit ")[1].split()[0]
    assert png_digit == lines[3].split("digit ")[1].split()[0]


def test_predict_rejects_images_of_the_wrong_size(mnist_run, tmp_path, capsys):
    out, _, _ = mnist_run
    np.save(tmp_path / "small.npy", np.zeros((2, 8, 8)))
    assert main(["predict", "mnist", str(tmp_path / "small.npy"), "--run", str(out)]) == 1
    assert "predict mnist: wrong image shape" in capsys.readouterr().err


def test_bad_data_paths_and_shapes_are_one_line_errors(tmp_path, capsys):
    assert main(["train", "mnist", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "run")]) == 1
    assert "cannot read --data" in capsys.readouterr().err
    np.savez(tmp_path / "flat.npz", x_train=np.zeros((30, 784), np.uint8), y_train=np.zeros(30, np.uint8),
             x_test=np.zeros((10, 28, 28), np.uint8), y_test=np.zeros(10, np.uint8))
    with pytest.raises(ShapeError, match=r"wrong train image shape .* expected \(n, 28, 28\), got \(30, 784\)"):
        mnist.train(out=tmp_path / "run", data=str(tmp_path / "flat.npz"))
    np.savez(tmp_path / "partial.npz", x_train=np.zeros((30, 28, 28), np.uint8))
    with pytest.raises(ChainruleError, match="lacks arrays; expected a folder of IDX files or an .npz file with x_train, y_train, x_test, y_test"):
        mnist.train(out=tmp_path / "run", data=str(tmp_path / "partial.npz"))
    (tmp_path / "idx").mkdir()
    with pytest.raises(FileNotFoundError, match="a file is missing"):
        mnist.train(out=tmp_path / "run", data=str(tmp_path / "idx"))
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_fashion_mnist_needs_data_when_the_debian_folder_is_absent(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist.TASK, "default_data", str(tmp_path / "absent"))
    with pytest.raises(ChainruleError, match="no data; expected --data PATH .* apt-get install dataset-fashion-mnist"):
        fashion_mnist.train(out=tmp_path / "run")


def test_fashion_mnist_trains_from_an_idx_folder_through_the_cli(shared_data, tmp_path, capsys):
    out = tmp_path / "fashion"
    assert main(["train", "fashion-mnist", "--data", str(shared_data("fashion-mnist")), "--out", str(out),
                 "--epochs", "1", "--train-size", "400", "--test-size", "100", "--baseline-size", "200"]) == 0
    assert "fashion-mnist: test accuracy" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["class_names"][9] == "Ankle boot" and metrics["measures"][0]["target"] == 0.91
    np.save(tmp_path / "one.npy", np.zeros((28, 28), np.uint8))
    assert main(["predict", "fashion-mnist", str(tmp_path / "one.npy"), "--run", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("0: ") and "(class " in line and line.endswith(")")
