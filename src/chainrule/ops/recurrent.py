"""Placeholder for the recurrent op family (filled in by the nn issue)."""

__all__ = []

TENSOR_METHODS = {}
