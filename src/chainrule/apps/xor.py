"""The article's XOR network: 2 inputs, 2 sigmoid hidden units, 1 sigmoid output.

Trained with the article's five steps and nothing else: forward pass, mean squared error,
backward pass by the chain rule, a plain gradient-descent update, repeated until the error falls
below a convergence threshold.
"""

from dataclasses import dataclass, field

import numpy as np

import chainrule as cr
from chainrule.apps._run import AppResult, RunFolder, Stopwatch, command_line, measure
from chainrule.errors import ChainruleError

__all__ = ["XOR_INPUTS", "XOR_TARGETS", "XorRun", "train_xor", "truth_table", "SUMMARY", "add_arguments", "train",
           "add_predict_arguments", "predict"]

SUMMARY = "the article's 2-2-1 sigmoid XOR network: MSE, plain gradient descent, stop at a loss threshold"

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


def add_arguments(parser):
    """``chainrule train xor`` options."""
    parser.add_argument("--lr", type=float, default=2.0, help="gradient-descent step size (default 2.0)")
    parser.add_argument("--threshold", type=float, default=0.005, help="stop when the MSE falls below this")
    parser.add_argument("--max-steps", type=int, default=20000, help="give up after this many steps")


def train(out="runs/xor", data=None, seed=0, lr=2.0, threshold=0.005, max_steps=20000):
    """Train the XOR network; write metrics.json, the loss curve and the weights to ``out``.

    ``data`` is refused: XOR's four rows are the data. The result does not succeed when the loss
    never reaches ``threshold`` within ``max_steps``.
    """
    if data is not None:
        raise ChainruleError(f"train xor: XOR brings its own four rows; expected no --data, got {data!r}.")
    watch = Stopwatch()
    run = train_xor(lr=lr, threshold=threshold, max_steps=max_steps, seed=seed)
    folder = RunFolder(out)
    cr.save({name: p.detach() for name, p in run.params.items()}, folder.checkpoint)
    curve = folder.learning_curves({"loss": run.losses}, name="loss_curve.png", xlabel="step")
    outputs = run.predict(XOR_INPUTS)[:, 0]
    correct = float((outputs.round() == XOR_TARGETS[:, 0]).mean())
    metrics_path = folder.write_metrics("xor", {
        "command": command_line("xor", seed=seed, lr=lr, threshold=threshold, max_steps=max_steps),
        "seed": seed, "seconds": watch.seconds, "converged": run.converged, "steps": len(run.losses),
        "loss": run.losses[-1], "outputs": outputs.tolist(),
        "measures": [measure("truth table rows right", correct, target=1.0),
                     measure("final MSE", run.losses[-1], target=threshold, higher_is_better=False)]})
    status = "converged" if run.converged else "did NOT converge"
    lines = [f"XOR 2-2-1 sigmoid network, MSE loss, gradient descent (lr={lr}): {status} after "
             f"{len(run.losses)} steps, loss {run.losses[0]:.4f} -> {run.losses[-1]:.4f}", truth_table(run)]
    files = {"loss_curve": str(curve), "checkpoint": str(folder.checkpoint), "metrics": str(metrics_path)}
    return AppResult(metrics={"converged": run.converged}, lines=lines, files=files, succeeded=run.converged)


def add_predict_arguments(parser):
    """``chainrule predict xor`` takes pairs of inputs such as ``0,1``."""
    parser.add_argument("inputs", nargs="+", help="input pairs such as 0,1 or 1,1")


def predict(inputs, run="runs/xor"):
    """The trained network's output for each ``"x1,x2"`` pair, one line each."""
    from pathlib import Path
    params = {name: cr.tensor(value) for name, value in cr.load(Path(run) / "checkpoint.npz").items()}
    rows = []
    for text in inputs:
        try:
            rows.append([float(v) for v in text.split(",")])
        except ValueError:
            rows.append(None)
        if rows[-1] is None or len(rows[-1]) != 2:
            raise ChainruleError(f"predict xor: cannot read input {text!r}; expected two numbers such as 0,1.")
    with cr.no_grad():
        outputs = _forward(params, cr.tensor(np.array(rows, dtype=np.float32))).numpy()[:, 0]
    return [f"{text} -> {value:.3f} (class {int(value >= 0.5)})" for text, value in zip(inputs, outputs)]
