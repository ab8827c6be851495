"""Elementwise ops' NumPy forms against NumPy's own definition, bit for bit, special values included."""

import numpy as np
import pytest

import chainrule as cr

SPECIAL = [[-0.0, 0.0, 1.5, -2.0], [np.nan, np.inf, -np.inf, 3e-39]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_is_numpy_maximum_with_zero_bit_for_bit(dtype):
    x = np.array(SPECIAL, dtype=dtype)
    got = cr.relu(cr.tensor(x)).numpy()
    expected = np.maximum(x, 0)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))  # -0.0 gives +0.0
    assert got.dtype == dtype


@pytest.mark.parametrize("data", [np.array(-3.5), np.arange(-6, 6).reshape(3, 4).T, np.arange(-4, 4)],
                         ids=["0-d", "transposed", "int64"])
def test_relu_keeps_shape_and_dtype_of_any_layout(data):
    got = cr.relu(cr.tensor(data)).numpy()
    np.testing.assert_array_equal(got, np.maximum(data, 0))
    assert got.shape == data.shape and got.dtype == data.dtype


def test_rnn_relu_recurrence_matches_numpy_maximum():
    rng = np.random.default_rng(0)
    gates = rng.standard_normal((5, 2, 3))
    h0, weight = np.zeros((2, 3)), rng.standard_normal((3, 3))
    states = cr.nn.functional.rnn_recurrence(cr.tensor(gates), cr.tensor(h0), cr.tensor(weight),
                                             nonlinearity="relu").numpy()
    h = h0
    for t in range(5):
        h = np.maximum(gates[t] + h @ weight.T, 0)
        np.testing.assert_allclose(states[t], h, rtol=1e-12, atol=1e-12)
