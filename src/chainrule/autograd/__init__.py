"""Reverse-mode automatic differentiation: Functions, the engine, the Tape, and gradient checking."""

from chainrule.autograd.engine import (BackwardEvent, ForwardEvent, backward, enable_grad, grad,
                                       is_grad_enabled, no_grad, subscribe)
from chainrule.autograd.function import Context, Function, register, registry
from chainrule.autograd.gradcheck import gradcheck, gradcheck_model, gradgradcheck
from chainrule.autograd.tape import Tape

__all__ = ["Function", "Context", "register", "registry", "backward", "grad", "no_grad", "enable_grad",
           "is_grad_enabled", "subscribe", "ForwardEvent", "BackwardEvent", "gradcheck", "gradgradcheck",
           "gradcheck_model", "Tape"]
