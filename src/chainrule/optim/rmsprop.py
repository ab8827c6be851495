"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

import numpy as np

from chainrule.optim.optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop with PyTorch's update rule (no bias correction; eps added after the root).

    With ``g = grad + weight_decay * p`` (grad negated first when ``maximize``)::

        v = alpha * v + (1 - alpha) * g**2
        a = alpha * a + (1 - alpha) * g           (centered only)
        s = sqrt(v - a**2) if centered else sqrt(v);  s = s + eps
        b = momentum * b + g / s;  p = p - lr * b  (momentum > 0)
        p = p - lr * g / s                         (otherwise)

    Args:
        params: parameters or parameter groups (see ``Optimizer``).
        lr: learning rate.
        alpha: smoothing constant of the squared-gradient average.
        eps: added to the denominator for stability.
        weight_decay: L2 penalty added to the gradient.
        momentum: momentum factor.
        centered: normalize by an estimate of the gradient's variance instead of its second moment.
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, *,
                 maximize=False):
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay, "momentum": momentum,
                    "centered": centered, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_options(self, options):
        for name in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            self._check_at_least(options, name)

    def _update(self, param, grad, state, group):
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param)
        alpha, momentum = group["alpha"], group["momentum"]
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param

        # One scratch array serves every intermediate, so a step allocates once per parameter.
        scratch = np.square(grad, out=np.empty_like(param))  # out=: an array even when 0-d
        scratch *= 1 - alpha
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += scratch                               # v = alpha v + (1 - alpha) g^2
        if group["centered"]:
            grad_avg = state.setdefault("grad_avg", np.zeros_like(param))
            np.subtract(grad, grad_avg, out=scratch)
            scratch *= 1 - alpha
            grad_avg += scratch                             # a = alpha a + (1 - alpha) g
            avg = np.square(grad_avg, out=scratch)
            np.subtract(square_avg, avg, out=avg)
            np.sqrt(avg, out=avg)                           # sqrt(v - a^2)
        else:
            avg = np.sqrt(square_avg, out=scratch)
        avg += group["eps"]
        update = np.divide(grad, avg, out=scratch)          # g / (sqrt(...) + eps)

        if momentum > 0:
            buffer = state.setdefault("momentum_buffer", np.zeros_like(param))
            buffer *= momentum
            buffer += update
            np.multiply(buffer, group["lr"], out=update)
        else:
            update *= group["lr"]
        param -= update
