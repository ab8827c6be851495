"""Shared parts of the benchmarks: interleaved timing, the machine description, RESULTS.md sections."""

import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

import chainrule as cr

RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"

SETTLE_SECONDS = 0.3


def settle():
    """Pause before a timed block until the previous block's worker threads have gone to sleep.

    After a product, OpenBLAS's worker threads busy-wait for about 0.1 s of CPU before they sleep.
    The library timed next shares the cores with them. In one measurement, PyTorch's two-thread
    LSTM step took 6.6 ms right after chainrule's steps and 4.7 ms after a 0.2 s pause.
    """
    time.sleep(SETTLE_SECONDS)


def time_rounds(impls, weights, rounds, steps, warmup):
    """Per-step seconds for each implementation in each round, implementations interleaved."""
    for impl in impls:  # warm caches, allocators and lazy imports outside the measurement
        impl.reset(weights)
        for _ in range(warmup):
            impl.step()
    per_step = {impl.name: [] for impl in impls}
    for r in range(rounds):
        shift = r % len(impls)  # rotate the order so no implementation always runs first
        for impl in impls[shift:] + impls[:shift]:
            impl.reset(weights)
            step = impl.step
            settle()
            start = time.perf_counter()
            for _ in range(steps):
                step()
            elapsed = time.perf_counter() - start
            per_step[impl.name].append(elapsed / steps)
    return per_step


def quartiles(values):
    """The first and third quartiles."""
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def chainrule_revision():
    """The git commit of the chainrule being measured, marked when its working tree has changes."""
    source = Path(cr.__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=source, capture_output=True,
                                text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=source, capture_output=True,
                               text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown revision"
    if commit.returncode != 0:
        return "not a git checkout"
    return commit.stdout.strip() + (", with uncommitted changes in src" if dirty.stdout.strip() else "")


def chainrule_location():
    """Where chainrule was imported from, when that is not this checkout's src/ (PYTHONPATH, a wheel)."""
    source = Path(cr.__file__).resolve().parent
    if source == Path(__file__).resolve().parents[1] / "src" / "chainrule":
        return ""
    return f" from {source}"


def machine_lines(torch):
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    lines = [
        f"- platform: {platform.platform()} ({platform.machine()})",
        f"- CPU: {cpu_model()}; os.cpu_count() = {os.cpu_count()}, usable by this process = {usable}",
        f"- python {platform.python_version()} ({platform.python_implementation()}), "
        f"numpy {np.__version__}, torch {torch.__version__} (torch threads {torch.get_num_threads()}), "
        f"chainrule {cr.__version__} ({chainrule_revision()}){chainrule_location()}",
    ]
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        lines.append("- threadpoolctl: not installed (`pip install threadpoolctl` to list BLAS/OpenMP pools)")
    else:
        for pool in threadpool_info():
            parts = [pool.get("user_api"), pool.get("internal_api"), pool.get("version")]
            if parts[0] == parts[1]:
                parts[1] = None
            lines.append(f"- threadpool: {' '.join(str(x) for x in parts if x)}, {pool.get('num_threads')} "
                         f"threads, {Path(pool.get('filepath', '?')).name}"
                         + (f", core {pool['architecture']}" if pool.get("architecture") else ""))
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype:
        lines.append(f"- OPENBLAS_CORETYPE={coretype}")
    return lines


def write_results(name, section):
    """Put ``section`` between the markers of benchmark ``name`` in RESULTS.md, keeping everything else."""
    begin_marker, end_marker = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin_marker}\n{section.rstrip()}\n{end_marker}\n"
    if RESULTS_PATH.exists():
        text = RESULTS_PATH.read_text()
    else:
        text = "# Benchmark results\n\nEach benchmark in this folder updates its own section with `--write`.\n\n"
    begin, end = text.find(begin_marker), text.find(end_marker)
    if begin != -1 and end != -1:
        text = text[:begin] + block + text[end + len(end_marker):].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS_PATH.write_text(text)
