"""Whether ops run their compiled kernels (numba, an optional extra) or their NumPy form.

Off by default: ``chainrule.performance.use_compiled_kernels()`` turns them on. Max pooling, ReLU,
``col2im`` and ``crop_grid`` (``chainrule.ops._windows``), the convolution's ``_from_columns`` and
the LSTM layer's per-step gate arithmetic (``chainrule.ops._lstm_layer_loop``) have kernels
(``chainrule.ops._numba_kernels``), and so do the updates of SGD and of Adam. They ask
``kernels()`` (the optimizers ``kernels_for`` their arrays) on every call and fall back to NumPy
when it returns None, so the NumPy form is always there, and stays the reference the kernels are
tested against.
"""

import importlib

import numpy as np

__all__ = ["kernels", "kernels_for", "switch"]

_active = None


def kernels():
    """The compiled kernels module while they are on, else None."""
    return _active


def kernels_for(*arrays):
    """The compiled kernels while they are on and fit ``arrays``: ndarrays (not NumPy scalars) of
    one floating dtype, all C-contiguous; None entries (optional state) are left out. Else None,
    and the caller runs its NumPy form."""
    if _active is None:
        return None
    dtype = arrays[0].dtype
    if dtype.kind != "f":
        return None
    for array in arrays:
        if array is not None and (type(array) is not np.ndarray or array.dtype != dtype
                                  or not array.flags.c_contiguous):
            return None
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
