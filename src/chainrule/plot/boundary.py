"""Decision regions of a 2-D classifier: the predicted class over the plane, the data on top."""

import numbers

import numpy as np

from chainrule.autograd.engine import no_grad
from chainrule.errors import ChainruleError, ShapeError
from chainrule.plot._checks import as_labels
from chainrule.plot._figure import class_colors, new_figure, region_colors, save_png

__all__ = ["decision_boundary"]

_MARGIN = 0.15  # fraction of the data's span added on each side of the grid


def decision_boundary(model, x, y, path, resolution=200, threshold=None, class_names=None,
                      figsize=(5.0, 4.5), dpi=100):
    """Colour the plane by a 2-D classifier's predicted class and draw the labelled points on top.

    The classifier is evaluated on a ``resolution`` x ``resolution`` grid spanning the data plus a
    margin, under ``no_grad``. A ``chainrule.nn.Module`` receives the grid as a float32 Tensor (in
    eval mode, restored afterwards); any other callable receives a float32 ndarray of shape
    (M, 2), so a function built from Tensor ops should wrap it: ``lambda p: net(cr.tensor(p))``.

    The output (ndarray, Tensor, or anything ``np.asarray`` reads) is turned into classes:
    shape (M, classes) by argmax; shape (M,) or (M, 1) of bools or ints as is; of floats as one
    score compared with ``threshold``.

    Args:
        model: the classifier, a Module or a callable mapping (M, 2) points to outputs.
        x: the data points, shape (N, 2).
        y: their classes, shape (N,) or (N, 1), or one-hot (N, classes).
        path: where to write the PNG; missing folders are created.
        resolution: grid points per axis (at least 2).
        threshold: for a single float output, the value above which the class is 1; default 0.5
            when every output lies in [0, 1] (probabilities), else 0 (logits).
        class_names: one name per class for the legend; default "class 0", "class 1", ...
        figsize: (width, height) in inches.
        dpi: pixels per inch; the PNG is figsize * dpi pixels.

    Returns:
        The path of the PNG, as a pathlib.Path.

    Raises:
        ShapeError: ``x`` is not (N, 2), ``y`` does not match it, or the output has the wrong shape.
        ChainruleError: the model is not callable, its output is not finite, or a bad option.

    Example:
        >>> import tempfile, pathlib
        >>> from chainrule.apps.xor import XOR_INPUTS, XOR_TARGETS
        >>> from chainrule.plot import decision_boundary
        >>> def xor_rule(points):  # what a trained XOR network learns
        ...     return (points[:, 0] > 0.5) != (points[:, 1] > 0.5)
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "xor.png"
        >>> decision_boundary(xor_rule, XOR_INPUTS, XOR_TARGETS, out, resolution=50).name
        'xor.png'
    """
    fn = "decision_boundary"
    if not callable(model):
        raise ChainruleError(f"{fn}: model must be callable; expected a Module or a function of (M, 2) "
                             f"points, got {type(model).__name__}.")
    points = _points(fn, x)
    labels = as_labels(fn, "y", y, allow_scores=True)
    if len(labels) != len(points):
        raise ShapeError(f"{fn}: x and y differ in length; expected one label per point ({len(points)}), "
                         f"got {len(labels)}.")
    if not isinstance(resolution, numbers.Integral) or isinstance(resolution, bool) or resolution < 2:
        raise ChainruleError(f"{fn}: resolution must be an int >= 2; expected grid points per axis, "
                             f"got {resolution!r}.")

    xx, yy = _grid(points, int(resolution))
    grid = np.column_stack([xx.ravel(), yy.ravel()]).astype(np.float32)
    predicted = _classes(fn, _evaluate(model, grid), len(grid), threshold).reshape(xx.shape)
    n = int(max(predicted.max(), labels.max())) + 1
    if class_names is None:
        class_names = [f"class {c}" for c in range(n)]
    if len(class_names) < n:
        raise ChainruleError(f"{fn}: wrong number of class names; expected {n}, got {len(class_names)}.")

    fig, axes = new_figure(fn, path, figsize, dpi)
    ax = axes[0]
    levels = np.arange(n + 1) - 0.5  # one band per class, centred on its number
    ax.contourf(xx, yy, predicted, levels=levels, colors=region_colors(n))
    if len(np.unique(predicted)) > 1:
        ax.contour(xx, yy, predicted, levels=levels[1:-1], colors="0.25", linewidths=0.8)
    for c, color in enumerate(class_colors(n)):
        chosen = labels == c
        if chosen.any():
            ax.scatter(points[chosen, 0], points[chosen, 1], color=color, edgecolors="black",
                       linewidths=0.8, s=40, zorder=3, label=str(class_names[c]))
    ax.set_xlim(xx[0, 0], xx[0, -1])
    ax.set_ylim(yy[0, 0], yy[-1, 0])
    ax.set_xlabel("x[:, 0]")
    ax.set_ylabel("x[:, 1]")
    ax.set_title("decision boundary")
    ax.legend(fontsize="small", loc="best")
    return save_png(fig, path, dpi)


def _points(fn, x):
    points = np.asarray(x)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ShapeError(f"{fn}: x must be 2-D points; expected shape (N, 2) with N >= 1, got {points.shape}.")
    if points.dtype.kind not in "biuf" or not np.all(np.isfinite(points)):
        raise ChainruleError(f"{fn}: x must hold finite numbers; expected floats, got dtype {points.dtype} "
                             f"or a NaN/inf.")
    return points.astype(np.float64)


def _grid(points, resolution):
    """Coordinate matrices covering the points plus a margin (a flat axis still gets a unit span)."""
    low, high = points.min(axis=0), points.max(axis=0)
    span = high - low
    pad = np.where(span > 0, _MARGIN * span, 0.5)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    return np.meshgrid(xs, ys)


def _evaluate(model, grid):
    from chainrule.nn.module import Module
    from chainrule.tensor import Tensor
    with no_grad():
        if not isinstance(model, Module):
            return model(grid)
        was_training = model.training
        model.eval()  # dropout and batch norm must behave as at inference
        try:
            return model(Tensor(grid))
        finally:
            model.train(was_training)


def _classes(fn, output, m, threshold):
    """The predicted class per grid point from the model's raw output."""
    try:
        out = np.asarray(output)
    except (TypeError, ValueError):
        out = None
    if out is None or out.dtype.kind not in "biuf":
        raise ChainruleError(f"{fn}: the model's output must be numbers; expected an array or Tensor, got "
                             f"{type(output).__name__}.")
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.shape[:1] != (m,) or out.ndim not in (1, 2):
        raise ShapeError(f"{fn}: the model's output has the wrong shape; expected ({m},), ({m}, 1) or "
                         f"({m}, classes) for {m} grid points, got {out.shape}.")
    if out.dtype.kind == "f" and not np.all(np.isfinite(out)):
        raise ChainruleError(f"{fn}: the model's output holds NaN or inf; expected finite scores.")
    if out.ndim == 2:
        return out.argmax(axis=1)
    if out.dtype.kind in "biu":
        if out.min() < 0:
            raise ChainruleError(f"{fn}: the model predicted a negative class; expected classes >= 0, "
                                 f"got {out.min()}.")
        return out.astype(np.int64)
    if threshold is None:
        threshold = 0.5 if out.min() >= 0 and out.max() <= 1 else 0.0
    return (out > threshold).astype(np.int64)
