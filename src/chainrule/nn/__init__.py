"""Neural-network building blocks: Module and Parameter, layers, losses, containers, init, functional."""

from chainrule.nn import functional, init, regularization
from chainrule.nn.attention import MultiheadAttention, TransformerEncoder, TransformerEncoderLayer
from chainrule.nn.activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from chainrule.nn.container import ModuleDict, ModuleList, Sequential
from chainrule.nn.conv import Conv1d, Conv2d, ConvTranspose2d
from chainrule.nn.ctc import CTCLoss
from chainrule.nn.dropout import Dropout, Dropout2d
from chainrule.nn.embedding import Embedding, EmbeddingBag
from chainrule.nn.linear import Flatten, Identity, Linear, Unflatten
from chainrule.nn.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss,
                               NLLLoss, SmoothL1Loss)
from chainrule.nn.module import IncompatibleKeys, Module
from chainrule.nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from chainrule.nn.parameter import Parameter
from chainrule.nn.pooling import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from chainrule.nn.regularization import l1_penalty, l2_penalty
from chainrule.nn.rnn import GRU, LSTM, RNN
from chainrule.nn.summary import summary
from chainrule.optim.clip import clip_grad_norm_, clip_grad_value_

__all__ = [
    "Module", "Parameter", "IncompatibleKeys", "Sequential", "ModuleList", "ModuleDict",
    "Linear", "Identity", "Flatten", "Unflatten", "Dropout", "Dropout2d",
    "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Softplus", "Softmax", "LogSoftmax",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "Embedding", "EmbeddingBag",
    "RNN", "LSTM", "GRU", "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
    "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
    "NLLLoss", "KLDivLoss", "CTCLoss", "l1_penalty", "l2_penalty", "summary", "clip_grad_norm_",
    "clip_grad_value_", "functional", "init", "regularization",
]
