"""Public functions composed from primitives, gradient-checked through a table of their own."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(0)
X = rng.uniform(-2, 2, (3, 4))
X3 = rng.uniform(-2, 2, (2, 3, 4))
MASK = rng.uniform(size=(3, 4)) > 0.5

COMPOSITES = {
    "var": (lambda x: cr.var(x, dim=1), X),
    "var_keepdim_correction0": (lambda x: x.var(dim=(0, -1), keepdim=True, correction=0), X3),
    "std": (lambda x: x.std(), X),
    "max_dim_values": (lambda x: x.max(dim=-1).values, X),
    "min_dim_values": (lambda x: cr.min(x, dim=0, keepdim=True).values, X),
    "view": (lambda x: x.view(4, 3), X),
    "flatten": (lambda x: x.flatten(1), X3),
    "unsqueeze": (lambda x: x.unsqueeze(1), X),
    "squeeze": (lambda x: x.unsqueeze(0).squeeze(0), X),
    "transpose": (lambda x: x.transpose(0, 2), X3),
    "T": (lambda x: x.T, X),
    "mT": (lambda x: x.mT, X3),
    "split": (lambda x: x.split([1, 3], dim=1), X),
    "chunk": (lambda x: x.chunk(2, dim=-1), X3),
    "masked_fill": (lambda x: x.masked_fill(cr.tensor(MASK), 0.5), X),
    "sub_rsub_rdiv": (lambda x: (1.0 - x) / (2.0 + x * x), X),
    "double_cast": (lambda x: x.double() * 2, X),
    "softmax": (lambda x: (x - x.max(dim=1, keepdim=True).values).exp()
                / (x - x.max(dim=1, keepdim=True).values).exp().sum(dim=1, keepdim=True), X),
    "mse": (lambda x: ((x - 0.5) ** 2).mean(), X),
}


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composite_gradient(name):
    fn, data = COMPOSITES[name]
    assert gradcheck(fn, [cr.tensor(data, requires_grad=True)], name=name)


@pytest.mark.parametrize("name", sorted(n for n in COMPOSITES if n not in ("max_dim_values", "min_dim_values")))
def test_composite_second_derivative(name):
    fn, data = COMPOSITES[name]
    assert gradgradcheck(fn, [cr.tensor(data, requires_grad=True)], atol=1e-4, name=name)


def test_every_public_function_is_a_primitive_or_in_the_composite_table():
    from chainrule.autograd.function import registry
    composites = {"var", "std", "view", "flatten", "unsqueeze", "squeeze", "transpose", "split", "chunk",
                  "masked_fill", "mul", "div"}
    tested = set(registry) | composites | {"sub", "add"}
    functions = {name for name in cr.__all__ if callable(getattr(cr, name)) and name.islower()
                 and getattr(cr, name).__module__.startswith("chainrule.ops")}
    assert functions - tested == set()
