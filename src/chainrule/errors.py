"""The exceptions chainrule raises for mistakes a user can make.

Every error subclasses :class:`ChainruleError`, and also the built-in exception a Python user
would expect (a shape problem is a ``ValueError``, a dtype problem a ``TypeError``), so code that
catches the built-in keeps working.
"""

__all__ = ["ChainruleError", "ShapeError", "IndexingError", "DTypeError", "GradError", "OptimizerError",
           "SerializationError"]


class ChainruleError(Exception):
    """Base class of every error raised by chainrule for bad input or misuse."""


class ShapeError(ChainruleError, ValueError):
    """Shapes do not fit together: broadcasting, inner dimensions, reshape sizes, dims."""


class IndexingError(ShapeError, IndexError):
    """An index or dim lies outside the tensor it is applied to."""


class DTypeError(ChainruleError, TypeError):
    """A dtype is unsupported or does not fit the operation."""


class GradError(ChainruleError, RuntimeError):
    """Autograd misuse: backward through a freed graph, a non-scalar root, a bad gradient."""


class OptimizerError(ChainruleError, ValueError):
    """An optimizer or scheduler was given a bad option, parameter list or state dict."""


class SerializationError(ChainruleError, ValueError):
    """An object cannot be saved, or a file is not one ``chainrule.save`` wrote intact."""
