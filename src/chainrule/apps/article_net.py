"""The article's 3-3-3-1 network: three inputs, two hidden layers of three sigmoid units, one output.

The problem is generated, so every number can be checked: three features drawn uniformly from
[-1, 1], and the class is 1 between two parallel planes, ``|x1 + x2 + x3| < 0.8``. No single plane
separates the classes (logistic regression stays near the majority class); two hidden units are
enough in principle, which the network's first layer finds. Trained like the article: MSE loss,
gradient descent on mini-batches (with momentum), sigmoid everywhere.
"""

from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.apps._baselines import logistic_regression
from chainrule.apps._run import AppResult, RunFolder, Stopwatch, command_line, measure
from chainrule.data import DataLoader, TensorDataset
from chainrule.errors import ChainruleError, ShapeError
from chainrule.nn import functional as F
from chainrule.train import EarlyStopping, ModelCheckpoint, ProgressBar, Trainer, metrics
from chainrule.train.checkpoint import load_checkpoint

__all__ = ["SUMMARY", "build_network", "make_slab", "add_arguments", "train", "add_predict_arguments", "predict"]

SUMMARY = "the article's 3-3-3-1 sigmoid network with MSE, on a generated three-feature problem"

SLAB_HALF_WIDTH = 0.8


def build_network():
    """The figure's network: Linear(3, 3), sigmoid, Linear(3, 3), sigmoid, Linear(3, 1), sigmoid."""
    return nn.Sequential(nn.Linear(3, 3), nn.Sigmoid(), nn.Linear(3, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())


def make_slab(count, seed):
    """``count`` points uniform in [-1, 1]^3 and their class (1 between the planes), shape (count, 1)."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(-1, 1, (count, 3)).astype(np.float32)
    labels = (np.abs(points.sum(1)) < SLAB_HALF_WIDTH).astype(np.float32)[:, None]
    return points, labels


def add_arguments(parser):
    """``chainrule train article-net`` options."""
    parser.add_argument("--epochs", type=int, default=300, help="most epochs (default 300)")
    parser.add_argument("--lr", type=float, default=2.0, help="gradient-descent step size (default 2.0)")
    parser.add_argument("--samples", type=int, default=1500, help="training points (default 1500)")


def train(out="runs/article-net", data=None, seed=0, epochs=300, lr=2.0, samples=1500, progress=None):
    """Train the 3-3-3-1 network with MSE; write metrics.json, curves, confusion matrix and checkpoint.

    1,000 fresh points are the test set and 20% of the training points the validation set, whose
    loss drives early stopping. The baseline is logistic regression on the same three features.
    """
    if data is not None:
        raise ChainruleError(f"train article-net: the problem is generated; expected no --data, got {data!r}.")
    watch = Stopwatch()
    cr.manual_seed(seed)
    points, labels = make_slab(samples, seed)
    test_points, test_labels = make_slab(1000, seed + 1)
    cut = int(0.8 * samples)
    train_data = DataLoader(TensorDataset(points[:cut], labels[:cut]), batch_size=50, shuffle=True)
    val_data = DataLoader(TensorDataset(points[cut:], labels[cut:]), batch_size=1000)
    folder = RunFolder(out)
    model = build_network()
    trainer = Trainer(model, F.mse_loss, cr.optim.SGD(model.parameters(), lr=lr, momentum=0.9),
                      metrics=["accuracy"],
                      callbacks=[EarlyStopping(patience=60, restore_best_weights=True),
                                 ModelCheckpoint(folder.checkpoint, monitor="val_loss", save_best_only=True),
                                 progress or ProgressBar()])
    history = trainer.fit(train_data, val_data, epochs=epochs)
    model.eval()
    with cr.no_grad():
        scores = model(cr.tensor(test_points)).numpy()
    accuracy = metrics.accuracy(scores, test_labels)
    confusion = metrics.confusion_matrix(scores, test_labels, num_classes=2)
    baseline = logistic_regression(points[:cut], labels[:cut, 0], test_points, test_labels[:, 0])
    files = {"learning_curves": str(folder.learning_curves(history)),
             "confusion_matrix": str(folder.confusion_matrix(confusion, ["outside", "between"])),
             "checkpoint": str(folder.checkpoint)}
    files["metrics"] = str(folder.write_metrics("article-net", {
        "command": command_line("article-net", seed=seed, epochs=epochs, lr=lr, samples=samples),
        "seed": seed, "seconds": watch.seconds, "epochs": len(history.history["loss"]),
        "confusion_matrix": confusion.tolist(),
        "measures": [measure("test accuracy (1,000 fresh points)", accuracy,
                             baseline=baseline, baseline_name="logistic regression on the 3 features")]}))
    lines = [f"3-3-3-1 sigmoid network, MSE, gradient descent: test accuracy {accuracy:.4f} "
             f"(logistic regression {baseline:.4f}) after {len(history.history['loss'])} epochs"]
    return AppResult(metrics={"test_accuracy": accuracy, "baseline": baseline}, lines=lines, files=files)


def add_predict_arguments(parser):
    """``chainrule predict article-net 0.1,0.2,-0.3``."""
    parser.add_argument("inputs", nargs="+", help="points as three comma-separated numbers")


def predict(inputs, run="runs/article-net"):
    """The network's probability that each point lies between the planes, one line each."""
    points = []
    for text in inputs:
        try:
            points.append([float(v) for v in text.split(",")])
        except ValueError:
            points.append([])
        if len(points[-1]) != 3:
            raise ShapeError(f"predict article-net: cannot read point {text!r}; expected three numbers such as "
                             "0.1,0.2,-0.3.")
    model = build_network()
    model.load_state_dict(load_checkpoint(Path(run) / "checkpoint.npz")["model"])
    model.eval()
    with cr.no_grad():
        scores = model(cr.tensor(np.array(points, dtype=np.float32))).numpy()[:, 0]
    return [f"{text} -> {score:.3f} ({'between the planes' if score > 0.5 else 'outside'})"
            for text, score in zip(inputs, scores)]
