"""Gradient clipping: rescale gradients by their total norm, or clamp each element.

Both functions give each clipped parameter a *new* gradient array instead of writing into the
old one: a gradient the user set by hand may share memory with other arrays, and writing into
it would change those too. The engine stores gradients it owns, so nothing is lost by this but
one allocation per clipped parameter.
"""

import math
import numbers

import numpy as np

from chainrule.errors import GradError
from chainrule.optim.optimizer import OptimizerError
from chainrule.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so their total norm is at most ``max_norm`` (PyTorch's rule).

    The total norm is the ``norm_type``-norm of the vector of per-parameter gradient norms (the
    norm of all gradients concatenated); every gradient is multiplied by
    ``min(max_norm / (total_norm + 1e-6), 1)``. Parameters without a gradient are skipped.

    Args:
        parameters: a Tensor or an iterable of Tensors (e.g. ``model.parameters()``).
        max_norm: the largest allowed total norm.
        norm_type: the order of the norm, a positive number or ``inf`` (``float("inf")`` or ``"inf"``).
        error_if_nonfinite: raise if the total norm is nan or infinite (otherwise the gradients
            become nan).

    Returns:
        The total norm of the gradients before clipping, a 0-d Tensor.

    Raises:
        GradError: the total norm is not finite and ``error_if_nonfinite`` is set.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.optim import clip_grad_norm_
        >>> w = cr.nn.Parameter(cr.zeros(2))
        >>> w.grad = cr.tensor([3.0, 4.0])
        >>> clip_grad_norm_([w], max_norm=1.0).item()
        5.0
        >>> [round(v, 4) for v in w.grad.tolist()]  # scaled by 1 / (5 + 1e-6)
        [0.6, 0.8]
    """
    params = _with_grads(parameters)
    max_norm = _real("clip_grad_norm_", "max_norm", max_norm)
    order = _norm_order(norm_type)
    if not params:
        return Tensor(0.0)
    grads = [p.grad.data for p in params]
    dtype = np.result_type(*grads)
    if order == math.inf:
        total = max(float(np.max(np.abs(g), initial=0.0)) for g in grads)
    else:
        norms = np.array([np.linalg.norm(g.ravel(), order) for g in grads], dtype=dtype)
        total = float(np.linalg.norm(norms, order))
    if error_if_nonfinite and not math.isfinite(total):
        raise GradError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}; "
                        f"expected a finite norm. Hint: pass error_if_nonfinite=False to clip anyway.")
    coefficient = max_norm / (total + 1e-6)
    if not coefficient >= 1.0:  # also true for nan
        for param in params:
            grad = param.grad.data
            with np.errstate(invalid="ignore"):  # inf * 0 = nan, as in PyTorch: the norm was not finite
                param.grad = Tensor._wrap(grad * np.asarray(coefficient, dtype=grad.dtype))
    return Tensor(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into ``[-clip_value, clip_value]``; parameters without a gradient are skipped.

    Args:
        parameters: a Tensor or an iterable of Tensors.
        clip_value: the largest allowed magnitude, >= 0.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.optim import clip_grad_value_
        >>> w = cr.nn.Parameter(cr.zeros(3))
        >>> w.grad = cr.tensor([-3.0, 0.5, 2.0])
        >>> clip_grad_value_([w], 1.0)
        >>> w.grad
        tensor([-1. ,  0.5,  1. ])
    """
    clip_value = _real("clip_grad_value_", "clip_value", clip_value)
    for param in _with_grads(parameters):
        grad = param.grad.data
        param.grad = Tensor._wrap(np.clip(grad, -clip_value, clip_value).astype(grad.dtype, copy=False))


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def _real(op, name, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0:
        raise OptimizerError(f"{op}: invalid {name}; expected a number >= 0, got {value!r}.")
    return float(value)


def _norm_order(norm_type):
    if isinstance(norm_type, str) and norm_type.lower() == "inf":
        return math.inf
    if not isinstance(norm_type, numbers.Real) or isinstance(norm_type, bool) or not norm_type > 0:
        raise OptimizerError(f"clip_grad_norm_: invalid norm_type; expected a number > 0 or inf, "
                             f"got {norm_type!r}.")
    return float(norm_type)
