"""Function: the contract of every differentiable primitive, and the registry that lists them.

A primitive is one ``Function`` subclass with ``forward`` (arrays in, one array out) and
``backward`` (the vector-Jacobian product: the upstream gradient in, one gradient per input out)
written side by side. ``apply`` runs ``forward`` with a fresh ``Context`` and, when a gradient is
needed, leaves it behind as the graph node (``tensor.grad_fn``) that ``backward`` is later called
with.

Built-in primitives are registered once with the inputs used to check them::

    @register("mul", samples=binary())
    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad_out):
            a, b = ctx.saved
            return grad_out * b, grad_out * a

``backward`` writes its math with operators and ``ctx.xp`` (NumPy-like functions): the engine
calls it on arrays normally, and on Tensors when ``create_graph=True`` builds the graph of the
backward pass, so the same formula gives second derivatives.
"""

import numpy as np

from chainrule.autograd import _vjp_math
from chainrule.autograd.engine import ForwardEvent, grad_mode, listeners, sequence
from chainrule.errors import ChainruleError, DTypeError, ShapeError, IndexingError
from chainrule.tensor import Tensor

__all__ = ["Context", "Function", "output_array", "register", "registry"]

registry = {}
"""Registered primitives by name: the single source of gradients the all-ops test iterates."""


class Context:
    """What one op application keeps for its backward pass; the node of the graph.

    ``forward`` and ``backward`` receive it as ``ctx``. Every op's node is of this one class (as in
    PyTorch, ``ctx`` is not an instance of the op's Function class; ``ctx.function`` is that class):
    the engine reads the same attributes from the nodes of every op at the same few lines, and
    Python reads an attribute there several times faster when all objects share one class.

    Attributes:
        function: the Function class whose ``apply`` made this node.
        saved: arrays stored by ``save_for_backward``.
        needs_input_grad: one bool per input: does a gradient flow to it?
        parents: per input, the node that produced it, the leaf Tensor itself, or None.
        out_shape, out_dtype: the output's shape and dtype, to check gradients against.
    """

    __slots__ = ("function", "parents", "needs_input_grad", "seq", "out_shape", "out_dtype", "out_id",
                 "__dict__", "__weakref__")
    xp = _vjp_math.arrays
    saved = ()
    _pre_hooks = None

    @property
    def name(self):
        """The op's name: its Function's registered name or class name."""
        return self.function.name

    def save_for_backward(self, *arrays):
        """Keep arrays (inputs, the output or intermediates) for ``backward``."""
        self.saved = arrays

    def __repr__(self):
        return f"<{self.function.__name__}Backward op={self.name!r}>"


class Function:
    """Base class of every primitive, built-in or user-defined.

    Subclasses define ``forward(ctx, *arrays, **options)`` and ``backward(ctx, grad_out)`` as
    static methods and are called through ``apply``: tensor inputs are positional, options
    keyword-only. User-defined Functions need no registration.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> class Cube(cr.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x ** 3
        ...     @staticmethod
        ...     def backward(ctx, grad_out):
        ...         x, = ctx.saved
        ...         return grad_out * 3 * x ** 2
        >>> x = cr.tensor([2.0], requires_grad=True)
        >>> Cube.apply(x).sum().backward()
        >>> x.grad.tolist()
        [12.0]
    """

    name = None
    """The op's name in messages and events: the registered name, or the class name."""
    differentiable = True
    broadcasting = False
    samples = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.name = cls.__name__

    @staticmethod
    def forward(ctx, *arrays, **options):
        raise NotImplementedError("Function subclasses define forward(ctx, *arrays, **options)")

    @staticmethod
    def backward(ctx, grad_out):
        raise NotImplementedError("Function subclasses define backward(ctx, grad_out)")

    @classmethod
    def describe_error(cls, exc, arrays, options):
        """Return the error to raise when NumPy rejects this op's inputs; ops override for detail."""
        shapes = ", ".join(f"{_arg_name(i)}.shape={getattr(a, 'shape', ())}" for i, a in enumerate(arrays))
        dtypes = ", ".join(str(getattr(a, "dtype", type(a).__name__)) for a in arrays)
        kind = DTypeError if isinstance(exc, TypeError) else (
            IndexingError if isinstance(exc, IndexError) else ShapeError)
        if cls.broadcasting and isinstance(exc, ValueError) and "broadcast" in str(exc):
            return ShapeError(f"{cls.name}: shapes cannot be broadcast together; expected shapes that "
                              f"are equal or 1 in each trailing dimension, got {shapes}.")
        return kind(f"{cls.name}: NumPy rejected the inputs ({exc}); expected inputs {cls.name} accepts, "
                    f"got {shapes}, dtypes ({dtypes})" + (f", options {options}" if options else "") + ".")

    @classmethod
    def apply(cls, *inputs, **options):
        """Run ``forward`` on the inputs' arrays and record the node when a gradient is needed."""
        # This runs for every op, and small networks are dominated by its overhead. One or two
        # Tensor inputs (nearly every call) take a path that calls forward with its arguments
        # spelled out: a call with *arrays costs about as much again as the rest of this path.
        ctx = object.__new__(Context)
        ctx.function = cls
        record = grad_mode.enabled and cls.differentiable
        count = len(inputs)
        try:
            if count == 1 and isinstance(inputs[0], Tensor):
                x = inputs[0]
                out = cls.forward(ctx, x.data, **options) if options else cls.forward(ctx, x.data)
                requires_grad = record and x.requires_grad
                if requires_grad:
                    parents, needs = (x.grad_fn or x,), _ONE_INPUT_NEEDED
            elif count == 2 and isinstance(inputs[0], Tensor) and isinstance(inputs[1], Tensor):
                a, b = inputs
                out = (cls.forward(ctx, a.data, b.data, **options) if options
                       else cls.forward(ctx, a.data, b.data))
                need_a = record and a.requires_grad
                need_b = record and b.requires_grad
                requires_grad = need_a or need_b
                if requires_grad:
                    parents = (a.grad_fn or a if need_a else None, b.grad_fn or b if need_b else None)
                    needs = (need_a, need_b)
            else:
                arrays, parents, needs = _unpack(inputs, record)
                out = cls.forward(ctx, *arrays, **options)
                requires_grad = True in needs
        except ChainruleError:
            raise
        except (ValueError, IndexError, TypeError) as exc:
            raise cls.describe_error(exc, _unpack(inputs, False)[0], options) from None
        if type(out) is not np.ndarray:
            out = output_array(ctx, out)

        result = object.__new__(Tensor)
        result.data = out
        result.grad = None
        result._hooks = None
        result.requires_grad = requires_grad
        if requires_grad:
            ctx.parents = parents
            ctx.needs_input_grad = needs
            ctx.seq = next(sequence)
            ctx.out_shape = out.shape
            ctx.out_dtype = out.dtype
            ctx.out_id = id(out)
            result.grad_fn = ctx
        else:
            result.grad_fn = None
        if listeners:
            event = ForwardEvent(cls.name, result.grad_fn, tuple(_unpack(inputs, False)[0]), options, out, cls)
            for listener in list(listeners):
                listener(event)
        return result


_ONE_INPUT_NEEDED = (True,)


def output_array(ctx, out):
    """``forward``'s result as an ndarray: NumPy gives 0-d results as scalars."""
    returned, out = out, np.asarray(out)
    # keep a saved output identical to the returned one
    ctx.saved = tuple([out if s is returned else s for s in ctx.saved])
    return out


def _unpack(inputs, record):
    """The arrays, parent nodes and needs-gradient flags of any number of mixed inputs."""
    arrays, parents, needs = [], [], []
    for x in inputs:
        if isinstance(x, Tensor):
            arrays.append(x.data)
            if record and x.requires_grad:
                parents.append(x.grad_fn or x)
                needs.append(True)
                continue
        else:
            arrays.append(x)
        parents.append(None)
        needs.append(False)
    return arrays, tuple(parents), tuple(needs)


def _arg_name(index):
    return "abcdefgh"[index] if index < 8 else f"input{index}"


def register(name, samples=None, differentiable=True, broadcasting=False):
    """Class decorator adding a built-in primitive to the registry under its public name.

    Args:
        name: the public name (``"matmul"`` for ``MatMul``, ``Tensor.matmul``, ``chainrule.matmul``).
        samples: a callable ``rng -> list[Sample]`` giving the inputs its gradient is checked on.
        differentiable: False for ops whose output never carries a gradient (comparisons, argmax).
        broadcasting: True for ops whose tensor inputs broadcast against each other.

    Raises:
        ValueError: the name is taken, or a differentiable op has no samples.
    """
    def decorate(cls):
        if name in registry:
            raise ValueError(f"register: the op name {name!r} is already registered by {registry[name].__name__}")
        if differentiable and samples is None:
            raise ValueError(f"register: differentiable op {name!r} needs samples to be gradient-checked")
        cls.name = name
        cls.samples = samples
        cls.differentiable = differentiable
        cls.broadcasting = broadcasting
        registry[name] = cls
        return cls
    return decorate
