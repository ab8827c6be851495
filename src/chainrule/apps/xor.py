"""The article's XOR network: 2 inputs, 2 sigmoid hidden units, 1 sigmoid output.

Trained with the article's five steps and nothing else: forward pass, mean squared error,
backward pass by the chain rule, a plain gradient-descent update, repeated until the error falls
below a convergence threshold.
"""

from dataclasses import dataclass, field

import numpy as np

import chainrule as cr

__all__ = ["XOR_INPUTS", "XOR_TARGETS", "XorRun", "train_xor", "truth_table"]

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_TARGETS = np.array([[0], [1], [1], [0]], dtype=np.float32)


@dataclass
class XorRun:
    """The trained parameters, the loss after every step, and whether the threshold was reached."""
    params: dict
    losses: list = field(default_factory=list)
    converged: bool = False

    def predict(self, inputs):
        """The network's outputs for rows of two inputs."""
        with cr.no_grad():
            return _forward(self.params, cr.tensor(inputs)).numpy()


def _forward(params, x):
    hidden = (x @ params["W1"] + params["b1"]).sigmoid()
    return (hidden @ params["W2"] + params["b2"]).sigmoid()


def train_xor(lr=2.0, threshold=0.005, max_steps=20000, seed=1):
    """Train the 2-2-1 network by full-batch gradient descent until the MSE falls below ``threshold``.

    Args:
        lr: the gradient-descent step size.
        threshold: the article's convergence criterion on the mean squared error.
        max_steps: give up after this many steps (``converged`` stays False).
        seed: seeds the initial weights (uniform in [-1, 1]).

    Returns:
        An XorRun with the parameters and the loss curve.
    """
    cr.manual_seed(seed)
    params = {
        "W1": cr.rand(2, 2) * 2 - 1, "b1": cr.zeros(2),
        "W2": cr.rand(2, 1) * 2 - 1, "b2": cr.zeros(1),
    }
    for p in params.values():
        p.requires_grad_()
    x, y = cr.tensor(XOR_INPUTS), cr.tensor(XOR_TARGETS)
    run = XorRun(params)
    for _ in range(max_steps):
        output = _forward(params, x)                 # 1. forward pass
        loss = ((output - y) ** 2).mean()            # 2. error
        for p in params.values():
            p.grad = None
        loss.backward()                              # 3. backward pass (chain rule)
        for p in params.values():                    # 4. gradient-descent update
            p.data -= lr * p.grad.data
        run.losses.append(loss.item())
        if run.losses[-1] < threshold:               # 5. repeat until converged
            run.converged = True
            break
    return run


def truth_table(run):
    """The XOR truth table with the network's output beside each target, as text."""
    outputs = run.predict(XOR_INPUTS)
    lines = ["x1  x2 | target | output", "--------+--------+-------"]
    for (a, b), target, out in zip(XOR_INPUTS.astype(int), XOR_TARGETS[:, 0].astype(int), outputs[:, 0]):
        lines.append(f" {a}   {b} |   {target}    | {out:.3f}")
    return "\n".join(lines)
