"""Parameter: a Tensor that a Module owns and an optimizer trains."""

import numpy as np

from chainrule import _dtypes
from chainrule.errors import DTypeError
from chainrule.tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A trainable tensor: ``requires_grad=True`` by default, found by ``Module.parameters()``.

    Args:
        data: a Tensor (its memory is shared, as in PyTorch), an ndarray or nested lists.
        requires_grad: whether the optimizer should train it.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        array = data.data if isinstance(data, Tensor) else _dtypes.as_array(data, copy=False)
        if array.dtype.kind != "f":
            raise DTypeError(f"Parameter: parameters must be floating point; expected float32 or float64, "
                             f"got {array.dtype}.")
        self.data = array
        self.grad = None
        self.grad_fn = None
        self._hooks = None
        self.requires_grad = bool(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (np.array(self.data), self.requires_grad))
