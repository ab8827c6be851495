"""Indexing: NumPy semantics forward, gradients that accumulate at repeated positions."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import IndexingError, ShapeError


def test_repeated_integer_indices_accumulate_their_gradients():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[cr.tensor([0, 0, 2, 0])].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_slices_ints_none_ellipsis_and_masks():
    data = np.arange(24.0).reshape(2, 3, 4)
    x = cr.tensor(data, requires_grad=True)
    np.testing.assert_array_equal(x[1, :, ::2].numpy(), data[1, :, ::2])
    np.testing.assert_array_equal(x[None, ..., -1].numpy(), data[None, ..., -1])
    masked = x[x > 20]
    assert masked.tolist() == [21.0, 22.0, 23.0]
    masked.sum().backward()
    assert x.grad.numpy().sum() == 3.0 and x.grad.numpy()[1, 2, 3] == 1.0


def test_out_of_range_index_is_an_indexing_error_with_the_shape():
    with pytest.raises(IndexingError, match=r"getitem: invalid index for a tensor of shape \(3,\)"):
        cr.zeros(3)[5]
    with pytest.raises(IndexError):
        cr.zeros(3)[5]


def test_gather_and_scatter_add_follow_pytorch():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    picked = cr.gather(x, 1, cr.tensor([[0, 0], [1, 0]]))
    assert picked.tolist() == [[1.0, 1.0], [4.0, 3.0]]
    picked.sum().backward()
    assert x.grad.tolist() == [[2.0, 0.0], [1.0, 1.0]]
    out = cr.scatter_add(cr.zeros(2, 3), 1, cr.tensor([[0, 0], [2, 1]]), cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert out.tolist() == [[3.0, 0.0, 0.0], [0.0, 4.0, 3.0]]
    with pytest.raises(IndexingError, match=r"gather: index out of range; expected values in \[0, 2\)"):
        cr.gather(x, 1, cr.tensor([[0, 2]]))


def test_masked_fill_and_index_put():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    filled = x.masked_fill(cr.tensor([True, False, True]), -1.0)
    assert filled.tolist() == [-1.0, 2.0, -1.0]
    filled.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    put = cr.index_put(cr.zeros(3), (cr.tensor([0, 0]),), cr.tensor([1.0, 2.0]), accumulate=True)
    assert put.tolist() == [3.0, 0.0, 0.0]
    with pytest.raises(ShapeError, match="scatter_add: src must have the index's shape"):
        cr.scatter_add(cr.zeros(2, 3), 1, cr.tensor([[0]]), cr.ones(2, 2))
