"""Module: the base class of layers and models, with PyTorch's parameter and state-dict rules.

A Module finds its parameters by walking its attributes in the order they were set: Parameters,
sub-Modules, and lists, tuples or dicts holding them, with dotted names (``layers.0.weight``).
Non-trainable state (running statistics) is registered as a buffer: saved in ``state_dict`` but
not returned by ``parameters()``.
"""

from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from chainrule import _dtypes
from chainrule.autograd.tape import outside_ops
from chainrule.errors import ShapeError
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor

__all__ = ["Module", "IncompatibleKeys"]

_BOOKKEEPING = frozenset({"training", "_buffer_names", "_non_persistent", "_forward_hooks"})


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` could not match."""
    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class of every layer and model: subclasses set parameters in ``__init__`` and define
    ``forward``; calling the module runs ``forward``.

    Example:
        >>> import chainrule as cr
        >>> class Affine(cr.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.scale = cr.nn.Parameter(cr.ones(3))
        ...     def forward(self, x):
        ...         return x * self.scale
        >>> [name for name, _ in Affine().named_parameters()]
        ['scale']
    """

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_buffer_names", [])
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_forward_hooks", {})

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            outside_ops(f"{type(self).__name__} has a forward hook, Python code")
            for hook in list(self._forward_hooks.values()):
                result = hook(self, args, out)
                if result is not None:
                    out = result
        return out

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after every forward; a returned value replaces the output.

        Returns a handle whose ``remove()`` unregisters the hook.
        """
        key = object()
        self._forward_hooks[key] = hook
        return _HookHandle(self._forward_hooks, key)

    # --- registration ---------------------------------------------------------------------
    def register_buffer(self, name, tensor, persistent=True):
        """Keep ``tensor`` as non-trainable state: moved by ``to()``, saved by ``state_dict`` if persistent."""
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        object.__setattr__(self, name, tensor)
        if name not in self._buffer_names:
            self._buffer_names.append(name)
        if not persistent:
            self._non_persistent.add(name)

    def register_parameter(self, name, param):
        """Add a Parameter (or None, for an optional one such as a missing bias) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: expected a Parameter or None for {name!r}, "
                            f"got {type(param).__name__}.")
        object.__setattr__(self, name, param)

    # --- walking the tree -----------------------------------------------------------------
    def _members(self):
        """(name, value) for every attribute that is not this class's own bookkeeping, in order."""
        return [(k, v) for k, v in vars(self).items() if k not in _BOOKKEEPING]

    def named_children(self):
        """Direct sub-modules with their names, including those held in lists, tuples and dicts."""
        seen = set()
        for name, value in self._members():
            for child_name, child in _held(name, value, Module):
                if id(child) not in seen:
                    seen.add(id(child))
                    yield child_name, child

    def children(self):
        """Direct sub-modules."""
        return (module for _, module in self.named_children())

    def named_modules(self, prefix=""):
        """This module and every module below it, each once, with dotted names."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = list(module.named_children())
            stack.extend((f"{name}.{child_name}" if name else child_name, child)
                         for child_name, child in reversed(children))

    def modules(self):
        """This module and every module below it."""
        return (module for _, module in self.named_modules())

    def named_parameters(self, prefix="", recurse=True):
        """Every Parameter with its dotted name, in definition order, each shared parameter once."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, value in module._members():
                for param_name, param in _held(name, value, Parameter):
                    if id(param) not in seen:
                        seen.add(id(param))
                        yield (f"{module_name}.{param_name}" if module_name else param_name), param

    def parameters(self, recurse=True):
        """Every Parameter, in definition order."""
        return (param for _, param in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix=""):
        """Every registered buffer (None buffers skipped) with its dotted name."""
        for module_name, module in self.named_modules(prefix):
            for name in module._buffer_names:
                value = getattr(module, name)
                if value is not None:
                    yield (f"{module_name}.{name}" if module_name else name), value

    def buffers(self):
        """Every registered buffer."""
        return (buffer for _, buffer in self.named_buffers())

    # --- modes and dtypes -----------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (dropout active, batch statistics) here and below; returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Set evaluation mode (dropout off, running statistics); returns self."""
        return self.train(False)

    def zero_grad(self):
        """Forget every parameter's gradient (set to None, as PyTorch's default)."""
        for param in self.parameters():
            param.grad = None

    def to(self, dtype):
        """Cast floating parameters, their gradients and floating buffers to ``dtype``, in place."""
        dtype = _dtypes.resolve(dtype)
        for tensor in list(self.parameters()) + list(self.buffers()):
            if tensor.data.dtype.kind == "f":
                tensor.data = tensor.data.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad = Tensor._wrap(tensor.grad.data.astype(dtype))
        return self

    def double(self):
        """Cast floating parameters and buffers to float64."""
        return self.to(_dtypes.float64)

    def float(self):
        """Cast floating parameters and buffers to float32."""
        return self.to(_dtypes.float32)

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module, then on this one (for custom init); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # --- state ----------------------------------------------------------------------------
    def state_dict(self):
        """Parameters and persistent buffers by dotted name, as detached tensors sharing memory."""
        state = OrderedDict()
        for name, param in self.named_parameters():
            state[name] = param.detach()
        for module_name, module in self.named_modules():
            for name in module._buffer_names:
                value = getattr(module, name)
                if value is not None and name not in module._non_persistent:
                    state[f"{module_name}.{name}" if module_name else name] = value.detach()
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (Tensors or ndarrays) into this module's parameters and buffers.

        Raises:
            ShapeError: listing missing, unexpected and mis-shaped keys (missing and unexpected
                keys only when ``strict``).

        Returns:
            IncompatibleKeys(missing_keys, unexpected_keys).
        """
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
                if shape != target.shape:
                    mismatched.append(f"{key}: expected shape {target.shape}, got {shape}")
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        if mismatched:
            problems.append("mis-shaped keys [" + "; ".join(mismatched) + "]")
        if problems:
            raise ShapeError(f"load_state_dict: the state dict does not fit {type(self).__name__}; expected "
                             f"exactly its {len(own)} keys with their shapes, got " + ", ".join(problems) + ".")
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                array = value.data if isinstance(value, Tensor) else np.asarray(value)
                np.copyto(target.data, array, casting="unsafe")
        return IncompatibleKeys(missing, unexpected)

    # --- text -----------------------------------------------------------------------------
    def extra_repr(self):
        """The constructor arguments shown in ``repr``; layers override it."""
        return ""

    def __repr__(self):
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}(" + self.extra_repr()]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


class _HookHandle:
    def __init__(self, hooks, key):
        self._hooks, self._key = hooks, key

    def remove(self):
        self._hooks.pop(self._key, None)


def _held(name, value, kind):
    """(dotted name, object) pairs of type ``kind`` held by one attribute value: the value itself, or
    the items of lists, tuples and dicts (not looking inside modules)."""
    if isinstance(value, kind):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _held(f"{name}.{i}", item, kind)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _held(f"{name}.{key}", item, kind)
