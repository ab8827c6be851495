"""Every performance benchmark of chainrule in one process: chainrule against PyTorch and NumPy.

Training steps (forward, cross-entropy or MSE, zero_grad, backward, SGD update; float32):

    xor    2-2-1 sigmoid network, MSE over the 4 XOR rows, lr 2.0; written with tensor ops and with
           layer functions in each library (benchmarks/xor_step.py has the implementations)
    mlp    784-256-256-10 with ReLU, batch 128              (benchmarks/train_step.py)
    cnn    conv3x3(1->16)-pool-conv3x3(16->32)-pool-linear, 28x28, batch 64
    lstm   LSTM(input 32, hidden 128) over 32 steps, batch 32, linear head

chainrule's step also runs on a Tape (``chainrule.autograd.Tape``: the step's forward and backward
recorded once, then replayed from the record without building a graph; rows "on a Tape"), against
the same PyTorch step. There is a hand-written NumPy step of each
(benchmarks/_numpy_ceiling.py; XOR's is in xor_step.py),
the ceiling for a library built on NumPy. Every implementation starts from the same weights and
batch and must give the same losses for 3 steps before it is timed.

Also: peak memory of a training run (tracemalloc: model, optimizer, batch and 3 steps, built
inside the trace) against the hand-written NumPy step; and end-to-end epochs (each library's
own data loader and optimizer) of the digits application's CNN and, with ``--mnist``, of the CNN
above on MNIST (benchmarks/_epochs.py).

Method: all libraries share one process and one thread count (``--threads``, applied to NumPy's
BLAS through threadpoolctl and to PyTorch with set_num_threads). Each round times every
implementation for about ``--seconds`` in a rotating order, each after a 0.3 s pause that lets the
threads of the one before go idle (OpenBLAS's workers keep spinning ~0.1 s after a product and
would slow whatever runs next); the ratio of a round compares implementations timed moments apart,
so machine load mostly cancels; the tables give the median ratio over rounds and its range.
``chainrule.performance.keep_large_allocations()`` is called first unless ``--default-malloc`` (it
is process-wide, so it applies to PyTorch too). With ``--compiled-kernels`` chainrule runs the ops
that have a numba kernel with it (``chainrule.performance.use_compiled_kernels()``, the ``fast``
extra); its results go to their own sections of RESULTS.md.

    python benchmarks/run.py                      # everything but MNIST, print the tables
    python benchmarks/run.py --mnist /path/to/mnist --write   # also MNIST; update RESULTS.md
    python benchmarks/run.py --workloads cnn lstm --rounds 5  # a subset
    python benchmarks/run.py --threads 2 --compiled-kernels     # with numba's kernels

PyTorch, threadpoolctl and scikit-learn (the digits) are needed here only; the library never
imports PyTorch.
"""

import argparse
import datetime
import gc
import os
import statistics
import sys
import time
import tracemalloc

import numpy as np

import chainrule as cr
import train_step
import xor_step
from _numpy_ceiling import NumpyCnn, NumpyLstm, NumpyMlp
from _report import SETTLE_SECONDS, machine_lines, quartiles, settle, write_results

STEP_WORKLOADS = ("xor", "mlp", "cnn", "lstm")
ALL_WORKLOADS = STEP_WORKLOADS + ("memory", "digits", "mnist")
GOALS = {"xor": 3.0, "mlp": 1.15, "cnn": 0.6, "lstm": 0.8, "digits": 1 / 1.5, "mnist": 1 / 1.5}
STRETCH = {"cnn": 0.8}
CEILINGS = {"mlp": NumpyMlp, "cnn": NumpyCnn, "lstm": NumpyLstm}
MEMORY_GOAL = 1.3
EQUAL_LOSS = 1e-4


# --- timing ------------------------------------------------------------------------------------

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter
CLOCK_TEXT = {"wall": "`time.perf_counter` (wall clock)",
              "cpu": "`time.process_time` (the CPU time of this process, which leaves out the time other "
                     "programs on a busy machine held the cores)"}


def interleave(impls, rounds, seconds, calls=None):
    """Seconds per call of each ``(name, step)`` in each round; rounds rotate the order.

    Each implementation is called ``calls`` times per round, or as many times as fit in about
    ``seconds`` (measured once after a warm-up), after a pause that lets the previous
    implementation's BLAS threads go idle (``_report.settle``). Times are read from ``clock``.
    """
    counts = {}
    for name, step in impls:
        if calls is None:
            for _ in range(3):
                step()
            start = clock()
            step()
            counts[name] = max(3, int(seconds / max(clock() - start, 1e-6)))
        else:
            counts[name] = calls
    times = {name: [] for name, _ in impls}
    for r in range(rounds):
        shift = r % len(impls)
        for name, step in impls[shift:] + impls[:shift]:
            n = counts[name]
            settle()
            start = clock()
            for _ in range(n):
                step()
            times[name].append((clock() - start) / n)
    return times


def summary_row(label, times, ours, theirs, goal_key, unit_scale=1e3):
    """A table row: medians (IQR) of chainrule, PyTorch and NumPy, and the per-round ratio."""
    def cell(name):
        if name not in times:
            return "–"
        values = [t * unit_scale for t in times[name]]
        q1, q3 = quartiles(values) if len(values) > 1 else (values[0], values[0])
        return f"{statistics.median(values):.3f} ({q1:.3f}–{q3:.3f})"
    ratios = [t / c for t, c in zip(times[theirs], times[ours])]  # throughput ours / theirs
    ratio = statistics.median(ratios)
    numpy_share = ""
    if "numpy" in times:
        numpy_share = f"{statistics.median([n / c for n, c in zip(times['numpy'], times[ours])]):.2f}"
    goal = GOALS.get(goal_key)
    verdict = "meets" if goal is not None and ratio >= goal else "misses"
    stretch = STRETCH.get(goal_key)
    goal_text = "–" if goal is None else f"≥ {goal:.2f} ({verdict}" + (
        f"; stretch {stretch}: {'meets' if ratio >= stretch else 'misses'})" if stretch else ")")
    return (f"| {label} | {cell(ours)} | {cell(theirs)} | {cell('numpy')} | **{ratio:.2f}** "
            f"({min(ratios):.2f}–{max(ratios):.2f}) | {numpy_share or '–'} | {goal_text} |"), ratio


TABLE_HEAD = ["| workload | chainrule ms (IQR) | PyTorch ms (IQR) | NumPy ms (IQR) | chainrule / PyTorch "
              "throughput, median (range) | NumPy share | goal |",
              "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]


def check_losses(workload, losses):
    names = list(losses)
    for name in names[1:]:
        if not np.allclose(losses[name], losses[names[0]], rtol=EQUAL_LOSS, atol=EQUAL_LOSS):
            raise SystemExit(f"run.py: {workload}: the implementations do not do the same work; expected equal "
                             f"losses, got {losses}.")


# --- the step workloads ------------------------------------------------------------------------

def xor_impls(torch):
    """Tensor-op and layer-function XOR steps of both libraries and the NumPy step, checked equal."""
    impls = [xor_step.ChainruleXor(), xor_step.TorchXor(torch), xor_step.ChainruleTapeXor(),
             xor_step.ChainruleLayersXor(), xor_step.TorchLayersXor(torch), xor_step.ChainruleLayersTapeXor(),
             xor_step.NumpyXor()]
    weights = xor_step.initial_weights()
    xor_step.check_equal_work(impls, weights)
    for impl in impls:
        impl.reset(weights)
    return [(impl.name, impl.step) for impl in impls]


def step_impls(torch, name):
    """chainrule (eager and on a Tape), PyTorch and the hand-written NumPy step on one workload, checked equal."""
    ours, theirs = train_step.make_runners(torch, name)
    taped = train_step.make_tape_runner(torch, name)
    impls = [("chainrule", ours.step), ("pytorch", theirs.step), ("chainrule-tape", taped.step)]
    losses = {"chainrule": [float(ours.step().item()) for _ in range(3)],
              "chainrule-tape": [float(taped.step().item()) for _ in range(3)]}
    ceiling = CEILINGS[name]
    weights = [v.detach().numpy() for v in theirs.model.state_dict().values()]
    numpy_step = ceiling(weights, theirs.x.numpy(), theirs.y.numpy(), train_step.LR)
    losses["numpy"] = [numpy_step.step() for _ in range(3)]
    impls.append(("numpy", numpy_step.step))
    losses["pytorch"] = [float(theirs.step().item()) for _ in range(3)]
    check_losses(name, losses)
    return impls


def run_steps(torch, workloads, args):
    lines = []
    for name in workloads:
        if name == "xor":
            times = interleave(xor_impls(torch), args.rounds, args.seconds)
            for label, ours, theirs in (("xor, tensor ops", "chainrule", "pytorch"),
                                        ("xor, tensor ops on a Tape", "chainrule-tape", "pytorch"),
                                        ("xor, layer functions", "chainrule-layers", "pytorch-layers"),
                                        ("xor, layer functions on a Tape", "chainrule-layers-tape",
                                         "pytorch-layers")):
                columns = {ours: "chainrule", theirs: "pytorch", "numpy": "numpy"}
                row, _ = summary_row(label, {column: times[name] for name, column in columns.items()},
                                     "chainrule", "pytorch", "xor")
                lines.append(row)
                print(row, flush=True)
        else:
            times = interleave(step_impls(torch, name), args.rounds, args.seconds)
            for label, ours in ((f"{name}, batch {train_step.BATCH[name]}", "chainrule"),
                                (f"{name}, batch {train_step.BATCH[name]}, on a Tape", "chainrule-tape")):
                columns = {ours: "chainrule", "pytorch": "pytorch", "numpy": "numpy"}
                row, _ = summary_row(label, {column: times[impl] for impl, column in columns.items()},
                                     "chainrule", "pytorch", name)
                lines.append(row)
                print(row, flush=True)
    return lines


# --- memory ------------------------------------------------------------------------------------

def _traced_peak(build):
    """Peak bytes traced while ``build()`` makes a training setup and its step runs 3 times."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        step = build()
        for _ in range(3):
            step()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def run_memory(torch):
    """Peak traced memory of chainrule's training run against the hand-written NumPy one."""
    lines = ["| workload | chainrule peak MiB | NumPy peak MiB | chainrule / NumPy | goal |",
             "| --- | ---: | ---: | ---: | --- |"]
    for name, ceiling in CEILINGS.items():
        rng = np.random.default_rng(0)
        x, y = train_step.batch(name, rng)
        torch.manual_seed(0)
        weights = {k: v.detach().numpy().copy() for k, v in train_step.torch_model(torch, name).state_dict().items()}

        def chainrule_builder(runner_class):
            def build():
                model = train_step.chainrule_model(name)
                model.load_state_dict({k: v.copy() for k, v in weights.items()})
                runner = runner_class("chainrule", model, cr.optim.SGD(model.parameters(), lr=train_step.LR),
                                      cr.nn.functional.cross_entropy, cr.tensor(x.copy()), cr.tensor(y.copy()))
                return runner.step
            return build

        def build_numpy():
            return ceiling([v.copy() for v in weights.values()], x.copy(), y.copy(), train_step.LR).step

        theirs = _traced_peak(build_numpy)
        for label, runner_class in (("", train_step.Runner), (", on a Tape", train_step.TapeRunner)):
            ours = _traced_peak(chainrule_builder(runner_class))
            ratio = ours / theirs
            verdict = "meets" if ratio <= MEMORY_GOAL else "misses"
            lines.append(f"| {name}, batch {train_step.BATCH[name]}{label} | {ours / 2**20:.2f} | "
                         f"{theirs / 2**20:.2f} | **{ratio:.2f}** | ≤ {MEMORY_GOAL} ({verdict}) |")
            print(lines[-1], flush=True)
    return lines


# --- epochs ------------------------------------------------------------------------------------

def run_epochs(torch, workloads, args):
    import _epochs
    lines = []
    for name in workloads:
        if name == "digits":
            ours, theirs, check = _epochs.make_digits(torch)
            label = "digits CNN epoch (1,797 images)"
        else:
            ours, theirs, check = _epochs.make_mnist(torch, args.mnist)
            label = "MNIST CNN epoch (60,000 images)"
        check_losses(name, {"chainrule": [check[0]], "pytorch": [check[1]]})
        ours()  # a first epoch each, untimed: imports, allocator and caches
        theirs()
        times = interleave([("chainrule", ours), ("pytorch", theirs)], args.epoch_rounds, 0, calls=1)
        row, _ = summary_row(label, times, "chainrule", "pytorch", name, unit_scale=1.0)
        lines.append(row.replace(" ms", " s"))
        print(lines[-1], flush=True)
    if lines:
        lines = [TABLE_HEAD[0].replace("ms", "s per epoch"), TABLE_HEAD[1]] + lines
    return lines


# --- main --------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", nargs="+", default=[w for w in ALL_WORKLOADS if w != "mnist"],
                        choices=ALL_WORKLOADS)
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds of the step workloads")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per implementation per round")
    parser.add_argument("--epoch-rounds", type=int, default=3, help="timed epochs per library")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads (default 1)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall: time.perf_counter; cpu: time.process_time, the CPU time of this process, "
                             "steadier on a busy machine (meaningful with --threads 1 only)")
    parser.add_argument("--mnist", metavar="PATH", help="mnist.npz or a folder of MNIST IDX files (adds mnist)")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's malloc thresholds alone (no keep_large_allocations)")
    parser.add_argument("--compiled-kernels", action="store_true",
                        help="chainrule uses its numba kernels (chainrule.performance.use_compiled_kernels)")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu adds up the CPU time of every thread; use it with --threads 1")
    global clock
    clock = CLOCKS[args.clock]
    workloads = list(args.workloads) + (["mnist"] if args.mnist and "mnist" not in args.workloads else [])
    if "mnist" in workloads and not args.mnist:
        parser.error("the mnist workload needs --mnist PATH")
    try:
        import torch
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise SystemExit("run.py: PyTorch and threadpoolctl are needed; pip install -e '.[test]' threadpoolctl") \
            from None
    malloc = "glibc defaults"
    if not args.default_malloc:
        from chainrule.performance import keep_large_allocations
        applied = keep_large_allocations()
        malloc = "keep_large_allocations() applied" if applied else "keep_large_allocations() unavailable (not glibc)"
    kernels = "NumPy only"
    if args.compiled_kernels:
        from chainrule.performance import use_compiled_kernels
        if not use_compiled_kernels():
            raise SystemExit("run.py: --compiled-kernels needs numba; pip install -e '.[fast]'")
        import numba
        kernels = f"compiled kernels (numba {numba.__version__}) where an op has one"
    torch.set_num_threads(args.threads)
    limits = threadpool_limits(args.threads)
    load_before = os.getloadavg()
    started = time.perf_counter()

    step_lines = run_steps(torch, [w for w in workloads if w in STEP_WORKLOADS], args)
    memory_lines = run_memory(torch) if "memory" in workloads else []
    epoch_lines = run_epochs(torch, [w for w in workloads if w in ("digits", "mnist")], args)
    machine = machine_lines(torch)  # while the thread limits hold, so it lists the threads used
    limits.restore_original_limits()

    load_after = os.getloadavg()
    elapsed = time.perf_counter() - started
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    section = [
        f"## {args.threads} thread{'s' if args.threads > 1 else ''}"
        + (", compiled kernels" if args.compiled_kernels else "") + ": chainrule against PyTorch and NumPy",
        "",
        f"Date: {when}; {elapsed / 60:.1f} min; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        f"(on {os.cpu_count()} CPUs; other work on the machine adds noise to the absolute times, "
        "less to the same-round ratios).",
        "",
        f"Method: one process; {args.threads} thread(s) for NumPy's BLAS and PyTorch; {args.rounds} rounds of "
        f"~{args.seconds:g} s per implementation, rotating order, each after a {SETTLE_SECONDS:g} s pause for the "
        "previous one's BLAS threads to go idle, "
        f"{CLOCK_TEXT[args.clock]}; "
        f"malloc: {malloc}; chainrule: {kernels}. "
        "Ratio = chainrule throughput / PyTorch throughput in the same round (> 1: chainrule faster); "
        "NumPy share = t_numpy / t_chainrule (1.0: chainrule as fast as the hand-written step). "
        "Times are medians with the interquartile range over rounds.",
        "",
        "Machine:",
        "",
        *machine,
        "",
    ]
    if step_lines:
        section += ["### Training steps (ms per step)", "", *TABLE_HEAD, *step_lines, ""]
    if memory_lines:
        section += ["### Peak memory of a training run",
                    "",
                    "tracemalloc (NumPy reports its array buffers to it): the peak of traced memory while the "
                    "model, the optimizer and the batch are built and 3 training steps run, over what was "
                    "traced before.",
                    "", *memory_lines, ""]
    if epoch_lines:
        section += ["### End-to-end epochs", "",
                    f"Each library's data loader (shuffled, batch 64), model and optimizer; {args.epoch_rounds} "
                    "timed epochs each after one untimed epoch; goal: within 1.5x of PyTorch's time "
                    "(ratio ≥ 0.67).", "", *epoch_lines, ""]
    command = ("python benchmarks/run.py" + (f" --threads {args.threads}" if args.threads != 1 else "")
               + (f" --clock {args.clock}" if args.clock != "wall" else "")
               + (" --compiled-kernels" if args.compiled_kernels else "")
               + (f" --workloads {' '.join(args.workloads)}" if set(args.workloads) != set(ALL_WORKLOADS) - {"mnist"}
                  else "") + (f" --mnist {args.mnist}" if args.mnist else "") + " --write")
    section += ["Rerun from the repository root:", "", "```", command, "```"]
    text = "\n".join(section)
    print()
    print(text)
    if args.write:
        write_results(f"run-{args.threads}-thread" + ("s" if args.threads > 1 else "")
                      + ("-compiled" if args.compiled_kernels else ""), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
