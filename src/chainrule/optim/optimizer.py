"""Optimizer: the base class that holds parameter groups and per-parameter state.

An optimizer owns a list of *parameter groups* (dicts holding ``"params"`` and the options for
those parameters, e.g. one learning rate for the backbone and another for the head) and a
``state`` dict per parameter (momentum buffers, running averages, step counts). Subclasses only
write ``_update``: the rule that changes one parameter's ndarray in place from its gradient.
Updates work on ``param.data`` directly, so they never build autograd nodes.

``state_dict()`` uses PyTorch's layout, so a run can be checkpointed and resumed exactly::

    {"state": {0: {"step": 3, "exp_avg": ndarray, ...}, ...},       # keyed by parameter index
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}, ...]}   # indices, in group order
"""

import copy
import numbers
from collections import defaultdict

import numpy as np

from chainrule.autograd import enable_grad
from chainrule.errors import GradError, OptimizerError, ShapeError
from chainrule.tensor import Tensor

__all__ = ["Optimizer", "OptimizerError"]


class Optimizer:
    """Base class of every optimizer.

    Args:
        params: an iterable of Tensors (usually ``model.parameters()``), or of dicts, each one
            parameter group: ``{"params": [...], "lr": 0.1}``; options a group leaves out come
            from ``defaults``.
        defaults: the default value of every option the optimizer reads.

    Raises:
        OptimizerError: an option is out of range, a parameter is not a Tensor or appears twice,
            or the parameter list is empty.
        GradError: a parameter is not a leaf tensor.
    """

    def __init__(self, params, defaults):
        self._check_options(defaults)
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise self._error("parameters must be in an ordered collection", "a list or a generator",
                              "a set")
        try:
            params = list(params)
        except TypeError:
            raise self._error("params must be an iterable of Tensors or of parameter groups",
                              "e.g. model.parameters()", type(params).__name__) from None
        if not params:
            raise self._error("got an empty parameter list", "at least one parameter",
                              "none. Hint: check that the model has parameters")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    # --- options and errors ---------------------------------------------------------------
    def _check_options(self, options):
        """Raise OptimizerError for an option out of range; subclasses check their own."""

    def _error(self, what, expected, got):
        return OptimizerError(f"{type(self).__name__}: {what}; expected {expected}, got {got}.")

    def _check_at_least(self, options, name, low=0.0):
        value = options.get(name)
        if not _is_real(value) or not value >= low:
            raise self._error(f"invalid {name}", f"{name} >= {low}", repr(value))

    def _check_fraction(self, name, value):
        """A coefficient that must lie in [0, 1), such as a beta."""
        if not _is_real(value) or not 0.0 <= value < 1.0:
            raise self._error(f"invalid {name}", f"0 <= {name} < 1", repr(value))

    # --- groups ---------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (e.g. unfreezing layers while training).

        Args:
            param_group: a dict with ``"params"`` (a Tensor or an iterable of Tensors) and any
                options; missing options are taken from ``defaults``.
        """
        if not isinstance(param_group, dict):
            raise self._error("a parameter group must be a dict", "{'params': [...], ...}",
                              type(param_group).__name__)
        if "params" not in param_group:
            raise self._error("a parameter group has no 'params' key", "{'params': [...], ...}",
                              f"keys {sorted(param_group)}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise self._error("parameters must be in an ordered collection", "a list or a generator",
                              "a set")
        group["params"] = params = list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise self._error("can only optimize Tensors", "Parameters or leaf Tensors",
                                  type(param).__name__)
            if not param.is_leaf:
                raise GradError(f"{type(self).__name__}: can't optimize a tensor computed by an op; "
                                f"expected a leaf tensor, got one with grad_fn {param.grad_fn.name}. "
                                f"Hint: optimize the Parameter itself, or detach() it.")
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_options(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for index, param in enumerate(params):
            if id(param) in seen:
                raise self._error("a parameter appears more than once", "each parameter in one group "
                                  "only, once", f"a repeat at position {index} of group "
                                  f"{len(self.param_groups)} (shape {tuple(param.shape)})")
            seen.add(id(param))
        self.param_groups.append(group)

    # --- the step -------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient.

        Args:
            set_to_none: set ``.grad`` to None (default, as PyTorch); otherwise give each existing
                gradient a fresh zero array (never zeroing an array another tensor may share).
        """
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad = Tensor._wrap(np.zeros_like(param.grad.data))

    def step(self, closure=None):
        """Update every parameter that has a gradient; parameters whose ``.grad`` is None are skipped.

        Args:
            closure: optional function that recomputes the loss (runs with gradients enabled).

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad.data
                if grad.shape != param.data.shape:
                    raise ShapeError(f"{type(self).__name__}: a gradient does not fit its parameter; "
                                     f"expected shape {param.data.shape}, got {grad.shape}.")
                if group.get("maximize", False):
                    grad = -grad
                state = self.state.get(param)
                if state is None:
                    state = {}
                self._update(param.data, grad, state, group)
                if state:
                    self.state[param] = state
        return loss

    def _update(self, param, grad, state, group):
        """Change ``param`` (an ndarray) in place from ``grad``; read and write ``state``.

        ``grad`` may be the parameter's own gradient array: never write into it.
        """
        raise NotImplementedError(f"{type(self).__name__} must define _update()")

    # --- state ----------------------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state in PyTorch's layout: per-parameter state keyed by parameter index,
        and the groups' options with ``"params"`` as index lists.

        The arrays are the optimizer's own (not copies), as in PyTorch: save them, or deep-copy the
        dict, before training on.
        """
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
                packed["params"].append(index_of[id(param)])
            groups.append(packed)
        state = {index_of[id(param)]: dict(values) for param, values in self.state.items()
                 if id(param) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and per-parameter state from ``state_dict()`` (also after ``chainrule.load``).

        The groups must hold as many parameters, in the same order, as this optimizer's. State
        arrays (ndarrays or Tensors) are copied and cast to their parameter's dtype.

        Raises:
            OptimizerError: the state dict's groups do not match this optimizer's.
            ShapeError: a state array's shape differs from its parameter's.
        """
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            got = f"keys {sorted(state_dict)}" if isinstance(state_dict, dict) else type(state_dict).__name__
            raise self._error("load_state_dict: not an optimizer state dict",
                              "a dict with 'state' and 'param_groups'", got)
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise self._error("load_state_dict: the number of parameter groups differs",
                              f"{len(self.param_groups)} groups", f"{len(saved_groups)}")
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in saved_groups]
        if sizes != saved_sizes:
            raise self._error("load_state_dict: the parameter groups' sizes differ",
                              f"group sizes {sizes}", f"{saved_sizes}")
        param_of = {}
        for group, saved in zip(self.param_groups, saved_groups):
            for param, index in zip(group["params"], saved["params"]):
                param_of[index] = param
        new_state = defaultdict(dict)
        for index, values in state_dict["state"].items():
            if index not in param_of:
                raise self._error("load_state_dict: state for an unknown parameter",
                                  f"indices in {sorted(param_of)}", repr(index))
            param = param_of[index]
            new_state[param] = {key: self._restore_value(key, value, param, index)
                                for key, value in values.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            restored = copy.deepcopy({k: v for k, v in saved.items() if k != "params"})
            restored["params"] = group["params"]
            new_groups.append(restored)
        self.state = new_state
        self.param_groups = new_groups

    def _restore_value(self, key, value, param, index):
        if isinstance(value, Tensor):
            value = value.data
        if not isinstance(value, np.ndarray):
            return copy.deepcopy(value)
        if value.ndim == 0 and key == "step":
            return value.item()
        if value.shape != param.data.shape:
            raise ShapeError(f"{type(self).__name__}: load_state_dict: state {key!r} of parameter {index} "
                             f"does not fit it; expected shape {param.data.shape}, got {value.shape}.")
        dtype = param.data.dtype if value.dtype.kind == "f" else value.dtype
        return np.array(value, dtype=dtype)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        return "\n".join(lines) + "\n)"


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
