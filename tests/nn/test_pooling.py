"""Pooling layers against PyTorch: forward and input gradients, ties, adaptive sizes, dtypes, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn.pooling import (AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d, adaptive_avg_pool2d,
                                  avg_pool2d, max_pool1d, max_pool2d)

torch = pytest.importorskip("torch")


def _compare(ours, theirs, x, seed=0):
    """Same input and random upstream gradient through both; outputs and input gradients agree."""
    x_ours, x_theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
    assert out_ours.shape == tuple(out_theirs.shape)
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    grad = np.random.default_rng(seed).standard_normal(out_ours.shape)
    out_ours.backward(cr.tensor(grad))
    out_theirs.backward(torch.tensor(grad))
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-12, atol=1e-14)


def _input(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


MAX_POOL_2D = [  # (args, kwargs, input shape)
    ((2,), {}, (2, 3, 8, 8)),
    ((2,), {}, (2, 3, 7, 9)),  # the last row and column are in no window
    ((3,), dict(stride=2, padding=1), (2, 2, 9, 8)),
    (((2, 3),), dict(stride=1, padding=(1, 0), dilation=(2, 1)), (2, 2, 7, 6)),
    ((3,), dict(stride=2, ceil_mode=True), (1, 2, 8, 8)),
    (((3, 2),), dict(stride=(2, 3), padding=1, dilation=2, ceil_mode=True), (1, 2, 9, 10)),
    ((2,), {}, (3, 6, 6)),  # unbatched
]


@pytest.mark.parametrize("args, kwargs, shape", MAX_POOL_2D)
def test_max_pool2d_matches_pytorch(args, kwargs, shape):
    _compare(MaxPool2d(*args, **kwargs), torch.nn.MaxPool2d(*args, **kwargs), _input(*shape))


def test_max_pool_ties_route_the_gradient_to_the_first_index_like_pytorch():
    x = np.zeros((1, 2, 4, 6))
    x[0, 1, :2, :2] = 1.0  # a window of equal maxima
    x[0, 1, 2:, 2:4] = [[3.0, -1.0], [3.0, 3.0]]
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)):
        _compare(MaxPool2d(**kwargs), torch.nn.MaxPool2d(**kwargs), x)


def test_max_pool_propagates_nan():
    x = np.ones((1, 1, 2, 4))
    x[0, 0, 1, 0] = np.nan
    out = max_pool2d(cr.tensor(x), 2).numpy()
    assert np.isnan(out[0, 0, 0, 0]) and out[0, 0, 0, 1] == 1.0


AVG_POOL_2D = [
    ((2,), {}, (2, 3, 8, 7)),
    ((3,), dict(stride=2, padding=1), (2, 2, 9, 8)),
    ((3,), dict(stride=2, padding=1, count_include_pad=False), (2, 2, 9, 8)),
    (((2, 3),), dict(stride=2, padding=(1, 1), ceil_mode=True), (1, 2, 8, 9)),
    ((3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False), (1, 2, 8, 8)),
    (((3, 1),), dict(stride=1), (2, 5, 5)),  # unbatched, overlapping windows
]


@pytest.mark.parametrize("args, kwargs, shape", AVG_POOL_2D)
def test_avg_pool2d_matches_pytorch(args, kwargs, shape):
    _compare(AvgPool2d(*args, **kwargs), torch.nn.AvgPool2d(*args, **kwargs), _input(*shape))


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)])
def test_pool1d_matches_pytorch(kwargs):
    x = _input(2, 3, 11)
    _compare(MaxPool1d(**kwargs), torch.nn.MaxPool1d(**kwargs), x)
    _compare(AvgPool1d(**kwargs), torch.nn.AvgPool1d(**kwargs), x)
    _compare(AvgPool1d(**kwargs, count_include_pad=False), torch.nn.AvgPool1d(**kwargs, count_include_pad=False), x)
    _compare(MaxPool1d(**kwargs), torch.nn.MaxPool1d(**kwargs), _input(3, 9))  # unbatched


@pytest.mark.parametrize("output_size, shape", [
    ((3, 4), (2, 3, 7, 9)),  # neither divides: windows overlap
    (5, (2, 2, 10, 10)),  # divides evenly
    ((None, 2), (1, 2, 5, 7)),  # None keeps the input size
    ((5, 3), (1, 2, 3, 2)),  # larger than the input: inputs repeat
    (1, (3, 4, 6)),  # global average of an unbatched input
])
def test_adaptive_avg_pool2d_matches_pytorch(output_size, shape):
    _compare(AdaptiveAvgPool2d(output_size), torch.nn.AdaptiveAvgPool2d(output_size), _input(*shape))


def test_functional_forms_match_the_layers():
    x = cr.tensor(_input(2, 3, 9, 8))
    np.testing.assert_array_equal(max_pool2d(x, 3, 2, 1).numpy(), MaxPool2d(3, 2, 1)(x).numpy())
    np.testing.assert_array_equal(avg_pool2d(x, 2, count_include_pad=False).numpy(), AvgPool2d(2)(x).numpy())
    np.testing.assert_array_equal(adaptive_avg_pool2d(x, (4, 3)).numpy(), AdaptiveAvgPool2d((4, 3))(x).numpy())
    y = cr.tensor(_input(2, 3, 9))
    np.testing.assert_array_equal(max_pool1d(y, 2).numpy(), MaxPool1d(2)(y).numpy())


@pytest.mark.parametrize("layer", [MaxPool2d(2), AvgPool2d(3, stride=2, padding=1), AdaptiveAvgPool2d((3, 2)),
                                   MaxPool1d(3), AvgPool1d(2)], ids=repr)
def test_float32_stays_float32(layer):
    shape = (2, 3, 8) if "1d" in type(layer).__name__ else (2, 3, 8, 8)
    x = cr.tensor(_input(*shape).astype(np.float32), requires_grad=True)
    out = layer(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("make", [
    lambda nn: nn.MaxPool2d(2),
    lambda nn: nn.MaxPool2d((2, 3), stride=1, padding=1, dilation=2, ceil_mode=True),
    lambda nn: nn.MaxPool1d(2),
    lambda nn: nn.AvgPool2d(2),
    lambda nn: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
    lambda nn: nn.AvgPool1d(2),
    lambda nn: nn.AdaptiveAvgPool2d((5, None)),
    lambda nn: nn.AdaptiveAvgPool2d(7),
], ids=["max2d", "max2d-options", "max1d", "avg2d", "avg2d-options", "avg1d", "adaptive-none", "adaptive-int"])
def test_repr_matches_pytorch(make):
    from chainrule.nn import pooling
    assert repr(make(pooling)) == repr(make(torch.nn))


@pytest.mark.parametrize("call, error, message", [
    (lambda: MaxPool2d(2)(cr.zeros(8, 8)), ShapeError, "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, "
                                                       "ceil_mode=False): wrong number of input dims; expected 4 dims "
                                                       "(N, C, H, W) or 3 for one unbatched sample, got input shape "
                                                       "(8, 8)."),
    (lambda: MaxPool2d(3, padding=2)(cr.zeros(1, 1, 8, 8)), ShapeError, "the padding is too wide for the window; "
                                                                        "expected padding at most half the effective "
                                                                        "kernel size"),
    (lambda: AvgPool2d(5)(cr.zeros(1, 1, 4, 4)), ShapeError, "AvgPool2d(kernel_size=5, stride=5, padding=0): the input "
                                                             "is smaller than the window"),
    (lambda: max_pool1d(cr.zeros(1, 2, 3, 4), 2), ShapeError, "max_pool1d: wrong number of input dims; expected 3 "
                                                              "dims (N, C, L)"),
    (lambda: max_pool2d(cr.tensor([[[[1, 2], [3, 4]]]]), 2), DTypeError, "max_pool2d: the input must be floating "
                                                                         "point; expected float32 or float64, got "
                                                                         "int64."),
    (lambda: avg_pool2d(cr.zeros(1, 1, 4, 4), 2, stride=0), ShapeError, "avg_pool2d: invalid stride; expected an int "
                                                                        "or 2 ints, each >= 1, got stride=0."),
    (lambda: adaptive_avg_pool2d(cr.zeros(1, 1, 4, 4), (0, 2)), ShapeError, "adaptive_avg_pool2d: invalid "
                                                                            "output_size; expected an int or 2 ints, "
                                                                            "each >= 1, got output_size=(0, 2)."),
    (lambda: MaxPool2d((2, 2, 2)), ShapeError, "MaxPool2d: invalid kernel_size"),
])
def test_bad_input_raises_naming_the_layer_or_op(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
