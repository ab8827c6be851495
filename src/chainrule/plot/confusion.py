"""The confusion matrix as an annotated heatmap: rows are true classes, columns predicted ones."""

import numpy as np

from chainrule.errors import ChainruleError, ShapeError
from chainrule.plot._checks import as_labels
from chainrule.plot._figure import new_figure, save_png

__all__ = ["confusion_matrix"]

_MAX_ANNOTATED = 30  # beyond this many classes the numbers no longer fit in their cells


def confusion_matrix(data, path, class_names=None, normalize=False, figsize=(5.0, 4.5), dpi=100,
                     cmap="Blues"):
    """Draw a confusion matrix as a heatmap with the count (or fraction) written in each cell.

    Args:
        data: a square (classes, classes) matrix of counts, row = true class, column = predicted;
            or a tuple ``(y_true, y_pred)`` of labels, shape (N,) or (N, 1). ``y_pred`` may also be
            (N, classes) scores or probabilities, taken by argmax.
        path: where to write the PNG; missing folders are created.
        class_names: one name per class for the axes; default 0, 1, 2, ...
        normalize: divide each row by its total, so a cell is the fraction of that true class
            predicted as the column's class (a row with no samples stays 0).
        figsize: (width, height) in inches.
        dpi: pixels per inch; the PNG is figsize * dpi pixels.
        cmap: a matplotlib colormap name.

    Returns:
        The path of the PNG, as a pathlib.Path.

    Raises:
        ShapeError: the matrix is not square, labels are not 1-D, or their lengths differ.
        ChainruleError: negative or non-whole labels, negative counts, or the wrong number of names.

    Example:
        >>> import tempfile, pathlib
        >>> from chainrule.plot import confusion_matrix
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> confusion_matrix(([0, 1, 1, 2], [0, 1, 2, 2]), folder / "cm.png", normalize=True).name
        'cm.png'
    """
    fn = "confusion_matrix"
    matrix = _matrix(fn, data, class_names)
    n = matrix.shape[0]
    if class_names is None:
        class_names = [str(i) for i in range(n)]
    if len(class_names) != n:
        raise ChainruleError(f"{fn}: wrong number of class names; expected {n}, got {len(class_names)}.")
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)

    fig, axes = new_figure(fn, path, figsize, dpi)
    ax = axes[0]
    image = ax.imshow(matrix, cmap=cmap, vmin=0, vmax=1 if normalize else max(matrix.max(), 1))
    fig.colorbar(image, ax=ax, label="fraction of true class" if normalize else "count")
    names = [str(c) for c in class_names]
    rotate = max(len(c) for c in names) > 3  # long names would overlap under their columns
    ax.set_xticks(np.arange(n), names, rotation=45 if rotate else 0, ha="right" if rotate else "center")
    ax.set_yticks(np.arange(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("confusion matrix" + (" (normalized by row)" if normalize else ""))
    if n <= _MAX_ANNOTATED:
        _annotate(ax, matrix, normalize)
    return save_png(fig, path, dpi)


def _matrix(fn, data, class_names):
    """The count matrix as float64, from a matrix or from a (y_true, y_pred) pair."""
    if isinstance(data, tuple):
        if len(data) != 2:
            raise ChainruleError(f"{fn}: a tuple must be (y_true, y_pred); expected 2 items, got {len(data)}.")
        y_true = as_labels(fn, "y_true", data[0])
        y_pred = as_labels(fn, "y_pred", data[1], allow_scores=True)
        if y_true.shape != y_pred.shape:
            raise ShapeError(f"{fn}: y_true and y_pred differ in length; expected equal lengths, got "
                             f"{len(y_true)} and {len(y_pred)}.")
        n = int(max(y_true.max(), y_pred.max())) + 1
        if class_names is not None:
            if len(class_names) < n:
                raise ChainruleError(f"{fn}: a label has no class name; expected labels below "
                                     f"{len(class_names)}, got {n - 1}.")
            n = len(class_names)
        matrix = np.zeros((n, n))
        np.add.at(matrix, (y_true, y_pred), 1)
        return matrix
    try:
        matrix = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        raise ChainruleError(f"{fn}: the matrix must hold numbers; expected a square array of counts, got "
                             f"{type(data).__name__}. Hint: pass labels as a tuple (y_true, y_pred).") from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.size == 0:
        raise ShapeError(f"{fn}: the matrix is not square; expected shape (classes, classes), got "
                         f"{matrix.shape}. Hint: pass labels as a tuple (y_true, y_pred).")
    if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
        raise ChainruleError(f"{fn}: the matrix holds a negative or non-finite count; expected counts >= 0.")
    return matrix


def _annotate(ax, matrix, normalize):
    whole = not normalize and np.all(matrix == np.round(matrix))
    threshold = matrix.max() / 2  # dark cells get white text
    fontsize = 10 if matrix.shape[0] <= 10 else 6
    for (row, col), value in np.ndenumerate(matrix):
        text = f"{value:.0f}" if whole else f"{value:.2f}" if normalize else f"{value:.3g}"
        ax.text(col, row, text, ha="center", va="center", fontsize=fontsize,
                color="white" if value > threshold else "black")
