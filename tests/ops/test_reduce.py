"""Reductions: PyTorch's return conventions, tie rules and dim errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DTypeError, IndexingError


def test_max_and_min_with_dim_return_values_and_indices():
    x = cr.tensor([[1.0, 5.0, 5.0], [7.0, 0.0, 2.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0] and indices.dtype == np.int64
    values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    lowest = x.min(dim=0, keepdim=True)
    assert lowest.values.shape == (1, 3) and lowest.indices.tolist() == [[0, 1, 1]]


def test_max_over_all_elements_splits_the_gradient_among_ties():
    x = cr.tensor([1.0, 3.0, 3.0], requires_grad=True)
    top = x.max()
    assert top.item() == 3.0 and top.shape == ()
    top.backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5]


def test_sum_mean_var_std_match_numpy_with_negative_dims_and_keepdim():
    data = np.random.default_rng(0).standard_normal((2, 3, 4))
    x = cr.tensor(data)
    np.testing.assert_allclose(x.sum(dim=(-1, 0)).numpy(), data.sum(axis=(2, 0)))
    np.testing.assert_allclose(x.mean(dim=1, keepdim=True).numpy(), data.mean(axis=1, keepdims=True))
    np.testing.assert_allclose(x.var(dim=-1).numpy(), data.var(axis=-1, ddof=1))
    np.testing.assert_allclose(x.std(correction=0).numpy(), data.std())
    np.testing.assert_allclose(x.prod(dim=2).numpy(), data.prod(axis=2))
    assert x.argmax().item() == data.argmax() and x.argmin(dim=1).tolist() == data.argmin(axis=1).tolist()


def test_prod_gradient_is_exact_with_a_zero():
    x = cr.tensor([2.0, 0.0, 3.0], requires_grad=True)
    x.prod().backward()
    assert x.grad.tolist() == [0.0, 6.0, 0.0]


def test_bad_dims_and_dtypes_are_explained():
    with pytest.raises(IndexingError, match=r"sum: dim 3 is out of range for a tensor with 2 dimensions; "
                                            r"expected -2 <= dim <= 1"):
        cr.zeros(2, 3).sum(dim=3)
    with pytest.raises(DTypeError, match="mean: the input must be floating point"):
        cr.tensor([1, 2]).mean()
