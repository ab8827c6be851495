"""BatchNorm1d/2d, LayerNorm, GroupNorm and their functions against PyTorch: forward values, input and
parameter gradients, running statistics over several steps, state dicts, reprs and errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from chainrule.ops.normalization import batch_norm, group_norm, layer_norm

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-9, atol=1e-11)


def _pair(cls, torch_cls, *args, **kwargs):
    """A float64 chainrule layer and its PyTorch twin holding the same random parameters."""
    ours = cls(*args, dtype=cr.float64, **kwargs)
    theirs = torch_cls(*args, dtype=torch.float64, **kwargs)
    rng = np.random.default_rng(len(args) + len(kwargs))
    with torch.no_grad():
        for name, param in theirs.named_parameters():
            param.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, param.shape) if name == "weight"
                                         else rng.uniform(-1, 1, param.shape)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _step(ours, theirs, x, seed=0):
    """One forward and backward with a random upstream gradient; compare outputs and all gradients."""
    a = cr.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    out_a, out_b = ours(a), theirs(b)
    np.testing.assert_allclose(out_a.numpy(), out_b.detach().numpy(), **TOL)
    grad = np.random.default_rng(seed).standard_normal(x.shape)
    out_a.backward(cr.tensor(grad))
    out_b.backward(torch.from_numpy(grad))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-10)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)


def _same_state(ours, theirs):
    mine, torchs = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(torchs)
    for key in mine:
        np.testing.assert_allclose(mine[key].numpy(), torchs[key].numpy(), **TOL, err_msg=key)


# --- batch norm ----------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, torch_cls, shape", [
    (BatchNorm1d, torch.nn.BatchNorm1d, (6, 3)),
    (BatchNorm1d, torch.nn.BatchNorm1d, (4, 3, 5)),
    (BatchNorm2d, torch.nn.BatchNorm2d, (3, 3, 4, 2)),
])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batch_norm_trains_and_evaluates_like_pytorch(cls, torch_cls, shape, momentum):
    ours, theirs = _pair(cls, torch_cls, 3, momentum=momentum)
    rng = np.random.default_rng(1)
    for step in range(3):
        _step(ours, theirs, rng.normal(1.5, 2.0, shape), seed=step)
        _same_state(ours, theirs)
    assert ours.num_batches_tracked.item() == 3 and ours.num_batches_tracked.dtype == np.int64
    ours.eval(), theirs.eval()
    ours.zero_grad(), theirs.zero_grad()
    _step(ours, theirs, rng.normal(1.5, 2.0, shape), seed=5)
    _same_state(ours, theirs)  # eval mode leaves the running statistics alone


@pytest.mark.parametrize("kwargs", [dict(affine=False), dict(track_running_stats=False), dict(bias=False)])
def test_batch_norm_options_match_pytorch_in_both_modes(kwargs):
    ours, theirs = _pair(BatchNorm1d, torch.nn.BatchNorm1d, 4, **kwargs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(2).normal(0.5, 3.0, (5, 4, 3))
    _step(ours, theirs, x)
    ours.eval(), theirs.eval()
    ours.zero_grad(), theirs.zero_grad()
    _step(ours, theirs, x[:2] + 1.0, seed=1)  # without running statistics, eval uses the batch's


def test_batch_norm_loads_a_pytorch_state_dict_and_keeps_float32():
    theirs = torch.nn.BatchNorm2d(3)
    theirs(torch.randn(4, 3, 2, 2) * 3 + 1)
    ours = BatchNorm2d(3)
    result = ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert ours.num_batches_tracked.item() == 1
    x = cr.randn(2, 3, 2, 2, requires_grad=True)
    out = ours.eval()(x)
    np.testing.assert_allclose(out.numpy(), theirs.eval()(torch.from_numpy(x.numpy().copy())).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32 and ours.weight.grad.dtype == np.float32
    assert ours.running_mean.dtype == np.float32


def test_batch_norm_function_updates_the_given_running_statistics():
    rng = np.random.default_rng(3)
    x, weight, bias = rng.normal(size=(8, 2, 3)), rng.uniform(0.5, 1.5, 2), rng.normal(size=2)
    mean, var = np.zeros(2), np.ones(2)
    torch_mean, torch_var = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    running_mean, running_var = cr.tensor(mean), cr.tensor(var)
    out = batch_norm(cr.tensor(x), running_mean, running_var, cr.tensor(weight), cr.tensor(bias), True, 0.3)
    expected = torch.nn.functional.batch_norm(torch.from_numpy(x), torch_mean, torch_var, torch.from_numpy(weight),
                                              torch.from_numpy(bias), True, 0.3)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), **TOL)
    np.testing.assert_allclose(running_mean.numpy(), torch_mean.numpy(), **TOL)
    np.testing.assert_allclose(running_var.numpy(), torch_var.numpy(), **TOL)
    evaluated = batch_norm(cr.tensor(x), running_mean, running_var)
    expected = torch.nn.functional.batch_norm(torch.from_numpy(x), torch_mean, torch_var)
    np.testing.assert_allclose(evaluated.numpy(), expected.numpy(), **TOL)


def test_batch_norm_repr_matches_pytorch():
    options = (dict(), dict(momentum=None, affine=False, track_running_stats=False), dict(eps=1e-3, bias=False))
    for kwargs in options:
        assert repr(BatchNorm1d(3, **kwargs)) == repr(torch.nn.BatchNorm1d(3, **kwargs))
        assert repr(BatchNorm2d(8, **kwargs)) == repr(torch.nn.BatchNorm2d(8, **kwargs))


# --- layer norm and group norm -------------------------------------------------------------------

@pytest.mark.parametrize("normalized_shape, shape, kwargs", [
    (5, (3, 5), {}),
    ((4, 5), (2, 3, 4, 5), {}),
    ((3,), (2, 4, 3), dict(bias=False)),
    ((2, 3), (4, 2, 3), dict(elementwise_affine=False)),
    (6, (6,), dict(eps=1e-3)),
])
def test_layer_norm_matches_pytorch(normalized_shape, shape, kwargs):
    ours, theirs = _pair(LayerNorm, torch.nn.LayerNorm, normalized_shape, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
    _step(ours, theirs, np.random.default_rng(4).normal(1.0, 2.0, shape))


@pytest.mark.parametrize("groups, channels, shape, kwargs", [
    (2, 4, (3, 4, 5), {}),
    (3, 6, (2, 6, 3, 2), {}),
    (1, 4, (2, 4, 3, 3), dict(eps=1e-3)),
    (4, 4, (3, 4, 6), dict(affine=False)),
    (2, 6, (5, 6), dict(bias=False)),
])
def test_group_norm_matches_pytorch(groups, channels, shape, kwargs):
    ours, theirs = _pair(GroupNorm, torch.nn.GroupNorm, groups, channels, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
    _step(ours, theirs, np.random.default_rng(5).normal(-1.0, 2.0, shape))


def test_layer_and_group_norm_functions_match_pytorch():
    rng = np.random.default_rng(6)
    x, weight, bias = rng.normal(size=(2, 6, 4)), rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    functional = torch.nn.functional
    np.testing.assert_allclose(
        layer_norm(cr.tensor(x), (6, 4), cr.tensor(weight), cr.tensor(bias), 1e-4).numpy(),
        functional.layer_norm(torch.from_numpy(x), (6, 4), torch.from_numpy(weight), torch.from_numpy(bias), 1e-4),
        **TOL)
    np.testing.assert_allclose(layer_norm(cr.tensor(x), 4).numpy(),
                               functional.layer_norm(torch.from_numpy(x), (4,)), **TOL)
    np.testing.assert_allclose(
        group_norm(cr.tensor(x), 3, cr.tensor(weight[:, 0]), cr.tensor(bias[:, 0])).numpy(),
        functional.group_norm(torch.from_numpy(x), 3, torch.from_numpy(weight[:, 0]),
                              torch.from_numpy(bias[:, 0])), **TOL)


def test_normalization_keeps_float32_and_takes_a_dtype():
    x = cr.randn(4, 6, 3, requires_grad=True)
    for layer in (BatchNorm1d(6), LayerNorm(3), GroupNorm(3, 6)):
        out = layer(x)
        out.sum().backward()
        assert out.dtype == np.float32 and x.grad.dtype == np.float32
        assert all(p.grad.dtype == np.float32 for p in layer.parameters())
    assert LayerNorm((2, 3), dtype=cr.float64).weight.dtype == np.float64
    assert BatchNorm2d(2, dtype="float64").running_var.dtype == np.float64
    with pytest.raises(DTypeError):
        GroupNorm(1, 2, dtype=cr.int64)


# --- errors --------------------------------------------------------------------------------------

def test_layers_name_themselves_in_shape_errors():
    cases = [
        (BatchNorm1d(3), cr.zeros(2, 3, 4, 5),
         "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True): wrong number "
         "of input dims; expected a 2-D (N, C) or 3-D (N, C, L) input, got input shape (2, 3, 4, 5)."),
        (BatchNorm2d(3), cr.zeros(2, 4, 2, 2), "wrong number of channels; expected dim 1 of size 3, got input "
                                                 "shape (2, 4, 2, 2)."),
        (BatchNorm1d(3), cr.zeros(1, 3), "training needs more than 1 value per channel to compute batch "
                                         "statistics; expected N * (positions) > 1, got input shape (1, 3)."),
        (LayerNorm((2, 3)), cr.zeros(4, 3, 2),
         "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True, bias=True): the input must end with the "
         "normalized shape; expected input shape (*, 2, 3), got input shape (4, 3, 2)."),
        (GroupNorm(2, 4), cr.zeros(4, 6), "wrong input shape; expected (N, 4, *), got input shape (4, 6)."),
    ]
    for layer, x, message in cases:
        with pytest.raises(ShapeError) as info:
            layer(x)
        assert str(info.value).startswith(repr(layer)) and str(info.value).endswith(message)
    assert BatchNorm1d(3).eval()(cr.zeros(1, 3)).shape == (1, 3)  # one sample is fine with running statistics


def test_functions_and_constructors_reject_bad_arguments():
    x = cr.zeros(4, 6)
    with pytest.raises(ShapeError, match=r"^GroupNorm: .*expected num_groups to divide num_channels=6, got "
                                         r"num_groups=4\.$"):
        GroupNorm(4, 6)
    with pytest.raises(ShapeError, match=r"^group_norm: .*expected num_groups to divide C=6"):
        group_norm(x, 4)
    with pytest.raises(ShapeError, match=r"^batch_norm: weight has the wrong shape; expected shape \(6,\), "
                                         r"got weight.shape=\(5,\)\.$"):
        batch_norm(x, None, None, cr.ones(5), training=True)
    with pytest.raises(ShapeError, match=r"^batch_norm: outside training the running statistics are used"):
        batch_norm(x, None, None)
    with pytest.raises(ShapeError, match=r"^layer_norm: .*expected input shape \(\*, 4\), got input shape "
                                         r"\(4, 6\)"):
        layer_norm(x, 4)
    with pytest.raises(DTypeError, match=r"^layer_norm: "):
        layer_norm(cr.zeros(2, 3, dtype=cr.int64), 3)
