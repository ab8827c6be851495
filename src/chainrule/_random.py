"""The one seeded random generator the whole library draws from (init, dropout, shuffling)."""

import numpy as np

__all__ = ["manual_seed", "generator", "get_rng_state", "set_rng_state"]

_state = {"generator": np.random.default_rng(0)}


def manual_seed(seed):
    """Reseed chainrule's generator so every random draw after it is reproducible."""
    _state["generator"] = np.random.default_rng(seed)
    return _state["generator"]


def generator():
    """The current ``numpy.random.Generator`` used by chainrule."""
    return _state["generator"]


def get_rng_state():
    """A copy of the generator's state (a dict), for checkpoints."""
    return _state["generator"].bit_generator.state


def set_rng_state(state):
    """Restore a state returned by ``get_rng_state``."""
    _state["generator"].bit_generator.state = state
