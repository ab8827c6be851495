"""The primitives, one family per module, and the functions and Tensor methods built on them."""

from chainrule.ops import (activation, binary, conv, ctc, elementwise, embedding, indexing, linalg, loss,
                           nn, normalization, pooling, recurrent, reduce, regression_loss, shape)

__all__ = ["FAMILIES", "attach_methods"]

FAMILIES = (elementwise, binary, reduce, shape, indexing, linalg, nn, activation, loss, regression_loss, ctc,
            conv, normalization, embedding, pooling, recurrent)


def attach_methods(tensor_class):
    """Give ``Tensor`` the methods each op family lists in its ``TENSOR_METHODS``."""
    for family in FAMILIES:
        for name, function in family.TENSOR_METHODS.items():
            setattr(tensor_class, name, function)
