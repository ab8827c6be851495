"""What EarlyStopping and ModelCheckpoint share: reading a monitored value and judging improvement."""

import math
import warnings

__all__ = []

# Metrics where a larger value is better; every other name (losses, mae, rmse) is minimized.
_HIGHER_IS_BETTER = ("accuracy", "top_k_accuracy", "precision", "recall", "f1")


def resolve_mode(owner, monitor, mode):
    """``"min"`` or ``"max"`` for ``monitor``; ``"auto"`` picks "max" for accuracy-like names."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: unknown mode; expected 'auto', 'min' or 'max', got {mode!r}.")
    if mode != "auto":
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    return "max" if name in _HIGHER_IS_BETTER else "min"


def worst(mode):
    """The starting 'best' value: any real number improves on it."""
    return math.inf if mode == "min" else -math.inf


def improved(current, reference, mode, min_delta=0.0):
    """Whether ``current`` beats ``reference`` by more than ``min_delta``; NaN never does."""
    if current is None or math.isnan(current):
        return False
    if mode == "min":
        return current < reference - min_delta
    return current > reference + min_delta


def monitored_value(owner, monitor, logs, warn=True):
    """``logs[monitor]`` as a float, or None (after a warning that lists the keys there are, if ``warn``)."""
    logs = logs or {}
    if monitor not in logs:
        if warn:
            warnings.warn(f"{owner}: the monitored metric {monitor!r} is not in the epoch logs; the keys there are "
                          f"{sorted(logs)}. Hint: pass val_data to fit() for 'val_' keys, or monitor one of these.",
                          RuntimeWarning, stacklevel=3)
        return None
    return float(logs[monitor])
