"""Shape ops: PyTorch semantics for view, split, chunk, pad, repeat, expand and friends."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeError


def test_reshape_and_view_share_memory_and_explain_mistakes():
    x = cr.arange(6.0)
    assert np.shares_memory(x.reshape(2, 3).data, x.data) and x.view((3, 2)).shape == (3, 2)
    with pytest.raises(ShapeError, match=r"reshape: element counts differ; expected a shape with 6 elements, "
                                         r"got shape \(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(ShapeError, match="view: .*Hint: use reshape"):
        x.reshape(2, 3).T.view(6)


def test_flatten_unsqueeze_squeeze_transpose_permute():
    x = cr.zeros(2, 1, 3, 4)
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12) and x.flatten(1, 2).shape == (2, 3, 4)
    assert x.squeeze().shape == (2, 3, 4) and x.squeeze(1).shape == (2, 3, 4) and x.squeeze(0).shape == x.shape
    assert x.unsqueeze(-1).shape == (2, 1, 3, 4, 1) and x.transpose(0, -1).shape == (4, 1, 3, 2)
    assert x.permute(3, 0, 2, 1).shape == (4, 2, 3, 1)
    with pytest.raises(ShapeError, match="permute: dims must be a permutation"):
        x.permute(0, 0, 1, 2)


def test_split_and_chunk_sizes_match_pytorch():
    x = cr.arange(10)
    assert [p.shape[0] for p in x.split(4)] == [4, 4, 2]
    assert [p.shape[0] for p in x.split([3, 7])] == [3, 7]
    assert [p.shape[0] for p in x.chunk(3)] == [4, 4, 2]
    with pytest.raises(ShapeError, match="split: section sizes must add up"):
        x.split([3, 3])


def test_cat_stack_and_their_errors():
    a, b = cr.ones(2, 3), cr.zeros(1, 3)
    assert cr.cat([a, b]).shape == (3, 3) and cr.stack([a, a], dim=-1).shape == (2, 3, 2)
    with pytest.raises(ShapeError, match=r"cat: .*\(2, 3\), \(1, 4\)"):
        cr.cat([a, cr.zeros(1, 4)])
    with pytest.raises(ShapeError, match="stack: tensors must all have the same shape"):
        cr.stack([a, b])


def test_pad_uses_pytorch_order_last_dim_first():
    x = cr.ones(2, 3)
    assert cr.pad(x, (1, 2)).shape == (2, 6) and cr.pad(x, (0, 0, 1, 0)).shape == (3, 3)
    assert cr.pad(x, (1, 0), value=5.0).tolist()[0] == [5.0, 1.0, 1.0, 1.0]


def test_repeat_expand_flip():
    x = cr.tensor([[1.0, 2.0]], requires_grad=True)
    tiled = x.repeat(2, 3)
    assert tiled.shape == (2, 6) and tiled.tolist()[1][:4] == [1.0, 2.0, 1.0, 2.0]
    tiled.sum().backward()
    assert x.grad.tolist() == [[6.0, 6.0]]
    assert x.expand(3, -1).shape == (3, 2) and x.flip(1).tolist() == [[2.0, 1.0]]
    with pytest.raises(ShapeError, match="expand: the input cannot be broadcast"):
        x.expand(3, 3)


def test_to_casts_and_keeps_the_graph_between_floats():
    x = cr.tensor([1.5, 2.5], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64 and y.requires_grad
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.long().dtype == np.int64 and not x.long().requires_grad


def test_a_0d_cast_takes_the_numpy_scalar_a_product_of_0d_arrays_gives_as_its_gradient():
    x = cr.tensor(1.5, dtype=cr.float64, requires_grad=True)
    (x.float() * cr.tensor(3.0)).sum().backward()  # mul's backward multiplies two 0-d arrays: a scalar
    assert x.grad.dtype == np.float64 and x.grad.item() == 3.0
