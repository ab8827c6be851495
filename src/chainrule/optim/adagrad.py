"""Adagrad: per-coordinate learning rates shrinking with the sum of squared gradients."""

import numpy as np

from chainrule.optim.optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad with PyTorch's update rule.

    With ``g = grad + weight_decay * p`` (grad negated first when ``maximize``) and ``t`` the step::

        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g**2                              (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    As in PyTorch the state (step 0 and the accumulator) is created with the optimizer, so it is
    in ``state_dict()`` before the first step.

    Args:
        params: parameters or parameter groups (see ``Optimizer``).
        lr: learning rate.
        lr_decay: learning-rate decay per step.
        weight_decay: L2 penalty added to the gradient.
        initial_accumulator_value: starting value of the sum of squares.
        eps: added to the denominator for stability.
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 *, maximize=False):
        defaults = {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                self.state[param] = self._initial_state(param.data, group)

    def _check_options(self, options):
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            self._check_at_least(options, name)

    @staticmethod
    def _initial_state(param, group):
        return {"step": 0, "sum": np.full_like(param, group["initial_accumulator_value"])}

    def _update(self, param, grad, state, group):
        if not state:  # a parameter added with add_param_group
            state.update(self._initial_state(param, group))
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        scratch = np.square(grad, out=np.empty_like(param))  # out=: an array even when 0-d
        accumulator = state["sum"]
        accumulator += scratch                              # s = s + g^2
        std = np.sqrt(accumulator, out=scratch)
        std += group["eps"]
        update = np.divide(grad, std, out=scratch)
        update *= clr
        param -= update                                     # p = p - clr g / (sqrt(s) + eps)
