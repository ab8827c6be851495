"""A small problem solved twice, by chainrule and by PyTorch from the same weights and data.

The ``twin`` fixture builds a two-layer float64 MLP in chainrule and the same one in torch;
``chainrule_step`` and ``torch_step`` run zero_grad, forward, mean squared error, backward and the
optimizer step. In float64 the two libraries agree to ~1e-16, so parameters are compared to 1e-10
(well inside the 1e-6 asked of them): a misplaced eps or bias correction cannot hide.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

IN, HIDDEN, OUT, BATCH = 4, 8, 3, 16


class ChainruleMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(IN, HIDDEN, dtype=cr.float64)
        self.out = nn.Linear(HIDDEN, OUT, dtype=cr.float64)

    def forward(self, x):
        return self.out(self.hidden(x).tanh())


class TorchMLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = torch.nn.Linear(IN, HIDDEN, dtype=torch.float64)
        self.out = torch.nn.Linear(HIDDEN, OUT, dtype=torch.float64)

    def forward(self, x):
        return self.out(self.hidden(x).tanh())


class Twin:
    """The same weights and data in both libraries."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.weights = {"hidden.weight": rng.normal(0, 0.5, (HIDDEN, IN)),
                        "hidden.bias": rng.normal(0, 0.1, HIDDEN),
                        "out.weight": rng.normal(0, 0.5, (OUT, HIDDEN)), "out.bias": rng.normal(0, 0.1, OUT)}
        self.x = rng.standard_normal((BATCH, IN))
        self.y = rng.standard_normal((BATCH, OUT))

    def chainrule_model(self):
        model = ChainruleMLP()
        model.load_state_dict(self.weights)
        return model

    def torch_model(self):
        model = TorchMLP()
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in self.weights.items()})
        return model

    def chainrule_loss(self, model):
        return ((model(cr.tensor(self.x)) - cr.tensor(self.y)) ** 2).mean()

    def chainrule_step(self, model, optimizer):
        optimizer.zero_grad()
        loss = self.chainrule_loss(model)
        loss.backward()
        optimizer.step()
        return loss.item()

    def torch_step(self, model, optimizer):
        optimizer.zero_grad()
        loss = ((model(torch.from_numpy(self.x)) - torch.from_numpy(self.y)) ** 2).mean()
        loss.backward()
        optimizer.step()
        return loss.item()

    @staticmethod
    def groups(model, spec):
        """Optimizer parameters: all of them (spec None) or one group per (layer name, options)."""
        if spec is None:
            return model.parameters()
        return [{"params": list(getattr(model, layer).parameters()), **options} for layer, options in spec]

    @staticmethod
    def assert_same_parameters(ours, theirs, context=""):
        for (name, mine), (_, reference) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(mine.numpy(), reference.detach().numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"{name} {context}")


@pytest.fixture
def twin():
    return Twin()
