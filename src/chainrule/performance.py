"""Process-wide settings that make training faster, each one an explicit opt-in.

chainrule never changes the process behind the user's back: importing it sets nothing. The
functions here change state that every library in the process shares, so a program (a training
script, a benchmark) calls them once, at its start, if it wants them.

``keep_large_allocations``: a convolution's training step allocates and frees the same few large
temporaries (im2col matrices, gradients of activations: hundreds of kB to MB) every step. glibc's
malloc serves blocks above its mmap threshold with a fresh ``mmap`` and returns them with
``munmap``, and trims the heap top back to the system above its trim threshold, so each step pays
page faults and zero-filling for memory it just gave back. Raising both thresholds keeps those
blocks in the heap and reuses them: about a third off a small CNN's step on the machine the
benchmarks ran on (``benchmarks/run.py`` applies it; ``--default-malloc`` runs without it). The
cost is that freed memory stays with the process instead of returning to the system.

``use_compiled_kernels``: the memory-bound loops of training have a compiled form beside their
NumPy form, built with numba (the ``fast`` extra): max pooling, ReLU, col2im (summing window
gradients back onto an image, in the backward pass of convolutions, ``fold`` and average pooling)
and the move of a convolution's batch-innermost result back to (N, C, H, W) with its bias; the LSTM
layer's gate arithmetic between its per-step products; and the parameter updates of SGD (with or
without momentum) and of Adam / AdamW. NumPy runs them as several passes with temporaries in
between, or walks a transposed array across cache lines; each compiled loop makes one pass. In the
benchmark CNN's step (one thread, cProfile) they take max pooling from 3.0 to 0.9 ms, col2im from
1.0 to 0.4 ms, ReLU from 1.1 to 0.6 ms, and the whole step from 16.0 to 12.2 ms; the MLP's SGD
update goes from ~230 to ~130 µs a step. Off by default, because numba compiles each kernel on its
first call (about a second; cached on disk afterwards) and is not installed with chainrule itself.
"""

import ctypes
import ctypes.util
import sys

__all__ = ["keep_large_allocations", "use_compiled_kernels"]

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
_DEFAULT_BYTES = 256 * 1024 * 1024


def keep_large_allocations(threshold_bytes=_DEFAULT_BYTES):
    """Ask glibc's malloc to keep freed blocks below ``threshold_bytes`` for reuse, process-wide.

    Sets ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` with ``mallopt``, so that large arrays
    freed at the end of a training step are reused by the next step instead of being unmapped
    and mapped again. Call it once at the start of a program; it affects every library in the
    process and is not undone.

    Args:
        threshold_bytes: blocks up to this size come from the heap and stay there when freed
            (glibc caps the mmap threshold at 32 MiB on 64-bit systems; larger values are clamped).

    Returns:
        True if the settings were applied; False where there is no glibc (macOS, Windows, musl),
        in which case nothing changes.

    Example, at the top of a training script::

        import chainrule.performance
        chainrule.performance.keep_large_allocations()
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    mmap_bytes = min(int(threshold_bytes), 32 * 1024 * 1024)  # glibc's HEAP_MAX / 2 on 64-bit
    applied = mallopt(_M_MMAP_THRESHOLD, mmap_bytes) == 1
    applied = mallopt(_M_TRIM_THRESHOLD, int(threshold_bytes)) == 1 and applied
    return applied


def use_compiled_kernels(enabled=True):
    """Run max pooling, ReLU, col2im, the convolution's layout change, the LSTM's gate arithmetic
    and the SGD and Adam updates with compiled kernels.

    Results are the same bits either way (a test runs every registered op both ways, gradients
    included, and another every optimizer with a kernel); only the time differs. Needs numba
    (``pip install chainrule[fast]``).

    Args:
        enabled: True to use the kernels, False to go back to NumPy everywhere.

    Returns:
        Whether the kernels are now in use: False when numba is not installed, and nothing changes.

    Example, at the top of a training script::

        import chainrule.performance
        chainrule.performance.use_compiled_kernels()
    """
    from chainrule.ops import _compiled
    return _compiled.switch(enabled)
