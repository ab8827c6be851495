"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

import numpy as np

from chainrule.ops._compiled import kernels_for
from chainrule.optim.optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam with PyTorch's update rule (bias corrections folded into the step size, eps added
    after dividing the root of the second moment by its correction).

    With ``g = grad`` (negated when ``maximize``) and ``t`` the parameter's step count::

        g = g + weight_decay * p                  (L2 decay; AdamW instead does p = p * (1 - lr * wd))
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v)                     (amsgrad: use v_max in place of v below)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Args:
        params: parameters or parameter groups (see ``Optimizer``).
        lr: learning rate.
        betas: decay rates of the first and second moment averages.
        eps: added to the denominator for stability.
        weight_decay: decay coefficient (added to the gradient unless decoupled).
        amsgrad: normalize by the largest second moment seen so far.
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: shrink the weights directly, as AdamW.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.nn.Parameter(cr.tensor([1.0, -2.0]))
        >>> opt = optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]  # the first step moves every weight by about lr
        [0.9, -1.9]
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        betas = tuple(betas) if isinstance(betas, list) else betas
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _check_options(self, options):
        for name in ("lr", "eps", "weight_decay"):
            self._check_at_least(options, name)
        betas = options["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise self._error("invalid betas", "a pair (beta1, beta2)", repr(betas))
        self._check_fraction("betas[0]", betas[0])
        self._check_fraction("betas[1]", betas[1])

    def _update(self, param, grad, state, group):
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        # Python numbers compute in the parameter's dtype, never above it.
        lr, weight_decay, eps = float(group["lr"]), float(group["weight_decay"]), float(group["eps"])
        beta1, beta2 = (float(beta) for beta in group["betas"])
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        step = state["step"]
        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5

        largest = state.get("max_exp_avg_sq") if group["amsgrad"] else None
        if group["amsgrad"] and largest is None:  # made once, not a zeroed array every step
            largest = state["max_exp_avg_sq"] = np.zeros_like(param)
        decoupled = group["decoupled_weight_decay"]

        compiled = kernels_for(param, grad, exp_avg, exp_avg_sq, largest)
        if compiled is not None:  # the same arithmetic in one pass, every number in param's dtype
            cast = param.dtype.type
            compiled.adam_step(param, grad, exp_avg, exp_avg_sq, largest,
                               cast(1 - lr * weight_decay) if decoupled and weight_decay != 0 else None,
                               cast(weight_decay) if not decoupled and weight_decay != 0 else None,
                               cast(beta1), cast(beta2), cast(1 - beta1), cast(1 - beta2),
                               cast(bias_correction2_sqrt), cast(eps), cast(step_size))
            return
        if weight_decay != 0:
            if decoupled:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param
        # One scratch array serves every intermediate, so a step allocates once per parameter.
        scratch = np.multiply(grad, 1 - beta1, out=np.empty_like(param))  # out=: an array even when 0-d
        exp_avg *= beta1
        exp_avg += scratch                                  # m = beta1 m + (1 - beta1) g
        np.square(grad, out=scratch)
        scratch *= 1 - beta2
        exp_avg_sq *= beta2
        exp_avg_sq += scratch                               # v = beta2 v + (1 - beta2) g^2
        second_moment = exp_avg_sq
        if largest is not None:
            np.maximum(largest, exp_avg_sq, out=largest)
            second_moment = largest

        denom = np.sqrt(second_moment, out=scratch)
        denom /= bias_correction2_sqrt
        denom += eps                                        # sqrt(v) / sqrt(1 - beta2^t) + eps
        update = np.divide(exp_avg, denom, out=scratch)
        update *= step_size
        param -= update


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p = p * (1 - lr * weight_decay)``
    before the Adam step, instead of adding ``weight_decay * p`` to the gradient.

    Args:
        params, lr, betas, eps, amsgrad, maximize: as ``Adam``.
        weight_decay: decoupled decay coefficient (default 0.01).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
