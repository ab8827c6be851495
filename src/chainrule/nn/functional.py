"""Layers and losses as functions (``import chainrule.nn.functional as F``), as in PyTorch."""

from chainrule.nn.attention import scaled_dot_product_attention
from chainrule.nn.conv import conv1d, conv2d, conv_transpose2d, fold, unfold
from chainrule.nn.dropout import dropout, dropout2d
from chainrule.nn.pooling import adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from chainrule.ops.activation import elu, gelu, leaky_relu, log_softmax, silu, softmax, softplus
from chainrule.ops.ctc import ctc_loss
from chainrule.ops.elementwise import relu, sigmoid, tanh
from chainrule.ops.embedding import embedding, embedding_bag
from chainrule.ops.loss import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, nll_loss
from chainrule.ops.nn import linear, mse_loss
from chainrule.ops.normalization import batch_norm, group_norm, layer_norm
from chainrule.ops.recurrent import gru_recurrence, lstm_layer, lstm_recurrence, rnn_recurrence
from chainrule.ops.regression_loss import huber_loss, kl_div, l1_loss, smooth_l1_loss

__all__ = [
    "linear", "dropout", "dropout2d", "conv1d", "conv2d", "conv_transpose2d", "unfold", "fold",
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d",
    "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "softmax", "log_softmax",
    "batch_norm", "layer_norm", "group_norm", "embedding", "embedding_bag",
    "rnn_recurrence", "lstm_recurrence", "lstm_layer", "gru_recurrence", "scaled_dot_product_attention",
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div", "ctc_loss",
]
