"""Neural-network building blocks. For now: the functional forms of the fused layer ops."""

from chainrule.nn import functional

__all__ = ["functional"]
