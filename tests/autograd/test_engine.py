"""The backward pass: accumulation, freeing, depth, hooks, events, grad(), create_graph, no_grad."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function
from chainrule.errors import GradError


def test_gradients_accumulate_into_leaves_across_backward_calls():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * np.array([1.0, 2.0]))


def test_a_leaf_used_twice_receives_both_contributions():
    x = cr.tensor(3.0, requires_grad=True)
    (x * x + x).backward()
    assert x.grad.item() == pytest.approx(7.0)


def test_the_implicit_gradient_of_a_one_element_output_is_one_in_its_shape_and_dtype():
    for dtype in (cr.float32, cr.float64):
        x = cr.tensor([[2.0]], dtype=dtype, requires_grad=True)
        (x * 3).backward()
        assert x.grad.shape == (1, 1) and x.grad.dtype == dtype and x.grad.item() == 3.0
    leaf = cr.tensor([[5.0]], requires_grad=True)
    leaf.backward()  # the seed itself lands in .grad: it must be the leaf's own writable array
    leaf.grad.data += 1
    leaf.backward()
    assert leaf.grad.data.flags.writeable and leaf.grad.tolist() == [[3.0]]


def test_non_leaf_grad_is_none_unless_retained():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 3
    kept = x * 5
    kept.retain_grad()
    (hidden.sum() + (kept * kept).sum()).backward()
    assert hidden.grad is None
    np.testing.assert_allclose(kept.grad.numpy(), 2 * np.array([5.0, 10.0]))
    assert not hidden.is_leaf and x.is_leaf


def test_second_backward_through_freed_graph_names_the_op():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp().sum()
    y.backward()
    with pytest.raises(GradError, match=r"^sum: trying to backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp().sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_a_chain_of_100000_ops_backprops_without_recursion():
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_broadcast_gradient_is_summed_back_to_the_input_shape():
    w = cr.tensor(np.ones((4, 3)), requires_grad=True)
    b = cr.tensor(np.arange(3.0), requires_grad=True)
    upstream = np.arange(12.0).reshape(4, 3)
    (w + b).backward(cr.tensor(upstream))
    assert b.grad.shape == (3,)
    np.testing.assert_allclose(b.grad.numpy(), upstream.sum(0))


def test_leaf_gradients_do_not_share_memory():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.data += 10
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])
    assert a.grad.data.flags.writeable and b.grad.data.flags.writeable


def test_backward_of_a_non_scalar_needs_a_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradError, match=r"scalar output.*\(2,\)"):
        (x * 2).backward()
    with pytest.raises(GradError, match="expected \\(2,\\), got \\(3,\\)"):
        (x * 2).backward(cr.tensor([1.0, 1.0, 1.0]))


def test_backward_of_a_tensor_without_graph_is_an_error():
    with pytest.raises(GradError, match="does not require grad"):
        cr.tensor([1.0]).sum().backward()


def test_grad_returns_gradients_without_touching_dot_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    hidden = x * w
    (gx, gh) = cr.grad((hidden * hidden).sum(), [x, hidden])
    np.testing.assert_allclose(gx.numpy(), 2 * np.array([3.0, 8.0]) * np.array([3.0, 4.0]))
    np.testing.assert_allclose(gh.numpy(), 2 * np.array([3.0, 8.0]))
    assert x.grad is None and w.grad is None


def test_grad_reports_unused_inputs_unless_allowed():
    x = cr.tensor(1.0, requires_grad=True)
    unused = cr.tensor(2.0, requires_grad=True)
    with pytest.raises(GradError, match="input 1 .* was not used"):
        cr.grad(x * 2, [x, unused])
    assert cr.grad(x * 2, [x, unused], allow_unused=True)[1] is None


def test_grad_with_several_outputs_and_grad_outputs():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (g,) = cr.grad([x * 2, x * x], x, grad_outputs=[cr.tensor([1.0, 1.0]), cr.tensor([0.5, 2.0])])
    np.testing.assert_allclose(g.numpy(), [2 + 0.5 * 2, 2 + 2 * 4])


def test_hessian_vector_product_with_create_graph():
    x = cr.tensor([1.0, -2.0, 0.5], dtype=cr.float64, requires_grad=True)
    v = cr.tensor([0.3, 0.1, -1.0], dtype=cr.float64)
    (g,) = cr.grad((x ** 3).sum(), x, create_graph=True)
    (hv,) = cr.grad((g * v).sum(), x)
    np.testing.assert_allclose(hv.numpy(), 6 * x.numpy() * v.numpy())


def test_gradient_penalty_trains_weights_through_an_input_gradient():
    w = cr.tensor([[0.5, -1.0], [2.0, 0.3]], dtype=cr.float64, requires_grad=True)
    x = cr.tensor([[1.0, 2.0]], dtype=cr.float64, requires_grad=True)
    score = (x @ w).tanh().sum()
    (gx,) = cr.grad(score, x, create_graph=True)
    penalty = (gx * gx).sum()
    penalty.backward()
    assert w.grad is not None and w.grad.shape == (2, 2)

    def penalty_of(weights):
        inputs = cr.tensor(x.numpy().copy(), requires_grad=True)
        (g,) = cr.grad((inputs @ weights).tanh().sum(), inputs, create_graph=True)
        return (g * g).sum()
    assert cr.autograd.gradcheck(penalty_of, [w])
    np.testing.assert_allclose(w.grad.numpy(), cr.grad(penalty_of(w), w)[0].numpy())


def test_create_graph_backward_makes_leaf_grad_differentiable():
    x = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    (x ** 3).backward(create_graph=True)
    first = x.grad
    assert first.requires_grad and first.item() == pytest.approx(12.0)
    (second,) = cr.grad(first, x)
    assert second.item() == pytest.approx(12.0)


def test_hooks_see_and_can_replace_gradients():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    hidden = x * 3
    hidden.register_hook(lambda g: g + 1)
    hidden.sum().backward()
    np.testing.assert_allclose(seen[0], [6.0, 6.0])
    np.testing.assert_allclose(x.grad.numpy(), [60.0, 60.0])
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_a_hook_on_a_non_leaf_runs_when_it_is_the_first_one_registered(monkeypatch):
    # The walk looks for node hooks only once one was ever registered; the first must switch it on.
    monkeypatch.setattr(cr.autograd.engine._node_hooks, "registered", False)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    hidden = x * 3
    hidden.register_hook(lambda g: g * 0 + 7)
    x.grad = None
    hidden.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [21.0, 21.0])


def test_event_stream_reports_forward_and_backward_and_stops_when_removed():
    events = []
    x = cr.tensor([[1.0, 2.0]], requires_grad=True)
    b = cr.tensor([0.5], requires_grad=True)
    with cr.autograd.subscribe(events.append):
        y = (x + b).sigmoid().sum()
        y.backward()
    kinds = [(type(e).__name__, e.op) for e in events]
    assert events[0].inputs[0] is x.data and events[0].inputs[1] is b.data
    assert kinds == [("ForwardEvent", "add"), ("ForwardEvent", "sigmoid"), ("ForwardEvent", "sum"),
                     ("BackwardEvent", "sum"), ("BackwardEvent", "sigmoid"), ("BackwardEvent", "add")]
    add_backward = events[-1]
    assert add_backward.grad_inputs[1].shape == (1, 2)
    assert add_backward.input_grads[1].shape == (1,) and add_backward.input_shapes == ((1, 2), (1,))
    np.testing.assert_allclose(add_backward.input_grads[1], b.grad.numpy())
    count = len(events)
    (x * 2).sum()
    assert len(events) == count and not cr.autograd.engine.listeners


def test_no_grad_records_nothing_and_enable_grad_reenables():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        y = x * 2
        with cr.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad
    assert cr.is_grad_enabled()

    @cr.no_grad()
    def evaluate():
        return x * 2
    assert not evaluate().requires_grad


def test_user_defined_function_works_like_a_builtin_including_second_order():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_out):
            x, = ctx.saved
            return grad_out * 3 * x * x

    x = cr.tensor([1.5, -0.5], dtype=cr.float64, requires_grad=True)
    y = Cube.apply(x)
    assert y.grad_fn.name == "Cube" and y.grad_fn.function is Cube and repr(y.grad_fn) == "<CubeBackward op='Cube'>"
    assert cr.autograd.gradcheck(Cube.apply, [x])
    assert cr.autograd.gradgradcheck(Cube.apply, [x])


def test_apply_records_which_of_mixed_inputs_need_a_gradient():
    class ScaledSum(Function):
        """a * scale + b, where a and b may be Tensors, arrays or None."""

        @staticmethod
        def forward(ctx, a, b, *, scale=1.0):
            ctx.scale = scale
            return a * scale + (0.0 if b is None else b)

        @staticmethod
        def backward(ctx, grad_out):
            return grad_out * ctx.scale, grad_out

    frozen = cr.tensor([1.0, 1.0])
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    cases = [((frozen, w), (None, w), (False, True)),       # two Tensors, only the second trained
             ((w, frozen), (w, None), (True, False)),
             ((w, np.ones(2, np.float32)), (w, None), (True, False)),  # a Tensor and an array
             ((w, None), (w, None), (True, False))]
    for inputs, parents, needs in cases:
        out = ScaledSum.apply(*inputs, scale=2.0)
        assert out.grad_fn.parents == parents and out.grad_fn.needs_input_grad == needs
    out = ScaledSum.apply(w, frozen, scale=2.0)
    np.testing.assert_allclose(out.numpy(), [7.0, 9.0])
    w.grad = None
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 2.0])
    with cr.no_grad():
        assert ScaledSum.apply(w, w).grad_fn is None
    assert ScaledSum.apply(frozen, frozen).grad_fn is None


def test_every_node_is_a_context_naming_its_function():
    # One node class for every op (as PyTorch's ctx); the op's class is ctx.function.
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(ctx)
            return x * 2

        @staticmethod
        def backward(ctx, grad_out):
            seen.append(ctx)
            return grad_out * 2

    x = cr.tensor([1.0], requires_grad=True)
    y = Probe.apply(x)
    z = y * y
    assert type(y.grad_fn) is type(z.grad_fn) is cr.autograd.Context
    assert z.grad_fn.function is cr.autograd.registry["mul"] and z.grad_fn.name == "mul"
    z.backward()
    assert seen == [y.grad_fn, y.grad_fn] and not isinstance(seen[0], Probe)
    np.testing.assert_allclose(x.grad.numpy(), [8.0])  # z = (2x)^2


def test_create_graph_through_a_numpy_only_backward_is_a_clear_error():
    class NumpyCos(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.cos(x)

        @staticmethod
        def backward(ctx, grad_out):
            x, = ctx.saved
            return -np.asarray(grad_out) * np.sin(np.asarray(x))

    x = cr.tensor([0.5], requires_grad=True)
    with pytest.raises(GradError, match="NumpyCos: backward returned an ndarray while create_graph=True"):
        cr.grad(NumpyCos.apply(x).sum(), x, create_graph=True)


def test_backward_returning_the_wrong_number_of_gradients_is_reported():
    class Broken(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad_out):
            return grad_out

    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([2.0], requires_grad=True)
    with pytest.raises(GradError, match="Broken: backward returned 1 gradients; expected one per input, 2"):
        Broken.apply(a, b).sum().backward()


def test_backward_returning_an_unbroadcastable_shape_is_reported():
    class WrongShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad_out):
            return np.ones((5,))

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradError, match=r"WrongShape: backward returned a gradient of shape \(5,\)"):
        WrongShape.apply(x).sum().backward()


def test_intermediate_arrays_are_freed_after_backward():
    x = cr.tensor(np.ones(3), requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    y.sum().backward()
    assert node.saved is cr.autograd.engine._FREED


def test_no_grad_decorator_restores_the_mode_when_reentered():
    @cr.enable_grad()
    def inner():
        return cr.is_grad_enabled()

    @cr.no_grad()
    def outer(depth):
        if depth:
            outer(depth - 1)
        return inner(), cr.is_grad_enabled()

    assert outer(2) == (True, False)
    assert cr.is_grad_enabled()
