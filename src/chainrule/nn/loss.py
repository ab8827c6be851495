"""Loss layers: each holds its options (and weights, as buffers) and calls one loss function.

The constructor arguments are PyTorch's, without the deprecated ``size_average`` and ``reduce``;
all of them are keyword-only except a class ``weight``, so a PyTorch call that passes the
deprecated ones positionally fails loudly instead of meaning something else. As in PyTorch, the
repr shows no arguments: ``CrossEntropyLoss()``.
"""

from chainrule.nn.module import Module
from chainrule.ops.loss import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, nll_loss
from chainrule.ops.nn import mse_loss
from chainrule.ops.regression_loss import huber_loss, kl_div, l1_loss, smooth_l1_loss
from chainrule.tensor import Tensor

__all__ = ["MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
           "NLLLoss", "KLDivLoss"]


class _Loss(Module):
    """Base of the loss layers: ``reduction`` is "mean", "sum" or "none"."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with an optional per-class (or per-element) ``weight``, kept as a buffer."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer(weight))


def _buffer(value):
    if value is None or isinstance(value, Tensor):
        return value
    return Tensor(value)


class MSELoss(_Loss):
    """Mean squared error.  Shape: input (*), target (*) same shape -> () or (*) for "none"."""

    def __init__(self, *, reduction="mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error.  Shape: input (*), target (*) -> () or (*) for "none"."""

    def __init__(self, *, reduction="mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Squared error within ``delta``, ``delta * (|d| - delta / 2)`` beyond.  Shape: as MSELoss."""

    def __init__(self, *, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """Huber loss divided by ``beta``: ``d**2 / (2 beta)`` within beta, ``|d| - beta / 2`` beyond.

    Shape: as MSELoss.
    """

    def __init__(self, *, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities (apply sigmoid first).  Shape: input (*), target (*) -> ()."""

    def __init__(self, weight=None, *, reduction="mean"):
        super().__init__(weight, reduction)

    def forward(self, input, target):
        return binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy of logits, stable for any logit; ``pos_weight`` (C,) weighs positives per class.

    Shape: input (*, C), target (*, C) -> () or (*, C) for "none".
    """

    def __init__(self, weight=None, *, reduction="mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", _buffer(pos_weight))

    def forward(self, input, target):
        return binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                pos_weight=self.pos_weight)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of logits against class indices or class probabilities (log-softmax and NLL fused).

    Shape: input (N, C) or (N, C, d1, ...) or (C,); target (N,) / (N, d1, ...) / () of class
    indices, or probabilities shaped like input -> () or the per-row shape for "none".

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.loss import CrossEntropyLoss
        >>> round(CrossEntropyLoss()(cr.tensor([[2.0, 0.0]]), cr.tensor([0])).item(), 4)
        0.1269
    """

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return cross_entropy(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
                             label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (apply log_softmax first).  Shape: as CrossEntropyLoss."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class KLDivLoss(_Loss):
    """KL divergence of a target from log-probabilities; use ``reduction="batchmean"`` for the true KL.

    Shape: input (*), target (*) -> () or (*) for "none".
    """

    def __init__(self, *, reduction="mean", log_target=False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
