"""Training-step throughput of three standard workloads, chainrule against PyTorch on the CPU.

    mlp   784-256-256-10 with ReLU, batch 128
    cnn   conv3x3(1->16, pad 1)-ReLU-maxpool2-conv3x3(16->32, pad 1)-ReLU-maxpool2-linear(1568->10), 28x28, batch 64
    lstm  LSTM(input 32, hidden 128) over 32 steps, batch 32, linear head on the last state (10 classes)

One step = forward, cross-entropy loss, zero_grad, backward, SGD update (each library's optim.SGD,
lr 0.01), float32, both libraries on --threads threads (default 1). Both models start from the same
weights; before timing, both take 3 steps on the same batch and must reach the same loss (to 1e-4).
Timing interleaves the libraries over rounds, each block after a short pause (``_report.settle``),
and reports the median samples/s and the ratio chainrule / PyTorch (the performance issue's goals:
MLP >= 1.15, CNN >= 0.6, LSTM >= 0.8).

    python benchmarks/train_step.py [--workloads mlp cnn lstm] [--rounds 7]

benchmarks/run.py runs these workloads with the others and writes RESULTS.md.

PyTorch is needed here only; the library never imports it.
"""

import argparse
import statistics
import sys
import time

import numpy as np

import chainrule as cr
from _report import settle

GOALS = {"mlp": 1.15, "cnn": 0.6, "lstm": 0.8}
BATCH = {"mlp": 128, "cnn": 64, "lstm": 32}
LR = 0.01


def chainrule_model(name):
    nn = cr.nn
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    return _ChainruleLstm()


class _ChainruleLstm(cr.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = cr.nn.LSTM(32, 128, batch_first=True)
        self.head = cr.nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])


def torch_model(torch, name):
    nn = torch.nn
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(32 * 7 * 7, 10))

    class TorchLstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(32, 128, batch_first=True)
            self.head = nn.Linear(128, 10)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.head(h[-1])
    return TorchLstm()


def batch(name, rng):
    n = BATCH[name]
    shape = {"mlp": (n, 784), "cnn": (n, 1, 28, 28), "lstm": (n, 32, 32)}[name]
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, n)


class Runner:
    """One library's model, optimizer and batch, with a ``step()`` to time."""

    def __init__(self, library, model, optimizer, loss_fn, x, y):
        self.library, self.model, self.optimizer, self.loss_fn, self.x, self.y = (
            library, model, optimizer, loss_fn, x, y)

    def step(self):
        loss = self.loss_fn(self.model(self.x), self.y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss


class TapeRunner(Runner):
    """chainrule's step with its forward and backward replayed from a chainrule.autograd.Tape."""

    def __init__(self, *args):
        super().__init__(*args)
        self.tape = cr.autograd.Tape(lambda x, y: self.loss_fn(self.model(x), y))

    def step(self):
        self.optimizer.zero_grad()
        loss = self.tape(self.x, self.y)  # forward and backward
        self.optimizer.step()
        return loss


def make_tape_runner(torch, name, seed=0):
    """chainrule's runner of ``make_runners``, with the same weights and batch, on a Tape."""
    ours, _ = make_runners(torch, name, seed)
    return TapeRunner("chainrule-tape", ours.model, ours.optimizer, ours.loss_fn, ours.x, ours.y)


def make_runners(torch, name, seed=0):
    rng = np.random.default_rng(seed)
    x, y = batch(name, rng)
    torch.manual_seed(seed)
    reference = torch_model(torch, name)
    ours = chainrule_model(name)
    ours.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    chainrule_runner = Runner("chainrule", ours, cr.optim.SGD(ours.parameters(), lr=LR),
                              cr.nn.functional.cross_entropy, cr.tensor(x), cr.tensor(y))
    torch_runner = Runner("pytorch", reference, torch.optim.SGD(reference.parameters(), lr=LR),
                          torch.nn.functional.cross_entropy, torch.from_numpy(x), torch.from_numpy(y))
    return chainrule_runner, torch_runner


def check_equal_work(runners):
    losses = [[float(r.step().item()) for _ in range(3)] for r in runners]
    if not np.allclose(losses[0], losses[1], rtol=1e-4, atol=1e-4):
        raise SystemExit(f"train_step: the libraries do not do the same work; expected equal losses over "
                         f"3 steps, got chainrule {losses[0]} and pytorch {losses[1]}.")
    return losses[0][-1]


def measure(runners, rounds, seconds):
    """Samples/s per library per round, libraries interleaved, each timed for about ``seconds``."""
    for r in runners:
        for _ in range(3):
            r.step()
    calls = {}
    for r in runners:
        start = time.perf_counter()
        r.step()
        calls[r.library] = max(3, int(seconds / max(time.perf_counter() - start, 1e-6)))
    rates = {r.library: [] for r in runners}
    for k in range(rounds):
        for r in (runners if k % 2 == 0 else runners[::-1]):
            n = calls[r.library]
            settle()
            start = time.perf_counter()
            for _ in range(n):
                r.step()
            rates[r.library].append(n * len(r.y) / (time.perf_counter() - start))
    return rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", nargs="+", default=["mlp", "cnn", "lstm"], choices=["mlp", "cnn", "lstm"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per library per round")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads (default 1)")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        raise SystemExit("train_step: PyTorch is needed; pip install -e '.[test]'") from None
    torch.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise SystemExit("train_step: threadpoolctl is needed to set NumPy's BLAS threads; "
                         "pip install threadpoolctl") from None
    threadpool_limits(args.threads)
    lines = ["| workload | batch | chainrule samples/s | PyTorch samples/s | ratio (median, min–max) | goal |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name in args.workloads:
        runners = make_runners(torch, name)
        check_equal_work(runners)
        rates = measure(runners, args.rounds, args.seconds)
        ratios = [a / b for a, b in zip(rates["chainrule"], rates["pytorch"])]
        ours, theirs = statistics.median(rates["chainrule"]), statistics.median(rates["pytorch"])
        status = "meets" if statistics.median(ratios) >= GOALS[name] else "misses"
        lines.append(f"| {name} | {BATCH[name]} | {ours:,.0f} | {theirs:,.0f} | {statistics.median(ratios):.2f} "
                     f"({min(ratios):.2f}–{max(ratios):.2f}) | {GOALS[name]} ({status}) |")
        print(lines[-1], flush=True)
    table = "\n".join(lines)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
