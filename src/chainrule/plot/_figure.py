"""The figure plumbing every plot shares: the optional matplotlib import, size checks, saving, colours."""

import math
import numbers
import os
import pathlib

from chainrule.errors import ChainruleError

__all__ = ["new_figure", "save_png", "class_colors", "region_colors"]

# matplotlib's "tab10" palette, written out so picking colours needs no colormap lookup.
_TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def new_figure(fn, path, figsize, dpi, ncols=1):
    """A matplotlib Figure on its own Agg canvas and a list of its ``ncols`` axes, side by side.

    Checks ``path``, ``figsize`` and ``dpi`` first, so a bad option fails before any drawing.
    """
    _check_path(fn, path)
    _check_size(fn, figsize, dpi)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ChainruleError(f"{fn}: plotting needs matplotlib, which is not installed. "
                             f"Hint: pip install chainrule[plot].") from None
    # Figure + FigureCanvasAgg instead of pyplot: no global figure registry, no backend switch.
    fig = Figure(figsize=tuple(figsize), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def save_png(fig, path, dpi):
    """Write ``fig`` as a PNG of exactly figsize * dpi pixels, free it, and return the path."""
    path = pathlib.Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi, format="png")  # no bbox_inches="tight": it would change the size
    finally:
        fig.clear()
    return path


def class_colors(n):
    """``n`` distinct RGB colours, one per class: tab10 for up to ten classes, else evenly spaced hues."""
    from matplotlib.colors import hsv_to_rgb, to_rgb
    if n <= len(_TAB10):
        return [to_rgb(c) for c in _TAB10[:n]]
    return [tuple(hsv_to_rgb((i / n, 0.65, 0.8))) for i in range(n)]


def region_colors(n):
    """Light tints of :func:`class_colors`, for areas the class points are drawn on top of."""
    return [tuple(0.4 * c + 0.6 for c in rgb) for rgb in class_colors(n)]


def _check_path(fn, path):
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ChainruleError(f"{fn}: path must name a file; expected a str or os.PathLike, got {path!r}.")


def _positive(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def _check_size(fn, figsize, dpi):
    if (not isinstance(figsize, (tuple, list)) or len(figsize) != 2
            or not all(_positive(v) for v in figsize)):
        raise ChainruleError(f"{fn}: figsize must be (width, height) in inches; expected two positive "
                             f"numbers, got {figsize!r}.")
    if not _positive(dpi):
        raise ChainruleError(f"{fn}: dpi must be positive; expected a positive number, got {dpi!r}.")
