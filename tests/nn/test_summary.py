"""summary: rows per leaf-module call, shapes, parameter counts, and no lasting side effects."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError
from chainrule.nn.summary import LayerRow, Summary, summary


def _model():
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.Dropout(0.5), nn.Linear(8, 3, bias=False))


def test_rows_shapes_and_counts():
    model = _model()
    result = summary(model, (5, 3, 4))
    assert isinstance(result, Summary)
    assert result.rows == [LayerRow("0", "Flatten", (5, 12), 0), LayerRow("1", "Linear", (5, 8), 12 * 8 + 8),
                           LayerRow("2", "Dropout", (5, 8), 0), LayerRow("3", "Linear", (5, 3), 8 * 3)]
    assert result.total_params == 128 and result.trainable_params == 128 and result.non_trainable_params == 0
    assert sum(row.num_params for row in result.rows) == result.total_params


def test_table_text():
    text = str(summary(_model(), (5, 3, 4)))
    lines = text.splitlines()
    assert lines[0] == 'Model: "Sequential", input shape (5, 3, 4)'
    assert lines[2].split() == ["Layer", "(type)", "Output", "shape", "Param", "#"]
    assert lines[4].split() == ["0", "(Flatten)", "(5,", "12)", "0"]
    assert lines[5].split() == ["1", "(Linear)", "(5,", "8)", "104"]
    assert "Total params: 128" in lines and "Trainable params: 128" in lines and "Non-trainable params: 0" in lines
    assert repr(summary(_model(), (1, 12))) == str(summary(_model(), (1, 12)))


def test_frozen_and_shared_parameters_and_nested_names():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
            self.head = nn.Linear(4, 2)
            self.head.weight.requires_grad_(False)

        def forward(self, x):
            shared = self.encoder[0]
            return self.head(self.encoder(shared(x)))

    result = summary(Net(), (2, 4))
    assert [row.name for row in result.rows] == ["encoder.0", "encoder.0", "encoder.1", "head"]
    assert result.total_params == 20 + 20 + 10 and result.non_trainable_params == 8
    assert "Non-trainable params: 8" in str(result)


def test_runs_in_eval_without_graph_then_restores_the_model():
    model = _model()
    model[2].training = True
    seen = []
    model[3].register_forward_hook(lambda module, inputs, output: seen.append((module.training, output.grad_fn)))
    summary(model, (1, 12))
    assert seen == [(False, None)]
    assert all(m.training for m in model.modules())
    model(cr.zeros(1, 12))
    assert len(seen) == 2 and all(len(m._forward_hooks) == (1 if m is model[3] else 0) for m in model.modules())


def test_dtype_defaults_to_the_parameters_and_can_be_given():
    model = nn.Sequential(nn.Linear(3, 2, dtype=cr.float64))
    seen = []
    model[0].register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].dtype))
    summary(model, (1, 3))
    summary(model, (1, 3), dtype=cr.float32)
    summary(nn.Sequential(nn.Flatten()), (1, 3))
    assert seen == [np.float64, np.float32]


def test_bad_input_shapes_raise_shape_errors():
    with pytest.raises(ShapeError, match=r"^summary: input_shape must be a tuple"):
        summary(_model(), 12)
    with pytest.raises(ShapeError, match=r"^summary: input_shape has a negative size"):
        summary(_model(), (-1, 12))
    with pytest.raises(ShapeError, match=r"^Linear\(in_features=12"):
        summary(_model(), (2, 5))
