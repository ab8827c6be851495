"""RNN, LSTM and GRU against PyTorch: outputs, final states and every gradient, with copied weights."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn.rnn import GRU, LSTM, RNN

torch = pytest.importorskip("torch")

INPUT, HIDDEN, STEPS, BATCH = 3, 4, 5, 3
LAYERS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}


def _pair(kind, nonlinearity="tanh", **config):
    """A float64 torch layer and ours with the same weights."""
    torch.manual_seed(0)
    extra = {"nonlinearity": nonlinearity} if kind == "RNN" else {}
    reference = getattr(torch.nn, kind)(INPUT, HIDDEN, **extra, **config).double()
    ours = LAYERS[kind](INPUT, HIDDEN, **extra, **config, dtype="float64")
    ours.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    return reference, ours


def _run(layer, library, x, states, lengths, weights, batch_first):
    """Forward, then backward of a random weighting of output and final states; returns arrays."""
    if library is torch:
        leaves = [torch.tensor(a, requires_grad=True) for a in [x, *states]]
        hx = None if not states else (leaves[1] if len(states) == 1 else tuple(leaves[1:]))
        inp = leaves[0]
        if lengths is not None:
            inp = torch.nn.utils.rnn.pack_padded_sequence(inp, torch.tensor(lengths), batch_first=batch_first,
                                                          enforce_sorted=False)
        output, finals = layer(inp, hx)
        if lengths is not None:
            output, _ = torch.nn.utils.rnn.pad_packed_sequence(output, batch_first=batch_first,
                                                               total_length=x.shape[1 if batch_first else 0])
    else:
        leaves = [cr.tensor(a, requires_grad=True) for a in [x, *states]]
        hx = None if not states else (leaves[1] if len(states) == 1 else tuple(leaves[1:]))
        output, finals = layer(leaves[0], hx, lengths=lengths)
    finals = list(finals) if isinstance(finals, tuple) else [finals]
    outputs = [output, *finals]
    loss = sum((out * library.tensor(w)).sum() for out, w in zip(outputs, weights))
    loss.backward()
    params = {name: p.grad.numpy() for name, p in layer.named_parameters()}
    return ([o.detach().numpy() for o in outputs], [leaf.grad.numpy() for leaf in leaves], params)


def _compare(kind, nonlinearity="tanh", initial_states=True, lengths=None, **config):
    reference, ours = _pair(kind, nonlinearity, **config)
    rng = np.random.default_rng(1)
    batch_first = config.get("batch_first", False)
    directions = 2 if config.get("bidirectional") else 1
    x = rng.standard_normal((BATCH, STEPS, INPUT) if batch_first else (STEPS, BATCH, INPUT))
    state_shape = (config.get("num_layers", 1) * directions, BATCH, HIDDEN)
    states = [rng.standard_normal(state_shape) for _ in range(2 if kind == "LSTM" else 1)] if initial_states else []
    out_shape = x.shape[:2] + (directions * HIDDEN,)
    weights = [rng.standard_normal(out_shape)] + [rng.standard_normal(state_shape) for _ in range(1 + (kind == "LSTM"))]
    expected = _run(reference, torch, x, states, lengths, weights, batch_first)
    got = _run(ours, cr, x, states, lengths, weights, batch_first)
    for what, e, g in zip(("output/final states", "input/initial-state grads"), expected[:2], got[:2]):
        for k, (a, b) in enumerate(zip(e, g)):
            np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-9, err_msg=f"{kind}: {what} #{k}")
    assert expected[2].keys() == got[2].keys()
    for name in expected[2]:
        np.testing.assert_allclose(got[2][name], expected[2][name], rtol=1e-7, atol=1e-9,
                                   err_msg=f"{kind}: grad {name}")


CASES = [("RNN", "tanh"), ("RNN", "relu"), ("LSTM", "tanh"), ("GRU", "tanh")]
IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


@pytest.mark.parametrize("kind, nonlinearity", CASES, ids=IDS)
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
def test_two_layer_bidirectional_matches_torch_with_initial_states(kind, nonlinearity, batch_first):
    _compare(kind, nonlinearity, num_layers=2, bidirectional=True, batch_first=batch_first)


@pytest.mark.parametrize("kind, nonlinearity", CASES, ids=IDS)
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
def test_variable_lengths_match_torch_packed_sequences(kind, nonlinearity, batch_first):
    # Unsorted lengths, one full, one of a single step; the output is padded past max(lengths) too.
    _compare(kind, nonlinearity, lengths=[2, STEPS, 1], num_layers=2, bidirectional=True, batch_first=batch_first)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_one_layer_without_bias_or_initial_state_matches_torch(kind):
    _compare(kind, initial_states=False, bias=False)


def test_unbatched_input_matches_torch():
    reference, ours = _pair("GRU", num_layers=2)
    x = np.random.default_rng(2).standard_normal((STEPS, INPUT))
    expected_out, expected_h = reference(torch.tensor(x))
    out, h = ours(cr.tensor(x))
    assert out.shape == (STEPS, HIDDEN) and h.shape == (2, HIDDEN)
    np.testing.assert_allclose(out.numpy(), expected_out.detach().numpy(), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(h.numpy(), expected_h.detach().numpy(), rtol=1e-7, atol=1e-10)


def test_parameter_names_shapes_order_and_default_init_follow_torch():
    for kind in LAYERS:
        reference = getattr(torch.nn, kind)(INPUT, HIDDEN, num_layers=2, bidirectional=True)
        ours = LAYERS[kind](INPUT, HIDDEN, num_layers=2, bidirectional=True)
        expected = [(name, tuple(p.shape)) for name, p in reference.named_parameters()]
        assert [(name, p.shape) for name, p in ours.named_parameters()] == expected
        bound = 1 / np.sqrt(HIDDEN)
        values = np.concatenate([p.numpy().ravel() for p in ours.parameters()])
        assert values.dtype == np.float32 and np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.9 * bound and abs(values.mean()) < 0.1 * bound  # uniform, not constant
    assert repr(LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)) == \
        repr(torch.nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True))
    assert repr(RNN(3, 4, nonlinearity="relu", bias=False)) == "RNN(3, 4, bias=False, nonlinearity=relu)"


def test_float32_layer_keeps_float32_through_forward_and_backward():
    lstm = LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    x = cr.randn(STEPS, BATCH, INPUT, requires_grad=True)
    output, (h, c) = lstm(x, lengths=[STEPS, 2, 1])
    assert output.dtype == h.dtype == c.dtype == np.float32
    (output.sum() + h.sum() + c.sum()).backward()
    assert x.grad.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in lstm.parameters())


def test_dropout_acts_between_layers_in_training_only():
    cr.manual_seed(0)
    lstm = LSTM(INPUT, HIDDEN, num_layers=2, dropout=0.5, dtype="float64")
    x = cr.randn(STEPS, BATCH, INPUT, dtype="float64")
    train_a, train_b = lstm(x)[0].numpy(), lstm(x)[0].numpy()
    lstm.eval()
    eval_a, eval_b = lstm(x)[0].numpy(), lstm(x)[0].numpy()
    assert not np.allclose(train_a, train_b) and not np.allclose(train_a, eval_a)
    np.testing.assert_array_equal(eval_a, eval_b)
    reference = torch.nn.LSTM(INPUT, HIDDEN, num_layers=2, dropout=0.5).double().eval()
    reference.load_state_dict({k: torch.tensor(v.numpy()) for k, v in lstm.state_dict().items()})
    np.testing.assert_allclose(eval_a, reference(torch.tensor(x.numpy()))[0].detach().numpy(), rtol=1e-7)


def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="between stacked layers"):
        GRU(INPUT, HIDDEN, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GRU(INPUT, HIDDEN, num_layers=2, dropout=0.2)


def test_bad_input_names_the_layer_and_what_was_expected():
    lstm = LSTM(INPUT, HIDDEN, num_layers=2)
    with pytest.raises(ShapeError, match=r"LSTM\(3, 4, num_layers=2\): wrong input shape; expected \(T, B, "
                                         r"input_size\) .* got input shape \(5, 3, 7\)"):
        lstm(cr.randn(5, 3, 7))
    with pytest.raises(ShapeError, match=r"wrong initial state shape; expected c0 of shape \(2, 3, 4\)"):
        lstm(cr.randn(5, 3, INPUT), (cr.zeros(2, 3, 4), cr.zeros(1, 3, 4)))
    with pytest.raises(ShapeError, match=r"hx must be a pair \(h0, c0\)"):
        lstm(cr.randn(5, 3, INPUT), cr.zeros(2, 3, 4))
    with pytest.raises(ShapeError, match=r"LSTM\(3, 4, num_layers=2\): lengths must hold one int per sequence, "
                                         r"each in 1..5; expected shape \(3,\), got \[6, 1, 1\]"):
        lstm(cr.randn(5, 3, INPUT), lengths=[6, 1, 1])
    with pytest.raises(ShapeError, match=r"lengths must hold one int per sequence"):
        lstm(cr.randn(5, 3, INPUT), lengths=[5, 0, 1])
    with pytest.raises(DTypeError, match=r"GRU\(3, 4\): input dtype differs from the layer's; expected float32, "
                                         r"got float64"):
        GRU(INPUT, HIDDEN)(cr.randn(5, 3, INPUT, dtype="float64"))
    with pytest.raises(ShapeError, match=r"RNN: unknown nonlinearity; expected 'tanh' or 'relu', got 'gelu'"):
        RNN(INPUT, HIDDEN, nonlinearity="gelu")
    with pytest.raises(ShapeError, match=r"LSTM: hidden_size must be a positive int"):
        LSTM(INPUT, 0)


def test_recurrence_functions_check_their_shapes():
    from chainrule.ops.recurrent import gru_recurrence, lstm_recurrence, rnn_recurrence
    with pytest.raises(ShapeError, match=r"lstm_recurrence: the recurrent weight must be \(4 \* hidden_size, "
                                         r"hidden_size\); expected shape \(4 \* H, H\), got weight_hh.shape=\(6, 2\)"):
        lstm_recurrence(cr.zeros(3, 2, 8), cr.zeros(2, 2), cr.zeros(2, 2), cr.zeros(6, 2))
    with pytest.raises(ShapeError, match=r"gru_recurrence: the initial state must be \(batch, hidden_size\); "
                                         r"expected h0.shape=\(2, 2\), got h0.shape=\(3, 2\)"):
        gru_recurrence(cr.zeros(3, 2, 6), cr.zeros(3, 2), cr.zeros(6, 2))
    with pytest.raises(ShapeError, match=r"rnn_recurrence: lengths must hold one int per sequence, each in 1..3"):
        rnn_recurrence(cr.zeros(3, 2, 2), cr.zeros(2, 2), cr.zeros(2, 2), lengths=[1, 4])
    with pytest.raises(DTypeError, match=r"lstm_recurrence: inputs must share one float dtype; expected float32 or "
                                         r"float64 throughout, got gates float32, h0 float64"):
        lstm_recurrence(cr.zeros(3, 2, 8), cr.zeros(2, 2, dtype="float64"), cr.zeros(2, 2), cr.zeros(8, 2))


@pytest.mark.parametrize("name", ["rnn_recurrence", "lstm_recurrence", "lstm_layer", "gru_recurrence"])
def test_recurrence_backward_on_tensors_agrees_with_the_array_backward(name):
    # create_graph=True runs the backward on Tensors (recomputing the steps); its first-order result
    # must equal the ordinary array backward, which the all-functions test checks numerically.
    from chainrule.autograd.function import registry
    for sample in registry[name].samples(np.random.default_rng(3)):
        grads = []
        for create_graph in (False, True):
            inputs = [cr.tensor(a, requires_grad=True) for a in sample.inputs]
            out = registry[name].apply(*inputs, **sample.options)
            weights = cr.tensor(np.random.default_rng(4).standard_normal(out.shape))
            grads.append(cr.grad((out * weights).sum(), inputs, create_graph=create_graph))
        for plain, recorded in zip(*grads):
            assert recorded.requires_grad  # recorded as a graph, so it can be differentiated again
            np.testing.assert_allclose(recorded.numpy(), plain.numpy(), rtol=1e-12, atol=1e-14,
                                       err_msg=f"{name} {sample.label}")


def _memory_of(forward, grad):
    """(bytes the output's graph keeps after ``forward()``, the backward pass's peak over that)."""
    import tracemalloc
    tracemalloc.start()
    try:
        out = forward()
        kept = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out.backward(grad)
        return kept, tracemalloc.get_traced_memory()[1] - kept
    finally:
        tracemalloc.stop()


def test_lstm_keeps_its_states_once_and_builds_the_gate_gradient_in_place():
    # Forward keeps the gates' activations (G bytes), tanh(c_t) and the states it returns, which
    # backward reads h_t and c_t from (1.75 G in all; 2.25 G when h_t and c_t were kept apart too).
    # Backward turns its per-step factors into the gates' gradient where they lie, so it needs one
    # gate-sized array besides the leaf's gradient (a peak of 3.1 G when it used a second one).
    from chainrule.ops.recurrent import lstm_recurrence
    steps, batch, hidden = 32, 16, 16
    rng = np.random.default_rng(0)
    gates = cr.tensor(rng.standard_normal((steps, batch, 4 * hidden)).astype(np.float32), requires_grad=True)
    h0, c0 = cr.zeros(batch, hidden), cr.zeros(batch, hidden)
    weight = cr.tensor((rng.standard_normal((4 * hidden, hidden)) * 0.1).astype(np.float32), requires_grad=True)
    grad = cr.tensor(np.ones((steps, batch, 2 * hidden), np.float32))
    size = gates.data.nbytes
    kept, backward_peak = _memory_of(lambda: lstm_recurrence(gates, h0, c0, weight), grad)
    assert kept < 2.0 * size, f"forward keeps {kept / size:.2f} gate-sized arrays"
    assert backward_peak < 2.5 * size, f"backward peaks at {backward_peak / size:.2f} gate-sized arrays"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", [{}, {"reverse": True}, {"lengths": (5, 2, 3)}, {"lengths": (5, 2, 3), "reverse": True}],
                         ids=["forward", "reverse", "lengths", "reverse-lengths"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("reached", [None, (1, 4)], ids=["every-step", "some-steps"])
def test_lstm_layer_equals_the_recurrence_on_its_input_projection(dtype, options, bias, reached):
    # lstm_layer keeps its arrays feature-major; lstm_recurrence, fed x W_ih^T + b, keeps them batch-major:
    # the same states and the same gradient of every input, to rounding. With ``reached`` only those
    # steps' states get a gradient from outside, and lstm_layer skips the others' additions.
    from chainrule.ops.recurrent import lstm_layer, lstm_recurrence
    steps, batch, features, hidden = 5, 3, 4, 6
    rng = np.random.default_rng(1)
    shapes = [(steps, batch, features), (batch, hidden), (batch, hidden), (4 * hidden, features), (4 * hidden, hidden),
              (4 * hidden,)][:6 if bias else 5]
    arrays = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    weights = rng.standard_normal((steps, batch, 2 * hidden)).astype(dtype)
    if reached is not None:
        weights[[t for t in range(steps) if t not in reached]] = 0
    weights = cr.tensor(weights)
    results = []
    for fused in (True, False):
        x, h0, c0, weight_ih, weight_hh, *b = inputs = [cr.tensor(a, requires_grad=True) for a in arrays]
        if fused:
            out = lstm_layer(*inputs, **options)
        else:
            gates = x.reshape(steps * batch, features) @ weight_ih.T
            gates = (gates + b[0] if bias else gates).reshape(steps, batch, 4 * hidden)
            out = lstm_recurrence(gates, h0, c0, weight_hh, **options)
        (out * weights).sum().backward()
        results.append([out.numpy()] + [t.grad.numpy() for t in inputs])
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    for fused, plain in zip(*results):
        np.testing.assert_allclose(fused, plain, rtol=tolerance, atol=tolerance * np.abs(plain).max())


def test_lstm_layer_keeps_its_states_once_and_holds_one_gate_sized_array_in_backward():
    # Forward keeps the gates' activations (G bytes), tanh(c_t) and each step's columns [x; h; c],
    # which the returned states view (1.92 G at these sizes). Backward holds the gates' gradient and
    # lays it out for the weight product a few steps at a time (2.36 G; 2.8 G when it made a second
    # gate-sized array for it).
    from chainrule.ops.recurrent import lstm_layer
    steps, batch, hidden, features = 32, 16, 16, 8
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((steps, batch, features)).astype(np.float32), requires_grad=True)
    h0, c0 = cr.zeros(batch, hidden), cr.zeros(batch, hidden)
    weight_ih = cr.tensor((rng.standard_normal((4 * hidden, features)) * 0.1).astype(np.float32), requires_grad=True)
    weight_hh = cr.tensor((rng.standard_normal((4 * hidden, hidden)) * 0.1).astype(np.float32), requires_grad=True)
    grad = cr.tensor(np.ones((steps, batch, 2 * hidden), np.float32))
    size = steps * batch * 4 * hidden * 4
    kept, backward_peak = _memory_of(lambda: lstm_layer(x, h0, c0, weight_ih, weight_hh), grad)
    assert kept < 2.0 * size, f"forward keeps {kept / size:.2f} gate-sized arrays"
    assert backward_peak < 2.5 * size, f"backward peaks at {backward_peak / size:.2f} gate-sized arrays"


def test_lstm_layer_names_the_shapes_and_dtypes_it_expected():
    from chainrule.ops.recurrent import lstm_layer
    x, state = cr.zeros(3, 2, 5), cr.zeros(2, 2)
    with pytest.raises(ShapeError, match=r"lstm_layer: the input weight must be \(4 \* hidden_size, input_size\); "
                                         r"expected weight_ih.shape=\(8, 5\) .* got weight_ih.shape=\(8, 4\)"):
        lstm_layer(x, state, state, cr.zeros(8, 4), cr.zeros(8, 2))
    with pytest.raises(ShapeError, match=r"lstm_layer: the input must be \(time, batch, input_size\)"):
        lstm_layer(cr.zeros(2, 5), state, state, cr.zeros(8, 5), cr.zeros(8, 2))
    with pytest.raises(ShapeError, match=r"lstm_layer: the bias must be \(4 \* hidden_size,\); expected shape \(8,\), "
                                         r"got bias.shape=\(6,\)"):
        lstm_layer(x, state, state, cr.zeros(8, 5), cr.zeros(8, 2), cr.zeros(6))
    with pytest.raises(DTypeError, match=r"lstm_layer: inputs must share one float dtype; .* got x float32, "
                                         r"h0 float64"):
        lstm_layer(x, cr.zeros(2, 2, dtype="float64"), state, cr.zeros(8, 5), cr.zeros(8, 2))
    with pytest.raises(ShapeError, match=r"lstm_layer: lengths must hold one int per sequence, each in 1..3"):
        lstm_layer(x, state, state, cr.zeros(8, 5), cr.zeros(8, 2), lengths=[4, 1])
