"""Time one training step of the article's XOR network in chainrule, PyTorch and plain NumPy.

The network is 2-2-1 with sigmoid hidden and output layers, mean squared error over the full
batch of the four XOR rows, and plain gradient descent (w <- w - lr * grad). One step is:
forward, loss, clear the gradients, backward, update. These implementations run in the same
process from the same initial weights:

    chainrule         tensor ops: x @ W + b, sigmoid, ((out - y) ** 2).mean(), loss.backward(),
                      p.data -= lr * p.grad.data
    pytorch           the same tensor ops on CPU (float32, torch.set_num_threads(2),
                      p.grad = None, update under torch.no_grad())
    chainrule-tape    the tensor ops recorded once by chainrule.autograd.Tape, then replayed (no graph)
    chainrule-layers  the layer functions F.linear and F.mse_loss (fused ops), same update
    chainrule-layers-tape  the same, recorded once by a Tape, then replayed
    pytorch-layers    torch.nn.functional.linear (addmm) and mse_loss, same update
    numpy             forward and backward written out by hand, no autodiff: the ceiling

Each library is compared with the other written the same way: tensor ops with tensor ops,
layer functions with layer functions.

Before timing, all of them train 100 steps and must reach the same loss and parameters (to 1e-5), so
the benchmark compares equal work. Timing interleaves the implementations: each round times
``--steps`` steps of each, in a rotating order, with ``time.perf_counter``; the weights are reset
before every timed run, and each run starts after a short pause (``_report.settle``). The table
gives the per-step median over the rounds, the spread, and the ratios; ``speedup vs PyTorch`` is
t_pytorch / t_chainrule (the project's goal is >= 3.0).

Run from the repository root:

    python benchmarks/xor_step.py            # print the table (run.py writes RESULTS.md)
    python benchmarks/xor_step.py --profile 25 --steps 20000   # rank chainrule's hot spots

PyTorch is needed here only; the library never imports it.
"""

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

import chainrule as cr
from _report import quartiles, time_rounds

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_TARGETS = np.array([[0], [1], [1], [0]], dtype=np.float32)
LR = 2.0  # the article's step size (chainrule.apps.xor.train_xor)
SEED = 1
CHECK_STEPS = 100
CHECK_TOLERANCE = 1e-5
TORCH_THREADS = 2
GOAL_SPEEDUP = 3.0



def initial_weights(seed=SEED):
    """The starting parameters, uniform in [-1, 1] for weights and zero for biases, as float32."""
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.uniform(-1.0, 1.0, (2, 2)).astype(np.float32),
        "b1": np.zeros(2, dtype=np.float32),
        "W2": rng.uniform(-1.0, 1.0, (2, 1)).astype(np.float32),
        "b2": np.zeros(1, dtype=np.float32),
    }


# --- the three implementations ---------------------------------------------------------------
# Each is a class with reset(weights) (copies the weights in, outside the timed region),
# step() -> the step's loss object (not converted, so no conversion is timed),
# loss_value(loss) -> float, and arrays() -> the current parameters as ndarrays.

class ChainruleXor:
    name = "chainrule"

    def __init__(self):
        self.x = cr.tensor(XOR_INPUTS)
        self.y = cr.tensor(XOR_TARGETS)

    def reset(self, weights):
        self.W1, self.b1, self.W2, self.b2 = (
            cr.tensor(weights[k].copy(), requires_grad=True) for k in ("W1", "b1", "W2", "b2"))
        self.params = (self.W1, self.b1, self.W2, self.b2)

    def loss(self, x, y):
        hidden = (x @ self.W1 + self.b1).sigmoid()
        out = (hidden @ self.W2 + self.b2).sigmoid()
        return ((out - y) ** 2).mean()

    def step(self):
        loss = self.loss(self.x, self.y)
        for p in self.params:
            p.grad = None
        loss.backward()
        for p in self.params:
            p.data -= LR * p.grad.data
        return loss

    @staticmethod
    def loss_value(loss):
        return float(loss.item())

    def arrays(self):
        return [p.data for p in self.params]


class _OnATape:
    """Mixin: the same step, its forward and backward replayed from a chainrule.autograd.Tape."""

    def reset(self, weights):
        super().reset(weights)
        self.tape = cr.autograd.Tape(self.loss)

    def step(self):
        for p in self.params:
            p.grad = None
        loss = self.tape(self.x, self.y)  # forward and backward
        for p in self.params:
            p.data -= LR * p.grad.data
        return loss


class ChainruleTapeXor(_OnATape, ChainruleXor):
    name = "chainrule-tape"


class ChainruleLayersXor(ChainruleXor):
    """The same network written with the layer functions: F.linear (weight (out, in)) and F.mse_loss."""

    name = "chainrule-layers"

    def __init__(self):
        super().__init__()
        import chainrule.nn.functional as F
        self.F = F

    def reset(self, weights):
        super().reset(weights)
        self.W1t = cr.tensor(weights["W1"].T.copy(), requires_grad=True)
        self.W2t = cr.tensor(weights["W2"].T.copy(), requires_grad=True)
        self.params = (self.W1t, self.b1, self.W2t, self.b2)

    def loss(self, x, y):
        F = self.F
        hidden = F.linear(x, self.W1t, self.b1).sigmoid()
        return F.mse_loss(F.linear(hidden, self.W2t, self.b2).sigmoid(), y)

    def arrays(self):
        return [self.W1t.data.T, self.b1.data, self.W2t.data.T, self.b2.data]


class ChainruleLayersTapeXor(_OnATape, ChainruleLayersXor):
    name = "chainrule-layers-tape"


class TorchXor:
    name = "pytorch"

    def __init__(self, torch):
        self.torch = torch
        self.x = torch.from_numpy(XOR_INPUTS.copy())
        self.y = torch.from_numpy(XOR_TARGETS.copy())

    def reset(self, weights):
        torch = self.torch
        self.W1, self.b1, self.W2, self.b2 = (
            torch.tensor(weights[k], dtype=torch.float32, requires_grad=True)
            for k in ("W1", "b1", "W2", "b2"))
        self.params = (self.W1, self.b1, self.W2, self.b2)

    def step(self):
        torch = self.torch
        hidden = torch.sigmoid(self.x @ self.W1 + self.b1)
        out = torch.sigmoid(hidden @ self.W2 + self.b2)
        loss = ((out - self.y) ** 2).mean()
        for p in self.params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in self.params:
                p -= LR * p.grad
        return loss

    @staticmethod
    def loss_value(loss):
        return float(loss.item())

    def arrays(self):
        return [p.detach().numpy() for p in self.params]


class TorchLayersXor(TorchXor):
    """PyTorch's idiomatic layer functions: F.linear (addmm) and F.mse_loss."""

    name = "pytorch-layers"

    def reset(self, weights):
        super().reset(weights)
        torch = self.torch
        self.W1t = torch.tensor(weights["W1"].T.copy(), requires_grad=True)
        self.W2t = torch.tensor(weights["W2"].T.copy(), requires_grad=True)
        self.params = (self.W1t, self.b1, self.W2t, self.b2)

    def step(self):
        torch, F = self.torch, self.torch.nn.functional
        hidden = torch.sigmoid(F.linear(self.x, self.W1t, self.b1))
        out = torch.sigmoid(F.linear(hidden, self.W2t, self.b2))
        loss = F.mse_loss(out, self.y)
        for p in self.params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in self.params:
                p -= LR * p.grad
        return loss

    def arrays(self):
        return [self.W1t.detach().numpy().T, self.b1.detach().numpy(), self.W2t.detach().numpy().T,
                self.b2.detach().numpy()]


class NumpyXor:
    """Forward and backward by hand: what the step costs with no graph and no per-op wrapper."""

    name = "numpy"

    def __init__(self):
        self.x = XOR_INPUTS.copy()
        self.y = XOR_TARGETS.copy()
        self.xT = self.x.T.copy()
        self.scale = np.float32(2.0 / self.y.size)  # d mean((out - y)**2) / d out = 2 (out - y) / n
        self.lr = np.float32(LR)

    def reset(self, weights):
        self.W1, self.b1, self.W2, self.b2 = (weights[k].copy() for k in ("W1", "b1", "W2", "b2"))

    @staticmethod
    def _sigmoid(z):
        # The same stable form chainrule's Sigmoid uses, computed in place.
        out = np.tanh(z * np.float32(0.5))
        out *= np.float32(0.5)
        out += np.float32(0.5)
        return out

    def step(self):
        W1, b1, W2, b2 = self.W1, self.b1, self.W2, self.b2
        hidden = self._sigmoid(self.x @ W1 + b1)
        out = self._sigmoid(hidden @ W2 + b2)
        diff = out - self.y
        loss = np.mean(diff * diff)
        grad_z2 = diff * self.scale * out * (np.float32(1.0) - out)
        grad_W2 = hidden.T @ grad_z2
        grad_b2 = grad_z2.sum(axis=0)
        grad_hidden = grad_z2 @ W2.T
        grad_z1 = grad_hidden * hidden * (np.float32(1.0) - hidden)
        grad_W1 = self.xT @ grad_z1
        grad_b1 = grad_z1.sum(axis=0)
        W1 -= self.lr * grad_W1
        b1 -= self.lr * grad_b1
        W2 -= self.lr * grad_W2
        b2 -= self.lr * grad_b2
        return loss

    @staticmethod
    def loss_value(loss):
        return float(loss)

    def arrays(self):
        return [self.W1, self.b1, self.W2, self.b2]


# --- checking and timing --------------------------------------------------------------------

def check_equal_work(impls, weights):
    """Train each implementation CHECK_STEPS steps; the losses and parameters must match chainrule's."""
    losses, params = {}, {}
    for impl in impls:
        impl.reset(weights)
        for _ in range(CHECK_STEPS):
            loss = impl.step()
        losses[impl.name] = impl.loss_value(loss)
        params[impl.name] = [np.array(a, dtype=np.float64) for a in impl.arrays()]
        if not np.isfinite(losses[impl.name]):
            raise SystemExit(f"xor_step: {impl.name} produced a non-finite loss {losses[impl.name]}.")
    reference = impls[0].name
    for name in losses:
        if abs(losses[name] - losses[reference]) > CHECK_TOLERANCE:
            raise SystemExit(f"xor_step: the implementations do not do the same work; expected the loss after "
                             f"{CHECK_STEPS} steps to agree to {CHECK_TOLERANCE}, got {losses}.")
        worst = max(float(np.max(np.abs(a - b))) for a, b in zip(params[name], params[reference]))
        if worst > CHECK_TOLERANCE:
            raise SystemExit(f"xor_step: {name} and {reference} reach different parameters after {CHECK_STEPS} "
                             f"steps; expected them to agree to {CHECK_TOLERANCE}, got a difference of {worst:.3g}.")
    return losses


def summarize(per_step):
    """Median, IQR and range per implementation (ms), and the ratios to chainrule."""
    rows = {}
    for name, times in per_step.items():
        ms = [t * 1e3 for t in times]
        q1, q3 = quartiles(ms)
        rows[name] = {"median": statistics.median(ms), "q1": q1, "q3": q3, "min": min(ms), "max": max(ms)}
    base = per_step["chainrule"]
    for name, times in per_step.items():
        paired = [t / c for t, c in zip(times, base)]  # same round, so drift cancels
        rows[name]["ratio"] = rows[name]["median"] / rows["chainrule"]["median"]
        rows[name]["ratio_min"], rows[name]["ratio_max"] = min(paired), max(paired)
    return rows


def markdown_table(rows):
    lines = [
        "| implementation | median ms/step | IQR ms | min–max ms | t_impl / t_chainrule (per-round range) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['median']:.4f} | {r['q1']:.4f}–{r['q3']:.4f} | {r['min']:.4f}–{r['max']:.4f} "
                     f"| {r['ratio']:.2f} ({r['ratio_min']:.2f}–{r['ratio_max']:.2f}) |")
    return "\n".join(lines)


def verdict(rows):
    lines = []
    for style, ours, theirs in (("tensor ops", "chainrule", "pytorch"),
                                ("tensor ops on a Tape", "chainrule-tape", "pytorch"),
                                ("layer functions", "chainrule-layers", "pytorch-layers"),
                                ("layer functions on a Tape", "chainrule-layers-tape", "pytorch-layers")):
        speedup = rows[theirs]["median"] / rows[ours]["median"]
        status = "meets" if speedup >= GOAL_SPEEDUP else "misses"
        lines.append(f"Speedup vs PyTorch, {style} (t_{theirs} / t_{ours}): **{speedup:.2f}×** — {status} "
                     f"the goal of ≥ {GOAL_SPEEDUP:.1f}×.")
    ceiling = rows["numpy"]["median"] / rows["chainrule-layers"]["median"]
    lines.append(f"Share of the NumPy ceiling (t_numpy / t_chainrule-layers): **{ceiling:.2f}** "
                 f"(chainrule costs {1 / ceiling:.1f}× the hand-written step).")
    return "  \n".join(lines)


def profile_chainrule(weights, steps, top):
    """Print where chainrule's step spends its time: cProfile's own time per function, per step.

    cProfile charges every Python call, so its totals run ~2.5x the real step; use it to rank the
    hot spots, and the timed table for absolute numbers.
    """
    import cProfile
    import pstats

    impl = ChainruleXor()
    impl.reset(weights)
    for _ in range(200):
        impl.step()
    impl.reset(weights)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        impl.step()
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    rows = sorted(((own / steps * 1e6, total / steps * 1e6, calls / steps, f"{Path(file).name}:{line}({fn})")
                   for (file, line, fn), (_, calls, own, total, _) in stats.items()), reverse=True)
    print(f"cProfile of {steps} chainrule steps (times in us per step, inflated by the profiler):")
    print("| own us | cumulative us | calls/step | function |")
    print("| ---: | ---: | ---: | --- |")
    for own, total, calls, where in rows[:top]:
        print(f"| {own:.2f} | {total:.2f} | {calls:g} | `{where}` |")
    print(f"| {sum(r[0] for r in rows):.2f} | | | all functions |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--steps", type=int, default=2000, help="steps per implementation per round (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed steps first (default 200)")
    parser.add_argument("--profile", type=int, metavar="TOP", default=0,
                        help="instead of timing, print the TOP functions of a cProfile of the chainrule step")
    args = parser.parse_args(argv)
    if args.profile:
        profile_chainrule(initial_weights(), args.steps, args.profile)
        return 0
    if args.rounds < 2 or args.steps < 1:
        parser.error("--rounds must be at least 2 and --steps at least 1")

    try:
        import torch
    except ImportError:
        raise SystemExit("xor_step: PyTorch is needed for this benchmark; install the test extra: "
                         "pip install -e '.[test]'") from None
    torch.set_num_threads(TORCH_THREADS)

    impls = [ChainruleXor(), TorchXor(torch), ChainruleTapeXor(), ChainruleLayersXor(), TorchLayersXor(torch),
             ChainruleLayersTapeXor(), NumpyXor()]
    weights = initial_weights()
    losses = check_equal_work(impls, weights)
    per_step = time_rounds(impls, weights, args.rounds, args.steps, args.warmup)
    rows = summarize(per_step)

    table = markdown_table(rows)
    check = ", ".join(f"{name} {value:.7f}" for name, value in losses.items())
    print(table)
    print()
    print(verdict(rows))
    print(f"\nLoss after {CHECK_STEPS} steps (must agree to {CHECK_TOLERANCE}): {check}")

    return 0


if __name__ == "__main__":
    sys.exit(main())
