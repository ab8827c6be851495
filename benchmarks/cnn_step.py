"""Training-step throughput of a LeNet-like CNN, chainrule against PyTorch on the CPU.

    conv3x3(1->16)-ReLU-maxpool2-conv3x3(16->32)-ReLU-maxpool2-linear(32*5*5->10), 28x28 inputs,
    batch 64, float32 (``--padding 1`` gives the 7x7 variant with linear(32*7*7->10))

One step = forward, log-softmax cross-entropy, clear grads, backward, plain SGD update (lr 0.01).
Both models start from the same weights and must reach the same loss over 3 steps (to 1e-4).
Each round times every library for about ``--seconds`` in its own subprocess, so PyTorch's OpenMP
threads and NumPy's BLAS threads never compete inside one process; rounds alternate the order.
Reports median samples/s and the median per-round ratio chainrule / PyTorch.

    python benchmarks/cnn_step.py [--rounds 7] [--seconds 2] [--threads 2] [--padding 0]

PyTorch is needed here only; the library never imports it.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

BATCH, LR = 64, 0.01


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, BATCH)


def _initial_weights(padding):
    """PyTorch's default init from a fixed seed, as arrays both libraries load."""
    import torch
    torch.manual_seed(0)
    return [p.detach().numpy().copy() for p in _torch_model(torch, padding).parameters()]


def _torch_model(torch, padding):
    nn = torch.nn
    side = 7 if padding else 5
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * side * side, 10))


def torch_step(padding, weights):
    import torch
    model = _torch_model(torch, padding)
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(torch.from_numpy(w))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = (torch.from_numpy(a) for a in _data())

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss)
    return step


def chainrule_step(padding, weights):
    import chainrule as cr
    from chainrule.nn.conv import Conv2d
    from chainrule.nn.linear import Linear
    from chainrule.nn.pooling import MaxPool2d
    from chainrule.ops.activation import log_softmax

    side = 7 if padding else 5

    class LeNet(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = Conv2d(1, 16, 3, padding=padding), Conv2d(16, 32, 3, padding=padding)
            self.pool, self.head = MaxPool2d(2), Linear(32 * side * side, 10)

        def forward(self, x):
            x = self.pool(self.conv1(x).relu())
            x = self.pool(self.conv2(x).relu())
            return self.head(x.reshape((x.shape[0], -1)))

    model = LeNet()
    params = list(model.parameters())
    for p, w in zip(params, weights):
        p.data[...] = w
    x, y = _data()
    x, rows = cr.tensor(x), np.arange(BATCH)

    def step():
        loss = -log_softmax(model(x), dim=1)[rows, y].mean()
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data -= LR * p.grad.data
        return float(loss.item())
    return step


def worker(library, padding, seconds, threads):
    """Run in a subprocess: 3 checked steps, a warm-up, then steps for about ``seconds``."""
    import torch
    torch.set_num_threads(threads)
    weights = _initial_weights(padding)
    step = (chainrule_step if library == "chainrule" else torch_step)(padding, weights)
    losses = [step() for _ in range(3)]
    for _ in range(3):
        step()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        count += 1
    elapsed = time.perf_counter() - start
    print(json.dumps({"losses": losses, "samples_per_s": count * BATCH / elapsed}))


def run_worker(library, args):
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    out = subprocess.run([sys.executable, __file__, "--worker", library, "--padding", str(args.padding),
                          "--seconds", str(args.seconds), "--threads", str(args.threads)],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2, help="BLAS / OpenMP threads of each library")
    parser.add_argument("--padding", type=int, default=0, choices=[0, 1])
    parser.add_argument("--worker", choices=["chainrule", "pytorch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.padding, args.seconds, args.threads)
        return 0
    rates = {"chainrule": [], "pytorch": []}
    for k in range(args.rounds):
        order = ["chainrule", "pytorch"] if k % 2 == 0 else ["pytorch", "chainrule"]
        results = {library: run_worker(library, args) for library in order}
        if k == 0 and not np.allclose(results["chainrule"]["losses"], results["pytorch"]["losses"],
                                      rtol=1e-4, atol=1e-4):
            raise SystemExit(f"cnn_step: the libraries do not do the same work; expected equal losses, got "
                             f"{results['chainrule']['losses']} and {results['pytorch']['losses']}.")
        for library in rates:
            rates[library].append(results[library]["samples_per_s"])
        print(f"round {k + 1}: chainrule {rates['chainrule'][-1]:,.0f} samples/s, "
              f"pytorch {rates['pytorch'][-1]:,.0f} samples/s", flush=True)
    ratios = [a / b for a, b in zip(rates["chainrule"], rates["pytorch"])]
    print(f"median: chainrule {statistics.median(rates['chainrule']):,.0f} samples/s, pytorch "
          f"{statistics.median(rates['pytorch']):,.0f} samples/s; ratio chainrule / pytorch "
          f"{statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
