"""The traced XOR step the explain tests share: the article's 2-2-1 network, float64, lr 2."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import trace


@pytest.fixture(scope="module")
def xor_trace():
    rng = np.random.default_rng(1)
    params = {"W1": cr.tensor(rng.uniform(-1, 1, (2, 2)), requires_grad=True),
              "b1": cr.tensor(np.zeros(2), requires_grad=True),
              "W2": cr.tensor(rng.uniform(-1, 1, (2, 1)), requires_grad=True),
              "b2": cr.tensor(np.zeros(1), requires_grad=True)}

    def loss(x, y):
        hidden = (x @ params["W1"] + params["b1"]).sigmoid()
        return (((hidden @ params["W2"] + params["b2"]).sigmoid() - y) ** 2).mean()
    return trace(loss, np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]]), np.array([[0.0], [1], [1], [0]]),
                 params=params, lr=2.0)
