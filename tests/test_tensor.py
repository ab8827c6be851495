"""Tensor creation, dtypes, attributes, operators and conversions behave as a PyTorch user expects."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DTypeError, GradError, ShapeError


@pytest.mark.parametrize("data, dtype", [
    ([1.0, 2.0], np.float32), ([1, 2], np.int64), ([True, False], np.bool_), (2.5, np.float32),
    (np.ones(2, dtype=np.float64), np.float64), (np.ones(2, dtype=np.float32), np.float32),
    (np.ones(2, dtype=np.uint8), np.int64), (np.ones(2, dtype=np.float16), np.float32),
])
def test_tensor_picks_pytorch_default_dtypes(data, dtype):
    assert cr.tensor(data).dtype == dtype


def test_explicit_dtype_and_copy_semantics():
    source = np.array([1.0, 2.0])
    t = cr.tensor(source, dtype=cr.float32)
    assert t.dtype == np.float32
    source[0] = 9
    assert t.tolist() == [1.0, 2.0]
    shared = cr.from_numpy(source)
    source[1] = 7
    assert shared.tolist() == [9.0, 7.0]


@pytest.mark.parametrize("call, message", [
    (lambda: cr.tensor([1, 2], requires_grad=True), "only floating point tensors can require gradients"),
    (lambda: cr.tensor([[1.0], [1.0, 2.0]]), "ragged"),
    (lambda: cr.tensor(["a"]), "unsupported data"),
    (lambda: cr.tensor([1.0], dtype="complex64"), "unsupported dtype"),
    (lambda: cr.from_numpy(np.ones(2, dtype=np.int32)), "from_numpy: unsupported dtype"),
])
def test_bad_data_and_dtypes_raise_dtype_errors(call, message):
    with pytest.raises(DTypeError, match=message):
        call()


def test_factories_shapes_dtypes_and_seeding():
    assert cr.zeros(2, 3).shape == (2, 3) and cr.zeros((2, 3)).dtype == np.float32
    assert cr.ones(4, dtype=cr.float64).dtype == np.float64
    assert cr.full((2,), 7).dtype == np.int64 and cr.full((2,), 0.5).tolist() == [0.5, 0.5]
    base = cr.tensor([[1.0, 2.0]], dtype=cr.float64)
    assert cr.zeros_like(base).dtype == np.float64 and cr.ones_like(base).shape == (1, 2)
    assert cr.arange(4).tolist() == [0, 1, 2, 3] and cr.arange(4).dtype == np.int64
    assert cr.arange(0.0, 1.0, 0.5).dtype == np.float32
    np.testing.assert_array_equal(cr.eye(3).numpy(), np.eye(3))
    cr.manual_seed(123)
    first = cr.randn(3, 2).numpy().copy(), cr.rand(2).numpy().copy()
    cr.manual_seed(123)
    second = cr.randn(3, 2).numpy(), cr.rand(2).numpy()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert cr.randn(2).dtype == np.float32 and ((cr.rand(100) >= 0) & (cr.rand(100) < 1)).all().item()


def test_attributes():
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size() == (2, 3) and x.size(-1) == 3 and x.numel() == 6
    assert x.T.shape == (3, 2) and x.mT.shape == (3, 2) and x.is_leaf and x.grad_fn is None
    y = x * 2
    assert not y.is_leaf and y.grad_fn.name == "mul" and y.requires_grad
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and np.shares_memory(d.data, y.data)
    assert cr.tensor([1.0]).requires_grad_().requires_grad
    with pytest.raises(GradError, match="only leaf tensors"):
        y.requires_grad_(False)


def test_conversions():
    x = cr.tensor([[1.5]])
    assert x.item() == 1.5 and float(x) == 1.5 and x.tolist() == [[1.5]] and bool(x)
    assert np.asarray(x).dtype == np.float32
    with pytest.raises(ShapeError, match=r"item: .*expected 1 element, got shape \(2,\)"):
        cr.tensor([1.0, 2.0]).item()
    with pytest.raises(ShapeError, match="ambiguous"):
        bool(cr.tensor([1.0, 2.0]))
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    view = w.numpy()
    assert not view.flags.writeable and np.shares_memory(view, w.data)
    assert [t.item() for t in cr.tensor([3.0, 4.0])] == [3.0, 4.0] and len(cr.tensor([[1], [2]])) == 2


@pytest.mark.parametrize("expression, expected", [
    (lambda t: t + 1, [2.0, 3.0]), (lambda t: 1 + t, [2.0, 3.0]), (lambda t: t - 1, [0.0, 1.0]),
    (lambda t: 1 - t, [0.0, -1.0]), (lambda t: t * 2, [2.0, 4.0]), (lambda t: 2 * t, [2.0, 4.0]),
    (lambda t: t / 2, [0.5, 1.0]), (lambda t: 2 / t, [2.0, 1.0]), (lambda t: t ** 2, [1.0, 4.0]),
    (lambda t: 2 ** t, [2.0, 4.0]), (lambda t: -t, [-1.0, -2.0]), (lambda t: abs(-t), [1.0, 2.0]),
    (lambda t: np.array([1.0, 1.0], dtype=np.float32) + t, [2.0, 3.0]),
    (lambda t: t @ cr.tensor([1.0, 1.0]), 3.0),
])
def test_operators_with_python_numbers_keep_float32(expression, expected):
    t = cr.tensor([1.0, 2.0])
    out = expression(t)
    assert isinstance(out, cr.Tensor) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected)


def test_comparisons_are_boolean_and_carry_no_gradient():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == np.bool_ and not mask.requires_grad and mask.tolist() == [False, True, True]
    assert (x == 2).tolist() == [False, True, False] and (x != 2).tolist() == [True, False, True]
    assert ((x >= 2) & (x <= 2)).tolist() == [False, True, False]
    assert (~mask).tolist() == [True, False, False] and ((x < 1.5) | (x > 2.5)).tolist() == [True, False, True]


def test_mixed_dtypes_follow_pytorch_promotion():
    ints = cr.tensor([1, 2])
    assert (ints + cr.tensor([0.5, 0.5])).dtype == np.float32
    assert (ints / ints).dtype == np.float32
    assert (ints * 2).dtype == np.int64 and (ints * 2.5).dtype == np.float32
    assert (cr.tensor([1.0]) + cr.tensor(np.ones(1))).dtype == np.float64


def test_a_python_number_reused_across_dtypes_follows_each_tensor():
    # Python numbers become cached 0-d constants per dtype; a constant made for one dtype must not
    # leak into an operation on another.
    floats32, floats64, ints = cr.tensor([1.0]), cr.tensor(np.ones(1)), cr.tensor([3])
    for _ in range(2):  # the second round finds the constants cached
        assert (floats32 * 2.5).dtype == np.float32 and (floats64 * 2.5).dtype == np.float64
        assert (ints * 2.5).dtype == np.float32 and (ints * 2.5).tolist() == [7.5]
        assert (ints ** 2).dtype == np.int64 and (ints ** 2).tolist() == [9]
        assert (floats64 - 0.1).tolist() == [0.9]  # 0.1 as float64, not rounded through float32
    assert (floats32 * [2.0]).tolist() == [2.0] and (floats32 * np.array([2.0])).dtype == np.float64


def test_repr_shows_values_and_graph_state():
    assert repr(cr.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(cr.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(cr.tensor([1.0], requires_grad=True) * 2) == "tensor([2.], grad_fn=<mul>)"
    assert "dtype=float64" in repr(cr.tensor(np.ones(1)))


def test_setitem_writes_in_place_only_outside_the_graph():
    w = cr.zeros(3, requires_grad=True)
    with pytest.raises(GradError, match="no_grad"):
        w[0] = 1.0
    with cr.no_grad():
        w[0] = 1.0
    assert w.tolist() == [1.0, 0.0, 0.0]


def test_sigmoid_and_tanh_are_stable_for_large_inputs():
    x = cr.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.sigmoid()
        y.sum().backward()
        t = x.tanh()
    np.testing.assert_allclose(y.numpy(), [0.0, 0.5, 1.0], atol=1e-37)
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.25, 0.0], atol=1e-37)
    tail = cr.tensor(np.array([-50.0])).sigmoid().item()
    assert tail == pytest.approx(1.9287498479639178e-22, rel=1e-12)  # relative accuracy in the tail
    np.testing.assert_allclose(t.numpy(), [-1.0, 0.0, 1.0])
