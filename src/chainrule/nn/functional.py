"""Layers and losses as functions (``import chainrule.nn.functional as F``), as in PyTorch."""

from chainrule.nn.dropout import dropout, dropout2d
from chainrule.ops.activation import log_softmax, softmax
from chainrule.ops.elementwise import relu, sigmoid, tanh
from chainrule.ops.nn import linear, mse_loss

__all__ = ["linear", "mse_loss", "sigmoid", "tanh", "relu", "softmax", "log_softmax", "dropout", "dropout2d"]
