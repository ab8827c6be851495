"""The CTC loss (Connectionist Temporal Classification), fused for stability and speed.

CTC scores a label sequence ``l`` (no alignment given) against per-frame log-probabilities by
summing over every alignment: a path of one class per frame that reads ``l`` once repeats are
merged and blanks removed. The sum runs over the lattice of the extended labels
``l' = (blank, l1, blank, l2, ..., lS, blank)``, 2S + 1 states per batch item:

    alpha[t, s]  = lp[t, l'_s] + logsumexp(alpha[t-1, s], alpha[t-1, s-1], alpha[t-1, s-2])
    future[t, s] = logsumexp over s' in (s, s+1, s+2) of (lp[t+1, l'_s'] + future[t+1, s'])
    loss = -log p(l | x) = -logsumexp(alpha[T-1, 2S], alpha[T-1, 2S-1])

where the jump from s-2 is allowed only onto a label that differs from the label two states back
(the blank between two equal labels cannot be skipped). ``future`` is Graves' beta without the
frame's own probability, so that ``alpha[t, s] + future[t, s]`` is the log-probability of the paths
through state s at frame t, and the gradient is the posterior occupancy of each class:

    d loss / d lp[t, c] = -sum over s with l'_s = c of exp(alpha[t, s] + future[t, s] + loss).

Everything is vectorised over the batch and the lattice states; only time is a Python loop.
"""

import numpy as np

from chainrule.autograd import _vjp_math
from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample
from chainrule.errors import DTypeError, GradError, ShapeError
from chainrule.ops._operands import as_tensor, plain_array

__all__ = ["ctc_loss"]

_REDUCTIONS = ("mean", "sum", "none")
_NO_SECOND_ORDER = "; second derivatives of CTC are not supported"


# --- samples ------------------------------------------------------------------------------
def _log_softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _ctc_sample(rng, shape, label, **options):
    log_probs = _log_softmax(rng.standard_normal(shape))
    return Sample((log_probs,), options, label + _NO_SECOND_ORDER, second_order=False)


def _ctc_samples(rng):
    return [
        _ctc_sample(rng, (7, 2, 5), "padded targets, varying lengths, mean",
                    targets=np.array([[1, 2, 3], [4, 4, 0]]), input_lengths=np.array([7, 5]),
                    target_lengths=np.array([3, 2]), reduction="mean"),
        _ctc_sample(rng, (6, 2, 4), "concatenated targets with a repeated label, sum",
                    targets=np.array([1, 1, 2, 3, 1]), input_lengths=np.array([6, 6]),
                    target_lengths=np.array([3, 2]), reduction="sum"),
        _ctc_sample(rng, (8, 2, 5), "blank=4, an empty target, none",
                    targets=np.array([[0, 3, 3, 1], [2, 2, 2, 2]]), input_lengths=np.array([8, 4]),
                    target_lengths=np.array([4, 0]), blank=4, reduction="none"),
        _ctc_sample(rng, (6, 2, 4), "an impossible alignment zeroed by zero_infinity",
                    targets=np.array([[1, 1, 1], [2, 3, 1]]), input_lengths=np.array([4, 6]),
                    target_lengths=np.array([3, 2]), reduction="mean", zero_infinity=True),
        _ctc_sample(rng, (6, 4), "unbatched (T, C)",
                    targets=np.array([3, 1, 3]), input_lengths=np.array(6), target_lengths=np.array(3),
                    reduction="none"),
    ]


# --- the primitive ------------------------------------------------------------------------
@register("ctc_loss", samples=_ctc_samples)
class CTCLoss(Function):
    """CTC loss of log_probs (T, N, C) against targets, fused for stability (log space) and speed.

    loss_n = -log sum over alignments of prod_t exp(lp[t, n, path_t]);
    grad_lp[t, n, c] = -w_n * posterior(frame t of item n emits class c), with w_n the upstream
    gradient reaching loss_n; 0 for t >= input_lengths[n].

    Unlike PyTorch's native kernel, which returns ``exp(lp) - posterior`` (the gradient with
    respect to the logits, assuming ``lp`` came from log_softmax), this is the gradient with
    respect to ``lp`` itself. Both give the same gradient to logits through ``log_softmax``.
    """

    @staticmethod
    def forward(ctx, log_probs, *, targets, input_lengths, target_lengths, blank=0,
                reduction="mean", zero_infinity=False):
        unbatched = _check_log_probs(log_probs, blank, reduction)
        lp = log_probs[:, None, :] if unbatched else log_probs
        input_lengths, target_lengths, padded = _check_lengths_and_targets(
            lp, targets, input_lengths, target_lengths, blank, unbatched)
        labels = _extended_labels(padded, target_lengths, blank)
        lp_ext = np.take_along_axis(lp, np.broadcast_to(labels, (lp.shape[0],) + labels.shape), axis=2)
        alpha = _alpha(lp_ext, _skip_allowed(labels, blank))
        nll = -_log_likelihood(alpha, input_lengths, target_lengths)
        infinite = np.isinf(nll)
        if zero_infinity:
            nll = np.where(infinite, 0, nll).astype(lp.dtype)

        ctx.save_for_backward(lp_ext, alpha, nll)
        ctx.labels, ctx.blank, ctx.num_classes = labels, blank, lp.shape[2]
        ctx.input_lengths, ctx.target_lengths = input_lengths, target_lengths
        ctx.reduction, ctx.unbatched = reduction, unbatched
        ctx.zeroed = infinite if zero_infinity else np.zeros_like(infinite)
        if reduction == "none":
            return nll[0] if unbatched else nll
        if reduction == "sum":
            return nll.sum()
        return (nll / np.maximum(target_lengths, 1).astype(lp.dtype)).mean()

    @staticmethod
    def backward(ctx, grad_out):
        if ctx.xp is not _vjp_math.arrays:
            raise GradError("ctc_loss: second-order gradients are not supported; expected "
                            "create_graph=False when differentiating through ctc_loss.")
        lp_ext, alpha, nll = ctx.saved
        dtype = lp_ext.dtype
        batch = alpha.shape[1]
        if ctx.reduction == "none":
            weight = np.reshape(grad_out, (batch,))
        elif ctx.reduction == "sum":
            weight = np.full(batch, grad_out, dtype=dtype)
        else:
            weight = grad_out / (batch * np.maximum(ctx.target_lengths, 1)).astype(dtype)
        future = _future(lp_ext, _skip_allowed(ctx.labels, ctx.blank), ctx.input_lengths, ctx.target_lengths)
        in_time = np.arange(alpha.shape[0])[:, None, None] < ctx.input_lengths[None, :, None]
        with np.errstate(invalid="ignore"):
            # An impossible alignment has nll = inf and alpha + future = -inf: the occupancy is
            # NaN there, as in PyTorch, unless zero_infinity zeroes that item below.
            occupancy = np.where(in_time, np.exp(alpha + future + nll[None, :, None]), 0)
        one_hot = (ctx.labels[:, :, None] == np.arange(ctx.num_classes)).astype(dtype)
        posterior = np.einsum("tns,nsc->tnc", occupancy, one_hot)
        grad = -weight[None, :, None].astype(dtype, copy=False) * posterior
        grad = np.where(ctx.zeroed[None, :, None], 0, grad).astype(dtype, copy=False)
        return grad[:, 0, :] if ctx.unbatched else grad


# --- the recursions -----------------------------------------------------------------------
def _extended_labels(padded, target_lengths, blank):
    """(N, 2S + 1) lattice states l' = (blank, l1, blank, ..., lS, blank); padding becomes blank."""
    batch, longest = padded.shape
    in_target = np.arange(longest)[None, :] < target_lengths[:, None]
    labels = np.full((batch, 2 * longest + 1), blank, dtype=np.int64)
    labels[:, 1::2] = np.where(in_target, padded, blank)
    return labels


def _skip_allowed(labels, blank):
    """May state s be entered from s - 2? Only a label that differs from the label before the blank."""
    allowed = np.zeros(labels.shape, dtype=bool)
    allowed[:, 2:] = (labels[:, 2:] != blank) & (labels[:, 2:] != labels[:, :-2])
    return allowed


def _shifted(x, k):
    """out[..., s] = x[..., s - k]: x moved k states up the lattice (down for k < 0), -inf where none."""
    out = np.full_like(x, -np.inf)
    if k > 0:
        out[..., k:] = x[..., :x.shape[-1] - k]
    else:
        out[..., :out.shape[-1] + k] = x[..., -k:]
    return out


def _alpha(lp_ext, skip):
    """log alpha (T, N, 2S + 1): log-probability of the path prefixes ending in state s at frame t.

    Every path starts in the first blank or the first label. States past 2 * target_length are
    computed too, but no transition leads back from them, so they never reach the loss.
    """
    alpha = np.full(lp_ext.shape, -np.inf, dtype=lp_ext.dtype)
    alpha[0, :, :2] = lp_ext[0, :, :2]
    for t in range(1, lp_ext.shape[0]):
        previous = alpha[t - 1]
        stay_or_step = np.logaddexp(previous, _shifted(previous, 1))
        jump = np.where(skip, _shifted(previous, 2), -np.inf)
        alpha[t] = lp_ext[t] + np.logaddexp(stay_or_step, jump)
    return alpha


def _future(lp_ext, skip, input_lengths, target_lengths):
    """log future (T, N, 2S + 1): log-probability of completing the target from state s after frame t.

    At each item's last frame only the final label and the final blank are complete (log 1 = 0);
    before it the recursion runs backwards through alpha's transitions; after it, -inf.
    """
    frames, batch, states = lp_ext.shape
    last = np.arange(states)[None, :]
    is_final = (last == 2 * target_lengths[:, None]) | (last == 2 * target_lengths[:, None] - 1)
    at_end = np.where(is_final, 0.0, -np.inf).astype(lp_ext.dtype)
    # s -> s + 2 is allowed exactly when state s + 2 may be entered by a skip: 0 where allowed, else -inf
    skip_from = _shifted(np.where(skip, 0.0, -np.inf).astype(lp_ext.dtype), -2)
    future = np.full(lp_ext.shape, -np.inf, dtype=lp_ext.dtype)
    following = np.full((batch, states), -np.inf, dtype=lp_ext.dtype)
    for t in range(frames - 1, -1, -1):
        if t + 1 < frames:
            beta = lp_ext[t + 1] + following
            stay_or_step = np.logaddexp(beta, _shifted(beta, -1))
            recursion = np.logaddexp(stay_or_step, _shifted(beta, -2) + skip_from)
        else:
            recursion = following
        ending = (t == input_lengths - 1)[:, None]
        running = (t < input_lengths - 1)[:, None]
        following = np.where(ending, at_end, np.where(running, recursion, -np.inf))
        future[t] = following
    return future


def _log_likelihood(alpha, input_lengths, target_lengths):
    """log p(l | x) per item: paths end in the last label or the last blank at the last frame."""
    batch = np.arange(alpha.shape[1])
    final = alpha[np.maximum(input_lengths - 1, 0), batch]
    last_blank = final[batch, 2 * target_lengths]
    last_label = np.where(target_lengths > 0, final[batch, np.maximum(2 * target_lengths - 1, 0)], -np.inf)
    likelihood = np.logaddexp(last_blank, last_label)
    # With no frames, only the empty target is possible (with probability 1).
    return np.where(input_lengths == 0, np.where(target_lengths == 0, 0.0, -np.inf), likelihood).astype(alpha.dtype)


# --- validation ---------------------------------------------------------------------------
def _check_log_probs(log_probs, blank, reduction):
    """Check log_probs, blank and reduction; return True for an unbatched (T, C) input."""
    if not isinstance(log_probs, np.ndarray) or log_probs.dtype.kind != "f":
        raise DTypeError(f"ctc_loss: log_probs must be floating point; expected a float32 or float64 "
                         f"tensor, got dtype {getattr(log_probs, 'dtype', type(log_probs).__name__)}.")
    if log_probs.ndim not in (2, 3) or log_probs.shape[0] == 0 or log_probs.shape[-1] == 0:
        raise ShapeError(f"ctc_loss: log_probs must be (frames, batch, classes) or (frames, classes); "
                         f"expected shape (T, N, C) or (T, C) with T, C >= 1, got shape {log_probs.shape}.")
    classes = log_probs.shape[-1]
    if not isinstance(blank, (int, np.integer)) or isinstance(blank, bool):
        raise DTypeError(f"ctc_loss: blank must be a class index; expected an int, got {blank!r}.")
    if not 0 <= blank < classes:
        raise ShapeError(f"ctc_loss: blank is not a class; expected 0 <= blank < C = {classes}, got {blank}.")
    if reduction not in _REDUCTIONS:
        raise ShapeError(f"ctc_loss: unknown reduction; expected one of {_REDUCTIONS}, got {reduction!r}.")
    return log_probs.ndim == 2


def _integers(name, x):
    array = np.asarray(x)
    if array.dtype.kind not in "iu":
        raise DTypeError(f"ctc_loss: {name} must hold integers; expected an integer tensor, "
                         f"got dtype {array.dtype}.")
    return array.astype(np.int64)


def _lengths(name, x, batch, unbatched, limit, limit_name):
    lengths = _integers(name, x)
    expected = "() or (1,)" if unbatched else f"({batch},)"
    if lengths.shape != (batch,) and not (unbatched and lengths.shape == ()):
        raise ShapeError(f"ctc_loss: {name} needs one length per batch item; expected shape {expected}, "
                         f"got shape {lengths.shape}.")
    lengths = lengths.reshape(batch)
    bad = (lengths < 0) | (lengths > limit)
    if bad.any():
        item = int(np.argmax(bad))
        raise ShapeError(f"ctc_loss: {name} out of range; expected 0 <= {name} <= {limit_name} = {limit}, "
                         f"got {int(lengths[item])} for batch item {item}.")
    return lengths


def _check_lengths_and_targets(lp, targets, input_lengths, target_lengths, blank, unbatched):
    """Validate the integer inputs; return input and target lengths (N,) and padded targets (N, S)."""
    frames, batch, classes = lp.shape
    input_lengths = _lengths("input_lengths", input_lengths, batch, unbatched, frames, "T")
    targets = _integers("targets", targets)
    if unbatched:
        if targets.ndim != 1:
            raise ShapeError(f"ctc_loss: unbatched targets must be one sequence; expected shape (S,), "
                             f"got shape {targets.shape}.")
        padded = targets[None, :]
    elif targets.ndim == 2:
        if targets.shape[0] != batch:
            raise ShapeError(f"ctc_loss: padded targets need one row per batch item; expected shape "
                             f"({batch}, S), got shape {targets.shape}.")
        padded = targets
    elif targets.ndim == 1:
        padded = None
    else:
        raise ShapeError(f"ctc_loss: targets must be padded or concatenated; expected shape ({batch}, S) "
                         f"or (sum(target_lengths),), got shape {targets.shape}.")
    longest = padded.shape[1] if padded is not None else targets.size
    target_lengths = _lengths("target_lengths", target_lengths, batch, unbatched, longest, "S")
    if padded is None:
        if target_lengths.sum() != targets.size:
            raise ShapeError(f"ctc_loss: concatenated targets must hold every target; expected "
                             f"sum(target_lengths) = {int(target_lengths.sum())} labels, got {targets.size}.")
        longest = int(target_lengths.max(initial=0))
        padded = np.full((batch, longest), blank, dtype=np.int64)
        row = np.repeat(np.arange(batch), target_lengths)
        column = np.arange(targets.size) - np.repeat(np.cumsum(target_lengths) - target_lengths, target_lengths)
        padded[row, column] = targets
    in_target = np.arange(padded.shape[1])[None, :] < target_lengths[:, None]
    bad = in_target & ((padded < 0) | (padded >= classes) | (padded == blank))
    if bad.any():
        item, position = (int(i) for i in np.argwhere(bad)[0])
        raise ShapeError(f"ctc_loss: targets must be class indices other than the blank; expected values in "
                         f"[0, {classes}) except blank={blank}, got {int(padded[item, position])} at "
                         f"position {position} of batch item {item}.")
    return input_lengths, target_lengths, padded


# --- the public function ------------------------------------------------------------------
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Connectionist Temporal Classification loss, with PyTorch's arguments and reductions.

    Args:
        log_probs: (T, N, C) or unbatched (T, C) log-probabilities, usually from log_softmax.
        targets: padded (N, S) or concatenated (sum(target_lengths),) class indices, never blank.
        input_lengths: (N,) frames used per item, each <= T.
        target_lengths: (N,) labels per item, each <= S.
        blank: the class index of the blank.
        reduction: "mean" (each loss divided by its target length, then averaged over the batch),
            "sum", or "none" (one loss per item).
        zero_infinity: give impossible alignments (infinite loss) loss 0 and gradient 0.

    Returns:
        A 0-d Tensor, or (N,) for reduction "none".

    Raises:
        ShapeError: bad shapes, lengths out of range, or targets that are not non-blank classes.
        DTypeError: float targets or lengths, or integer log_probs.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> log_probs = cr.tensor(np.log(np.full((3, 1, 2), 0.5)), requires_grad=True)
        >>> loss = ctc_loss(log_probs, [[1]], [3], [1], reduction="sum")
        >>> round(loss.item(), 4)  # 6 of the 8 paths read "1": -log(6/8)
        0.2877
    """
    return CTCLoss.apply(as_tensor(log_probs), targets=plain_array(targets),
                         input_lengths=plain_array(input_lengths),
                         target_lengths=plain_array(target_lengths),
                         blank=blank, reduction=reduction, zero_infinity=zero_infinity)


TENSOR_METHODS = {}
