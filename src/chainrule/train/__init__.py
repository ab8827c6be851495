"""Training: the Trainer loop (fit, evaluate, predict), adversarial training, History, callbacks,
checkpoints and metrics."""

from chainrule.train import metrics
from chainrule.train.adversarial import AdversarialTrainer
from chainrule.train.callbacks import CSVLogger, Callback, EarlyStopping, LRScheduler, StopAtLoss, TerminateOnNaN
from chainrule.train.checkpoint import ModelCheckpoint
from chainrule.train.monitor import GradientMonitor
from chainrule.train.progress import ProgressBar
from chainrule.train.trainer import History, Trainer

__all__ = ["Trainer", "AdversarialTrainer", "History", "Callback", "EarlyStopping", "StopAtLoss", "TerminateOnNaN",
           "LRScheduler", "CSVLogger", "ModelCheckpoint", "ProgressBar", "GradientMonitor", "metrics"]
