"""Convolution layers against PyTorch: forward, input/weight/bias gradients, second order, init, errors."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeError
from chainrule.nn.conv import Conv1d, Conv2d, ConvTranspose2d, conv1d, conv2d, conv_transpose2d, fold, unfold

torch = pytest.importorskip("torch")
functional = pytest.importorskip("torch.nn.functional")

# PyTorch warns that it copies the input for padding="same" with an even kernel; the values are what we test.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def _copy_weights(ours, theirs):
    for name, param in theirs.named_parameters():
        getattr(ours, name).data[...] = param.detach().numpy()


def _compare_layer(ours, theirs, shape, seed=0, rtol=1e-7, atol=1e-9):
    """Same input and random upstream gradient through both layers; outputs and all gradients agree."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    x_ours, x_theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
    assert out_ours.shape == tuple(out_theirs.shape)
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=rtol, atol=atol)
    grad = rng.standard_normal(out_ours.shape)
    out_ours.backward(cr.tensor(grad))
    out_theirs.backward(torch.tensor(grad))
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=rtol, atol=atol, err_msg="input grad")
    for name, param in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), param.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"{name} grad")


CONV2D_CASES = [  # (args, kwargs, input shape)
    ((1, 16, 3), {}, (4, 1, 9, 9)),
    ((3, 4, 3), dict(stride=2, padding=1), (2, 3, 8, 7)),
    ((3, 4, (3, 5)), dict(stride=(2, 1), padding=(1, 2)), (2, 3, 7, 9)),
    ((3, 4, 4), dict(padding="same", dilation=2), (2, 3, 9, 8)),  # even kernel: extra row after
    ((2, 3, (2, 3)), dict(padding="same"), (2, 2, 5, 6)),
    ((3, 4, 3), dict(padding="valid", dilation=(2, 1), bias=False), (2, 3, 8, 6)),
    ((4, 6, 3), dict(groups=2, stride=2, padding=1), (2, 4, 7, 7)),
    ((4, 4, 3), dict(groups=4, padding=1, bias=False), (3, 4, 6, 5)),  # depthwise
    ((16, 32, 3), {}, (8, 16, 7, 7)),  # many channels: batch-innermost columns
    ((3, 5, 2), dict(stride=3), (3, 6, 5)),  # unbatched input
]


@pytest.mark.parametrize("args, kwargs, shape", CONV2D_CASES)
def test_conv2d_matches_pytorch(args, kwargs, shape):
    theirs = torch.nn.Conv2d(*args, **kwargs, dtype=torch.float64)
    ours = Conv2d(*args, **kwargs, dtype=cr.float64)
    _copy_weights(ours, theirs)
    _compare_layer(ours, theirs, shape)


CONV1D_CASES = [
    ((2, 4, 3), {}, (3, 2, 10)),
    ((4, 6, 3), dict(stride=2, padding=2, dilation=2, groups=2), (2, 4, 11)),
    ((2, 3, 4), dict(padding="same"), (2, 2, 7)),
    ((2, 3, 3), dict(bias=False), (2, 9)),  # unbatched
]


@pytest.mark.parametrize("args, kwargs, shape", CONV1D_CASES)
def test_conv1d_matches_pytorch(args, kwargs, shape):
    theirs = torch.nn.Conv1d(*args, **kwargs, dtype=torch.float64)
    ours = Conv1d(*args, **kwargs, dtype=cr.float64)
    _copy_weights(ours, theirs)
    _compare_layer(ours, theirs, shape)


TRANSPOSE_CASES = [
    ((3, 4, 3), {}, (2, 3, 5, 4)),
    ((3, 4, 3), dict(stride=2, padding=1, output_padding=1), (2, 3, 4, 5)),
    ((4, 6, (2, 3)), dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2), groups=2), (2, 4, 3, 4)),
    ((2, 3, 3), dict(stride=1, dilation=2, output_padding=1, bias=False), (2, 2, 4, 4)),  # op >= stride
    ((16, 1, 3), dict(stride=2), (2, 16, 3, 3)),  # one output channel: batch-outermost columns
    ((3, 2, 2), dict(stride=2), (3, 4, 4)),  # unbatched
]


@pytest.mark.parametrize("args, kwargs, shape", TRANSPOSE_CASES)
def test_conv_transpose2d_matches_pytorch(args, kwargs, shape):
    theirs = torch.nn.ConvTranspose2d(*args, **kwargs, dtype=torch.float64)
    ours = ConvTranspose2d(*args, **kwargs, dtype=cr.float64)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    _copy_weights(ours, theirs)
    _compare_layer(ours, theirs, shape)


def test_functional_forms_match_pytorch():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)
    T = torch.tensor
    np.testing.assert_allclose(conv2d(x, w, b, stride=(2, 1), padding=1, groups=2).numpy(),
                               functional.conv2d(T(x), T(w), T(b), stride=(2, 1), padding=1, groups=2).numpy(),
                               rtol=1e-10)
    wt = rng.standard_normal((4, 3, 2, 2))
    np.testing.assert_allclose(conv_transpose2d(x, wt, None, 2, 1, 1, 2, 1).numpy(),
                               functional.conv_transpose2d(T(x), T(wt), None, 2, 1, 1, 2, 1).numpy(), rtol=1e-10)
    x1, w1 = rng.standard_normal((2, 4, 9)), rng.standard_normal((3, 4, 2))
    np.testing.assert_allclose(conv1d(x1, w1, stride=2, dilation=3).numpy(),
                               functional.conv1d(T(x1), T(w1), stride=2, dilation=3).numpy(), rtol=1e-10)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, padding=1), dict(kernel_size=(2, 3), dilation=(1, 2), padding=1,
                                                                          stride=(2, 1))])
def test_unfold_and_fold_match_pytorch(kwargs):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 7, 6))
    cols_ours, cols_theirs = unfold(x, **kwargs), functional.unfold(torch.tensor(x), **kwargs)
    np.testing.assert_array_equal(cols_ours.numpy(), cols_theirs.numpy())
    c = rng.standard_normal(cols_theirs.shape)
    c_ours, c_theirs = cr.tensor(c, requires_grad=True), torch.tensor(c, requires_grad=True)
    out_ours, out_theirs = fold(c_ours, (7, 6), **kwargs), functional.fold(c_theirs, (7, 6), **kwargs)
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(out_ours.shape)
    out_ours.backward(cr.tensor(g))
    out_theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(c_ours.grad.numpy(), c_theirs.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("ours, theirs", [(conv2d, functional.conv2d),
                                          (conv_transpose2d, functional.conv_transpose2d)],
                         ids=["conv2d", "conv_transpose2d"])
def test_second_order_gradients_match_pytorch(ours, theirs):
    """A gradient penalty |grad_x|^2 + |grad_w|^2 differentiated again: the create_graph path."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((4, 2, 3, 3))
    g = rng.standard_normal(tuple(theirs(torch.tensor(x), torch.tensor(w), stride=2, padding=1, groups=2).shape))
    results = []
    for lib, fn, grad in ((cr, ours, cr.autograd.grad), (torch, theirs, torch.autograd.grad)):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        out = fn(xt, wt, stride=2, padding=1, groups=2)
        grad_x, grad_w = grad([out], [xt, wt], grad_outputs=[lib.tensor(g)], create_graph=True)
        ((grad_x * grad_x).sum() + (grad_w * grad_w).sum()).backward()
        results.append((grad_x.detach().numpy(), grad_w.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()))
    for mine, reference in zip(*results):
        np.testing.assert_allclose(mine, reference, rtol=1e-9, atol=1e-12)


def test_float32_stays_float32_and_matches_pytorch():
    cr.manual_seed(0)
    ours = Conv2d(3, 8, 3, padding=1)
    theirs = torch.nn.Conv2d(3, 8, 3, padding=1)
    assert ours.weight.dtype == np.float32 and ours.bias.dtype == np.float32
    _copy_weights(ours, theirs)
    x = np.random.default_rng(6).standard_normal((4, 3, 8, 8)).astype(np.float32)
    x_ours = cr.tensor(x, requires_grad=True)
    out = ours(x_ours)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x_ours.grad.dtype == np.float32 and ours.weight.grad.dtype == np.float32
    assert ours.bias.grad.dtype == np.float32
    x_theirs = torch.tensor(x, requires_grad=True)
    ref = theirs(x_theirs)
    ref.sum().backward()
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-4, atol=1e-3)
    transposed = ConvTranspose2d(3, 2, 2, stride=2)
    assert transposed(cr.randn(1, 3, 4, 4)).dtype == np.float32


@pytest.mark.parametrize("make", [
    lambda nn, **kw: nn.Conv2d(1, 16, 3, **kw),
    lambda nn, **kw: nn.Conv2d(4, 8, (3, 5), stride=2, padding=1, dilation=2, groups=2, bias=False, **kw),
    lambda nn, **kw: nn.Conv2d(4, 8, 3, padding="same", **kw),
    lambda nn, **kw: nn.Conv2d(4, 8, 3, padding="valid", **kw),
    lambda nn, **kw: nn.Conv1d(4, 8, 3, **kw),
    lambda nn, **kw: nn.ConvTranspose2d(4, 8, 3, stride=2, output_padding=1, groups=2, **kw),
], ids=["basic", "all-options", "same", "valid", "conv1d", "transpose"])
def test_repr_and_parameter_shapes_match_pytorch(make):
    from chainrule.nn import conv
    ours, theirs = make(conv), make(torch.nn)
    assert repr(ours) == repr(theirs)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]


def test_state_dict_from_pytorch_loads():
    theirs = torch.nn.Conv2d(2, 3, 3, dtype=torch.float64)
    ours = Conv2d(2, 3, 3, dtype=cr.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(7).standard_normal((1, 2, 5, 5))
    np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("layer, fan_in", [
    (lambda: Conv2d(16, 32, 3), 16 * 9),
    (lambda: Conv2d(16, 32, (3, 5), groups=4), 4 * 15),
    (lambda: Conv1d(8, 64, 5), 8 * 5),
    (lambda: ConvTranspose2d(32, 16, 4, groups=2), 8 * 16),  # PyTorch: weight.shape[1] * kh * kw
])
def test_default_init_is_pytorch_kaiming_uniform(layer, fan_in):
    cr.manual_seed(0)
    module = layer()
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) gives the same bound as the bias
    weight, bias = np.abs(module.weight.numpy()), np.abs(module.bias.numpy())
    assert weight.max() <= bound and weight.max() > 0.9 * bound and bias.max() <= bound
    assert module.weight.numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.1)
    cr.manual_seed(0)
    np.testing.assert_array_equal(layer().weight.numpy(), module.weight.numpy())


def test_wrong_channels_names_the_layer():
    layer = Conv2d(1, 16, 3)
    with pytest.raises(ShapeError) as info:
        layer(cr.zeros(8, 3, 28, 28))
    assert str(info.value) == ("Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1)): wrong number of input channels; "
                               "expected 1, got input shape (8, 3, 28, 28).")


@pytest.mark.parametrize("call, message", [
    (lambda: Conv2d(1, 4, 3)(cr.zeros(28, 28)), "Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1)): wrong number of "
                                                 "input dims; expected 4 dims (N, C, H, W) or 3"),
    (lambda: Conv2d(1, 4, 3)(cr.zeros(1, 1, 2, 2)), "the input is smaller than the kernel; expected a padded size "
                                                     "of at least (3, 3), got padded size (2, 2)"),
    (lambda: Conv1d(2, 4, 3, groups=2)(cr.zeros(1, 4, 8)), "wrong number of input channels; expected 2, got input "
                                                           "shape (1, 4, 8)"),
    (lambda: Conv2d(3, 4, 3, groups=2), "Conv2d: in_channels must be divisible by groups; expected a multiple of 2, "
                                        "got in_channels=3."),
    (lambda: Conv2d(2, 4, 3, stride=2, padding="same"), "Conv2d: padding='same' keeps the size only without "
                                                        "striding; expected stride (1, 1), got stride (2, 2)."),
    (lambda: Conv2d(2, 4, 3, padding="full"), "Conv2d: unknown padding; expected an int, a tuple of ints, 'same' or "
                                              "'valid', got 'full'."),
    (lambda: Conv2d(2, 4, (3, 3, 3)), "Conv2d: invalid kernel_size; expected an int or 2 ints, each >= 1, got "
                                      "kernel_size=(3, 3, 3)."),
    (lambda: ConvTranspose2d(2, 4, 3, stride=2, output_padding=2), "ConvTranspose2d: output_padding must be smaller "
                                                                   "than stride or dilation"),
    (lambda: ConvTranspose2d(2, 4, 3, padding="same"), "ConvTranspose2d: string padding is not supported"),
    (lambda: ConvTranspose2d(2, 4, 3, padding=3)(cr.zeros(1, 2, 2, 2)), "the padding removes the whole output; "
                                                                        "expected a positive output size, got output "
                                                                        "size (-2, -2)"),
    (lambda: conv2d(cr.zeros(1, 4, 5, 5), cr.zeros(6, 2, 3, 3), groups=4), "conv2d: groups must be a positive int "
                                                                           "dividing weight.shape[0] (out_channels)"),
    (lambda: conv2d(cr.zeros(1, 2, 5, 5), cr.zeros(3, 2, 3, 3), cr.zeros(2)),
     "conv2d: the bias must hold one value per output channel; expected shape (3,), got bias shape (2,)."),
    (lambda: conv2d(cr.zeros(1, 2, 5, 5), cr.zeros(3, 2, 3)), "conv2d: wrong number of weight dims; expected 4 dims"),
    (lambda: conv2d(cr.zeros(1, 2, 5, 5), cr.zeros(3, 2, 3, 3), stride=0), "conv2d: invalid stride; expected an int "
                                                                            "or 2 ints, each >= 1, got stride=0."),
    (lambda: fold(cr.zeros(1, 18, 10), (5, 5), 3, padding=1), "fold: the input does not hold the windows of a (5, 5) "
                                                              "image; expected shape (N, C * 9, 25)"),
    (lambda: unfold(cr.zeros(1, 1, 2, 2), 3), "unfold: the input is smaller than the kernel"),
])
def test_bad_input_raises_shape_error_naming_the_layer_or_op(call, message):
    with pytest.raises(ShapeError) as info:
        call()
    assert message in str(info.value)
