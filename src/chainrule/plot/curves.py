"""Curves over training: per-epoch metrics (learning curves) and per-step gradient norms."""

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.plot._checks import as_series_dict
from chainrule.plot._figure import class_colors, new_figure, save_png

__all__ = ["learning_curves", "gradient_norms"]

# Metrics whose name contains one of these are better when higher (Keras's convention for "auto").
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "r2", "iou", "dice")


def learning_curves(history, path, metrics=None, figsize=None, dpi=100, xlabel="epoch"):
    """Plot training and validation curves per epoch, one panel per quantity, best epoch marked.

    The first panel shows ``loss`` and ``val_loss``; each further panel a metric and its ``val_``
    twin. On every panel with a validation curve a dashed line marks its best epoch: the lowest
    value, or the highest for accuracy-like names (containing acc, auc, precision, recall, f1, r2,
    iou or dice). Epochs are counted from 1.

    Args:
        history: a dict of name -> per-epoch values, or an object with such a ``.history`` dict
            (the ``History`` that ``fit`` returns). Names starting with ``val_`` are validation.
        path: where to write the PNG; missing folders are created.
        metrics: the metric names to draw besides the loss (a name or a list), without ``val_``;
            default: every name in the history.
        figsize: (width, height) in inches; default 4 inches wide per panel, 3.2 high.
        dpi: pixels per inch; the PNG is figsize * dpi pixels.
        xlabel: what one point is: ``"epoch"``, or ``"step"`` for a curve recorded per update.

    Returns:
        The path of the PNG, as a pathlib.Path.

    Raises:
        ChainruleError: the history is empty or not a dict, or a requested metric is missing.
        ShapeError: a history entry is not a flat list of numbers.

    Example:
        >>> import tempfile, pathlib
        >>> from chainrule.plot import learning_curves
        >>> logs = {"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.6, 0.7],
        ...         "accuracy": [0.5, 0.8, 0.9], "val_accuracy": [0.5, 0.75, 0.7]}
        >>> learning_curves(logs, pathlib.Path(tempfile.mkdtemp()) / "curves.png").name
        'curves.png'
    """
    fn = "learning_curves"
    series = as_series_dict(fn, history, "history", ("history",))
    panels = _panels(fn, series, metrics)
    if figsize is None:
        figsize = (4.0 * len(panels), 3.2)
    fig, axes = new_figure(fn, path, figsize, dpi, ncols=len(panels))
    from matplotlib.ticker import MaxNLocator
    for ax, name in zip(axes, panels):
        _draw_panel(ax, name, series.get(name), series.get("val_" + name), xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return save_png(fig, path, dpi)


def gradient_norms(norms, path, figsize=(7.0, 4.0), dpi=100):
    """Plot each layer's gradient norm over training steps on a logarithmic y axis.

    Vanishing gradients show as curves sinking by decades, exploding ones as curves shooting up.
    Zero, NaN and infinite norms are left out of the curve (a log axis cannot show them).

    Args:
        norms: a dict of layer name -> gradient norm per step, or an object holding such a dict
            as ``.norms`` or ``.history`` (a gradient-monitoring callback).
        path: where to write the PNG; missing folders are created.
        figsize: (width, height) in inches.
        dpi: pixels per inch; the PNG is figsize * dpi pixels.

    Returns:
        The path of the PNG, as a pathlib.Path.

    Raises:
        ChainruleError: the dict is empty, a norm is negative, or no norm is positive.
        ShapeError: an entry is not a flat list of numbers.

    Example:
        >>> import tempfile, pathlib
        >>> from chainrule.plot import gradient_norms
        >>> norms = {"0.weight": [1.0, 0.5, 0.25], "2.weight": [0.1, 0.01, 0.001]}
        >>> gradient_norms(norms, pathlib.Path(tempfile.mkdtemp()) / "grads.png").name
        'grads.png'
    """
    fn = "gradient_norms"
    series = as_series_dict(fn, norms, "gradient norms", ("norms", "history"))
    for name, values in series.items():
        if np.any(values < 0):
            raise ChainruleError(f"{fn}: layer {name!r} has a negative gradient norm; expected norms >= 0, "
                                 f"got {values[values < 0][0]:g}.")
    if not any(np.any(np.isfinite(v) & (v > 0)) for v in series.values()):
        raise ChainruleError(f"{fn}: no gradient norm is positive and finite, so a log axis has nothing to "
                             f"show; expected some norms > 0, got only zeros, NaN or inf.")
    fig, axes = new_figure(fn, path, figsize, dpi)
    ax = axes[0]
    colors = class_colors(len(series))
    for color, (name, values) in zip(colors, series.items()):
        shown = np.where(np.isfinite(values) & (values > 0), values, np.nan)
        ax.plot(np.arange(1, len(values) + 1), shown, color=color, linewidth=1.2, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("gradient norm")
    ax.set_title("gradient norm per layer")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small", ncols=1 + (len(series) - 1) // 12)
    return save_png(fig, path, dpi)


def _panels(fn, series, metrics):
    """The quantities to draw, loss first, each named without its ``val_`` prefix."""
    names = []
    for key in series:
        base = key[len("val_"):] if key.startswith("val_") else key
        if base not in names:
            names.append(base)
    if metrics is None:
        chosen = [n for n in names if n != "loss"]
    else:
        chosen = [metrics] if isinstance(metrics, str) else list(metrics)
        missing = [m for m in chosen if m not in names]
        if missing:
            raise ChainruleError(f"{fn}: metric {missing[0]!r} is not in the history; expected one of "
                                 f"{names}, got metrics={chosen}.")
    return (["loss"] if "loss" in names else []) + [m for m in chosen if m != "loss"]


def _draw_panel(ax, name, train, val, xlabel):
    colors = class_colors(2)
    for values, label, color in ((train, name, colors[0]), (val, "val_" + name, colors[1])):
        if values is not None:
            marker = "o" if len(values) <= 30 else None
            ax.plot(np.arange(1, len(values) + 1), values, color=color, marker=marker, markersize=3,
                    label=label)
    if val is not None and np.any(np.isfinite(val)):
        finite = np.where(np.isfinite(val), val, np.nan)
        higher = any(token in name.lower() for token in _HIGHER_IS_BETTER)
        best = int(np.nanargmax(finite) if higher else np.nanargmin(finite))
        ax.axvline(best + 1, color="0.4", linestyle="--", linewidth=1)
        ax.plot([best + 1], [val[best]], marker="*", markersize=11, color=colors[1], linestyle="none",
                label=f"best val_{name} {val[best]:.4g} ({xlabel} {best + 1})")
    ax.set_title(name)
    ax.set_xlabel(xlabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
