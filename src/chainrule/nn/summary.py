"""summary: a Keras-style table of a model's layers, output shapes and parameter counts.

The table comes from one forward pass on zeros, with a forward hook on every leaf module (a
module without children) recording what it returned. The model runs in eval mode and without
recording a graph; its training flags are restored afterwards and the hooks removed.
"""

from typing import NamedTuple

from chainrule import _dtypes
from chainrule._checks import shape_tuple
from chainrule.autograd import no_grad
from chainrule.creation import zeros
from chainrule.errors import ShapeError
from chainrule.tensor import Tensor

__all__ = ["summary", "Summary", "LayerRow"]


class LayerRow(NamedTuple):
    """One call of one leaf module in the forward pass."""
    name: str
    type: str
    output_shape: object
    num_params: int


class Summary:
    """The result of ``summary``: ``str(summary)`` is the table; the numbers are attributes.

    Attributes:
        rows: one LayerRow per leaf-module call, in call order (a module called twice has two rows).
        input_shape: the shape of the zeros the model was run on.
        total_params, trainable_params, non_trainable_params: counts over ``model.parameters()``
            (a shared parameter counted once; trainable means ``requires_grad``).
    """

    def __init__(self, model_name, input_shape, rows, total_params, trainable_params):
        self.model_name, self.input_shape, self.rows = model_name, input_shape, rows
        self.total_params, self.trainable_params = total_params, trainable_params
        self.non_trainable_params = total_params - trainable_params

    def __str__(self):
        header = ("Layer (type)", "Output shape", "Param #")
        cells = [(f"{row.name} ({row.type})", _format_shape(row.output_shape), f"{row.num_params:,}")
                 for row in self.rows]
        widths = [max(len(line[i]) for line in [header, *cells]) + 2 for i in range(3)]
        width = sum(widths) - 2  # the last column has no padding after it
        lines = [f'Model: "{self.model_name}", input shape {self.input_shape}', "=" * width,
                 "".join(text.ljust(w) for text, w in zip(header, widths)).rstrip(), "=" * width]
        lines += ["".join(text.ljust(w) for text, w in zip(cell, widths)).rstrip() for cell in cells]
        lines += ["=" * width, f"Total params: {self.total_params:,}",
                  f"Trainable params: {self.trainable_params:,}",
                  f"Non-trainable params: {self.non_trainable_params:,}", "=" * width]
        return "\n".join(lines)

    __repr__ = __str__


def summary(model, input_shape, dtype=None):
    """Describe ``model`` layer by layer, running it once on ``zeros(input_shape)``.

    Nothing is printed: ``print(summary(model, shape))`` shows the table, and the returned
    Summary also holds the rows and counts for code to read.

    Args:
        model: the Module to describe.
        input_shape: the full shape of one input batch, batch dimension included, e.g. ``(1, 784)``.
        dtype: the input's dtype; default: the dtype of the model's first parameter (float32 if none).

    Returns:
        Summary.

    Raises:
        ShapeError: ``input_shape`` is not a tuple of non-negative ints (errors from the forward
            pass itself, such as a layer refusing the shape, are raised as they are).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.summary import summary
        >>> model = cr.nn.Sequential(cr.nn.Flatten(), cr.nn.Linear(4, 3), cr.nn.Dropout(0.5), cr.nn.Linear(3, 1))
        >>> print(summary(model, (2, 2, 2)))
        Model: "Sequential", input shape (2, 2, 2)
        ===================================
        Layer (type)  Output shape  Param #
        ===================================
        0 (Flatten)   (2, 4)        0
        1 (Linear)    (2, 3)        15
        2 (Dropout)   (2, 3)        0
        3 (Linear)    (2, 1)        4
        ===================================
        Total params: 19
        Trainable params: 19
        Non-trainable params: 0
        ===================================
    """
    if isinstance(input_shape, int) or not hasattr(input_shape, "__len__"):
        raise ShapeError(f"summary: input_shape must be a tuple; expected the full input shape such as "
                         f"(1, 784), got {input_shape!r}.")
    shape = shape_tuple("summary", tuple(input_shape))
    if any(size < 0 for size in shape):
        raise ShapeError(f"summary: input_shape has a negative size; expected sizes >= 0, got {shape}.")
    params = list(model.parameters())
    if dtype is None:
        dtype = params[0].dtype if params else _dtypes.DEFAULT_FLOAT

    rows, handles = [], []
    for name, module in model.named_modules():
        if next(module.children(), None) is None:
            count = sum(p.numel() for p in module.parameters())
            handles.append(module.register_forward_hook(_recorder(rows, name or type(module).__name__, count)))
    modes = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        with no_grad():
            model(zeros(*shape, dtype=dtype))
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            object.__setattr__(module, "training", training)
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return Summary(type(model).__name__, shape, rows, total, trainable)


def _recorder(rows, name, count):
    def hook(module, inputs, output):
        rows.append(LayerRow(name, type(module).__name__, _shape_of(output), count))
    return hook


def _shape_of(output):
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (list, tuple)):
        return [_shape_of(item) for item in output]
    return None


def _format_shape(shape):
    if shape is None:
        return "-"
    if isinstance(shape, list):
        return ", ".join(_format_shape(s) for s in shape)
    return str(shape)
