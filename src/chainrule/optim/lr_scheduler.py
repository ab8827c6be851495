"""Learning-rate schedulers: change each parameter group's ``lr`` as training goes on.

Each scheduler follows PyTorch's: it is created after its optimizer (and sets ``initial_lr`` in
every group), ``step()`` is called once per epoch or batch *after* ``optimizer.step()``, and
``get_last_lr()`` gives the rates now in the groups. Like PyTorch, most schedulers update the
rate *recursively* from the group's current ``lr`` (so schedulers can be chained), with the
same floating-point formulas, so the sequences match PyTorch's.

``state_dict()`` holds every attribute but the optimizer; to resume, create the optimizer and
the scheduler, then load the optimizer's state and the scheduler's.
"""

import math
import numbers
from collections import Counter

from chainrule.optim.optimizer import Optimizer, OptimizerError

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
           "OneCycleLR", "ReduceLROnPlateau"]


class LRScheduler:
    """Base class: subclasses define ``get_lr()``, the groups' rates at ``last_epoch``.

    Args:
        optimizer: the optimizer whose groups' ``lr`` this scheduler sets.
        last_epoch: the index of the last epoch done; -1 (default) starts a new schedule.
            Resuming with another value needs ``initial_lr`` in every group.
    """

    def __init__(self, optimizer, last_epoch=-1):
        self._check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise self._error(f"param_groups[{index}] has no 'initial_lr' to resume from",
                                      "a group set up by a scheduler (load the optimizer's state first)",
                                      f"last_epoch={last_epoch} with keys {sorted(group)}")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True  # the step below sets the starting rates and is not a real step
        try:
            self.step()
        finally:
            self._is_initial = False

    def _error(self, what, expected, got):
        return OptimizerError(f"{type(self).__name__}: {what}; expected {expected}, got {got}.")

    def _check_optimizer(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise self._error("needs an optimizer", "a chainrule.optim.Optimizer", type(optimizer).__name__)

    def _check(self, ok, name, value, expected):
        if not ok:
            raise self._error(f"invalid {name}", expected, repr(value))

    def _per_group(self, optimizer, name, value):
        """``value`` for each parameter group: a list of one per group, or one value for all."""
        count = len(optimizer.param_groups)
        if not isinstance(value, (list, tuple)):
            return [value] * count
        if len(value) != count:
            raise self._error(f"one {name} per parameter group is needed", f"{count} values", f"{len(value)}")
        return list(value)

    def get_lr(self):
        """The groups' learning rates for the current ``last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per parameter group."""
        return self._last_lr

    def step(self):
        """Advance the schedule by one epoch (or batch) and set the groups' ``lr``."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _group_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Every attribute but the optimizer (plain numbers, lists and dicts)."""
        return {key: _copy(value) for key, value in vars(self).items() if key not in ("optimizer", "_is_initial")}

    def load_state_dict(self, state_dict):
        """Restore attributes from ``state_dict()`` (also after ``chainrule.load``)."""
        self.__dict__.update({key: _copy(value) for key, value in state_dict.items()})


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> opt = optim.SGD([cr.nn.Parameter(cr.zeros(1))], lr=1.0)
        >>> scheduler = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        >>> rates = []
        >>> for epoch in range(5):
        ...     opt.step()
        ...     scheduler.step()
        ...     rates.append(scheduler.get_last_lr()[0])
        >>> rates
        [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self._check(_is_int(step_size) and step_size > 0, "step_size", step_size, "a positive int")
        self._check(_is_real(gamma) and gamma >= 0, "gamma", gamma, "gamma >= 0")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each epoch in ``milestones`` (by ``gamma**n`` if listed n times)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = list(milestones)
        self._check(all(map(_is_int, milestones)), "milestones", milestones, "a list of epoch indices (ints)")
        self._check(_is_real(gamma) and gamma >= 0, "gamma", gamma, "gamma >= 0")
        self.milestones, self.gamma = Counter(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._group_lrs()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._group_lrs()]

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.milestones = Counter(self.milestones)  # a plain dict after a round trip through a file


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self._check(_is_real(gamma) and gamma >= 0, "gamma", gamma, "gamma >= 0")
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]


class CosineAnnealingLR(LRScheduler):
    """Anneal the rate from its initial value to ``eta_min`` along half a cosine over ``T_max`` epochs.

    PyTorch's recursive form (the closed form is ``eta_min + (base - eta_min)(1 + cos(pi t / T_max)) / 2``)::

        lr_t = eta_min + (lr_{t-1} - eta_min) (1 + cos(pi t / T_max)) / (1 + cos(pi (t - 1) / T_max))

    Past ``T_max`` the rate rises again (the cosine keeps going), as in PyTorch.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self._check(_is_int(T_max) and T_max > 0, "T_max", T_max, "a positive int")
        self._check(_is_real(eta_min) and eta_min >= 0, "eta_min", eta_min, "eta_min >= 0")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._group_lrs()
        t, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if (t - 1 - t_max) % (2 * t_max) == 0:  # at the trough the ratio below would divide by zero
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
                    for base, lr in zip(self.base_lrs, self._group_lrs())]
        return [(1 + math.cos(math.pi * t / t_max)) / (1 + math.cos(math.pi * (t - 1) / t_max)) * (lr - eta_min)
                + eta_min for lr in self._group_lrs()]


class LinearLR(LRScheduler):
    """Warm-up: scale the rate by a factor going linearly from ``start_factor`` to ``end_factor``
    over ``total_iters`` epochs, then keep it."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        self._check(_is_real(start_factor) and 0 < start_factor <= 1, "start_factor", start_factor,
                    "0 < start_factor <= 1")
        self._check(_is_real(end_factor) and 0 <= end_factor <= 1, "end_factor", end_factor,
                    "0 <= end_factor <= 1")
        self._check(_is_int(total_iters) and total_iters > 0, "total_iters", total_iters, "a positive int")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._group_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._group_lrs()
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (self.total_iters * self.start_factor + (self.last_epoch - 1) * change)
        return [lr * ratio for lr in self._group_lrs()]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith): warm the rate up from ``max_lr / div_factor`` to ``max_lr`` over
    ``pct_start`` of the steps, then anneal it to ``max_lr / (div_factor * final_div_factor)``;
    momentum (SGD's ``momentum`` or Adam's ``beta1``) moves the opposite way when ``cycle_momentum``.
    Step it after every batch.

    Args:
        optimizer: the optimizer.
        max_lr: the peak rate, one number or one per group.
        total_steps: the number of steps in the cycle, or give ``epochs`` and ``steps_per_epoch``.
        pct_start: the fraction of the cycle spent warming up.
        anneal_strategy: ``"cos"`` or ``"linear"``.
        cycle_momentum: cycle the momentum between ``max_momentum`` and ``base_momentum``.
        div_factor: ``initial_lr = max_lr / div_factor``.
        final_div_factor: ``min_lr = initial_lr / final_div_factor``.
        three_phase: warm up, come back down to ``initial_lr`` symmetrically, then anneal to ``min_lr``.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        self._check_optimizer(optimizer)
        if total_steps is not None:
            self._check(_is_int(total_steps) and total_steps > 0, "total_steps", total_steps, "a positive int")
        elif epochs is not None and steps_per_epoch is not None:
            self._check(_is_int(epochs) and epochs > 0, "epochs", epochs, "a positive int")
            self._check(_is_int(steps_per_epoch) and steps_per_epoch > 0, "steps_per_epoch", steps_per_epoch,
                        "a positive int")
            total_steps = epochs * steps_per_epoch
        else:
            raise self._error("the length of the cycle is not given", "total_steps, or epochs and steps_per_epoch",
                              f"total_steps={total_steps}, epochs={epochs}, steps_per_epoch={steps_per_epoch}")
        self._check(_is_real(pct_start) and 0 <= pct_start <= 1, "pct_start", pct_start, "0 <= pct_start <= 1")
        if anneal_strategy not in ("cos", "linear"):
            raise self._error("unknown anneal_strategy", "'cos' or 'linear'", repr(anneal_strategy))
        self.total_steps, self.anneal_strategy, self.cycle_momentum = total_steps, anneal_strategy, cycle_momentum
        # Each phase moves lr and momentum between two named group values, ending at end_step.
        phases = [(float(pct_start * total_steps) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum")]
        if three_phase:
            phases += [(float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr", "base_momentum",
                        "max_momentum"),
                       (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            phases += [(total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        keys = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")
        self._schedule_phases = [dict(zip(keys, phase)) for phase in phases]

        groups = optimizer.param_groups
        if last_epoch == -1:
            for peak, group in zip(self._per_group(optimizer, "max_lr", max_lr), groups):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise self._error("cycle_momentum needs an optimizer with momentum", "SGD/RMSprop (momentum) or "
                                  "Adam/AdamW (betas)", type(optimizer).__name__)
            self.use_beta1 = "betas" in optimizer.defaults
            highs = self._per_group(optimizer, "max_momentum", max_momentum)
            lows = self._per_group(optimizer, "base_momentum", base_momentum)
            if last_epoch == -1:
                for high, low, group in zip(highs, lows, groups):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, momentum):
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise self._error("stepped past the end of the cycle", f"at most total_steps={self.total_steps} steps",
                              f"step {step}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for index, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or index == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[phase["start_momentum"]],
                                                               group[phase["end_momentum"]], pct))
                    break
                start_step = end_step
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when a metric has stopped improving for ``patience`` epochs.

    Call ``step(metric)`` once per epoch with the monitored value (e.g. the validation loss).

    Args:
        optimizer: the optimizer.
        mode: ``"min"`` (lower is better) or ``"max"``.
        factor: the multiplier, < 1.
        patience: the number of epochs without improvement to tolerate.
        threshold: the least change that counts as an improvement.
        threshold_mode: ``"rel"`` (best * (1 -/+ threshold)) or ``"abs"`` (best -/+ threshold).
        cooldown: epochs to wait after a reduction before counting bad epochs again.
        min_lr: the lowest rate, one number or one per group.
        eps: a reduction smaller than this is skipped.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        self._check_optimizer(optimizer)
        self._check(_is_real(factor) and 0 <= factor < 1, "factor", factor, "0 <= factor < 1")
        if mode not in ("min", "max"):
            raise self._error("unknown mode", "'min' or 'max'", repr(mode))
        if threshold_mode not in ("rel", "abs"):
            raise self._error("unknown threshold_mode", "'rel' or 'abs'", repr(threshold_mode))
        self._check(_is_int(patience) and patience >= 0, "patience", patience, "an int >= 0")
        self._check(_is_int(cooldown) and cooldown >= 0, "cooldown", cooldown, "an int >= 0")
        self.optimizer = optimizer
        self.factor, self.patience, self.cooldown, self.eps = factor, patience, cooldown, eps
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.min_lrs = self._per_group(optimizer, "min_lr", min_lr)
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.last_epoch = 0
        self._last_lr = self._group_lrs()
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _is_better(self, value):
        if self.threshold_mode == "rel":
            scale = 1.0 - self.threshold if self.mode == "min" else 1.0 + self.threshold
            return value < self.best * scale if self.mode == "min" else value > self.best * scale
        if self.mode == "min":
            return value < self.best - self.threshold
        return value > self.best + self.threshold

    def step(self, metrics):
        """Record one epoch's metric and reduce the rates if it has plateaued."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise self._error("the metric must be a number", "a float (or a one-element Tensor)",
                              repr(metrics)) from None
        self.last_epoch += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._group_lrs()

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise self._error("the optimizer's groups changed since the scheduler was made",
                                  f"{len(self.min_lrs)} groups (one per min_lr)", f"{len(groups)}")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _copy(value):
    """A copy of plain nested data (lists, dicts, Counters), so saved state never aliases live state."""
    if isinstance(value, Counter):
        return Counter(value)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
