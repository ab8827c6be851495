"""Property-based tests: broadcasting binary ops and the shape ops, on shapes drawn by hypothesis.

Every expected value is computed independently with NumPy: the forward pass by the NumPy
function itself, the gradient of ``sum(w * out)`` by the local derivative times ``w`` summed over
the broadcast dims (or by moving ``w`` back through the inverse reshape or permutation).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None)
SEEDS = st.integers(0, 2**32 - 1)


def _values(rng, shape, away_from_zero=False):
    x = rng.uniform(-2.0, 2.0, size=shape)
    if away_from_zero:
        x = np.where(x < 0, x - 0.5, x + 0.5)
    return np.asarray(x, dtype=np.float64)


def _sum_to_shape(g, shape):
    """The reference un-broadcast: sum the leading dims away, then every dim the input had as 1."""
    g = np.asarray(g)
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    ones = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=ones, keepdims=True).reshape(shape) if ones else g.reshape(shape)


def _backward_weighted(out, w):
    """Backpropagate ``sum(w * out)``."""
    (out * cr.tensor(w)).sum().backward()


def _check_gradient(leaf, expected, what):
    assert leaf.grad is not None, f"{what}: no gradient"
    assert leaf.grad.shape == leaf.shape, f"{what}: gradient shape {leaf.grad.shape}, input shape {leaf.shape}"
    assert leaf.grad.dtype == np.float64, f"{what}: gradient dtype {leaf.grad.dtype}"
    np.testing.assert_allclose(leaf.grad.data, expected, rtol=1e-12, atol=1e-12, err_msg=what)


# --- broadcasting binary ops ---------------------------------------------------------------

# op -> (chainrule function, NumPy forward, local derivatives (d out/d a, d out/d b) given a, b)
BINARY = {
    "add": (cr.add, np.add, lambda a, b: (np.ones_like(a * b), np.ones_like(a * b))),
    "sub": (cr.sub, np.subtract, lambda a, b: (np.ones_like(a * b), -np.ones_like(a * b))),
    "mul": (cr.mul, np.multiply, lambda a, b: (b + 0 * a, a + 0 * b)),
    "div": (cr.div, np.divide, lambda a, b: (1 / b + 0 * a, -a / (b * b))),
    "maximum": (cr.maximum, np.maximum, lambda a, b: ((a > b) + 0.0 * b, (a < b) + 0.0 * a)),
    "minimum": (cr.minimum, np.minimum, lambda a, b: ((a < b) + 0.0 * b, (a > b) + 0.0 * a)),
}


@pytest.mark.parametrize("op", sorted(BINARY))
@PROPERTY_SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4), seed=SEEDS)
def test_binary_op_broadcasts_like_numpy_and_sums_gradients_back_to_each_input(op, shapes, seed):
    function, reference, derivatives = BINARY[op]
    shape_a, shape_b = shapes.input_shapes
    rng = np.random.default_rng(seed)
    a_array, b_array = _values(rng, shape_a), _values(rng, shape_b, away_from_zero=(op == "div"))
    a, b = cr.tensor(a_array, requires_grad=True), cr.tensor(b_array, requires_grad=True)

    out = function(a, b)
    expected = reference(a_array, b_array)
    assert out.shape == shapes.result_shape == expected.shape
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.data, expected)

    w = rng.standard_normal(expected.shape)
    _backward_weighted(out, w)
    d_a, d_b = derivatives(a_array, b_array)
    _check_gradient(a, _sum_to_shape(w * d_a, shape_a), f"{op}: gradient of a {shape_a} (b {shape_b})")
    _check_gradient(b, _sum_to_shape(w * d_b, shape_b), f"{op}: gradient of b {shape_b} (a {shape_a})")


@PROPERTY_SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, max_side=4), seed=SEEDS)
def test_where_broadcasts_three_ways_and_routes_gradients_by_the_condition(shapes, seed):
    shape_c, shape_a, shape_b = shapes.input_shapes
    rng = np.random.default_rng(seed)
    condition = rng.uniform(size=shape_c) > 0.5
    a_array, b_array = _values(rng, shape_a), _values(rng, shape_b)
    a, b = cr.tensor(a_array, requires_grad=True), cr.tensor(b_array, requires_grad=True)

    out = cr.where(cr.tensor(condition), a, b)
    expected = np.where(condition, a_array, b_array)
    assert out.shape == expected.shape == shapes.result_shape
    np.testing.assert_array_equal(out.data, expected)

    w = rng.standard_normal(expected.shape)
    _backward_weighted(out, w)
    chosen = np.broadcast_to(condition, expected.shape)
    _check_gradient(a, _sum_to_shape(np.where(chosen, w, 0.0), shape_a), f"where: gradient of a {shape_a}")
    _check_gradient(b, _sum_to_shape(np.where(chosen, 0.0, w), shape_b), f"where: gradient of b {shape_b}")


@PROPERTY_SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4), seed=SEEDS)
def test_an_input_used_twice_with_broadcasting_accumulates_both_gradients(shapes, seed):
    shape_a, shape_b = shapes.input_shapes
    rng = np.random.default_rng(seed)
    a_array, b_array = _values(rng, shape_a), _values(rng, shape_b)
    a, b = cr.tensor(a_array, requires_grad=True), cr.tensor(b_array, requires_grad=True)

    out = a * b + a
    w = rng.standard_normal(shapes.result_shape)
    _backward_weighted(out, w)
    _check_gradient(a, _sum_to_shape(w * (b_array + 1.0 + 0 * a_array), shape_a), f"a * b + a: gradient of a {shape_a}")
    _check_gradient(b, _sum_to_shape(w * (a_array + 0 * b_array), shape_b), f"a * b + a: gradient of b {shape_b}")


# --- shape ops -------------------------------------------------------------------------------

SHAPES = hnp.array_shapes(min_dims=0, max_dims=5, min_side=1, max_side=4)
SHAPES_WITH_ONES = st.lists(st.integers(1, 3), min_size=0, max_size=5).map(tuple)


def _prime_factors(n):
    factors, p = [], 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    return factors


@st.composite
def _shape_and_target(draw):
    """An input shape and a different valid shape for its elements, maybe with one -1."""
    shape = draw(SHAPES)
    size = math.prod(shape)
    factors = draw(st.permutations(_prime_factors(size)))
    ndim = draw(st.integers(1 if size > 1 else 0, 5))
    target = [1] * ndim
    for factor in factors:
        target[draw(st.integers(0, ndim - 1))] *= factor
    if ndim and draw(st.booleans()):
        target[draw(st.integers(0, ndim - 1))] = -1
    return shape, tuple(target)


def _leaf(rng, shape):
    array = _values(rng, shape)
    return array, cr.tensor(array, requires_grad=True)


@PROPERTY_SETTINGS
@given(shapes=_shape_and_target(), seed=SEEDS, as_view=st.booleans())
def test_reshape_and_view_match_numpy_and_reshape_the_gradient_back(shapes, seed, as_view):
    shape, target = shapes
    rng = np.random.default_rng(seed)
    array, x = _leaf(rng, shape)
    out = x.view(*target) if as_view else cr.reshape(x, target)
    expected = array.reshape(target)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    w = rng.standard_normal(expected.shape)
    _backward_weighted(out, w)
    _check_gradient(x, w.reshape(shape), f"reshape {shape} -> {target}")


@st.composite
def _shape_and_permutation(draw):
    shape = draw(SHAPES)
    order = draw(st.permutations(range(len(shape))))
    # Each dim may be spelled negative: the permutation is the same.
    spelled = tuple(d - len(shape) if draw(st.booleans()) else d for d in order)
    return shape, tuple(order), spelled


@PROPERTY_SETTINGS
@given(drawn=_shape_and_permutation(), seed=SEEDS)
def test_permute_matches_numpy_and_permutes_the_gradient_back(drawn, seed):
    shape, order, spelled = drawn
    rng = np.random.default_rng(seed)
    array, x = _leaf(rng, shape)
    out = x.permute(*spelled)
    expected = np.transpose(array, order)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    w = rng.standard_normal(expected.shape)
    _backward_weighted(out, w)
    _check_gradient(x, np.transpose(w, np.argsort(order)), f"permute {shape} by {spelled}")


@st.composite
def _shape_and_two_dims(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=5, min_side=1, max_side=4))
    dims = st.integers(-len(shape), len(shape) - 1)
    return shape, draw(dims), draw(dims)


@PROPERTY_SETTINGS
@given(drawn=_shape_and_two_dims(), seed=SEEDS)
def test_transpose_matches_numpy_swapaxes_and_swaps_the_gradient_back(drawn, seed):
    shape, dim0, dim1 = drawn
    rng = np.random.default_rng(seed)
    array, x = _leaf(rng, shape)
    out = cr.transpose(x, dim0, dim1)
    expected = np.swapaxes(array, dim0, dim1)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    w = rng.standard_normal(expected.shape)
    _backward_weighted(out, w)
    _check_gradient(x, np.swapaxes(w, dim0, dim1), f"transpose {shape} dims {dim0}, {dim1}")


@st.composite
def _shape_and_flatten_range(draw):
    shape = draw(SHAPES)
    if not shape:
        return shape, 0, -1
    ndim = len(shape)
    start = draw(st.integers(0, ndim - 1))
    end = draw(st.integers(start, ndim - 1))
    # Spell each end negative half the time; the range is the same.
    start_spelled = start - ndim if draw(st.booleans()) else start
    end_spelled = end - ndim if draw(st.booleans()) else end
    return shape, start_spelled, end_spelled


@PROPERTY_SETTINGS
@given(drawn=_shape_and_flatten_range(), seed=SEEDS)
def test_flatten_merges_the_dim_range_and_reshapes_the_gradient_back(drawn, seed):
    shape, start, end = drawn
    rng = np.random.default_rng(seed)
    array, x = _leaf(rng, shape)
    out = x.flatten(start, end)
    if shape:
        first, last = start % len(shape), end % len(shape)
        expected_shape = shape[:first] + (math.prod(shape[first:last + 1]),) + shape[last + 1:]
    else:
        expected_shape = (1,)  # a 0-d tensor flattens to one element, as in PyTorch
    expected = array.reshape(expected_shape)
    assert out.shape == expected_shape
    np.testing.assert_array_equal(out.data, expected)
    w = rng.standard_normal(expected_shape)
    _backward_weighted(out, w)
    _check_gradient(x, w.reshape(shape), f"flatten {shape} from {start} to {end}")


@PROPERTY_SETTINGS
@given(shape=SHAPES, data=st.data(), seed=SEEDS)
def test_unsqueeze_matches_numpy_expand_dims_and_squeezes_the_gradient_back(shape, data, seed):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)), label="dim")
    rng = np.random.default_rng(seed)
    array, x = _leaf(rng, shape)
    out = x.unsqueeze(dim)
    expected = np.expand_dims(array, dim)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    w = rng.standard_normal(expected.shape)
    _backward_weighted(out, w)
    _check_gradient(x, np.squeeze(w, axis=dim), f"unsqueeze {shape} at {dim}")


@PROPERTY_SETTINGS
@given(shape=SHAPES_WITH_ONES, data=st.data(), seed=SEEDS)
def test_squeeze_all_or_one_dim_matches_numpy_and_restores_the_gradient_shape(shape, data, seed):
    dim = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1) if shape else st.none(), label="dim")
    rng = np.random.default_rng(seed)
    array, x = _leaf(rng, shape)
    out = x.squeeze() if dim is None else x.squeeze(dim)
    if dim is None:
        expected = np.squeeze(array)
    else:  # a dim whose size is not 1 is left alone, as in PyTorch
        expected = np.squeeze(array, axis=dim) if shape[dim] == 1 else array
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    w = rng.standard_normal(expected.shape)
    _backward_weighted(out, w)
    _check_gradient(x, w.reshape(shape), f"squeeze {shape} dim {dim}")


@PROPERTY_SETTINGS
@given(drawn=_shape_and_permutation(), data=st.data(), seed=SEEDS)
def test_permute_then_reshape_of_a_non_contiguous_tensor_matches_numpy(drawn, data, seed):
    shape, order, spelled = drawn
    size = math.prod(shape)
    target = data.draw(st.sampled_from([(size,), (-1,), (1, size), (size, 1)]), label="target")
    rng = np.random.default_rng(seed)
    array, x = _leaf(rng, shape)
    out = x.permute(*spelled).reshape(*target)
    expected = np.transpose(array, order).reshape(target)
    np.testing.assert_array_equal(out.data, expected)
    w = rng.standard_normal(expected.shape)
    _backward_weighted(out, w)
    permuted_shape = tuple(shape[d] for d in order)
    _check_gradient(x, np.transpose(w.reshape(permuted_shape), np.argsort(order)),
                    f"permute {spelled} then reshape {target} of {shape}")
