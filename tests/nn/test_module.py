"""Module: parameter discovery, buffers, modes, dtypes, state dicts and containers."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(3, 4)
        self.layers = [nn.Linear(4, 4), nn.Linear(4, 2)]
        self.heads = {"a": nn.Linear(2, 1)}
        self.shared = self.first.weight
        self.register_buffer("steps", cr.zeros(1))
        self.register_buffer("scratch", cr.zeros(2), persistent=False)

    def forward(self, x):
        x = self.first(x).relu()
        for layer in self.layers:
            x = layer(x)
        return self.heads["a"](x)


def test_named_parameters_walk_attributes_in_order_and_list_shared_ones_once():
    # As in PyTorch, a module's own parameters come before its children's: the shared weight is
    # listed once, under the name the parent gave it.
    names = [name for name, _ in Block().named_parameters()]
    assert names == ["shared", "first.bias", "layers.0.weight", "layers.0.bias", "layers.1.weight",
                     "layers.1.bias", "heads.a.weight", "heads.a.bias"]


def test_buffers_are_state_but_not_parameters():
    block = Block()
    assert all(p is not block.steps for p in block.parameters())
    state = block.state_dict()
    assert "steps" in state and "scratch" not in state
    assert [name for name, _ in block.named_buffers()] == ["steps", "scratch"]


def test_unknown_attributes_raise():
    with pytest.raises(AttributeError):
        Block().missing_layer


def test_train_eval_zero_grad_apply_and_dtype():
    block = Block()
    assert all(m.training for m in block.modules())
    block.eval()
    assert not any(m.training for m in block.modules())
    block(cr.randn(2, 3)).sum().backward()
    assert block.first.weight.grad is not None
    block.zero_grad()
    assert all(p.grad is None for p in block.parameters())
    block.double()
    assert all(p.dtype == np.float64 for p in block.parameters()) and block.steps.dtype == np.float64
    assert block(cr.randn(2, 3, dtype=cr.float64)).dtype == np.float64
    visited = []
    block.apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "Block" and visited.count("Linear") == 4


def test_state_dict_round_trip_and_strict_errors_name_the_keys():
    source, target = Block(), Block()
    target.load_state_dict(source.state_dict())
    x = cr.randn(2, 3)
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())
    state = {k: v.numpy() for k, v in source.state_dict().items()}
    state.pop("first.bias")
    state["extra"] = np.zeros(1)
    state["layers.0.weight"] = np.zeros((5, 5))
    with pytest.raises(ShapeError) as info:
        target.load_state_dict(state)
    message = str(info.value)
    assert "missing keys ['first.bias']" in message and "unexpected keys ['extra']" in message
    assert "layers.0.weight: expected shape (4, 4), got (5, 5)" in message
    del state["layers.0.weight"]
    result = target.load_state_dict(state, strict=False)
    assert result.missing_keys == ["first.bias", "layers.0.weight"] and result.unexpected_keys == ["extra"]


def test_containers_index_and_name_like_pytorch():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Identity(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[1], nn.Identity) and len(seq[:2]) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    stack = nn.ModuleList([nn.Linear(2, 2)]).append(nn.Linear(2, 2))
    assert len(stack) == 2 and [n for n, _ in stack.named_parameters()][-1] == "1.bias"
    heads = nn.ModuleDict({"x": nn.Linear(2, 1)})
    assert "x" in heads and heads.keys() == ["x"] and [n for n, _ in heads.named_parameters()][0] == "x.weight"
    assert repr(seq).startswith("Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)")


def test_sequential_runs_a_module_placed_twice_twice_and_counts_its_parameters_once():
    double = nn.Linear(2, 2)
    seq = nn.Sequential(double, nn.ReLU(), double)
    x = cr.randn(4, 2)
    expected = double(nn.functional.relu(double(x)))
    np.testing.assert_array_equal(seq(x).numpy(), expected.numpy())
    assert len(seq) == 3 and seq[2] is double
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]


def test_linear_checks_its_input_and_matches_the_formula():
    layer = nn.Linear(784, 10)
    with pytest.raises(ShapeError) as info:
        layer(cr.zeros(32, 512))
    assert str(info.value) == ("Linear(in_features=784, out_features=10, bias=True): wrong number of input "
                               "features; expected last dimension 784, got input shape (32, 512).")
    small = nn.Linear(3, 2, dtype=cr.float64)
    x = cr.randn(4, 3, dtype=cr.float64)
    np.testing.assert_allclose(small(x).numpy(), x.numpy() @ small.weight.numpy().T + small.bias.numpy())


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_linear_bias_gradient_sums_the_batch_for_every_batch_size(dtype):
    # The bias gradient is a product with a cached vector of ones that grows with the batch:
    # batches larger, smaller and empty after each other must each sum their own rows.
    layer = nn.Linear(3, 2, dtype=dtype)
    for rows in (4, 9, 2, 0, 9):
        layer.bias.grad = None
        upstream = np.random.default_rng(rows).standard_normal((rows, 2)).astype(dtype)
        layer(cr.randn(rows, 3, dtype=dtype)).backward(cr.tensor(upstream))
        np.testing.assert_allclose(layer.bias.grad.numpy(), upstream.sum(0), rtol=1e-6, atol=1e-6)
        assert layer.bias.grad.dtype == dtype


def test_linear_default_init_is_pytorch_uniform_bound():
    cr.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    assert np.abs(layer.weight.numpy()).max() <= bound and np.abs(layer.weight.numpy()).max() > 0.95 * bound
    assert np.abs(layer.bias.numpy()).max() <= bound
    assert layer.weight.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


@pytest.mark.parametrize("fn, shape, expected_std", [
    (lambda t: nn.init.xavier_uniform_(t), (300, 200), math.sqrt(2 / 500)),
    (lambda t: nn.init.xavier_normal_(t), (300, 200), math.sqrt(2 / 500)),
    (lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"), (300, 200), math.sqrt(2 / 200)),
    (lambda t: nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), (300, 200), math.sqrt(2 / 300)),
    (lambda t: nn.init.normal_(t, 1.0, 0.5), (200, 200), 0.5),
])
def test_init_functions_draw_with_pytorch_scales(fn, shape, expected_std):
    cr.manual_seed(1)
    weight = nn.Parameter(cr.zeros(*shape))
    fn(weight)
    assert weight.numpy().std() == pytest.approx(expected_std, rel=0.03)


def test_orthogonal_constant_and_seeded_init():
    weight = nn.Parameter(cr.zeros(3, 5, dtype=cr.float64))
    nn.init.orthogonal_(weight, gain=2.0)
    np.testing.assert_allclose(weight.numpy() @ weight.numpy().T, 4 * np.eye(3), atol=1e-10)
    assert nn.init.constant_(nn.Parameter(cr.zeros(2)), 0.3).tolist() == pytest.approx([0.3, 0.3])
    cr.manual_seed(5)
    first = nn.Linear(3, 3).weight.numpy().copy()
    cr.manual_seed(5)
    np.testing.assert_array_equal(first, nn.Linear(3, 3).weight.numpy())


def test_forward_hooks_see_outputs_and_can_be_removed():
    layer = nn.Linear(2, 2)
    seen = []
    handle = layer.register_forward_hook(lambda module, inputs, output: seen.append(output.shape))
    layer(cr.zeros(5, 2))
    handle.remove()
    layer(cr.zeros(5, 2))
    assert seen == [(5, 2)]


def test_parameter_is_a_float_leaf_that_requires_grad():
    p = nn.Parameter(cr.tensor([1.0, 2.0]))
    assert p.requires_grad and p.is_leaf and isinstance(p, cr.Tensor)
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.], requires_grad=True)")
    with pytest.raises(cr.DTypeError, match="Parameter: parameters must be floating point"):
        nn.Parameter(cr.tensor([1, 2]))
