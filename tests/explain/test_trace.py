"""trace: one training step recorded from the engine's events, checked against hand-derived math."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import engine
from chainrule.errors import ShapeError
from chainrule.explain import trace
from chainrule.ops.nn import mse_loss


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def article_network(seed=0):
    """The article's 3-3-3-1 network: two hidden layers of 3 sigmoid units, 1 sigmoid output."""
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 3, dtype=cr.float64), nn.Sigmoid(),
                         nn.Linear(3, 3, dtype=cr.float64), nn.Sigmoid(),
                         nn.Linear(3, 1, dtype=cr.float64), nn.Sigmoid())


def article_data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(4, 3)), rng.uniform(size=(4, 1))


def xor_params():
    rng = np.random.default_rng(1)
    values = {"W1": rng.uniform(-1, 1, (2, 2)), "b1": np.zeros(2), "W2": rng.uniform(-1, 1, (2, 1)),
              "b2": np.zeros(1)}
    return {name: cr.tensor(v, requires_grad=True) for name, v in values.items()}


def xor_loss(params):
    def loss(x, y):
        hidden = (x @ params["W1"] + params["b1"]).sigmoid()
        output = (hidden @ params["W2"] + params["b2"]).sigmoid()
        return ((output - y) ** 2).mean()
    return loss


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float64)


def test_trace_gradients_are_the_engines_grad():
    model = article_network()
    x, y = article_data()
    t = trace(model, x, y)
    params = dict(model.named_parameters())
    assert list(t.gradients) == list(params)  # in definition order, not the order backward reached them
    for name, p in params.items():
        np.testing.assert_array_equal(t.gradients[name], p.grad.data)
    model.zero_grad()
    mse_loss(model(cr.tensor(x)), cr.tensor(y)).backward()  # an ordinary backward, no listener
    for name, p in params.items():
        np.testing.assert_array_equal(t.gradients[name], p.grad.data)


def test_article_network_matches_hand_derived_chain_rule():
    model = article_network()
    x, y = article_data()
    (W1, b1), (W2, b2), (W3, b3) = [(layer.weight.data.copy(), layer.bias.data.copy())
                                    for layer in (model[0], model[2], model[4])]
    t = trace(model, x, y, lr=0.5)

    # Forward by hand.
    a1 = sigmoid(x @ W1.T + b1)
    a2 = sigmoid(a1 @ W2.T + b2)
    o = sigmoid(a2 @ W3.T + b3)
    n = o.size
    # Backward by hand: delta = dL/dz of each layer.
    delta3 = 2 * (o - y) / n * o * (1 - o)
    delta2 = (delta3 @ W3) * a2 * (1 - a2)
    delta1 = (delta2 @ W2) * a1 * (1 - a1)
    expected = {"0.weight": delta1.T @ x, "0.bias": delta1.sum(0), "2.weight": delta2.T @ a1,
                "2.bias": delta2.sum(0), "4.weight": delta3.T @ a2, "4.bias": delta3.sum(0)}

    assert [s.op for s in t.forward] == ["linear", "sigmoid"] * 3 + ["mse_loss"]
    assert [s.step for s in t.backward] == [7, 6, 5, 4, 3, 2, 1]
    assert t.loss.step == 7 and t.loss.op == "mse_loss"
    assert t.loss.value == pytest.approx(np.mean((o - y) ** 2), rel=1e-12)
    np.testing.assert_allclose(t.forward_step(2).value.array, a1, rtol=1e-12)
    np.testing.assert_allclose(t.forward_step(6).value.array, o, rtol=1e-12)
    # Each sigmoid's backward turns dL/da into dL/dz = dL/da * s(1 - s).
    sig = t.backward_step(6)
    assert sig.rule.formula == "d sigmoid(z)/dz = s(1 - s)"
    np.testing.assert_allclose(sig.grad_output.array, 2 * (o - y) / n, rtol=1e-12)
    np.testing.assert_allclose(sig.inputs[0].grad.array, delta3, rtol=1e-12)
    np.testing.assert_allclose(t.backward_step(4).inputs[0].grad.array, delta2, rtol=1e-12)
    np.testing.assert_allclose(t.backward_step(2).inputs[0].grad.array, delta1, rtol=1e-12)
    np.testing.assert_allclose(t.backward_step(5).inputs[0].grad.array, delta3 @ W3, rtol=1e-12)
    for name, grad in expected.items():
        np.testing.assert_allclose(t.gradients[name], grad, rtol=1e-10, atol=1e-15)
    for update in t.updates:
        np.testing.assert_allclose(update.after, update.before - 0.5 * expected[update.name], rtol=1e-10)


def test_xor_network_matches_hand_derived_chain_rule():
    params = xor_params()
    W1, b1, W2, b2 = (params[k].data.copy() for k in ("W1", "b1", "W2", "b2"))
    t = trace(xor_loss(params), XOR_X, XOR_Y, params=params, lr=2.0)

    a1 = sigmoid(XOR_X @ W1 + b1)
    o = sigmoid(a1 @ W2 + b2)
    delta2 = 2 * (o - XOR_Y) / 4 * o * (1 - o)
    delta1 = (delta2 @ W2.T) * a1 * (1 - a1)
    expected = {"W1": XOR_X.T @ delta1, "b1": delta1.sum(0), "W2": a1.T @ delta2, "b2": delta2.sum(0)}

    assert [s.op for s in t.forward] == ["matmul", "add", "sigmoid", "matmul", "add", "sigmoid",
                                         "sub", "pow", "mean"]
    assert [operand.name for operand in t.forward_step(1).inputs] == ["x", "W1"]
    assert [operand.name for operand in t.forward_step(7).inputs] == ["v6", "y"]
    assert [operand.name for operand in t.forward_step(8).inputs] == ["v7", "2"]
    assert t.forward_step(8).inputs[1].kind == "constant"
    assert t.loss.value == pytest.approx(np.mean((o - XOR_Y) ** 2), rel=1e-12)
    np.testing.assert_allclose(t.backward_step(6).inputs[0].grad.array, delta2, rtol=1e-12)
    np.testing.assert_allclose(t.backward_step(3).inputs[0].grad.array, delta1, rtol=1e-12)
    for name, grad in expected.items():
        np.testing.assert_allclose(t.gradients[name], grad, rtol=1e-10, atol=1e-15)
        np.testing.assert_array_equal(t.gradients[name], params[name].grad.data)
    # The bias add broadcast b1 (2,) over the 4 rows: the engine summed dim 0.
    flow = t.backward_step(2).inputs[1]
    assert (flow.name, flow.shape, flow.grad_shape, flow.summed_dims) == ("b1", (2,), (4, 2), (0,))
    assert flow.broadcast_note() == ("b1: (2,) was broadcast to (4, 2); its gradient is summed over dim 0, "
                                     "because the same values of b1 were used at every position along that dim.")
    assert t.backward_step(2).inputs[0].summed_dims == ()
    assert t.backward_step(2).inputs[0].broadcast_note() is None
    # pow's constant exponent gets no gradient and is left out of the backward step.
    assert [flow.name for flow in t.backward_step(8).inputs] == ["v7"]


def test_broadcast_note_names_the_summed_dims_of_a_bias_add():
    b = cr.tensor(np.ones((1, 3)), requires_grad=True)
    w = cr.tensor(np.full((4, 3), 0.5), requires_grad=True)
    t = trace(lambda x: ((x * w) + b).sum(), np.arange(12.0).reshape(4, 3), params={"w": w, "b": b})
    flow = t.backward_step(2).inputs[1]
    assert flow.summed_dims == (0,)
    assert flow.broadcast_note().startswith("b: (1, 3) was broadcast to (4, 3); its gradient is summed over dim 0")
    assert "沿第 0 维求和" in flow.broadcast_note("zh")
    np.testing.assert_array_equal(t.gradients["b"], [[4.0, 4.0, 4.0]])


def test_updates_are_w_minus_lr_times_g_and_applied_in_place():
    model = article_network()
    x, y = article_data()
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    t = trace(model, x, y, lr=0.1)
    assert [u.name for u in t.updates] == [name for name, _ in model.named_parameters()]
    for update, (name, p) in zip(t.updates, model.named_parameters()):
        assert update.lr == 0.1
        np.testing.assert_array_equal(update.before, before[name])
        np.testing.assert_array_equal(update.grad, t.gradients[name])
        np.testing.assert_array_equal(update.after, before[name] - 0.1 * t.gradients[name])
        np.testing.assert_array_equal(p.data, update.after)


def test_an_optimizer_applies_its_own_step():
    model, reference = article_network(), article_network()
    x, y = article_data()
    t = trace(model, x, y, optimizer=cr.optim.SGD(model.parameters(), lr=0.1))
    r = trace(reference, x, y, lr=0.1)
    assert t.optimizer == "SGD" and t.lr is None
    for a, b in zip(t.updates, r.updates):
        np.testing.assert_array_equal(a.after, b.after)
        assert a.optimizer == "SGD" and a.lr is None


def test_without_lr_nothing_changes():
    model = article_network()
    x, y = article_data()
    before = [p.data.copy() for p in model.parameters()]
    t = trace(model, x, y)
    assert t.updates == []
    for b, p in zip(before, model.parameters()):
        np.testing.assert_array_equal(b, p.data)


def test_no_listener_or_hook_is_left_behind():
    model = article_network()
    x, y = article_data()
    trace(model, x, y, lr=0.1)
    assert engine.listeners == []
    with pytest.raises(ShapeError, match="the loss must be a single number"):
        trace(model, x)  # the output (4, 1) is not a loss
    assert engine.listeners == []
    assert all(not m._forward_hooks for m in model.modules())


def test_a_batch_of_4_records_shapes_and_statistics_of_big_tensors():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 30, dtype=cr.float64), nn.Tanh(), nn.Linear(30, 1, dtype=cr.float64))
    x, y = article_data()
    t = trace(model, x, y, lr=0.1)
    hidden = t.forward_step(1).value
    assert hidden.shape == (4, 30) and hidden.array is None
    assert set(hidden.stats) == {"min", "max", "mean", "std"}
    assert t.forward_step(1).inputs[0].value.array.shape == (4, 3)  # 12 values: listed
    assert t.forward_step(1).module == "0" and t.forward_step(2).module == "1"
    record = json.loads(json.dumps(t.to_dict()))
    assert record["forward"][0]["value"]["shape"] == [4, 30] and "values" not in record["forward"][0]["value"]
    assert record["forward"][0]["inputs"][0]["value"]["shape"] == [4, 3]
    assert record["backward"][-1]["grad_output"]["shape"] == [4, 30]
    full = trace(article_network(), x, y, max_values=1000)
    assert full.forward_step(1).value.array.shape == (4, 3)


def test_a_value_used_twice_accumulates_both_gradients():
    w = cr.tensor([1.5, -2.0], requires_grad=True)
    t = trace(lambda x: (w * w * x).sum(), np.array([1.0, 3.0]), params={"w": w})
    assert t.shared_inputs() == {"w": 2}
    np.testing.assert_array_equal(t.gradients["w"], w.grad.data)
    np.testing.assert_allclose(t.gradients["w"], 2 * np.array([1.5, -2.0]) * [1.0, 3.0])
    assert any(item["name"] == "w" and item["count"] == 2 for item in t.to_dict()["accumulated"])


def test_unnamed_leaves_and_a_loss_fn():
    w = cr.tensor(np.array([[0.5], [-1.0]]), requires_grad=True)
    t = trace(lambda x: x @ w, np.array([[1.0, 2.0]]), np.array([[0.0]]), loss_fn=mse_loss)
    assert [o.name for o in t.forward_step(1).inputs] == ["x", "p1"]
    assert t.loss.inputs == ["v1", "y"]
    np.testing.assert_array_equal(t.gradients["p1"], w.grad.data)


def test_to_dict_is_json_in_both_languages():
    params = xor_params()
    t = trace(xor_loss(params), XOR_X, XOR_Y, params=params, lr=2.0, lang="zh")
    zh = json.loads(json.dumps(t.to_dict()))
    en = json.loads(json.dumps(t.to_dict("en")))
    assert zh["lang"] == "zh" and en["lang"] == "en"
    assert zh["backward"][0]["rule"]["words"] != en["backward"][0]["rule"]["words"]
    assert "w <- w - lr * g" in en["update_rule"]
    assert en["updates"][0]["lr"] == 2.0 and en["updates"][0]["before"]["shape"] == [2, 2]
    with pytest.raises(ValueError, match="unknown language"):
        t.to_dict("fr")


def test_an_input_with_a_history_is_traced_through():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    x = w * 3.0  # made before the trace: its node is not a step of the trace
    t = trace(lambda x: (x * w).sum(), x, params={"w": w})
    assert t.forward_step(1).inputs[0].name == "e1" and t.forward_step(1).inputs[0].kind == "earlier"
    assert [s.step for s in t.backward] == [2, 1, 0]
    np.testing.assert_array_equal(t.gradients["w"], w.grad.data)
    np.testing.assert_array_equal(t.gradients["w"], [6.0, 12.0])
