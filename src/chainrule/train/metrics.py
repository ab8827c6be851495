"""Metrics: how good predictions are, in NumPy, on predictions and targets (arrays or Tensors).

Every metric takes ``(predictions, targets)`` in that order, like a loss, and returns a float
(``confusion_matrix`` an array). A Trainer computes them over a whole epoch's outputs; give them
by name (``metrics=["accuracy", "f1"]``) or as callables.

Classification metrics turn predictions into labels the same way:
    - scores with one more dim than the targets, ``(N, C)`` against ``(N,)``: the arg max over
      the last dim (logits and probabilities alike); a last dim of size 1 is one binary score;
    - one-hot (or probability) targets shaped like the scores, ``(N, C)``: arg max of both;
    - predictions shaped like the targets: integer predictions are labels; float predictions are
      binary scores, cut at ``threshold``, by default 0.5 when all lie in [0, 1] (probabilities),
      else 0 (logits) unless every value is a whole number (labels stored as floats).
"""

import functools

import numpy as np

from chainrule.errors import ShapeError
from chainrule.tensor import Tensor

__all__ = ["accuracy", "top_k_accuracy", "precision", "recall", "f1", "confusion_matrix", "mae", "rmse"]


def _array(value):
    return np.asarray(value.data if isinstance(value, Tensor) else value)


def _shape_error(op, what, expected, got):
    return ShapeError(f"{op}: {what}; expected {expected}, got {got}.")


def _labels(op, predictions, targets, threshold=None):
    """Predicted and true class labels, as two 1-d int arrays of the same length."""
    scores, truth = _array(predictions), _array(targets)
    if scores.ndim == truth.ndim + 1 and scores.shape[:-1] == truth.shape:
        if scores.shape[-1] == 1:
            scores = scores[..., 0]
        else:
            return scores.argmax(axis=-1).ravel(), truth.astype(np.int64).ravel()
    elif scores.shape == truth.shape and scores.ndim >= 2 and scores.shape[-1] > 1:
        return scores.argmax(axis=-1).ravel(), truth.argmax(axis=-1).ravel()
    elif scores.shape != truth.shape:
        if scores.size != truth.size or scores.squeeze().shape != truth.squeeze().shape:
            raise _shape_error(op, "predictions do not fit the targets",
                               "scores (N, C) for targets (N,), or predictions shaped like the targets",
                               f"predictions {scores.shape} and targets {truth.shape}")
        scores = scores.reshape(truth.shape)
    return _binary_or_labels(scores, threshold).ravel(), truth.astype(np.int64).ravel()


def _binary_or_labels(scores, threshold):
    if threshold is not None:
        return (scores > threshold).astype(np.int64)
    if scores.dtype.kind in "biu":
        return scores.astype(np.int64)
    if scores.size and scores.min() >= 0 and scores.max() <= 1:
        return (scores > 0.5).astype(np.int64)
    if np.all(scores == np.round(scores)):
        return scores.astype(np.int64)
    return (scores > 0).astype(np.int64)


def accuracy(predictions, targets, threshold=None):
    """The fraction of samples whose predicted class is the true one.

    Args:
        predictions: scores ``(N, C)`` (logits or probabilities), or labels or binary scores shaped
            like ``targets`` (see the module docstring).
        targets: class indices ``(N,)``, or one-hot ``(N, C)``.
        threshold: for binary scores, the cut; default 0.5 for probabilities, 0 for logits.

    Example:
        >>> accuracy([[2.0, 0.1], [0.3, 0.9], [1.0, 0.0]], [0, 1, 1])
        0.6666666666666666
    """
    predicted, true = _labels("accuracy", predictions, targets, threshold)
    return float(np.mean(predicted == true))


def top_k_accuracy(predictions, targets, k=5):
    """The fraction of samples whose true class is among the ``k`` highest scores.

    Args:
        predictions: scores ``(N, C)``.
        targets: class indices ``(N,)`` or one-hot ``(N, C)``.
        k: how many of the best-scored classes count as a hit.

    Example:
        >>> top_k_accuracy([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]], [1, 0], k=2)
        0.5
    """
    scores, truth = _array(predictions), _array(targets)
    if truth.shape == scores.shape and scores.ndim == 2:
        truth = truth.argmax(axis=-1)
    if scores.ndim != 2 or truth.shape != scores.shape[:1]:
        raise _shape_error("top_k_accuracy", "predictions and targets do not fit", "scores (N, C) and targets (N,)",
                           f"predictions {scores.shape} and targets {truth.shape}")
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"top_k_accuracy: k out of range; expected 1 <= k <= {scores.shape[1]} (the number of "
                         f"classes), got k={k}.")
    # a stable sort, reversed: among tied scores the higher class index ranks first (as scikit-learn's)
    best = np.argsort(scores, axis=1, kind="stable")[:, ::-1][:, :k]
    return float(np.mean((best == truth.astype(np.int64)[:, None]).any(axis=1)))


def _per_class_counts(op, predictions, targets, threshold):
    """(true positives, predicted count, true count) for every label that occurs in either."""
    predicted, true = _labels(op, predictions, targets, threshold)
    classes = np.union1d(predicted, true)
    hits = predicted[:, None] == classes
    actual = true[:, None] == classes
    return (hits & actual).sum(axis=0), hits.sum(axis=0), actual.sum(axis=0)


def _ratio(numerator, denominator):
    """numerator / denominator per class, 0 where the denominator is 0 (scikit-learn's zero_division)."""
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def precision(predictions, targets, threshold=None):
    """Macro precision: per class, the fraction of its predictions that are right; then the mean.

    Classes are those occurring in the predictions or the targets; a class never predicted scores 0.

    Example:
        >>> precision([0, 0, 1, 1], [0, 1, 1, 1])
        0.75
    """
    tp, predicted, _ = _per_class_counts("precision", predictions, targets, threshold)
    return float(np.mean(_ratio(tp, predicted)))


def recall(predictions, targets, threshold=None):
    """Macro recall: per class, the fraction of its samples that are found; then the mean.

    Example:
        >>> recall([0, 0, 1, 1], [0, 1, 1, 1])
        0.8333333333333333
    """
    tp, _, actual = _per_class_counts("recall", predictions, targets, threshold)
    return float(np.mean(_ratio(tp, actual)))


def f1(predictions, targets, threshold=None):
    """Macro F1: per class the harmonic mean of precision and recall, ``2 tp / (2 tp + fp + fn)``; then the mean.

    Example:
        >>> round(f1([0, 0, 1, 1], [0, 1, 1, 1]), 4)
        0.7333
    """
    tp, predicted, actual = _per_class_counts("f1", predictions, targets, threshold)
    return float(np.mean(_ratio(2 * tp, predicted + actual)))


def confusion_matrix(predictions, targets, num_classes=None, threshold=None):
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as ``j`` (rows: truth, as scikit-learn).

    Args:
        num_classes: the matrix size; default one more than the largest label seen.

    Example:
        >>> confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1])
        array([[1, 0],
               [1, 2]])
    """
    predicted, true = _labels("confusion_matrix", predictions, targets, threshold)
    if predicted.size and min(predicted.min(), true.min()) < 0:
        raise ValueError("confusion_matrix: negative class labels; expected labels 0 .. num_classes - 1, got "
                         f"a minimum of {min(predicted.min(), true.min())}.")
    largest = int(max(predicted.max(initial=-1), true.max(initial=-1)))
    size = largest + 1 if num_classes is None else num_classes
    if largest >= size:
        raise ValueError(f"confusion_matrix: a label does not fit num_classes; expected labels below {size}, "
                         f"got {largest}.")
    matrix = np.zeros((size, size), dtype=np.int64)
    np.add.at(matrix, (true, predicted), 1)
    return matrix


def _regression_pair(op, predictions, targets):
    outputs, truth = _array(predictions).astype(np.float64), _array(targets).astype(np.float64)
    if outputs.shape != truth.shape:
        # (N, 1) against (N,) would broadcast to (N, N): accept it only as the same values
        if outputs.size != truth.size or outputs.squeeze().shape != truth.squeeze().shape:
            raise _shape_error(op, "predictions and targets differ in shape", "the same shape",
                               f"predictions {outputs.shape} and targets {truth.shape}")
        outputs = outputs.reshape(truth.shape)
    return outputs, truth


def mae(predictions, targets):
    """Mean absolute error, ``mean(|prediction - target|)``.

    Example:
        >>> mae([1.0, 2.0, 4.0], [1.0, 3.0, 2.0])
        1.0
    """
    outputs, truth = _regression_pair("mae", predictions, targets)
    return float(np.mean(np.abs(outputs - truth)))


def rmse(predictions, targets):
    """Root mean squared error, ``sqrt(mean((prediction - target) ** 2))``.

    Example:
        >>> rmse([1.0, 2.0, 4.0], [1.0, 3.0, 2.0])
        1.2909944487358056
    """
    outputs, truth = _regression_pair("rmse", predictions, targets)
    return float(np.sqrt(np.mean((outputs - truth) ** 2)))


_SCALAR = {"accuracy": accuracy, "top_k_accuracy": top_k_accuracy, "precision": precision, "recall": recall,
           "f1": f1, "mae": mae, "rmse": rmse}


def resolve(metrics):
    """A dict name -> callable from what ``Trainer(metrics=...)`` accepts (None, a list, or a dict)."""
    if metrics is None:
        return {}
    items = metrics.items() if isinstance(metrics, dict) else [(None, metric) for metric in metrics]
    resolved = {}
    for name, metric in items:
        if isinstance(metric, str):
            if metric not in _SCALAR:
                extra = " (it is a matrix; call it on trainer.predict's outputs)" if metric == "confusion_matrix" else ""
                raise ValueError(f"Trainer: unknown metric {metric!r}{extra}; expected one of {sorted(_SCALAR)} or "
                                 f"a callable metric(predictions, targets) -> float.")
            name, metric = name or metric, _SCALAR[metric]
        elif not callable(metric):
            raise TypeError(f"Trainer: a metric must be a name or a callable; expected e.g. 'accuracy', got "
                            f"{type(metric).__name__}.")
        if name is None:
            name = getattr(metric, "__name__", None) or getattr(getattr(metric, "func", None), "__name__", None)
            if isinstance(metric, functools.partial) or name is None:
                raise ValueError("Trainer: this metric has no name of its own; expected a dict name -> metric, "
                                 "e.g. metrics={'top3': partial(top_k_accuracy, k=3)}.")
        if name.startswith("val_") or name in ("loss", "size"):
            raise ValueError(f"Trainer: the metric name {name!r} is reserved; expected another name.")
        resolved[name] = metric
    return resolved
