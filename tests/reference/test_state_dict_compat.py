"""Every layer type loads a PyTorch state_dict (as NumPy arrays) 1:1 and gives PyTorch's outputs."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
tnn = torch.nn

F64 = cr.float64
RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape)


def _ids(*shape, high=10):
    return RNG.integers(0, high, shape)


# name: (chainrule layer, torch layer, inputs, how to pick the compared output)
LAYERS = {
    "Linear": (lambda: nn.Linear(5, 3, dtype=F64), lambda: tnn.Linear(5, 3), [_x(4, 5)]),
    "Sequential": (lambda: nn.Sequential(nn.Linear(5, 8, dtype=F64), nn.Tanh(), nn.Linear(8, 2, dtype=F64)),
                   lambda: tnn.Sequential(tnn.Linear(5, 8), tnn.Tanh(), tnn.Linear(8, 2)), [_x(4, 5)]),
    "Conv1d": (lambda: nn.Conv1d(3, 4, 3, padding=1, dtype=F64), lambda: tnn.Conv1d(3, 4, 3, padding=1),
               [_x(2, 3, 7)]),
    "Conv2d": (lambda: nn.Conv2d(2, 4, 3, stride=2, groups=2, dtype=F64),
               lambda: tnn.Conv2d(2, 4, 3, stride=2, groups=2), [_x(2, 2, 7, 7)]),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, dtype=F64),
                        lambda: tnn.ConvTranspose2d(2, 3, 3, stride=2), [_x(2, 2, 4, 4)]),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(4, dtype=F64), lambda: tnn.BatchNorm1d(4), [_x(6, 4)]),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3, dtype=F64), lambda: tnn.BatchNorm2d(3), [_x(2, 3, 4, 4)]),
    "LayerNorm": (lambda: nn.LayerNorm(6, dtype=F64), lambda: tnn.LayerNorm(6), [_x(3, 6)]),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4, dtype=F64), lambda: tnn.GroupNorm(2, 4), [_x(2, 4, 3)]),
    "Embedding": (lambda: nn.Embedding(10, 4, padding_idx=0, dtype=F64), lambda: tnn.Embedding(10, 4, padding_idx=0),
                  [_ids(3, 5)]),
    "EmbeddingBag": (lambda: nn.EmbeddingBag(10, 4, mode="sum", dtype=F64),
                     lambda: tnn.EmbeddingBag(10, 4, mode="sum"), [_ids(3, 5)]),
    "RNN": (lambda: nn.RNN(3, 5, num_layers=2, dtype=F64), lambda: tnn.RNN(3, 5, num_layers=2), [_x(4, 2, 3)]),
    "LSTM": (lambda: nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True, dtype=F64),
             lambda: tnn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True), [_x(2, 4, 3)]),
    "GRU": (lambda: nn.GRU(3, 5, bidirectional=True, dtype=F64), lambda: tnn.GRU(3, 5, bidirectional=True),
            [_x(4, 2, 3)]),
    "MultiheadAttention": (lambda: nn.MultiheadAttention(8, 2, batch_first=True, dtype=F64),
                           lambda: tnn.MultiheadAttention(8, 2, batch_first=True),
                           [_x(2, 5, 8), _x(2, 6, 8), _x(2, 6, 8)]),
    "TransformerEncoderLayer": (
        lambda: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True, dtype=F64),
        lambda: tnn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True),
        [_x(2, 5, 8)]),
}


def _first(output):
    return output[0] if isinstance(output, tuple) else output


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_pytorch_state_dict_loads_one_to_one_and_outputs_match(name):
    make_ours, make_theirs, inputs = LAYERS[name]
    torch.manual_seed(0)
    theirs = make_theirs().double().eval()
    ours = make_ours().eval()
    state = {key: value.detach().numpy() for key, value in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(state), "parameter and buffer names or order differ"
    for key, value in ours.state_dict().items():
        assert value.shape == state[key].shape, f"{key}: shape differs"
    ours.load_state_dict(state, strict=True)
    our_out = _first(ours(*[cr.tensor(x) for x in inputs]))
    with torch.no_grad():
        their_out = _first(theirs(*[torch.from_numpy(x) for x in inputs]))
    np.testing.assert_allclose(our_out.numpy(), their_out.numpy(), rtol=1e-10, atol=1e-12)
