"""Handwritten digits: scikit-learn's bundled 8x8 images, a CNN (the main demo) or an MLP.

The article's image-recognition use, end to end: a stratified held-out test set (25%, never
seen in training), augmentation drawn per batch, AdamW with a cosine learning-rate schedule over
a fixed number of epochs, a progress bar, and a run folder with learning curves, a confusion
matrix, metrics.json (beside logistic regression on the same split) and a checkpoint.

The 1,347 training images are few, so all of them are trained on: a fixed schedule replaces
early stopping on a validation split, which would hold out 15% of them.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.apps._baselines import logistic_regression
from chainrule.apps._run import AppResult, RunFolder, Stopwatch, command_line, measure
from chainrule.data import DataLoader, TensorDataset, stratified_split
from chainrule.data import transforms as T
from chainrule.data.datasets import load_digits
from chainrule.nn import functional as F
from chainrule.train import LRScheduler, ModelCheckpoint, ProgressBar, TerminateOnNaN, Trainer, metrics

__all__ = ["build_cnn", "build_mlp", "MODELS", "DigitsRun", "train_digits", "evaluate_digits", "predict_digits",
           "explain_digits", "confusion_text", "SUMMARY", "add_arguments", "train", "add_predict_arguments", "predict"]

SUMMARY = "a CNN (or --model mlp) on scikit-learn's bundled 8x8 handwritten digits (the demo)"

CLASS_NAMES = [str(d) for d in range(10)]
TEST_SHARE = 0.25


def build_cnn():
    """Two 3x3 convolutions, max pooling, dropout and two linear layers (about 140k parameters)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Linear(128, 10))


def build_mlp():
    """The 64 pixels through two hidden layers of 512 ReLU units with dropout (about 300k parameters)."""
    return nn.Sequential(
        nn.Flatten(), nn.Linear(64, 512), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.3), nn.Linear(512, 10))


@dataclass(frozen=True)
class _Model:
    """One selectable network: how to build it, how to augment its batches, its schedule and target."""
    build: object
    augmentation: object
    epochs: int
    target: float
    description: str


def _cnn_augmentation():
    # Rotations of up to 10 degrees, shifts of one pixel and zooms of 10%.
    return T.RandomAffine(degrees=10, translate=(0.125, 0.125), scale=(0.9, 1.1))


def _mlp_augmentation():
    # No shifts: an MLP has no translation invariance, and one pixel is an eighth of the image.
    return T.RandomAffine(degrees=5, scale=(0.95, 1.05))


MODELS = {
    "cnn": _Model(build_cnn, _cnn_augmentation, 100, 0.99, "CNN"),
    "mlp": _Model(build_mlp, _mlp_augmentation, 100, 0.98, "MLP"),
}


@dataclass
class DigitsRun:
    """What a training run measured and where it wrote its files."""
    test_accuracy: float
    confusion: np.ndarray
    epochs: int
    history: dict
    files: dict


def _splits(seed):
    images, labels = load_digits()
    train, test = stratified_split(labels, test_size=TEST_SHARE, seed=seed)
    return images[:, None], labels, train, test  # images (N, 1, 8, 8)


def train_digits(out="runs/demo", model="cnn", epochs=None, lr=3e-3, batch_size=64, seed=0, progress=None):
    """Train a network on the training 75% with augmentation; write the run folder; return a DigitsRun.

    Args:
        out: the run folder (learning_curves.png, confusion_matrix.png, metrics.json, checkpoint.npz).
        model: ``"cnn"`` or ``"mlp"`` (see ``MODELS``).
        epochs: epochs to train (None: the model's default, 100).
        lr, batch_size, seed: AdamW's initial step size (annealed to 0 on a cosine over ``epochs``),
            the batch size, and the seed of every random draw (the split too).
        progress: a ProgressBar, or None for the default one.
    """
    if model not in MODELS:
        raise cr.ChainruleError(f"train_digits: unknown model; expected one of {', '.join(MODELS)}, got {model!r}.")
    spec = MODELS[model]
    epochs = spec.epochs if epochs is None else epochs
    folder = RunFolder(out)
    cr.manual_seed(seed)
    images, labels, train, test = _splits(seed)
    train_data = DataLoader(TensorDataset(images[train], labels[train]), batch_size=batch_size, shuffle=True,
                            transform=spec.augmentation())
    network = spec.build()
    optimizer = cr.optim.AdamW(network.parameters(), lr=lr, weight_decay=1e-2)
    schedule = cr.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    trainer = Trainer(network, F.cross_entropy, optimizer, metrics=["accuracy"],
                      callbacks=[TerminateOnNaN(), LRScheduler(schedule), ModelCheckpoint(folder.checkpoint),
                                 progress or ProgressBar()])
    history = trainer.fit(train_data, epochs=epochs)
    losses = history.history.get("loss", [])
    if not losses or not np.all(np.isfinite(losses)):
        raise cr.ChainruleError(f"train_digits: training diverged; expected a finite loss, got {losses[-1:]} "
                                "(try a lower --lr).")
    accuracy, confusion = _test(network, images[test], labels[test])
    files = {"learning_curves": str(folder.learning_curves(history)),
             "confusion_matrix": str(folder.confusion_matrix(confusion, CLASS_NAMES)),
             "checkpoint": str(folder.checkpoint), "metrics": str(folder / "metrics.json")}
    return DigitsRun(accuracy, confusion, len(losses), history.history, files)


def _test(model, images, labels):
    model.eval()
    with cr.no_grad():
        logits = model(cr.tensor(images))
    return float(metrics.accuracy(logits, labels)), metrics.confusion_matrix(logits, labels, num_classes=10)


def _load_model(checkpoint):
    """The network saved in ``checkpoint``: its first layer's parameter names tell which one it is."""
    from chainrule.train.checkpoint import load_checkpoint
    state = load_checkpoint(checkpoint)["model"]
    model = build_cnn() if "0.weight" in state else build_mlp()  # the MLP starts with a parameter-free Flatten
    model.load_state_dict(state)
    return model.eval()


def evaluate_digits(checkpoint="runs/demo/checkpoint.npz", seed=0):
    """Test accuracy and confusion matrix of a saved model on the held-out 25% (same split as training)."""
    images, labels, _, test = _splits(seed)
    return _test(_load_model(checkpoint), images[test], labels[test])


def predict_digits(images, checkpoint="runs/demo/checkpoint.npz"):
    """Predicted digits and their probabilities for (N, 8, 8) or (8, 8) images with values in [0, 1]."""
    images = np.asarray(images, dtype=np.float32)
    if images.shape[-2:] != (8, 8) or images.ndim not in (2, 3):
        raise cr.ShapeError(f"predict_digits: wrong image shape; expected (8, 8) or (N, 8, 8), got {images.shape}.")
    batch = images.reshape(-1, 1, 8, 8)
    with cr.no_grad():
        probabilities = F.softmax(_load_model(checkpoint)(cr.tensor(batch)), dim=1).numpy()
    return probabilities.argmax(1), probabilities.max(1)


def explain_digits(checkpoint="runs/demo/checkpoint.npz", out="runs/demo/saliency", count=4, steps=64, seed=0):
    """Integrated-gradients overlays for the first ``count`` held-out test digits.

    Each PNG shows a digit in gray with the pixels that raised (red) or lowered (blue) the score
    of the predicted class. Returns one dict per digit: path, true and predicted label, and the
    completeness error (how far the attributions' sum is from the score change; below 1%).
    """
    from chainrule.explain.saliency import integrated_gradients, saliency_overlay

    images, labels, _, test = _splits(seed)
    model = _load_model(checkpoint)
    out = Path(out)
    rows = []
    for index in test[:count]:
        image = images[index:index + 1]
        with cr.no_grad():
            predicted = int(model(cr.tensor(image)).numpy().argmax())
        result = integrated_gradients(model, image, predicted, steps=steps)
        path = saliency_overlay(image[0, 0], result.attributions[0, 0], out / f"digit_{index}.png",
                                title=f"true {labels[index]}, predicted {predicted}")
        rows.append({"path": str(path), "true": int(labels[index]), "predicted": predicted,
                     "completeness_error": float(np.max(result.completeness_error))})
    return rows


def add_arguments(parser):
    """``chainrule train digits`` (and ``chainrule demo``) options."""
    parser.add_argument("--model", choices=tuple(MODELS), default="cnn", help="the network (default cnn)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs to train (default 100)")
    parser.add_argument("--lr", type=float, default=3e-3, help="AdamW's initial learning rate (default 3e-3)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")


def train(out="runs/digits", data=None, seed=0, model="cnn", epochs=None, lr=3e-3, batch_size=64, progress=None):
    """Train a digits network (see ``train_digits``) and report it beside logistic regression on the same split."""
    if data is not None:
        raise cr.ChainruleError(f"train digits: the digits come with scikit-learn; expected no --data, got {data!r}.")
    watch = Stopwatch()
    run = train_digits(out=out, model=model, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                       progress=progress)
    images, labels, train_rows, test_rows = _splits(seed)
    baseline = logistic_regression(images[train_rows], labels[train_rows], images[test_rows], labels[test_rows],
                                   standardize=False)
    spec = MODELS[model]
    RunFolder(out).write_metrics("digits", {
        "command": command_line("digits", seed=seed, model=model, epochs=epochs, lr=lr, batch_size=batch_size),
        "seed": seed, "seconds": watch.seconds, "model": model, "epochs": run.epochs,
        "train_samples": len(train_rows), "test_samples": len(test_rows),
        "test_accuracy": run.test_accuracy, "confusion_matrix": run.confusion.tolist(),
        "measures": [measure(f"test accuracy ({spec.description}, held-out stratified 25%)", run.test_accuracy,
                             target=spec.target, baseline=baseline, baseline_name="logistic regression on pixels")]})
    lines = [f"{spec.description}: test accuracy {run.test_accuracy:.4f} on the held-out 25% of the digits "
             f"({len(test_rows)} images) after {run.epochs} epochs; logistic regression on pixels {baseline:.4f}",
             confusion_text(run.confusion)]
    return AppResult(metrics={"test_accuracy": run.test_accuracy, "baseline": baseline}, lines=lines,
                     files=run.files)


def confusion_text(matrix):
    """A (10, 10) confusion matrix as a text table: rows are true digits, columns predicted ones."""
    lines = ["confusion matrix (rows: true digit, columns: predicted)",
             "     " + " ".join(f"{c:>4}" for c in range(matrix.shape[1]))]
    lines += [f"{row:>4} " + " ".join(f"{int(v):>4}" for v in counts) for row, counts in enumerate(matrix)]
    return "\n".join(lines)


def add_predict_arguments(parser):
    """``chainrule predict digits IMAGES.npy``."""
    parser.add_argument("inputs", help="a .npy file holding an (8, 8) or (N, 8, 8) array with values in [0, 1]")


def predict(inputs, run="runs/digits"):
    """One line per image of the .npy file ``inputs``: the digit and its probability."""
    images = np.load(inputs, allow_pickle=False)
    labels, probabilities = predict_digits(images, checkpoint=Path(run) / "checkpoint.npz")
    return [f"{i}: digit {label} (probability {probability:.3f})"
            for i, (label, probability) in enumerate(zip(labels, probabilities))]
