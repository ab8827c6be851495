"""Attention against PyTorch: scaled_dot_product_attention, MultiheadAttention and the Transformer encoder,
forward values and every gradient with copied weights, with boolean and float masks."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn.attention import MultiheadAttention, scaled_dot_product_attention

torch = pytest.importorskip("torch")
functional = pytest.importorskip("torch.nn.functional")

E, HEADS, N, L, S = 8, 2, 3, 4, 5


def _check(case, arrays, constants=(), modules=(None, None), seed=0):
    """Run ``case(library, module, *inputs, *constants)`` in both libraries; compare outputs, then the
    gradients of a random weighting of the outputs w.r.t. every input and every module parameter."""
    results = []
    for library, module in zip((torch, cr), modules):
        inputs = [library.tensor(a, requires_grad=True) for a in arrays]
        fixed = [None if c is None else library.tensor(c) for c in constants]
        outputs = case(library, module, *inputs, *fixed)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        rng = np.random.default_rng(seed)
        loss = sum((out * library.tensor(rng.standard_normal(tuple(out.shape)))).sum() for out in outputs)
        loss.backward()
        params = {} if module is None else {name: p.grad.numpy() for name, p in module.named_parameters()}
        results.append(([o.detach().numpy() for o in outputs], [x.grad.numpy() for x in inputs], params))
    (expected_out, expected_grads, expected_params), (out, grads, params) = results
    for k, (a, b) in enumerate(zip(expected_out, out)):
        np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-10, err_msg=f"output {k}")
    for k, (a, b) in enumerate(zip(expected_grads, grads)):
        np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-10, err_msg=f"gradient of input {k}")
    assert expected_params.keys() == params.keys()
    for name in expected_params:
        np.testing.assert_allclose(params[name], expected_params[name], rtol=1e-7, atol=1e-10, err_msg=f"grad {name}")


def _normal(*shapes, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in shapes]


def _sdpa(library):
    return functional.scaled_dot_product_attention if library is torch else scaled_dot_product_attention


# --- scaled_dot_product_attention ------------------------------------------------------------------

def test_sdpa_matches_torch_without_mask_and_with_a_scale():
    arrays = _normal((N, HEADS, L, E), (N, HEADS, S, E), (N, HEADS, S, 3))
    _check(lambda m, _, q, k, v: _sdpa(m)(q, k, v), arrays)
    _check(lambda m, _, q, k, v: _sdpa(m)(q, k, v, scale=0.3), arrays)


def test_sdpa_matches_torch_with_bool_and_float_masks():
    arrays = _normal((N, L, E), (N, S, E), (N, S, E))
    allowed = np.random.default_rng(2).random((N, L, S)) > 0.4
    allowed[:, :, 0] = True  # every query keeps a key
    _check(lambda m, _, q, k, v, mask: _sdpa(m)(q, k, v, attn_mask=mask), arrays, [allowed])
    bias, = _normal((L, S), seed=3)
    _check(lambda m, _, q, k, v, mask: _sdpa(m)(q, k, v, attn_mask=mask), arrays, [bias])


def test_sdpa_gives_zero_for_a_query_with_every_key_masked_out_as_torch():
    arrays = _normal((N, L, E), (N, S, E), (N, S, E))
    allowed = np.ones((N, L, S), dtype=bool)
    allowed[1, 2] = False
    _check(lambda m, _, q, k, v, mask: _sdpa(m)(q, k, v, attn_mask=mask), arrays, [allowed])
    blocked = np.zeros((L, S))
    blocked[0] = -np.inf
    _check(lambda m, _, q, k, v, mask: _sdpa(m)(q, k, v, attn_mask=mask), arrays, [blocked])


def test_sdpa_takes_the_gradient_of_a_learned_float_mask():
    arrays = _normal((N, L, E), (N, S, E), (N, S, E), (L, S))
    _check(lambda m, _, q, k, v, bias: _sdpa(m)(q, k, v, attn_mask=bias), arrays)


@pytest.mark.parametrize("lengths", [(L, L), (L, S)], ids=["square", "more keys"])
def test_causal_sdpa_matches_torch(lengths):
    arrays = _normal((N, HEADS, lengths[0], E), (N, HEADS, lengths[1], E), (N, HEADS, lengths[1], E))
    _check(lambda m, _, q, k, v: _sdpa(m)(q, k, v, is_causal=True), arrays)


def test_sdpa_causal_weights_ignore_future_keys():
    q, k, v = (cr.tensor(a) for a in _normal((1, L, E), (1, L, E), (1, L, E)))
    changed = v.numpy().copy()
    changed[0, -1] += 100.0  # only the last query may see the last key
    before = scaled_dot_product_attention(q, k, v, is_causal=True).numpy()
    after = scaled_dot_product_attention(q, k, cr.tensor(changed), is_causal=True).numpy()
    np.testing.assert_array_equal(before[0, :-1], after[0, :-1])
    assert not np.allclose(before[0, -1], after[0, -1])


def test_sdpa_dropout_zeroes_weights_and_keeps_float32():
    cr.manual_seed(0)
    q = cr.randn(2, 6, 4)
    out = scaled_dot_product_attention(q, q, cr.ones(2, 6, 4), dropout_p=0.5)
    assert out.dtype == np.float32
    assert not np.allclose(out.numpy(), 1.0)  # with no dropout every output would be exactly 1


def test_sdpa_errors_name_the_function_and_shapes():
    q = cr.randn(2, 4, 8)
    with pytest.raises(ShapeError, match=r"scaled_dot_product_attention: query, key and value do not fit; expected "
                                         r"query \(\.\.\., L, E\).* got query \(2, 4, 8\), key \(2, 5, 7\)"):
        scaled_dot_product_attention(q, cr.randn(2, 5, 7), cr.randn(2, 5, 7))
    with pytest.raises(ShapeError, match=r"attn_mask does not fit the scores; expected a mask broadcastable to "
                                         r"\(\.\.\., 4, 4\), got shape \(3, 4\)"):
        scaled_dot_product_attention(q, q, q, attn_mask=cr.zeros(3, 4))
    with pytest.raises(ShapeError, match=r"expected attn_mask=None with is_causal=True"):
        scaled_dot_product_attention(q, q, q, attn_mask=cr.zeros(4, 4), is_causal=True)
    with pytest.raises(DTypeError, match=r"attn_mask must be bool or float; .* got dtype int64"):
        scaled_dot_product_attention(q, q, q, attn_mask=cr.zeros(4, 4, dtype="int64"))
    with pytest.raises(DTypeError, match=r"query, key and value must share one float dtype"):
        scaled_dot_product_attention(q, q.double(), q)
    bias = cr.zeros(4, 4, dtype="float64")  # a float64 mask does not turn float32 scores into float64
    assert scaled_dot_product_attention(q, q, q, attn_mask=bias).dtype == np.float32


# --- MultiheadAttention -----------------------------------------------------------------------------

def _attention_pair(batch_first, bias=True):
    torch.manual_seed(0)
    reference = torch.nn.MultiheadAttention(E, HEADS, bias=bias, batch_first=batch_first).double()
    ours = MultiheadAttention(E, HEADS, bias=bias, batch_first=batch_first, dtype="float64")
    ours.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    return reference, ours


def _layout(batch_first, length):
    return (N, length, E) if batch_first else (length, N, E)


@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
@pytest.mark.parametrize("average", [True, False], ids=["averaged", "per_head"])
def test_self_attention_with_padding_and_bool_attn_mask_matches_torch(batch_first, average):
    padding = np.zeros((N, L), dtype=bool)
    padding[0, -1] = padding[2, -2:] = True
    forbidden = np.triu(np.ones((L, L), dtype=bool), k=2)

    def case(m, layer, x, key_padding_mask, attn_mask):
        return layer(x, x, x, key_padding_mask=key_padding_mask, attn_mask=attn_mask, average_attn_weights=average)
    _check(case, _normal(_layout(batch_first, L)), [padding, forbidden], _attention_pair(batch_first))


@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
def test_cross_attention_with_float_masks_matches_torch(batch_first):
    padding = np.zeros((N, S))
    padding[1, -2:] = -np.inf
    bias, = _normal((N * HEADS, L, S), seed=4)

    def case(m, layer, query, key, value, key_padding_mask, attn_mask):
        return layer(query, key, value, key_padding_mask=key_padding_mask, attn_mask=attn_mask)
    arrays = _normal(_layout(batch_first, L), _layout(batch_first, S), _layout(batch_first, S))
    _check(case, arrays, [padding, bias], _attention_pair(batch_first))


def test_attention_without_bias_and_unbatched_matches_torch():
    def case(m, layer, query, key):
        return layer(query, key, key)
    _check(case, _normal((L, E), (S, E)), [], _attention_pair(False, bias=False))
    padding = np.array([False, True, False, False])

    def self_attention(m, layer, x, key_padding_mask):
        return layer(x, x, x, key_padding_mask=key_padding_mask, average_attn_weights=False)
    _check(self_attention, _normal((L, E)), [padding], _attention_pair(True))


def test_attention_parameters_follow_torch_and_need_weights_false_returns_none():
    reference = torch.nn.MultiheadAttention(E, HEADS)
    ours = MultiheadAttention(E, HEADS)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in reference.named_parameters()]
    assert np.all(ours.in_proj_bias.numpy() == 0) and np.all(ours.out_proj.bias.numpy() == 0)
    bound = np.sqrt(6 / (E + 3 * E))  # xavier_uniform_ on (3E, E)
    assert 0.8 * bound < np.abs(ours.in_proj_weight.numpy()).max() <= bound
    x = cr.randn(L, N, E)
    out, weights = ours(x, x, x, need_weights=False)
    assert weights is None and out.shape == (L, N, E) and out.dtype == np.float32


def test_attention_dropout_is_active_in_training_only():
    cr.manual_seed(0)
    layer = MultiheadAttention(E, HEADS, dropout=0.5, batch_first=True)
    x = cr.randn(N, L, E)
    assert not np.allclose(layer(x, x, x)[1].numpy(), layer(x, x, x)[1].numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x, x, x)[1].numpy(), layer(x, x, x)[1].numpy())
    np.testing.assert_allclose(layer(x, x, x)[1].numpy().sum(-1), 1.0, rtol=1e-5)


def test_attention_errors_name_the_layer():
    layer = MultiheadAttention(E, HEADS)
    x = cr.randn(L, N, E)
    with pytest.raises(ShapeError, match=r"MultiheadAttention\(embed_dim=8, num_heads=2, batch_first=False\): wrong "
                                         r"query shape; expected \(L, N, E\) with E = 8, got query shape \(4, 3, 6\)"):
        layer(cr.randn(L, N, 6), x, x)
    with pytest.raises(ShapeError, match=r"wrong key_padding_mask shape; expected \(N, S\) = \(3, 4\), got \(4, 3\)"):
        layer(x, x, x, key_padding_mask=cr.zeros(L, N, dtype="bool"))
    with pytest.raises(ShapeError, match=r"wrong attn_mask shape; expected \(4, 4\) or \(6, 4, 4\)"):
        layer(x, x, x, attn_mask=cr.zeros(N, L, L))
    with pytest.raises(ShapeError, match=r"MultiheadAttention: embed_dim must split evenly into heads"):
        MultiheadAttention(7, 2)


# --- Transformer encoder ----------------------------------------------------------------------------

def _layer_norm_available():
    try:
        from chainrule.nn.normalization import LayerNorm  # noqa: F401  (written in parallel by another issue)
    except ImportError:
        return False
    return True


def _gelu_available():
    from chainrule.ops import activation
    return hasattr(activation, "gelu")


needs_layer_norm = pytest.mark.skipif(not _layer_norm_available(),
                                      reason="chainrule.nn.normalization.LayerNorm missing")
ACTIVATIONS = ["relu", "gelu"] if _gelu_available() else ["relu"]


def _encoder_pair(batch_first, norm_first, activation, layers=None):
    from chainrule.nn.attention import TransformerEncoder, TransformerEncoderLayer
    from chainrule.nn.normalization import LayerNorm
    torch.manual_seed(0)
    config = dict(dim_feedforward=16, dropout=0.1, activation=activation, layer_norm_eps=1e-6,
                  batch_first=batch_first, norm_first=norm_first)
    reference = torch.nn.TransformerEncoderLayer(E, HEADS, **config, dtype=torch.float64)
    ours = TransformerEncoderLayer(E, HEADS, **config, dtype="float64")
    if layers:
        reference = torch.nn.TransformerEncoder(reference, layers, norm=torch.nn.LayerNorm(E, dtype=torch.float64),
                                                enable_nested_tensor=False)
        ours = TransformerEncoder(ours, layers, norm=LayerNorm(E, dtype="float64"))
    with torch.no_grad():  # non-trivial norm weights, so that a swapped norm1/norm2 would show
        for name, p in reference.named_parameters():
            if "norm" in name:
                p.add_(torch.rand(p.shape, dtype=torch.float64) - 0.5)
    ours.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    return reference.eval(), ours.eval()


def _padding_and_bool_mask():
    padding = np.zeros((N, L), dtype=bool)
    padding[1, -1] = True
    return padding, np.triu(np.ones((L, L), dtype=bool), k=1)


@needs_layer_norm
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_encoder_layer_in_eval_mode_with_masks_matches_torch(norm_first, batch_first, activation):
    def case(m, layer, src, padding, mask):
        return layer(src, src_mask=mask, src_key_padding_mask=padding)
    _check(case, _normal(_layout(batch_first, L)), _padding_and_bool_mask(),
           _encoder_pair(batch_first, norm_first, activation))


@needs_layer_norm
def test_encoder_layer_with_float_mask_matches_torch():
    bias, = _normal((L, L), seed=5)

    def case(m, layer, src, mask):
        return layer(src, src_mask=mask)
    _check(case, _normal(_layout(True, L)), [bias], _encoder_pair(True, False, "relu"))


@needs_layer_norm
def test_encoder_stack_with_final_norm_matches_torch_and_copies_the_layer():
    reference, ours = _encoder_pair(True, False, "relu", layers=2)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in reference.named_parameters()]
    first, second = ours.layers[0].linear1.weight, ours.layers[1].linear1.weight
    assert first is not second and first.data is not second.data

    def case(m, encoder, src, padding, mask):
        return encoder(src, mask=mask, src_key_padding_mask=padding)
    _check(case, _normal(_layout(True, L)), _padding_and_bool_mask(), (reference, ours))


@needs_layer_norm
def test_encoder_layer_dropout_in_training_and_errors():
    from chainrule.nn.attention import TransformerEncoderLayer
    cr.manual_seed(0)
    layer = TransformerEncoderLayer(E, HEADS, dim_feedforward=16, dropout=0.5)
    x = cr.randn(L, N, E)
    assert not np.allclose(layer(x).numpy(), layer(x).numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())
    assert layer(x).dtype == np.float32
    with pytest.raises(ShapeError, match=r"TransformerEncoderLayer: unknown activation; expected 'relu', 'gelu' or "
                                         r"a function, got 'swish'"):
        TransformerEncoderLayer(E, HEADS, activation="swish")
    with pytest.raises(ShapeError, match=r"wrong query shape; expected \(L, N, E\) with E = 8"):
        layer(cr.randn(L, N, 6))
