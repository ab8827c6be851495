"""Whether ops run their compiled kernels (numba, an optional extra) or their NumPy form.

Off by default: ``chainrule.performance.use_compiled_kernels()`` turns them on. Max pooling, ReLU,
``col2im`` and ``crop_grid`` (``chainrule.ops._windows``), the convolution's ``_from_columns`` and
the LSTM layer's per-step gate arithmetic (``chainrule.ops._lstm_layer_loop``) have kernels
(``chainrule.ops._numba_kernels``), and so do the updates of plain SGD and of Adam (through
``chainrule.optim.optimizer.kernels_for``). They ask
``kernels()`` on every call and fall back to NumPy when it returns None, so the NumPy form is
always there, and stays the reference the kernels are tested against.
"""

import importlib

__all__ = ["kernels", "switch"]

_active = None


def kernels():
    """The compiled kernels module while they are on, else None."""
    return _active


def switch(enabled):
    """Turn the compiled kernels on or off; returns whether they are on (False without numba)."""
    global _active
    if not enabled:
        _active = None
        return False
    try:
        _active = importlib.import_module("chainrule.ops._numba_kernels")
    except ImportError:  # numba is not installed
        _active = None
    return _active is not None
