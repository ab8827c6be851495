"""Batch-norm statistics recomputed after training, under PyTorch's name (``optim.swa_utils.update_bn``).

A batch-norm layer's running mean and variance are moving averages of batch statistics taken while
the weights were still changing, and, when training batches are augmented, of images unlike the
ones the model will see. ``update_bn`` replaces them with the exact statistics of the final weights
on the data you pass: often the clean, unaugmented training inputs. The weights are not touched.
"""

from chainrule.autograd.engine import no_grad
from chainrule.creation import tensor
from chainrule.nn.normalization import _BatchNorm
from chainrule.tensor import Tensor

__all__ = ["update_bn"]


def update_bn(loader, model):
    """Recompute the running statistics of every batch-norm layer of ``model`` from ``loader``.

    Each layer's running mean and variance are reset, then become the plain average over all the
    batches of ``loader`` (every batch weighs the same, as PyTorch's ``momentum=None``). The model
    runs in training mode without gradients; its mode and each layer's ``momentum`` are restored.

    Args:
        loader: an iterable of batches: input Tensors or arrays, or tuples/lists whose first item
            is the input (a DataLoader of (inputs, targets) works as is).
        model: a Module; layers built with ``track_running_stats=False`` are left alone.

    Example:
        >>> import numpy as np, chainrule as cr
        >>> model = cr.nn.BatchNorm1d(2)
        >>> update_bn([np.array([[0.0, 1.0], [2.0, 5.0]], dtype=np.float32)], model)
        >>> model.running_mean.numpy().tolist()
        [1.0, 3.0]
    """
    layers = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not layers:
        return
    momenta = {layer: layer.momentum for layer in layers}
    was_training = model.training
    try:
        for layer in layers:
            layer.reset_running_stats()
            layer.momentum = None
        model.train()
        with no_grad():
            for batch in loader:
                inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
                model(inputs if isinstance(inputs, Tensor) else tensor(inputs))
    finally:
        for layer, momentum in momenta.items():
            layer.momentum = momentum
        model.train(was_training)
