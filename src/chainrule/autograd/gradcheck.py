"""Checking backprop against finite differences, in float64.

``gradcheck`` compares the engine's vector-Jacobian product with central differences for every
input element, using a random upstream gradient (never all ones, which hides transposition bugs).
``gradgradcheck`` does the same for the gradient itself (second order). ``gradcheck_model``
samples coordinates of every parameter of a model and reports the error per parameter.
"""

from dataclasses import dataclass

import numpy as np

from chainrule.autograd.engine import grad, no_grad
from chainrule.errors import GradError
from chainrule.tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "gradcheck_model", "GradcheckReport"]


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _float64_inputs(inputs):
    """Float Tensors become float64 leaves (keeping requires_grad); everything else passes unchanged."""
    result = []
    for x in inputs:
        if isinstance(x, Tensor) and x.data.dtype.kind == "f":
            result.append(Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad))
        else:
            result.append(x)
    return result


def _weighted_sum(outputs, weights):
    """sum_k <weights_k, outputs_k> as a Python float (outputs that are None count as 0)."""
    total = 0.0
    for out, w in zip(outputs, weights):
        if out is not None:
            total += float(np.sum(np.asarray(out.data, dtype=np.float64) * w))
    return total


def _close(analytic, numeric, atol, rtol):
    return np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, name=None):
    """Check ``fn``'s gradients against float64 central differences on every input element.

    Args:
        fn: a function of the inputs returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a sequence; float Tensors with requires_grad=True are checked (as
            float64 copies), other values are passed through unchanged.
        eps: the finite-difference step.
        atol, rtol: the tolerance, ``|analytic - numeric| <= atol + rtol * |numeric|``.
        seed: seeds the random upstream gradient.
        name: what to call ``fn`` in the failure message (defaults to its ``__name__``).

    Returns:
        True when every element agrees.

    Raises:
        GradError: naming the function, the input, the element and both values.
    """
    inputs = _float64_inputs(_as_tuple(inputs))
    name = name or getattr(fn, "__name__", "function")
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outputs = _as_tuple(fn(*inputs))
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(out.shape) for out in outputs]
    differentiable = [(out, w) for out, w in zip(outputs, weights) if out.requires_grad]
    if differentiable:
        analytic = grad([o for o, _ in differentiable], [inputs[i] for i in checked],
                        grad_outputs=[Tensor(w) for _, w in differentiable], allow_unused=True)
    else:
        analytic = [None] * len(checked)
    for position, i in enumerate(checked):
        x = inputs[i]
        a_grad = np.zeros(x.shape) if analytic[position] is None else analytic[position].data
        n_grad = np.zeros(x.shape)
        for index in np.ndindex(*x.shape):  # grad mode stays on: fn may itself call grad()
            original = x.data[index]
            x.data[index] = original + eps
            plus = _weighted_sum(_as_tuple(fn(*inputs)), weights)
            x.data[index] = original - eps
            minus = _weighted_sum(_as_tuple(fn(*inputs)), weights)
            x.data[index] = original
            n_grad[index] = (plus - minus) / (2 * eps)
        ok = _close(a_grad, n_grad, atol, rtol)
        if not ok.all():
            bad = tuple(int(k) for k in np.argwhere(~ok)[0]) if a_grad.ndim else ()
            raise GradError(f"gradcheck: {name}: gradient of input {i} (shape {x.shape}) differs from finite "
                            f"differences at element {bad}; expected {n_grad[bad]:.8g} (numeric), got "
                            f"{a_grad[bad]:.8g} (analytic); {int((~ok).sum())} of {ok.size} elements differ.")
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, name=None):
    """Check second derivatives: ``gradcheck`` of the vector-Jacobian product of ``fn``.

    The gradient is computed with ``create_graph=True``, so this also checks that every backward
    formula involved is itself differentiable.
    """
    inputs = _float64_inputs(_as_tuple(inputs))
    name = name or getattr(fn, "__name__", "function")
    rng = np.random.default_rng(seed + 1)
    weights = [Tensor(rng.standard_normal(out.shape)) for out in _as_tuple(fn(*inputs))]

    def vector_jacobian_product(*xs):
        outputs = _as_tuple(fn(*xs))
        pairs = [(o, w) for o, w in zip(outputs, weights) if o.requires_grad]
        targets = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        grads = grad([o for o, _ in pairs], targets, grad_outputs=[w for _, w in pairs],
                     create_graph=True, allow_unused=True)
        return tuple(Tensor(np.zeros(t.shape)) if g is None else g for g, t in zip(grads, targets))

    return gradcheck(vector_jacobian_product, inputs, eps, atol, rtol, seed, name=f"d/dx {name}")


@dataclass
class ParameterCheck:
    """The gradient check of one parameter: sampled coordinates and the worst errors among them."""
    name: str
    shape: tuple
    checked: int
    max_abs_error: float
    max_rel_error: float
    passed: bool


class GradcheckReport:
    """Per-parameter results of ``gradcheck_model``; ``str(report)`` is a table for learners."""

    def __init__(self, rows):
        self.rows = rows

    @property
    def passed(self):
        """True when every sampled coordinate of every parameter agreed."""
        return all(row.passed for row in self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __str__(self):
        header = f"{'parameter':<28} {'shape':<14} {'checked':>7} {'max abs err':>12} {'max rel err':>12}  ok"
        lines = [header, "-" * len(header)]
        for r in self.rows:
            lines.append(f"{r.name:<28} {str(r.shape):<14} {r.checked:>7} {r.max_abs_error:>12.3e} "
                         f"{r.max_rel_error:>12.3e}  {'yes' if r.passed else 'NO'}")
        lines.append("backprop matches finite differences" if self.passed else
                     "backprop DIFFERS from finite differences for the parameters marked NO")
        return "\n".join(lines)


def gradcheck_model(model, loss_fn, inputs, targets, coordinates=8, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Compare backprop with finite differences on sampled coordinates of every model parameter.

    The model's parameters and float inputs are moved to float64 for the check and restored
    afterwards, gradients included. Put models with randomness (dropout) in eval mode first.

    Args:
        model: a callable with ``named_parameters()`` (any ``nn.Module``).
        loss_fn: ``loss_fn(model(inputs), targets)`` gives a scalar Tensor.
        inputs, targets: one batch (Tensors or arrays).
        coordinates: how many coordinates to sample per parameter (all if fewer).

    Returns:
        A GradcheckReport: one row per parameter with the worst absolute and relative errors.
    """
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    saved = [(p, p.data, p.grad) for _, p in named]
    x = inputs.data.astype(np.float64) if isinstance(inputs, Tensor) and inputs.data.dtype.kind == "f" else inputs
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        x = Tensor(x.astype(np.float64))
    rng = np.random.default_rng(seed)
    try:
        for _, p in named:
            p.data = p.data.astype(np.float64)
        params = [p for _, p in named]
        analytic = grad(loss_fn(model(x), targets), params, allow_unused=True)
        rows = []
        for (name, p), a in zip(named, analytic):
            a_grad = np.zeros(p.shape) if a is None else a.data
            flat = rng.choice(p.data.size, size=min(coordinates, p.data.size), replace=False)
            abs_errors, rel_errors, passed = [], [], True
            with no_grad():
                for k in flat:
                    index = np.unravel_index(k, p.shape)
                    original = p.data[index]
                    p.data[index] = original + eps
                    plus = float(loss_fn(model(x), targets).data)
                    p.data[index] = original - eps
                    minus = float(loss_fn(model(x), targets).data)
                    p.data[index] = original
                    numeric = (plus - minus) / (2 * eps)
                    error = abs(a_grad[index] - numeric)
                    abs_errors.append(error)
                    rel_errors.append(error / max(abs(a_grad[index]), abs(numeric), 1e-12))
                    passed &= bool(_close(a_grad[index], numeric, atol, rtol))
            rows.append(ParameterCheck(name, tuple(p.shape), len(flat), float(max(abs_errors)),
                                       float(max(rel_errors)), passed))
        return GradcheckReport(rows)
    finally:
        for p, data, old_grad in saved:
            p.data, p.grad = data, old_grad
