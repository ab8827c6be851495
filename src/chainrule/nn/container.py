"""Containers: Sequential, ModuleList and ModuleDict, with PyTorch's indexing and naming."""

from collections import OrderedDict

from chainrule.nn.module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


class Sequential(Module):
    """Modules applied one after another; parameters are named ``0.weight``, ``1.bias``, ...

    Args:
        *modules: the modules in order, or one OrderedDict of name -> module.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            items = modules[0].items()
        else:
            items = ((str(i), m) for i, m in enumerate(modules))
        for name, module in items:
            setattr(self, name, module)

    def _layers(self):
        """The modules in order, one entry per position: a module placed twice runs twice, as in PyTorch."""
        return [value for value in vars(self).values() if isinstance(value, Module)]

    def forward(self, x):
        for module in self._layers():
            x = module(x)
        return x

    def __getitem__(self, index):
        layers = self._layers()
        if isinstance(index, slice):
            return Sequential(*layers[index])
        return layers[index]

    def __len__(self):
        return len(self._layers())

    def __iter__(self):
        return iter(self._layers())


class ModuleList(Module):
    """A list of modules whose parameters the parent module finds (``layers.0.weight``)."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def append(self, module):
        """Add one module at the end; returns self."""
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules):
        """Add several modules at the end; returns self."""
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        children = list(self.children())
        if isinstance(index, slice):
            return ModuleList(children[index])
        return children[index]

    def __len__(self):
        return len(self._members())

    def __iter__(self):
        return iter(list(self.children()))


class ModuleDict(Module):
    """A dict of modules whose parameters the parent module finds (``heads.digits.weight``)."""

    def __init__(self, modules=None):
        super().__init__()
        for name, module in (modules or {}).items():
            self[name] = module

    def __setitem__(self, name, module):
        setattr(self, name, module)

    def __getitem__(self, name):
        return getattr(self, name)

    def __contains__(self, name):
        return name in dict(self._members())

    def __len__(self):
        return len(self._members())

    def keys(self):
        return [name for name, _ in self._members()]

    def items(self):
        return self._members()

    def values(self):
        return [module for _, module in self._members()]

    def __iter__(self):
        return iter(self.keys())
