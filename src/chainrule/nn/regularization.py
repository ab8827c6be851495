"""L1 and L2 weight penalties as differentiable terms to add to a loss.

``l1_penalty(model, weight) = weight * sum |w|`` and ``l2_penalty(model, weight) = weight * sum w**2``
over the model's weight matrices and kernels. The L2 term has no 1/2: its gradient is
``2 * weight * w``, so it matches SGD's ``weight_decay=2 * weight`` (not ``weight``).

By default parameters with fewer than 2 dims are skipped: biases and the scales and shifts of
normalization layers, which are not usually penalised. ``include`` chooses differently.

Example:
    >>> import chainrule as cr
    >>> from chainrule.nn.regularization import l2_penalty
    >>> layer = cr.nn.Linear(2, 1)
    >>> with cr.no_grad():
    ...     layer.weight[...] = 3.0
    >>> l2_penalty(layer, 0.5).item()  # the bias is skipped
    9.0
"""

from chainrule import _dtypes
from chainrule.creation import zeros
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn.module import Module

__all__ = ["l1_penalty", "l2_penalty"]


def _is_weight(name, parameter):
    """The default ``include``: weight matrices and kernels, not biases or normalization parameters."""
    return parameter.ndim >= 2


def _penalised(op, model, weight, include):
    if not isinstance(model, Module):
        raise DTypeError(f"{op}: expected a Module whose parameters to penalise, got {type(model).__name__}.")
    if not isinstance(weight, (int, float)) or isinstance(weight, bool):
        raise DTypeError(f"{op}: weight must be a number; expected a float, got {weight!r}.")
    if weight < 0:
        raise ShapeError(f"{op}: weight must not be negative; expected weight >= 0, got {weight}.")
    include = _is_weight if include is None else include
    return [p for name, p in model.named_parameters() if include(name, p)]


def _total(parameters, term, weight):
    if not parameters:
        return zeros((), dtype=_dtypes.DEFAULT_FLOAT)
    total = term(parameters[0])
    for parameter in parameters[1:]:
        total = total + term(parameter)
    return total * weight


def l1_penalty(model, weight, include=None):
    """``weight * sum |w|`` over the parameters ``include(name, parameter)`` selects.

    Args:
        model: the Module whose parameters are penalised.
        weight: the penalty's strength, >= 0.
        include: a predicate ``(name, parameter) -> bool``; by default parameters with 2 or more
            dims (biases and normalization parameters are skipped). ``lambda name, p: True``
            penalises every parameter.

    Returns:
        A 0-d Tensor to add to the loss (0 when nothing is selected).
    """
    return _total(_penalised("l1_penalty", model, weight, include), lambda p: p.abs().sum(), weight)


def l2_penalty(model, weight, include=None):
    """``weight * sum w**2`` (no 1/2 factor) over the parameters ``include(name, parameter)`` selects.

    Args and Returns as :func:`l1_penalty`.
    """
    return _total(_penalised("l2_penalty", model, weight, include), lambda p: (p * p).sum(), weight)
