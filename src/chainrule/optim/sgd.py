"""SGD: stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay."""

import numpy as np

from chainrule.ops._compiled import kernels_for
from chainrule.optim.optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent with PyTorch's update rule.

    With ``g = grad + weight_decay * p`` (negated first when ``maximize``)::

        b = g                                     on the first step (no dampening)
        b = momentum * b + (1 - dampening) * g    afterwards
        d = g + momentum * b if nesterov else b   (d = g when momentum == 0)
        p = p - lr * d

    Args:
        params: parameters or parameter groups (see ``Optimizer``).
        lr: learning rate.
        momentum: momentum factor (0 disables the buffer).
        dampening: how much of the new gradient the buffer leaves out.
        weight_decay: L2 penalty added to the gradient.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening == 0).
        maximize: ascend the objective instead of descending it.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.nn.Parameter(cr.tensor([1.0, -2.0]))
        >>> opt = optim.SGD([w], lr=0.5)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([0., 0.], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_options(self, options):
        for name in ("lr", "momentum", "weight_decay"):
            self._check_at_least(options, name)
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise self._error("Nesterov momentum needs a momentum and no dampening",
                              "momentum > 0 and dampening == 0",
                              f"momentum={options['momentum']!r}, dampening={options['dampening']!r}")

    def _update(self, param, grad, state, group):
        # Python numbers compute in the parameter's dtype, never above it.
        lr, weight_decay = float(group["lr"]), float(group["weight_decay"])
        momentum, dampening = float(group["momentum"]), float(group["dampening"])
        buffer = state.get("momentum_buffer") if momentum != 0 else None
        first = momentum != 0 and buffer is None
        if first:
            buffer = state["momentum_buffer"] = np.empty_like(param)
        compiled = kernels_for(param, grad, buffer)
        if compiled is not None:  # the same arithmetic in one pass, every number in param's dtype
            cast = param.dtype.type
            compiled.sgd_step(param, grad, cast(lr), cast(weight_decay) if weight_decay != 0 else None,
                              buffer, first, cast(momentum), cast(1 - dampening), bool(group["nesterov"]))
            return
        if weight_decay != 0:
            grad = grad + weight_decay * param
        if momentum != 0:
            if first:
                np.copyto(buffer, grad)
            else:
                buffer *= momentum
                buffer += (1 - dampening) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param -= lr * grad
