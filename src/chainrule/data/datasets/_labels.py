"""Labels read from files: integers when every label is one, else strings."""

import re

import numpy as np

__all__ = ["label_array"]

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def label_array(raw_labels):
    """An int64 array when every label is an int or an integer string ("7", " 3"), else a str array."""
    if all(_is_integer(label) for label in raw_labels):
        return np.array([int(label) for label in raw_labels], dtype=np.int64)
    return np.array([str(label) for label in raw_labels])


def _is_integer(label):
    if isinstance(label, (int, np.integer)) and not isinstance(label, (bool, np.bool_)):
        return True
    return isinstance(label, str) and _INTEGER.fullmatch(label) is not None
