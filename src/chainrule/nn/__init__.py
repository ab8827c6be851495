"""Neural-network building blocks: Module and Parameter, layers, containers, init, functional."""

from chainrule.nn import functional, init
from chainrule.nn.container import ModuleDict, ModuleList, Sequential
from chainrule.nn.dropout import Dropout, Dropout2d
from chainrule.nn.linear import Flatten, Identity, Linear, Unflatten
from chainrule.nn.module import IncompatibleKeys, Module
from chainrule.nn.parameter import Parameter

__all__ = ["Module", "Parameter", "IncompatibleKeys", "Sequential", "ModuleList", "ModuleDict",
           "Linear", "Identity", "Flatten", "Unflatten", "Dropout", "Dropout2d", "functional", "init"]
