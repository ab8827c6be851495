"""Classification losses with PyTorch's reductions, weights and conventions.

Fused into one primitive each (one graph node, the gradient written once):

- ``cross_entropy``: log-softmax and negative log-likelihood together, for stability (logits of any
  size; the gradient is the bounded ``softmax - target`` instead of a division by probabilities)
  and speed. Class indices or class probabilities, weight, ignore_index, label_smoothing.
- ``nll_loss``: picks and weights log-probabilities, for speed (one node instead of a gather, a
  multiply and a weighted mean).
- ``binary_cross_entropy``: for PyTorch's clamping of the logs at -100, so p = 0 or 1 gives a
  finite loss.
- ``binary_cross_entropy_with_logits``: for stability, written with softplus so no logit
  overflows e**x.

Reductions: "mean" (the weighted mean ``sum(w_i loss_i) / sum(w_i)`` for class-index targets of
cross_entropy and nll_loss, ignored targets excluded), "sum", "none". A mean over nothing is NaN,
as in PyTorch. Regression and divergence losses are in ``chainrule.ops.regression_loss``.
"""

import numpy as np

from chainrule.autograd._vjp_math import on_tensors, relu_array
from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, values
from chainrule.errors import DTypeError, IndexingError, ShapeError
from chainrule.ops._loss_reduction import (REDUCTIONS, array_of, check_reduction, float_input, reduce,
                                           same_shape_operands, upstream)
from chainrule.ops._operands import as_tensor
from chainrule.ops.activation import log_softmax, softplus
from chainrule.tensor import Tensor

__all__ = ["cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"]



def _kept(shape, dim):
    """``shape`` with ``dim`` reduced to size 1 (keepdim)."""
    return shape[:dim] + (1,) + shape[dim + 1:]


def _per_row(ctx, grad_out):
    """The upstream gradient of each row's loss, with the class dim put back for broadcasting."""
    g = upstream(ctx, grad_out)
    if ctx.reduction == "none":
        g = g.reshape(grad_out.shape[:ctx.dim] + (1,) + grad_out.shape[ctx.dim:])
    return g


def _along(ndim, dim, size):
    """The shape (1, ..., size, ..., 1) of ``ndim`` dims that broadcasts a per-class vector along ``dim``."""
    return (1,) * dim + (size,) + (1,) * (ndim - dim - 1)


def _class_dim(input):
    return 1 if input.ndim > 1 else 0


def _store_class_options(ctx, input, target, weight, ignore_index, label_smoothing):
    ctx.dim = _class_dim(input)
    ctx.n_classes = input.shape[ctx.dim]
    ctx.classes = target  # integer targets are constants: kept as an attribute, never differentiated
    ctx.weight = None if weight is None else np.asarray(weight, dtype=input.dtype)
    # The weight shaped to broadcast along the class dim of the input (1 when there is none).
    ctx.class_weight = 1 if weight is None else ctx.weight.reshape(_along(input.ndim, ctx.dim, ctx.n_classes))
    ctx.ignore_index = ignore_index
    ctx.smoothing = label_smoothing


def _unsqueeze(array, dim):
    return array.reshape(array.shape[:dim] + (1,) + array.shape[dim:])  # cheaper than np.expand_dims


def _pick(ctx, log_probs):
    """Per row, w_y * log_probs[y] (0 on ignored rows), and the weighted mean's denominator sum(w_y).

    Keeps, with the class dim put back, the target (ignored rows pointing at class 0), the row
    weights and the kept-row mask, from which backward builds the dense weights.
    """
    dim = ctx.dim
    valid = ctx.classes != ctx.ignore_index
    safe = _unsqueeze(np.where(valid, ctx.classes, 0), dim)
    kept = valid.astype(log_probs.dtype)
    row_weight = kept if ctx.weight is None else ctx.weight[np.where(valid, ctx.classes, 0)] * kept
    if log_probs.ndim == 2:  # (N, C): plain indexing, a few µs cheaper than take_along_axis
        picked = log_probs[np.arange(len(safe)), safe[:, 0]]
    else:
        picked = np.take_along_axis(log_probs, safe, dim).squeeze(dim)
    ctx.safe, ctx.kept, ctx.row_weight = safe, _unsqueeze(kept, dim), _unsqueeze(row_weight, dim)
    # where, not multiply: a -inf log-probability on an ignored row must not make NaN.
    return np.where(valid, picked * row_weight, 0), row_weight.sum()


def _class_weights(ctx):
    """Dense (input-shaped) weights q of the log-probabilities for class-index targets:
    q = (1 - s) w_y [c == y] + s w_c / C on kept rows, 0 on ignored ones (s = label_smoothing)."""
    classes = np.arange(ctx.n_classes).reshape(_along(ctx.safe.ndim, ctx.dim, ctx.n_classes))
    q = (classes == ctx.safe) * (ctx.row_weight * (1 - ctx.smoothing) if ctx.smoothing else ctx.row_weight)
    if ctx.smoothing:
        q += ctx.kept * (ctx.class_weight * (ctx.smoothing / ctx.n_classes))
    return q


def _probability_weights(ctx, target):
    """q = w * ((1 - s) * target + s / C) for probability targets (arrays or Tensors)."""
    q = target * (1 - ctx.smoothing) + ctx.smoothing / ctx.n_classes if ctx.smoothing else target
    return q if ctx.weight is None else q * ctx.class_weight


# --- classification ----------------------------------------------------------------------------

def _cross_entropy_samples(rng):
    n, c = 4, 3
    classes = np.array([0, 2, 1, 2])
    probs = rng.dirichlet(np.ones(c), size=n)
    weight = values(rng, (c,), 0.5, 2.0)
    return [
        Sample((values(rng, (n, c)), classes), {"reduction": "mean"}, "class indices, mean"),
        Sample((values(rng, (n, c)), classes), {"reduction": "none"}, "class indices, none"),
        Sample((values(rng, (2, 5)), np.array([4, 1])), {"reduction": "sum"}, "more classes than rows"),
        Sample((values(rng, (n, c)), classes), {"reduction": "sum", "weight": weight}, "weighted sum"),
        Sample((values(rng, (n, c)), np.array([0, -100, 1, 2])),
               {"reduction": "mean", "weight": weight, "label_smoothing": 0.2}, "ignored row, weight, smoothing"),
        Sample((values(rng, (2, c, 2)), np.array([[0, 2], [1, 1]])), {"reduction": "none"}, "(N, C, d) none"),
        Sample((values(rng, (c,)), np.array(1)), {"reduction": "mean", "label_smoothing": 0.1}, "unbatched"),
        Sample((values(rng, (n, c)), probs), {"reduction": "mean", "weight": weight}, "probabilities, weight"),
        Sample((values(rng, (n, c)), probs), {"reduction": "none", "label_smoothing": 0.3},
               "probabilities, smoothing, none"),
        Sample((values(rng, (2, c)) + np.array([[400.0], [-400.0]]), np.array([1, 0])), {"reduction": "sum"},
               "huge logits"),
    ]


def _is_plain(input, target, weight, ignore_index, label_smoothing):
    """True for the common case of a classifier's training step: (N, C) logits, one class index per
    row and none of them ignored, no class weights, no smoothing."""
    return (input.ndim == 2 and target.dtype.kind in "iu" and weight is None and not label_smoothing
            and not (target == ignore_index).any())


def _plain_forward(ctx, input, classes, reduction):
    """cross_entropy of the plain case in a few whole-array calls; keeps the softmax for backward.

    Each row's loss is log(sum_c e^(x_c - m)) - (x_y - m), with m the row's largest logit.
    """
    n, n_classes = input.shape
    # NumPy reduces along a short last axis one row at a time: with fewer classes than rows, the
    # reductions over a class-major copy take a third of the time (2 against 7 µs for 128 x 10).
    if n_classes < n:
        work = input.T.copy()
        work -= work.max(axis=0, keepdims=True)
        by_row, class_axis = work.T, 0
    else:
        work = by_row = input - input.max(axis=1, keepdims=True)
        class_axis = 1
    rows = np.arange(n)
    losses = -by_row[rows, classes]
    np.exp(work, out=work)
    totals = work.sum(axis=class_axis, keepdims=True)
    losses += np.log(totals).reshape(n)
    work /= totals
    ctx.save_for_backward(input, by_row)
    ctx.classes, ctx.rows, ctx.reduction = classes, rows, reduction
    if reduction == "none":
        return losses
    total = losses.sum()
    return total if reduction == "sum" else total / np.asarray(n, dtype=losses.dtype)


def _plain_backward(ctx, grad_out):
    """grad_x = g * (softmax(x) - onehot(y)), g the upstream gradient of each row's loss."""
    g = grad_out
    if ctx.reduction == "mean":
        g = g / len(ctx.classes)
    elif ctx.reduction == "none":
        g = g.reshape((-1, 1))
    if on_tensors(ctx):  # build the gradient from input, so that it can be differentiated again
        input = ctx.saved[0]
        one_hot = np.arange(input.shape[1]) == ctx.classes[:, None]
        return g * (ctx.xp.exp(log_softmax(input, dim=1)) - one_hot.astype(input.dtype))
    grad = ctx.saved[1].copy(order="C")
    grad[ctx.rows, ctx.classes] -= 1
    grad *= g
    return grad


@register("cross_entropy", samples=_cross_entropy_samples)
class CrossEntropy(Function):
    """Log-softmax and NLL fused.  With q the weighted (smoothed) target of each class,
    out = -sum_c q_c log softmax(x)_c per row, reduced;  grad_x = g * (softmax(x) * sum_c q_c - q),
    grad_target (probabilities) = -g * (1 - label_smoothing) * w * log softmax(x)."""

    @staticmethod
    def forward(ctx, input, target, *, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
        ctx.plain = _is_plain(input, target, weight, ignore_index, label_smoothing)
        if ctx.plain:
            return _plain_forward(ctx, input, target, reduction)
        _store_class_options(ctx, input, target, weight, ignore_index, label_smoothing)
        dim, n_classes = ctx.dim, ctx.n_classes
        shifted = input - input.max(axis=dim, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.probabilities = target.dtype.kind == "f"
        if ctx.probabilities:
            ctx.save_for_backward(input, target, log_probs)
            losses = -(_probability_weights(ctx, target) * log_probs).sum(axis=dim)
            return reduce(ctx, losses, reduction, input.size // max(n_classes, 1))
        ctx.save_for_backward(input, log_probs)
        picked, denominator = _pick(ctx, log_probs)
        losses = -picked
        if label_smoothing:
            smooth = np.where(target != ignore_index, (log_probs * ctx.class_weight).sum(axis=dim), 0)
            losses = losses * (1 - label_smoothing) - smooth * (label_smoothing / n_classes)
        return reduce(ctx, losses, reduction, denominator)

    @staticmethod
    def backward(ctx, grad_out):
        if ctx.plain:
            return _plain_backward(ctx, grad_out), None
        input, log_probs = ctx.saved[0], ctx.saved[-1]
        target = ctx.saved[1] if ctx.probabilities else None
        if on_tensors(ctx):  # the saved log_probs would be a constant: recompute them from input
            log_probs = log_softmax(input, dim=ctx.dim)
        g = _per_row(ctx, grad_out)
        q = _probability_weights(ctx, target) if ctx.probabilities else _class_weights(ctx)
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            total = q.sum(ctx.dim).reshape(_kept(q.shape, ctx.dim))
            grad_input = g * (ctx.xp.exp(log_probs) * total - q)
        if ctx.needs_input_grad[1]:
            grad_target = g * log_probs * (ctx.class_weight * -(1 - ctx.smoothing))
        return grad_input, grad_target


def _nll_samples(rng):
    weight = values(rng, (3,), 0.5, 2.0)
    return [
        Sample((values(rng, (4, 3), -3.0, 0.0), np.array([0, 2, 1, 2])), {"reduction": "mean"}, "mean"),
        Sample((values(rng, (4, 3), -3.0, 0.0), np.array([0, 2, -100, 2])), {"reduction": "mean", "weight": weight},
               "weighted mean with an ignored row"),
        Sample((values(rng, (2, 3, 2), -3.0, 0.0), np.array([[0, 2], [1, 1]])),
               {"reduction": "none", "ignore_index": 1}, "(N, C, d) none, ignore_index 1"),
        Sample((values(rng, (3,), -3.0, 0.0), np.array(2)), {"reduction": "sum"}, "unbatched"),
    ]


@register("nll_loss", samples=_nll_samples)
class NLLLoss(Function):
    """Negative log-likelihood of log-probabilities, fused for speed.
    out = -w_y * input[y] per row (0 where ignored), reduced;  grad_input = -g * w_y at class y, 0 elsewhere."""

    @staticmethod
    def forward(ctx, input, target, *, weight=None, ignore_index=-100, reduction="mean"):
        _store_class_options(ctx, input, target, weight, ignore_index, 0.0)
        picked, denominator = _pick(ctx, input)
        return reduce(ctx, -picked, reduction, denominator)

    @staticmethod
    def backward(ctx, grad_out):
        g = _per_row(ctx, grad_out)
        q = _class_weights(ctx)
        return -(g * q), None


_LOG_FLOOR = -100.0  # PyTorch clamps binary_cross_entropy's logs here
_TINY_PRODUCT = 1e-12  # PyTorch's floor of p (1 - p) in the gradient


def _clamped_log(xp, x, x_values):
    """max(log x, -100), on arrays or Tensors, without evaluating log 0."""
    positive = x_values > np.exp(_LOG_FLOOR)
    return xp.where(positive, xp.log(xp.where(positive, x, 1.0)), _LOG_FLOOR)


def _softplus_of_negative(x):
    """log(1 + e**-x) = max(-x, 0) + log1p(e**-|x|), which never overflows."""
    return relu_array(-x) + np.log1p(np.exp(-np.abs(x)))


def _bce_samples(rng):
    shape = (4, 3)
    return [Sample((values(rng, shape, 0.05, 0.95), values(rng, shape, 0.0, 1.0)), {"reduction": reduction})
            for reduction in REDUCTIONS] + [
        Sample((values(rng, shape, 0.05, 0.95), values(rng, shape, 0.0, 1.0)),
               {"reduction": "mean", "weight": values(rng, (3,), 0.5, 2.0)}, "weight broadcast over rows"),
        Sample((values(rng, (), 0.05, 0.95), values(rng, (), 0.0, 1.0)), {"reduction": "sum"}, "0-d")]


@register("binary_cross_entropy", samples=_bce_samples)
class BinaryCrossEntropy(Function):
    """Cross-entropy of probabilities p against targets t, logs clamped at -100 as PyTorch.
    out = -w (t log p + (1 - t) log(1 - p)), reduced;  grad_p = g w (p - t) / max(p (1 - p), 1e-12),
    grad_t = g w (log(1 - p) - log p) with the clamped logs (at p = 0 or 1: +-100 w g, the slope of
    the clamped loss; PyTorch gives +-inf there)."""

    @staticmethod
    def forward(ctx, input, target, *, weight=None, reduction="mean"):
        ctx.save_for_backward(input, target)
        ctx.weight = 1 if weight is None else np.asarray(weight, dtype=input.dtype)
        log_p = _clamped_log(np, input, input)
        log_not_p = _clamped_log(np, 1 - input, 1 - input)
        losses = -(target * (log_p - log_not_p) + log_not_p) * ctx.weight
        return reduce(ctx, losses, reduction, input.size)

    @staticmethod
    def backward(ctx, grad_out):
        input, target = ctx.saved
        xp, p = ctx.xp, array_of(input)
        g = upstream(ctx, grad_out) * ctx.weight
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            product = input - input * input
            floored = xp.where(p - p * p > _TINY_PRODUCT, product, _TINY_PRODUCT)
            grad_input = g * (input - target) / floored
        if ctx.needs_input_grad[1]:
            grad_target = g * (_clamped_log(xp, 1 - input, 1 - p) - _clamped_log(xp, input, p))
        return grad_input, grad_target


def _bce_logits_samples(rng):
    shape = (4, 3)
    return [Sample((values(rng, shape, -3.0, 3.0), values(rng, shape, 0.0, 1.0)), {"reduction": reduction})
            for reduction in REDUCTIONS] + [
        Sample((values(rng, shape, -3.0, 3.0), values(rng, shape, 0.0, 1.0)),
               {"reduction": "mean", "weight": values(rng, (4, 1), 0.5, 2.0),
                "pos_weight": values(rng, (3,), 0.5, 3.0)}, "weight and pos_weight"),
        Sample((values(rng, (2, 2), 30.0, 60.0) * np.array([1, -1]), values(rng, (2, 2), 0.0, 1.0)),
               {"reduction": "sum"}, "huge logits")]


@register("binary_cross_entropy_with_logits", samples=_bce_logits_samples)
class BinaryCrossEntropyWithLogits(Function):
    """Binary cross-entropy of logits x, fused with the sigmoid for stability. With
    l = 1 + (pos_weight - 1) t:  out = w ((1 - t) x + l softplus(-x)), reduced;
    grad_x = g w (l sigmoid(x) - pos_weight t),  grad_t = g w ((pos_weight - 1) softplus(-x) - x)."""

    @staticmethod
    def forward(ctx, input, target, *, weight=None, pos_weight=None, reduction="mean"):
        ctx.save_for_backward(input, target)
        ctx.weight = 1 if weight is None else np.asarray(weight, dtype=input.dtype)
        ctx.pos_weight = 1 if pos_weight is None else np.asarray(pos_weight, dtype=input.dtype)
        softplus_neg = _softplus_of_negative(input)
        log_weight = (ctx.pos_weight - 1) * target + 1
        losses = ((1 - target) * input + log_weight * softplus_neg) * ctx.weight
        return reduce(ctx, losses, reduction, losses.size)

    @staticmethod
    def backward(ctx, grad_out):
        input, target = ctx.saved
        g = upstream(ctx, grad_out) * ctx.weight
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            log_weight = (ctx.pos_weight - 1) * target + 1
            grad_input = g * (log_weight * ctx.xp.sigmoid(input) - ctx.pos_weight * target)
        if ctx.needs_input_grad[1]:
            # On Tensors, softplus without its linear switch is the same function of the input.
            softplus_neg = softplus(-input, threshold=np.inf) if on_tensors(ctx) else _softplus_of_negative(input)
            grad_target = g * ((ctx.pos_weight - 1) * softplus_neg - input)
        return grad_input, grad_target


# --- public functions -------------------------------------------------------------------------

def _weight_array(op, name, weight, dtype, shape=None, broadcast_to=None):
    """A weight option as a constant ndarray (weights are not differentiated, as in PyTorch)."""
    if weight is None:
        return None
    array = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if array.dtype.kind not in "fiu":
        raise DTypeError(f"{op}: {name} must hold numbers; expected a float tensor, got dtype {array.dtype}.")
    if shape is not None and array.shape != shape:
        raise ShapeError(f"{op}: {name} must hold one value per class; expected shape {shape}, "
                         f"got {name}.shape={array.shape}.")
    if broadcast_to is not None:
        try:
            fits = np.broadcast_shapes(array.shape, broadcast_to) == broadcast_to
        except ValueError:
            fits = False
        if not fits:
            raise ShapeError(f"{op}: {name} does not broadcast to the input; expected a shape broadcastable "
                             f"to {broadcast_to}, got {name}.shape={array.shape}.")
    return array.astype(dtype, copy=False)


def _class_operands(op, input, target, weight, ignore_index):
    """Validate (input, target, weight) of cross_entropy / nll_loss; return them ready for apply."""
    input = float_input(op, input)
    if input.ndim == 0:
        raise ShapeError(f"{op}: the input has no class dimension; expected shape (C,), (N, C) or "
                         f"(N, C, d1, ...), got shape ().")
    dim = _class_dim(input)
    n_classes = input.shape[dim]
    target = as_tensor(target)
    kind = target.data.dtype.kind
    weight = _weight_array(op, "weight", weight, input.data.dtype, shape=(n_classes,))
    if kind == "f":
        if op == "nll_loss":
            raise DTypeError(f"{op}: the target must hold class indices; expected an int64 tensor, "
                             f"got {target.data.dtype}.")
        if ignore_index != -100:
            raise DTypeError(f"{op}: ignore_index applies to class-index targets; expected int64 targets or "
                             f"ignore_index=-100, got {target.data.dtype} probabilities with "
                             f"ignore_index={ignore_index}.")
        if target.data.dtype != input.data.dtype:
            target = target.to(input.data.dtype)
        if target.shape != input.shape:
            raise ShapeError(f"{op}: probability targets must have the input's shape; expected "
                             f"{input.shape}, got target.shape={target.shape}.")
        return input, target, weight
    if kind not in "iu":
        raise DTypeError(f"{op}: the target must hold class indices or probabilities; expected an int64 "
                         f"or float tensor, got {target.data.dtype}.")
    expected = input.shape[:dim] + input.shape[dim + 1:]
    if target.shape != expected:
        raise ShapeError(f"{op}: the target must hold one class index per row; expected target shape "
                         f"{expected} for input shape {input.shape}, got target.shape={target.shape}.")
    classes = target.data
    if classes.size == 0 or (classes.min() >= 0 and classes.max() < n_classes):  # the common case, cheaply
        return input, target, weight
    out_of_range = (classes != ignore_index) & ((classes < 0) | (classes >= n_classes))
    if out_of_range.any():
        raise IndexingError(f"{op}: target class out of range; expected 0 <= target < {n_classes} or "
                            f"target == ignore_index ({ignore_index}), got {classes[out_of_range].flat[0]}.")
    return input, target, weight


def cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits and class indices or class probabilities (PyTorch's cross_entropy).

    Args:
        input: logits of shape (C,), (N, C) or (N, C, d1, ...).
        target: class indices of shape (), (N,) or (N, d1, ...), or probabilities shaped like input.
        weight: optional (C,) weight of each class (not differentiated).
        ignore_index: class-index targets equal to it add nothing and are left out of the mean.
        reduction: "mean" (weighted by the targets' class weights), "sum" or "none".
        label_smoothing: s in [0, 1]: the target becomes (1 - s) * target + s / C.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.ops.loss import cross_entropy
        >>> round(cross_entropy(cr.tensor([[0.0, 0.0]]), cr.tensor([1])).item(), 4)
        0.6931
    """
    check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ShapeError(f"cross_entropy: label_smoothing out of range; expected 0 <= label_smoothing <= 1, "
                         f"got {label_smoothing}.")
    input, target, weight = _class_operands("cross_entropy", input, target, weight, ignore_index)
    return CrossEntropy.apply(input, target, weight=weight, ignore_index=ignore_index,
                              label_smoothing=float(label_smoothing), reduction=reduction)


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...) at class indices ``target``."""
    check_reduction("nll_loss", reduction)
    input, target, weight = _class_operands("nll_loss", input, target, weight, ignore_index)
    return NLLLoss.apply(input, target, weight=weight, ignore_index=ignore_index, reduction=reduction)


def binary_cross_entropy(input, target, weight=None, *, reduction="mean"):
    """Binary cross-entropy of probabilities in [0, 1]; logs are clamped at -100 as in PyTorch."""
    check_reduction("binary_cross_entropy", reduction)
    input, target = same_shape_operands("binary_cross_entropy", input, target)
    p = input.data
    if p.size and not ((p >= 0) & (p <= 1)).all():
        raise ShapeError(f"binary_cross_entropy: input values out of range; expected probabilities in "
                         f"[0, 1], got values from {np.nanmin(p)} to {np.nanmax(p)}. Hint: apply sigmoid "
                         f"first, or use binary_cross_entropy_with_logits on the logits.")
    weight = _weight_array("binary_cross_entropy", "weight", weight, p.dtype, broadcast_to=p.shape)
    return BinaryCrossEntropy.apply(input, target, weight=weight, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, *, reduction="mean", pos_weight=None):
    """Binary cross-entropy of logits, stable for any logit; ``pos_weight`` scales the positive term
    (broadcast along the last, class, dimension)."""
    op = "binary_cross_entropy_with_logits"
    check_reduction(op, reduction)
    input, target = same_shape_operands(op, input, target)
    dtype = input.data.dtype
    weight = _weight_array(op, "weight", weight, dtype, broadcast_to=input.shape)
    pos_weight = _weight_array(op, "pos_weight", pos_weight, dtype, broadcast_to=input.shape)
    return BinaryCrossEntropyWithLogits.apply(input, target, weight=weight, pos_weight=pos_weight,
                                              reduction=reduction)


TENSOR_METHODS = {}
