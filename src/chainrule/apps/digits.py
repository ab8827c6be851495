"""Handwritten digits: a small CNN on scikit-learn's bundled 8x8 images, the main demo.

The article's image-recognition use, end to end: a stratified held-out test set (25%), a
validation set for early stopping, augmentation (small rotations, shifts and zooms), a progress
bar, and a run folder with learning curves, a confusion matrix, metrics.json and a checkpoint.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.apps._run import AppResult
from chainrule.data import DataLoader, TensorDataset, stratified_split
from chainrule.data import transforms as T
from chainrule.data.datasets import load_digits
from chainrule.nn import functional as F
from chainrule.train import (EarlyStopping, LRScheduler, ModelCheckpoint, ProgressBar, TerminateOnNaN, Trainer,
                             metrics)

__all__ = ["build_cnn", "DigitsRun", "train_digits", "evaluate_digits", "predict_digits", "explain_digits",
           "SUMMARY", "add_arguments", "train", "add_predict_arguments", "predict"]

SUMMARY = "a CNN on scikit-learn's bundled 8x8 handwritten digits (the demo)"

CLASS_NAMES = [str(d) for d in range(10)]


def build_cnn():
    """Two 3x3 convolutions, max pooling, dropout and two linear layers (about 140k parameters)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Linear(128, 10))


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
    images = images[:, None]  # (N, 1, 8, 8)
    train, test = stratified_split(labels, test_size=0.25, seed=seed)
    fit, val = stratified_split(labels[train], test_size=0.15, seed=seed + 1)
    return images, labels, train[fit], train[val], test


def _write_json(path, payload):
    """Write JSON atomically: a temporary file in the same folder, then os.replace."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2))
    os.replace(temporary, path)


def train_digits(out="runs/demo", epochs=60, lr=3e-3, batch_size=64, seed=0, patience=15, progress=None):
    """Train the CNN with augmentation and early stopping; write the run folder; return a DigitsRun.

    Args:
        out: the run folder (learning_curves.png, confusion_matrix.png, metrics.json, checkpoint.npz).
        epochs: the most epochs to train; early stopping on the validation loss usually ends sooner.
        lr, batch_size, seed: AdamW's initial step size (annealed to 0 on a cosine over ``epochs``),
            the batch size, and the seed of every random draw.
        patience: epochs without a better validation loss before stopping (best weights restored).
        progress: a ProgressBar, or None for the default one.
    """
    from chainrule import plot  # the plot extra; imported here so training needs only NumPy and SciPy

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cr.manual_seed(seed)
    images, labels, fit, val, test = _splits(seed)
    augment = T.RandomAffine(degrees=10, translate=(0.125, 0.125), scale=(0.9, 1.1))
    train_data = DataLoader(TensorDataset(images[fit], labels[fit]), batch_size=batch_size, shuffle=True,
                            transform=augment)
    val_data = DataLoader(TensorDataset(images[val], labels[val]), batch_size=256)
    model = build_cnn()
    optimizer = cr.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    schedule = cr.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    trainer = Trainer(model, F.cross_entropy, optimizer, metrics=["accuracy"],
                      callbacks=[TerminateOnNaN(), LRScheduler(schedule),
                                 EarlyStopping(patience=patience, restore_best_weights=True),
                                 ModelCheckpoint(out / "checkpoint.npz", monitor="val_loss", save_best_only=True),
                                 progress or ProgressBar()])
    history = trainer.fit(train_data, val_data, epochs=epochs)
    if not np.all(np.isfinite(history.history["loss"])) or trainer.stop_training and not history.history["loss"]:
        raise cr.ChainruleError(f"train_digits: training diverged; expected a finite loss, got "
                                f"{history.history['loss'][-1:]} (try a lower --lr).")
    run = _test(model, images[test], labels[test])
    files = {
        "learning_curves": str(plot.learning_curves(history, out / "learning_curves.png")),
        "confusion_matrix": str(plot.confusion_matrix(run[1], out / "confusion_matrix.png",
                                                      class_names=CLASS_NAMES)),
        "checkpoint": str(out / "checkpoint.npz"),
        "metrics": str(out / "metrics.json"),
    }
    epochs_run = len(history.history["loss"])
    _write_json(out / "metrics.json", {"test_accuracy": run[0], "epochs": epochs_run, "test_samples": len(test),
                                       "confusion_matrix": run[1].tolist(), "seed": seed})
    return DigitsRun(run[0], run[1], epochs_run, history.history, files)


def _test(model, images, labels):
    model.eval()
    with cr.no_grad():
        logits = model(cr.tensor(images))
    return float(metrics.accuracy(logits, labels)), metrics.confusion_matrix(logits, labels, num_classes=10)


def _load_model(checkpoint):
    from chainrule.train.checkpoint import load_checkpoint
    model = build_cnn()
    model.load_state_dict(load_checkpoint(checkpoint)["model"])
    return model.eval()


def evaluate_digits(checkpoint="runs/demo/checkpoint.npz", seed=0):
    """Test accuracy and confusion matrix of a saved model on the held-out 25% (same split as training)."""
    images, labels, _, _, test = _splits(seed)
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

    images, labels, _, _, test = _splits(seed)
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
    parser.add_argument("--epochs", type=int, default=60, help="most epochs to train (default 60)")
    parser.add_argument("--lr", type=float, default=3e-3, help="AdamW's initial learning rate (default 3e-3)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")


def train(out="runs/digits", data=None, seed=0, epochs=60, lr=3e-3, batch_size=64):
    """Train the digits CNN (see ``train_digits``) and report it in the applications' common layout."""
    if data is not None:
        raise cr.ChainruleError(f"train digits: the digits come with scikit-learn; expected no --data, got {data!r}.")
    run = train_digits(out=out, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    lines = [f"test accuracy {run.test_accuracy:.4f} on the held-out 25% of the digits, after {run.epochs} epochs",
             _confusion_text(run.confusion)]
    return AppResult(metrics={"test_accuracy": run.test_accuracy}, lines=lines, files=run.files)


def _confusion_text(matrix):
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
