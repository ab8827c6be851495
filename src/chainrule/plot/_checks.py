"""Validators for the data the plots receive; each names the plotting function in its message."""

from collections.abc import Mapping

import numpy as np

from chainrule.errors import ChainruleError, ShapeError

__all__ = ["as_labels", "as_series_dict"]


def as_labels(fn, name, values, allow_scores=False):
    """Class labels as a 1-D int64 array.

    Accepts shape (N,) or (N, 1) of non-negative whole numbers (bool, int or float). With
    ``allow_scores``, a (N, classes) array of scores, probabilities or one-hot rows becomes its
    per-row argmax.
    """
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim == 2 and allow_scores and arr.shape[1] > 1:
        if arr.dtype.kind not in "biuf":
            raise ChainruleError(f"{fn}: {name} must hold numbers; expected class scores, got dtype {arr.dtype}.")
        arr = arr.argmax(axis=1)
    if arr.ndim != 1:
        expected = "(N,), (N, 1) or (N, classes)" if allow_scores else "(N,) or (N, 1)"
        raise ShapeError(f"{fn}: {name} has the wrong shape; expected {expected}, got {arr.shape}.")
    if arr.size == 0:
        raise ShapeError(f"{fn}: {name} is empty; expected at least one label, got shape {arr.shape}.")
    if arr.dtype.kind not in "biuf":
        raise ChainruleError(f"{fn}: {name} must hold class numbers; expected ints, got dtype {arr.dtype}.")
    if arr.dtype.kind == "f" and not (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
        raise ChainruleError(f"{fn}: {name} must hold whole class numbers; expected 0, 1, 2, ..., "
                             f"got {arr[:5].tolist()}...")
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        raise ChainruleError(f"{fn}: {name} holds a negative class; expected labels >= 0, got {arr.min()}.")
    return arr


def as_series_dict(fn, data, what, attributes):
    """A dict name -> 1-D float64 array from a mapping (or an object with one of ``attributes``).

    Empty series are dropped; if nothing is left the input was empty and an error says so.
    """
    mapping = data
    if not isinstance(data, Mapping):
        mapping = next((getattr(data, a) for a in attributes if isinstance(getattr(data, a, None), Mapping)),
                       None)
    if mapping is None:
        owners = " or ".join(f".{a}" for a in attributes)
        raise ChainruleError(f"{fn}: cannot read {what}; expected a dict of name -> list of numbers, or an "
                             f"object with a {owners} dict, got {type(data).__name__}.")
    series = {}
    for key, values in mapping.items():
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise ChainruleError(f"{fn}: {what} {key!r} must hold numbers; expected a list of floats, "
                                 f"got {values!r:.80}.") from None
        if arr.ndim != 1:
            raise ShapeError(f"{fn}: {what} {key!r} must be one value per step; expected a 1-D list, "
                             f"got shape {arr.shape}.")
        if arr.size:
            series[str(key)] = arr
    if not series:
        raise ChainruleError(f"{fn}: {what} is empty; expected at least one name with one value, "
                             f"got {dict(mapping)!r:.120}.")
    return series
