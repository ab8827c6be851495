"""CTCLoss: the Connectionist Temporal Classification loss as a layer, for sequence labelling."""

from chainrule.errors import ShapeError
from chainrule.nn.module import Module
from chainrule.ops.ctc import ctc_loss

__all__ = ["CTCLoss"]

_REDUCTIONS = ("mean", "sum", "none")


class CTCLoss(Module):
    """CTC loss between per-frame log-probabilities and unaligned label sequences (see ``ctc_loss``).

    Shape:
        log_probs: (T, N, C) or (T, C); targets: (N, S) padded or (sum(target_lengths),)
        concatenated; input_lengths, target_lengths: (N,); output: () or (N,) for reduction "none".

    Example:
        >>> import numpy as np, chainrule as cr
        >>> from chainrule.nn.ctc import CTCLoss
        >>> log_probs = cr.tensor(np.log(np.full((3, 1, 2), 0.5)))
        >>> loss = CTCLoss(reduction="sum")(log_probs, [[1]], [3], [1])
        >>> round(loss.item(), 4)
        0.2877
    """

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ShapeError(f"CTCLoss: unknown reduction; expected one of {_REDUCTIONS}, got {reduction!r}.")
        self.blank = blank
        self.reduction = reduction
        self.zero_infinity = zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=self.blank,
                        reduction=self.reduction, zero_infinity=self.zero_infinity)

    def extra_repr(self):
        return f"blank={self.blank}, reduction={self.reduction!r}, zero_infinity={self.zero_infinity}"
