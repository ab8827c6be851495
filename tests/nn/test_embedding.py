"""Embedding and EmbeddingBag against PyTorch: lookups, accumulated and padding gradients, both bag input
forms and modes, per-sample weights, init, state dicts, reprs and errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DTypeError, IndexingError, ShapeError
from chainrule.nn import Embedding, EmbeddingBag
from chainrule.nn.functional import embedding, embedding_bag

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-10, atol=1e-12)


def _tables(shape=(7, 3), seed=0):
    """The same float64 table as a chainrule and a torch leaf."""
    table = np.random.default_rng(seed).normal(size=shape)
    return cr.tensor(table, requires_grad=True), torch.tensor(table, requires_grad=True)


def _backward_both(ours, theirs, seed=1):
    grad = np.random.default_rng(seed).normal(size=ours.shape)
    ours.backward(cr.tensor(grad))
    theirs.backward(torch.from_numpy(grad))


# --- embedding -----------------------------------------------------------------------------------

@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_pytorch_with_repeats_and_padding(padding_idx):
    indices = np.array([[0, 2, 2, 6], [6, 1, 2, 0]])
    ours_w, torch_w = _tables()
    out = embedding(cr.tensor(indices), ours_w, padding_idx)
    expected = torch.nn.functional.embedding(torch.from_numpy(indices), torch_w, padding_idx)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **TOL)
    _backward_both(out, expected)
    np.testing.assert_allclose(ours_w.grad.numpy(), torch_w.grad.numpy(), **TOL)
    if padding_idx is not None:  # the padding row was read (nonzero output) but gets no gradient
        assert not ours_w.grad.numpy()[padding_idx].any() and out.numpy()[indices == padding_idx % 7].any()
    assert ours_w.grad.numpy()[1].any() and not ours_w.grad.numpy()[[3, 4, 5]].any()


def test_embedding_layer_init_repr_state_dict_and_dtypes():
    cr.manual_seed(0)
    layer = Embedding(400, 50, padding_idx=-3)
    assert layer.padding_idx == 397 and not layer.weight.numpy()[397].any()
    assert layer.weight.numpy().std() == pytest.approx(1.0, rel=0.02)
    assert layer.weight.numpy().mean() == pytest.approx(0.0, abs=0.02)
    assert repr(layer) == repr(torch.nn.Embedding(400, 50, padding_idx=-3))
    assert repr(layer) == "Embedding(400, 50, padding_idx=397)"
    assert repr(Embedding(4, 2)) == repr(torch.nn.Embedding(4, 2))
    theirs = torch.nn.Embedding(10, 4, padding_idx=0)
    ours = Embedding(10, 4, padding_idx=0)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == ["weight"]
    indices = np.array([[0, 3], [9, 3]])
    out = ours(cr.tensor(indices))
    np.testing.assert_allclose(out.numpy(), theirs(torch.from_numpy(indices)).detach().numpy(), rtol=1e-6)
    out.sum().backward()
    assert out.dtype == np.float32 and ours.weight.grad.dtype == np.float32
    assert not ours.weight.grad.numpy()[0].any() and ours.weight.grad.numpy()[3].tolist() == [2.0] * 4
    assert Embedding(3, 2, dtype=cr.float64).weight.dtype == np.float64


def test_embedding_from_pretrained_copies_and_freezes():
    table = np.arange(6.0).reshape(3, 2)
    layer = Embedding.from_pretrained(cr.tensor(table))
    assert not layer.weight.requires_grad and layer.weight.dtype == np.float64
    np.testing.assert_array_equal(layer(cr.tensor([2, 0])).numpy(), table[[2, 0]])
    assert Embedding.from_pretrained(table, freeze=False).weight.requires_grad


# --- embedding bag -------------------------------------------------------------------------------

BAG_INDICES = np.array([1, 4, 4, 0, 6, 2, 4, 5])
BAG_OFFSETS = np.array([0, 3, 3, 4, 7])  # the second bag is empty


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("padding_idx", [None, 4])
@pytest.mark.parametrize("form", ["1-D with offsets", "2-D", "include_last_offset"])
def test_embedding_bag_matches_pytorch(mode, padding_idx, form):
    if form == "2-D":
        args = (np.array([[1, 4, 3], [4, 4, 0], [2, 6, 6]]), None)
    elif form == "include_last_offset":
        args = (BAG_INDICES, np.append(BAG_OFFSETS, BAG_INDICES.size))
    else:
        args = (BAG_INDICES, BAG_OFFSETS)
    indices, offsets = args
    ours_w, torch_w = _tables()
    last = form == "include_last_offset"
    out = embedding_bag(cr.tensor(indices), ours_w, None if offsets is None else cr.tensor(offsets), mode=mode,
                        include_last_offset=last, padding_idx=padding_idx)
    expected = torch.nn.functional.embedding_bag(
        torch.from_numpy(indices), torch_w, None if offsets is None else torch.from_numpy(offsets), mode=mode,
        include_last_offset=last, padding_idx=padding_idx)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **TOL)
    _backward_both(out, expected)
    np.testing.assert_allclose(ours_w.grad.numpy(), torch_w.grad.numpy(), **TOL)


@pytest.mark.parametrize("form", ["1-D with offsets", "2-D"])
def test_embedding_bag_per_sample_weights_and_their_gradient_match_pytorch(form):
    rng = np.random.default_rng(2)
    if form == "2-D":
        indices, offsets = np.array([[1, 4, 3], [4, 4, 0]]), None
    else:
        indices, offsets = BAG_INDICES, BAG_OFFSETS
    weights = rng.normal(size=indices.shape)
    ours_w, torch_w = _tables()
    ours_p, torch_p = cr.tensor(weights, requires_grad=True), torch.tensor(weights, requires_grad=True)
    out = embedding_bag(cr.tensor(indices), ours_w, None if offsets is None else cr.tensor(offsets), mode="sum",
                        per_sample_weights=ours_p, padding_idx=0)
    expected = torch.nn.functional.embedding_bag(
        torch.from_numpy(indices), torch_w, None if offsets is None else torch.from_numpy(offsets), mode="sum",
        per_sample_weights=torch_p, padding_idx=0)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **TOL)
    _backward_both(out, expected)
    np.testing.assert_allclose(ours_w.grad.numpy(), torch_w.grad.numpy(), **TOL)
    np.testing.assert_allclose(ours_p.grad.numpy(), torch_p.grad.numpy(), **TOL)


def test_embedding_bag_layer_repr_state_dict_and_float32():
    assert repr(EmbeddingBag(10, 3)) == repr(torch.nn.EmbeddingBag(10, 3)) == "EmbeddingBag(10, 3, mode='mean')"
    assert repr(EmbeddingBag(10, 3, mode="sum", padding_idx=2)) == repr(
        torch.nn.EmbeddingBag(10, 3, mode="sum", padding_idx=2))
    theirs = torch.nn.EmbeddingBag(10, 4, mode="sum")
    ours = EmbeddingBag(10, 4, mode="sum")
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    out = ours(cr.tensor(BAG_INDICES), cr.tensor(BAG_OFFSETS))
    np.testing.assert_allclose(out.numpy(), theirs(torch.from_numpy(BAG_INDICES), torch.from_numpy(BAG_OFFSETS))
                               .detach().numpy(), rtol=1e-6, atol=1e-6)
    out.sum().backward()
    assert out.dtype == np.float32 and ours.weight.grad.dtype == np.float32
    assert ours.weight.grad.numpy()[4].tolist() == [3.0] * 4  # index 4 appears three times
    cr.manual_seed(0)
    assert not EmbeddingBag(5, 2, padding_idx=1).weight.numpy()[1].any()


# --- errors --------------------------------------------------------------------------------------

def test_lookups_reject_bad_indices_naming_the_layer_or_function():
    layer = Embedding(5, 2)
    with pytest.raises(IndexingError) as info:
        layer(cr.tensor([0, 5]))
    assert str(info.value) == ("Embedding(5, 2): index out of range; expected indices in [0, 5), got values in "
                               "[0, 5].")
    with pytest.raises(DTypeError, match=r"^embedding: indices must be integers; expected an int64 tensor, got "
                                         r"dtype float32\.$"):
        embedding(cr.tensor([0.0, 1.0]), cr.randn(5, 2))
    with pytest.raises(IndexingError, match=r"^Embedding: padding_idx out of range"):
        Embedding(5, 2, padding_idx=5)
    bags = EmbeddingBag(5, 2)
    with pytest.raises(ShapeError, match=r"^EmbeddingBag\(5, 2, mode='mean'\): offsets are only for 1-D input"):
        bags(cr.tensor([[0, 1]]), cr.tensor([0]))
    with pytest.raises(ShapeError, match=r"^EmbeddingBag\(5, 2, mode='mean'\): expected 2-D \(B, L\) input, "
                                         r"or 1-D input with offsets"):
        bags(cr.tensor([0, 1]))
    with pytest.raises(ShapeError, match=r"offsets must be the bags' start positions"):
        bags(cr.tensor([0, 1, 2]), cr.tensor([0, 2, 1]))
    with pytest.raises(ShapeError, match=r"expected at least 2 offsets and offsets\[-1\] == 3, got offsets "
                                         r"\[0, 2\]"):
        EmbeddingBag(5, 2, include_last_offset=True)(cr.tensor([0, 1, 2]), cr.tensor([0, 2]))
    with pytest.raises(ShapeError, match=r"per_sample_weights only work with mode='sum'"):
        bags(cr.tensor([0, 1]), cr.tensor([0]), cr.tensor([1.0, 2.0]))
    with pytest.raises(ShapeError, match=r"^embedding_bag: unknown mode; expected one of \('sum', 'mean'\), "
                                         r"got 'max'"):
        embedding_bag(cr.tensor([[0]]), cr.randn(5, 2), mode="max")
