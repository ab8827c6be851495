"""Applications of chainrule, importable so the command line can run them."""

__all__ = []
