"""Optimizers, learning-rate schedulers, gradient clipping and batch-norm re-estimation
(``swa_utils.update_bn``), with PyTorch's names and update rules."""

from chainrule.optim import lr_scheduler, swa_utils
from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.clip import clip_grad_norm_, clip_grad_value_
from chainrule.optim.optimizer import Optimizer, OptimizerError
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.sgd import SGD

__all__ = ["Optimizer", "OptimizerError", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler",
           "swa_utils", "clip_grad_norm_", "clip_grad_value_"]
