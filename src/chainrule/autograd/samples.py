"""Inputs on which each registered op's gradient is checked.

Every differentiable op registers a ``samples`` callable: given a NumPy Generator it returns a
list of :class:`Sample`. Float arrays in a sample are the differentiated inputs (the checker
turns them into float64 tensors); anything else (index arrays, masks) is passed as it is.
Samples stay small, keep away from kinks by far more than the finite-difference step, and cover
broadcasting pairs, 0-d inputs, negative dims and both ``keepdim`` values.
"""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Sample", "values", "unary", "binary", "reduction"]


@dataclass
class Sample:
    """One call of an op: positional inputs, keyword options, a label for failure messages.

    ``constants`` lists positions of float inputs that are passed without requiring a gradient
    (an exponent where the base is negative). ``second_order=False`` marks a sample whose second
    derivative is not checked (a kink such as a tie, or a product containing zeros).
    """
    inputs: tuple
    options: dict = field(default_factory=dict)
    label: str = ""
    second_order: bool = True
    constants: tuple = ()

    def __post_init__(self):
        if not self.label:
            shapes = ", ".join(str(getattr(a, "shape", a)) for a in self.inputs)
            self.label = f"({shapes}) {self.options}" if self.options else f"({shapes})"


def values(rng, shape, low=-2.0, high=2.0, away_from=None, margin=0.1):
    """Uniform float64 values in [low, high], at least ``margin`` away from each point of ``away_from``."""
    x = rng.uniform(low, high, size=shape)
    for point in away_from or ():
        close = np.abs(x - point) < margin
        x = np.where(close, point + np.where(x >= point, margin, -margin) * (1 + rng.uniform(size=shape)), x)
    return np.asarray(x, dtype=np.float64)


UNARY_SHAPES = ((3, 4), (), (2, 1, 3))
BROADCAST_PAIRS = (((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((3, 1), ()))


def unary(low=-2.0, high=2.0, away_from=None, shapes=UNARY_SHAPES, **options):
    """Samples of one tensor input over a domain, for elementwise ops."""
    def make(rng):
        return [Sample((values(rng, s, low, high, away_from),), dict(options)) for s in shapes]
    return make


def binary(low=-2.0, high=2.0, low_b=None, high_b=None, away_from_b=None, pairs=BROADCAST_PAIRS):
    """Samples of two broadcasting tensor inputs; the second may have its own domain."""
    low_b = low if low_b is None else low_b
    high_b = high if high_b is None else high_b

    def make(rng):
        return [Sample((values(rng, sa, low, high), values(rng, sb, low_b, high_b, away_from_b)))
                for sa, sb in pairs]
    return make


def reduction(low=-2.0, high=2.0, dims=(None, 0, -1, (0, 2)), shape=(2, 3, 4), extra=None):
    """Samples of a reduction: every dim in ``dims`` with both keepdim values, plus a 0-d input."""
    def make(rng):
        samples = [Sample((values(rng, shape, low, high),), {"dim": dim, "keepdim": keepdim})
                   for dim in dims for keepdim in (False, True)]
        samples.append(Sample((values(rng, (), low, high),), {"dim": None, "keepdim": False}))
        return samples + list(extra(rng) if extra else ())
    return make
