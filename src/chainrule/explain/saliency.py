"""Which inputs a prediction depends on: gradient saliency and integrated gradients.

Both explain one class score, the logit of ``target``, by a number per input element:

* ``saliency``: the gradient d score / d x at the input (Simonyan et al., 2013). Cheap, but
  local: it says how the score would move for a small change, not what the input contributed.
* ``integrated_gradients``: the gradient averaged along the straight path from a baseline to the
  input, times (x - baseline) (Sundararajan et al., 2017). The attributions add up to
  score(x) - score(baseline) ("completeness"), which is checked on every call.

Gradients are taken with ``chainrule.grad`` with respect to the input only, so parameters' ``.grad``
is never touched; the model runs in eval mode (dropout off, running statistics) and gets its
training flags back afterwards. ``saliency_overlay`` draws attributions on an image (matplotlib,
the ``plot`` extra) and ``token_table`` prints them per token for text models.
"""

import math
import numbers
import warnings
from contextlib import contextmanager
from typing import NamedTuple, Union

import numpy as np

from chainrule.autograd.engine import enable_grad, grad, no_grad
from chainrule.errors import ChainruleError, ShapeError
from chainrule.nn.module import Module
from chainrule.plot._figure import new_figure, save_png
from chainrule.tensor import Tensor

__all__ = ["saliency", "integrated_gradients", "IntegratedGradients", "saliency_overlay", "token_table"]

_REDUCTIONS = (None, "abs", "max_abs")
_METHODS = ("trapezoid", "midpoint")
_ON_INCOMPLETE = ("warn", "raise", "ignore")


class IntegratedGradients(NamedTuple):
    """What ``integrated_gradients`` found.

    ``attributions`` is shaped like the input. ``score_difference`` is score(x) - score(baseline)
    and ``completeness_error`` is |sum(attributions) - score_difference| / |score_difference|: floats
    for one sample, arrays with one value per sample for a batch.
    """
    attributions: np.ndarray
    score_difference: Union[float, np.ndarray]
    completeness_error: Union[float, np.ndarray]


# --- the shared machinery ---------------------------------------------------------------------

@contextmanager
def _eval_mode(model):
    """Run ``model`` in eval mode, then give every sub-module its own training flag back."""
    if not isinstance(model, Module):
        yield
        return
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in flags:
            object.__setattr__(module, "training", training)


def _as_input(fn, x):
    """The input as a float ndarray (ints and bools become the default float32)."""
    array = x.data if isinstance(x, Tensor) else np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise ChainruleError(f"{fn}: x must hold numbers; expected a float array or Tensor, got dtype {array.dtype}.")
    if array.dtype.kind != "f" or array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float32)
    return array


def _batch(fn, x, batched):
    """(batch, single): the input with a leading batch axis, and whether one was added."""
    if batched:
        if x.ndim == 0 or x.shape[0] == 0:
            raise ShapeError(f"{fn}: x is not a batch; expected shape (N, ...) with N >= 1, got {x.shape}. "
                             f"Hint: pass batched=False for one sample.")
        return x, False
    return x[None], True


def _targets(fn, target, n):
    """One class index per sample, from an int or a sequence of n ints."""
    if isinstance(target, Tensor):
        target = target.data
    array = np.asarray(target)
    if array.dtype.kind not in "iu" and not (array.dtype.kind == "f" and np.all(array == np.round(array))):
        raise ChainruleError(f"{fn}: target must be a class index; expected an int or one int per sample, "
                             f"got {target!r:.80}.")
    if array.ndim == 0:
        array = np.full(n, int(array))
    if array.shape != (n,):
        raise ShapeError(f"{fn}: wrong number of targets; expected an int or {n} (one per sample), "
                         f"got shape {array.shape}.")
    return array.astype(np.int64)


def _target_scores(fn, model, inputs, targets, with_grad):
    """The logit of each sample's target class; with ``with_grad`` also its gradient w.r.t. the input.

    One backward serves the whole batch: a one-hot upstream gradient picks each sample's target
    logit, and in eval mode a sample's score depends on its own input only, so the gradient with
    respect to the batch holds every sample's gradient in its own row.
    """
    leaf = Tensor(inputs, requires_grad=with_grad)
    with enable_grad() if with_grad else no_grad():
        logits = model(leaf)
    if not isinstance(logits, Tensor) or logits.ndim != 2 or logits.shape[0] != len(inputs):
        shape = logits.shape if isinstance(logits, Tensor) else type(logits).__name__
        raise ShapeError(f"{fn}: the model must return one row of class scores per sample; expected logits "
                         f"of shape ({len(inputs)}, classes), got {shape}. Hint: pass batched=False for one sample.")
    classes = logits.shape[1]
    if targets.min() < 0 or targets.max() >= classes:
        raise ChainruleError(f"{fn}: target out of range; expected classes 0..{classes - 1}, "
                             f"got {targets.min() if targets.min() < 0 else targets.max()}.")
    rows = np.arange(len(inputs))
    scores = logits.data[rows, targets].astype(np.float64)
    if not with_grad:
        return scores, None
    one_hot = np.zeros(logits.shape, dtype=logits.dtype)
    one_hot[rows, targets] = 1
    (gradient,) = grad(logits, leaf, grad_outputs=Tensor(one_hot))
    return scores, gradient.data


def _reduce(fn, gradient, reduce, single):
    if reduce is None:
        return gradient
    if reduce == "abs":
        return np.abs(gradient)
    if gradient.ndim < 4:
        raise ShapeError(f"{fn}: reduce='max_abs' takes the maximum over image channels; expected inputs of "
                         f"shape (C, H, W) or (N, C, H, W), got {gradient.shape[1:] if single else gradient.shape}.")
    return np.abs(gradient).max(axis=1)


# --- saliency ---------------------------------------------------------------------------------

def saliency(model, x, target, batched=True, reduce=None):
    """The gradient of the target class score (logit) with respect to the input.

    Args:
        model: a callable mapping a batch to logits of shape (N, classes), usually an ``nn.Module``;
            it runs in eval mode and gets its training flags back.
        x: a batch (N, ...) as an ndarray or Tensor; with ``batched=False``, one sample.
        target: the class to explain: an int, or one int per sample.
        batched: whether ``x`` has a leading batch axis.
        reduce: None for the signed gradient; ``"abs"`` for its magnitude; ``"max_abs"`` for the
            largest magnitude over the channels of an image, shape (N, H, W) or (H, W) (the saliency
            map of Simonyan et al.).

    Returns:
        An ndarray shaped like ``x`` (without the channel axis for ``"max_abs"``), in x's float dtype.

    Raises:
        ShapeError: the model's output is not (N, classes), or the targets do not match the batch.
        ChainruleError: a target is not a class of the model, or ``reduce`` is unknown.

    Example:
        >>> import numpy as np
        >>> import chainrule as cr
        >>> from chainrule.explain.saliency import saliency
        >>> model = cr.nn.Linear(3, 2)
        >>> g = saliency(model, np.ones(3), target=1, batched=False)
        >>> bool(np.allclose(g, model.weight.numpy()[1]))
        True
    """
    fn = "saliency"
    if reduce not in _REDUCTIONS:
        raise ChainruleError(f"{fn}: unknown reduce; expected one of {_REDUCTIONS}, got {reduce!r}.")
    inputs, single = _batch(fn, _as_input(fn, x), batched)
    targets = _targets(fn, target, len(inputs))
    with _eval_mode(model):
        _, gradient = _target_scores(fn, model, inputs, targets, with_grad=True)
    gradient = _reduce(fn, gradient.astype(inputs.dtype, copy=False), reduce, single)
    return gradient[0] if single else gradient


# --- integrated gradients ---------------------------------------------------------------------

def _path_points(fn, steps, method):
    """The path fractions alpha in [0, 1] and the quadrature weights (summing to 1) for each."""
    if method not in _METHODS:
        raise ChainruleError(f"{fn}: unknown method; expected one of {_METHODS}, got {method!r}.")
    least = 2 if method == "trapezoid" else 1
    if not isinstance(steps, numbers.Integral) or isinstance(steps, bool) or steps < least:
        raise ChainruleError(f"{fn}: steps must be a whole number of path points; expected an int >= {least} "
                             f"for method={method!r}, got {steps!r}.")
    if method == "trapezoid":  # both ends included, each with half a weight
        alphas = np.linspace(0.0, 1.0, steps)
        weights = np.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] /= 2
    else:  # the middle of each of `steps` equal pieces
        alphas = (np.arange(steps) + 0.5) / steps
        weights = np.full(steps, 1.0 / steps)
    return alphas, weights


def _baseline(fn, baseline, inputs, single):
    if baseline is None:
        return np.zeros_like(inputs)
    base = _as_input(fn, baseline).astype(inputs.dtype, copy=False)
    if single:
        base = base[None]
    try:
        return np.broadcast_to(base, inputs.shape)
    except ValueError:
        raise ShapeError(f"{fn}: baseline does not fit the input; expected a shape that broadcasts to "
                         f"{inputs.shape[1:] if single else inputs.shape}, got {np.shape(baseline)}.") from None


def _check_completeness(fn, total, difference, error, steps, tolerance, on_incomplete):
    worst = int(np.argmax(error))
    if on_incomplete == "ignore" or not error[worst] > tolerance:
        return
    sample = f" for sample {worst}" if len(error) > 1 else ""
    message = (f"{fn}: the attributions do not add up to the score difference{sample}; expected a relative "
               f"error within {tolerance:.2%}, got {error[worst]:.2%} (they sum to {total[worst]:.6g}, "
               f"score(x) - score(baseline) = {difference[worst]:.6g}). Hint: use more steps than "
               f"steps={steps}, e.g. steps={4 * steps}.")
    if on_incomplete == "raise":
        raise ChainruleError(message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def integrated_gradients(model, x, target, baseline=None, steps=50, batched=True, method="trapezoid",
                         batch_size=256, tolerance=0.01, on_incomplete="warn"):
    """Integrated gradients: (x - baseline) times the average gradient on the path between them.

    ``IG_i = (x_i - b_i) * integral_0^1 d score(b + a (x - b)) / d x_i da``, the integral taken by
    a quadrature rule over ``steps`` points. Along the path the score changes by exactly the
    integral of its gradient, so the attributions sum to score(x) - score(b) up to the quadrature
    error; that relative error is measured and reported.

    Args:
        model: a callable mapping a batch to logits (N, classes); run in eval mode, flags restored.
        x: a batch (N, ...) as an ndarray or Tensor; with ``batched=False``, one sample.
        target: the class to explain: an int, or one int per sample.
        baseline: the reference input meaning "nothing" (default all zeros), shaped like x or one
            sample, or anything that broadcasts to it.
        steps: points on the path. Smooth models need few; ReLU networks more.
        batched: whether ``x`` has a leading batch axis.
        method: ``"trapezoid"`` (both ends, steps >= 2) or ``"midpoint"`` (centres of steps pieces).
        batch_size: the most path points fed to the model in one forward pass.
        tolerance: the largest acceptable relative completeness error (0.01 is 1%).
        on_incomplete: ``"warn"`` (RuntimeWarning), ``"raise"`` (ChainruleError) or ``"ignore"``
            when the error exceeds ``tolerance``.

    Returns:
        IntegratedGradients(attributions, score_difference, completeness_error); attributions are
        shaped like x in its float dtype, the other two are floats (one sample) or (N,) arrays.

    Raises:
        ChainruleError: bad options, a target outside the classes, or incompleteness with
            ``on_incomplete="raise"``.
        ShapeError: the baseline or targets do not fit x, or the logits are not (N, classes).

    Example:
        >>> import numpy as np
        >>> import chainrule as cr
        >>> from chainrule.explain.saliency import integrated_gradients
        >>> model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2)).double()
        >>> result = integrated_gradients(model, np.array([0.5, -1.0, 2.0]), target=0, batched=False)
        >>> bool(result.completeness_error < 0.01)
        True
    """
    fn = "integrated_gradients"
    if on_incomplete not in _ON_INCOMPLETE:
        raise ChainruleError(f"{fn}: unknown on_incomplete; expected one of {_ON_INCOMPLETE}, got {on_incomplete!r}.")
    if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) or batch_size < 1:
        raise ChainruleError(f"{fn}: batch_size must be a positive int; expected >= 1, got {batch_size!r}.")
    if not isinstance(tolerance, numbers.Real) or not math.isfinite(tolerance) or tolerance < 0:
        raise ChainruleError(f"{fn}: tolerance must be a relative error; expected a number >= 0, got {tolerance!r}.")
    alphas, weights = _path_points(fn, steps, method)
    inputs, single = _batch(fn, _as_input(fn, x), batched)
    base = _baseline(fn, baseline, inputs, single)
    n = len(inputs)
    targets = _targets(fn, target, n)
    delta = inputs.astype(np.float64) - base
    per_forward = max(1, batch_size // n)  # path points per forward pass, each for every sample
    with _eval_mode(model):
        ends, _ = _target_scores(fn, model, np.concatenate([inputs, base]), np.tile(targets, 2), with_grad=False)
        mean_gradient = np.zeros(inputs.shape, dtype=np.float64)
        for start in range(0, len(alphas), per_forward):
            chunk = alphas[start:start + per_forward]
            shape = (len(chunk),) + (1,) * inputs.ndim
            points = (base + chunk.reshape(shape) * delta).astype(inputs.dtype)
            _, gradient = _target_scores(fn, model, points.reshape((-1,) + inputs.shape[1:]),
                                         np.tile(targets, len(chunk)), with_grad=True)
            gradient = gradient.reshape((len(chunk),) + inputs.shape)
            mean_gradient += np.tensordot(weights[start:start + per_forward], gradient, axes=1)
    attributions = delta * mean_gradient
    difference = ends[:n] - ends[n:]
    total = attributions.reshape(n, -1).sum(axis=1)
    gap = np.abs(total - difference)
    # Relative to the score difference; when x scores exactly like the baseline, the gap itself.
    error = np.where(difference != 0, gap / np.where(difference != 0, np.abs(difference), 1.0), gap)
    _check_completeness(fn, total, difference, error, steps, tolerance, on_incomplete)
    attributions = attributions.astype(inputs.dtype)
    if single:
        return IntegratedGradients(attributions[0], float(difference[0]), float(error[0]))
    return IntegratedGradients(attributions, difference, error)


# --- renderings -------------------------------------------------------------------------------

def _as_plane(fn, name, values, combine):
    """An (H, W) float64 array from (H, W) or channels-first (C, H, W), combining channels with ``combine``."""
    array = np.asarray(values.data if isinstance(values, Tensor) else values)
    if array.dtype.kind not in "biuf":
        raise ChainruleError(f"{fn}: {name} must hold numbers; expected a float array, got dtype {array.dtype}.")
    array = array.astype(np.float64)
    if array.ndim == 3:
        array = combine(array, axis=0)
    if array.ndim != 2 or 0 in array.shape:
        raise ShapeError(f"{fn}: {name} is not an image; expected shape (H, W) or (C, H, W), got {np.shape(values)}.")
    if not np.all(np.isfinite(array)):
        raise ChainruleError(f"{fn}: {name} holds NaN or infinity; expected finite values.")
    return array


def saliency_overlay(image, attributions, path, alpha=0.7, cmap="bwr", title=None, figsize=(4.0, 3.5), dpi=100):
    """Draw ``image`` in gray with the attributions as a heatmap on top, and write it as a PNG.

    The heatmap uses a diverging colormap centred on zero (red raises the score, blue lowers it
    with the default ``"bwr"``); each pixel's opacity grows with its attribution's magnitude, so
    pixels that do not matter show the image underneath.

    Args:
        image: (H, W), or channels-first (C, H, W) drawn as the channel mean.
        attributions: (H, W) or (C, H, W), summed over channels; e.g. from ``integrated_gradients``.
        path: where to write the PNG; missing folders are created.
        alpha: the opacity of the strongest attribution, in [0, 1].
        cmap: a matplotlib colormap name, ideally diverging.
        title: drawn above the image if given.
        figsize: (width, height) in inches.
        dpi: pixels per inch; the PNG is figsize * dpi pixels.

    Returns:
        The path of the PNG, as a pathlib.Path.

    Raises:
        ShapeError: the image and attributions are not images of the same height and width.
        ChainruleError: matplotlib is missing (``pip install chainrule[plot]``), or a bad option.
    """
    fn = "saliency_overlay"
    gray = _as_plane(fn, "image", image, np.mean)
    heat = _as_plane(fn, "attributions", attributions, np.sum)
    if gray.shape != heat.shape:
        raise ShapeError(f"{fn}: image and attributions differ in size; expected attributions of height and "
                         f"width {gray.shape}, got {heat.shape}.")
    if not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
        raise ChainruleError(f"{fn}: alpha is an opacity; expected a number in [0, 1], got {alpha!r}.")
    fig, axes = new_figure(fn, path, figsize, dpi)
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    ax = axes[0]
    ax.imshow(gray, cmap="gray", interpolation="nearest")
    limit = float(np.abs(heat).max()) or 1.0  # symmetric around 0, so white means "no effect"
    norm = Normalize(vmin=-limit, vmax=limit)
    colormap = colormaps[cmap]
    colors = colormap(norm(heat))
    colors[..., 3] = alpha * np.abs(heat) / limit
    ax.imshow(colors, interpolation="nearest")
    fig.colorbar(ScalarMappable(norm=norm, cmap=colormap), ax=ax, label="attribution")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(str(title))
    return save_png(fig, path, dpi)


def token_table(tokens, attributions, width=20):
    """A text table of tokens with their attributions and a bar: ``#`` raises the score, ``-`` lowers it.

    Args:
        tokens: a sequence of T tokens (anything with ``str``).
        attributions: (T,), or (T, D) per embedding feature, summed over D (which keeps completeness).
        width: the characters of the longest bar; the others are scaled to it.

    Returns:
        The table as one string, one line per token under a header.

    Raises:
        ShapeError: the attributions do not give one number per token.

    Example:
        >>> print(token_table(["good", "not", "movie"], [0.5, -0.25, 0.0], width=4))
        token  attribution  bar
        -----  -----------  ----
        good       +0.5000  ####
        not        -0.2500  --
        movie      +0.0000
    """
    fn = "token_table"
    tokens = [str(t) for t in tokens]
    values = np.asarray(attributions.data if isinstance(attributions, Tensor) else attributions)
    if values.dtype.kind not in "biuf":
        raise ChainruleError(f"{fn}: attributions must hold numbers; expected floats, got dtype {values.dtype}.")
    values = values.astype(np.float64)
    if values.ndim == 2:
        values = values.sum(axis=1)
    if values.ndim != 1 or len(values) != len(tokens):
        raise ShapeError(f"{fn}: one attribution per token; expected shape ({len(tokens)},) or ({len(tokens)}, D), "
                         f"got {np.shape(attributions)}.")
    if not isinstance(width, numbers.Integral) or isinstance(width, bool) or width < 1:
        raise ChainruleError(f"{fn}: width is a number of characters; expected an int >= 1, got {width!r}.")
    largest = float(np.abs(values).max()) if len(values) else 0.0
    numbers_text = [f"{v:+.4f}" for v in values]
    token_width = max([len("token")] + [len(t) for t in tokens])
    value_width = max([len("attribution")] + [len(s) for s in numbers_text])
    lines = [f"{'token':<{token_width}}  {'attribution':>{value_width}}  bar",
             f"{'-' * token_width}  {'-' * value_width}  {'-' * max(3, width)}"]
    for token, value, text in zip(tokens, values, numbers_text):
        length = round(width * abs(value) / largest) if largest > 0 else 0
        bar = ("#" if value > 0 else "-") * length
        lines.append(f"{token:<{token_width}}  {text:>{value_width}}  {bar}".rstrip())
    return "\n".join(lines)
