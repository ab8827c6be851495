"""CTC loss against torch.nn.functional.ctc_loss: losses, gradients, float32, errors, the layer."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck
from chainrule.errors import DTypeError, GradError, ShapeError
from chainrule.nn.ctc import CTCLoss
from chainrule.ops.ctc import ctc_loss

torch = pytest.importorskip("torch")
functional = pytest.importorskip("torch.nn.functional")

REDUCTIONS = ("mean", "sum", "none")


def _random_batch(seed, frames=12, batch=4, classes=6, longest=5, blank=0):
    """Random logits and targets with varying lengths, repeated labels and one empty target."""
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((frames, batch, classes)) * 2
    labels = np.array([c for c in range(classes) if c != blank])
    targets = rng.choice(labels, size=(batch, longest))
    targets[0, 1] = targets[0, 0]  # a repeated label needs a blank between its copies
    target_lengths = rng.integers(1, longest + 1, size=batch)
    target_lengths[0] = max(target_lengths[0], 2)
    input_lengths = rng.integers(2 * longest + 1, frames + 1, size=batch)
    input_lengths[0] = frames
    if batch > 2:
        target_lengths[-1] = 0
    # padding holds arbitrary values, even the blank or out-of-range classes: it must be ignored
    targets = np.where(np.arange(longest) < target_lengths[:, None], targets, blank)
    return logits, targets, input_lengths, target_lengths


def _concatenated(targets, target_lengths):
    return np.concatenate([row[:n] for row, n in zip(targets, target_lengths)])


def _both(logits, targets, input_lengths, target_lengths, grad_out_seed=None, **options):
    """Loss and gradient w.r.t. the logits (through log_softmax) in chainrule and in torch."""
    x = cr.tensor(logits.copy(), requires_grad=True)
    out = ctc_loss(x.log_softmax(-1), targets, input_lengths, target_lengths, **options)
    grad_out = np.random.default_rng(grad_out_seed).standard_normal(out.shape)
    out.backward(cr.tensor(grad_out))

    xt = torch.tensor(logits.copy(), requires_grad=True)
    expected = functional.ctc_loss(xt.log_softmax(-1), torch.tensor(targets), torch.tensor(input_lengths),
                                   torch.tensor(target_lengths), **options)
    expected.backward(torch.tensor(grad_out))
    return (out.numpy(), x.grad.numpy()), (expected.detach().numpy(), xt.grad.numpy())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_and_gradient_match_torch_on_random_alignments(seed, layout, reduction):
    logits, targets, input_lengths, target_lengths = _random_batch(seed, blank=seed % 2 * 5)
    if layout == "concatenated":
        targets = _concatenated(targets, target_lengths)
    (loss, grad), (expected_loss, expected_grad) = _both(
        logits, targets, input_lengths, target_lengths, grad_out_seed=seed,
        blank=seed % 2 * 5, reduction=reduction)
    assert loss.shape == expected_loss.shape
    assert np.isfinite(loss).all()
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-10)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-8, atol=1e-12)
    past_the_end = np.arange(logits.shape[0])[:, None] >= input_lengths[None, :]
    assert (grad[past_the_end] == 0).all()


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_unbatched_input_matches_torch(reduction):
    logits, targets, input_lengths, target_lengths = _random_batch(3, batch=1)
    (loss, grad), (expected_loss, expected_grad) = _both(
        logits[:, 0], targets[0, :target_lengths[0]], input_lengths[0], target_lengths[0], grad_out_seed=3,
        reduction=reduction)
    assert loss.shape == expected_loss.shape == ()
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-10)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_impossible_alignment_is_infinite_or_zeroed_like_torch(reduction):
    logits, targets, input_lengths, target_lengths = _random_batch(4)
    targets[2, :3], target_lengths[2], input_lengths[2] = 3, 3, 4  # "333" needs 5 frames
    for zero_infinity in (False, True):
        (loss, grad), (expected_loss, expected_grad) = _both(
            logits, targets, input_lengths, target_lengths, grad_out_seed=4, reduction=reduction,
            zero_infinity=zero_infinity)
        np.testing.assert_allclose(loss, expected_loss, rtol=1e-10)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-8, atol=1e-12)  # NaN where torch has NaN
        impossible = grad[:4, 2]
        if zero_infinity:
            assert (impossible == 0).all() and np.isfinite(grad).all()
        else:
            assert np.isinf(loss).any() and np.isnan(impossible).all()
            assert np.isfinite(np.delete(grad, 2, axis=1)).all()


def test_zero_frames_give_zero_loss_for_an_empty_target_and_infinity_otherwise():
    logits = _random_batch(5, batch=2)[0]
    targets = np.array([[1, 2], [3, 4]])
    (loss, _), (expected, _) = _both(logits, targets, np.array([0, 0]), np.array([0, 2]), reduction="none")
    np.testing.assert_array_equal(loss, expected)
    assert loss[0] == 0 and np.isinf(loss[1])


def test_gradient_is_with_respect_to_log_probs_themselves():
    """torch's native kernel returns exp(lp) - posterior, the gradient w.r.t. the logits that lp was
    the log_softmax of; chainrule returns -posterior, the derivative of its forward w.r.t. lp."""
    logits, targets, input_lengths, target_lengths = _random_batch(6)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    grad_out = np.random.default_rng(6).standard_normal(log_probs.shape[1])

    lp = cr.tensor(log_probs.copy(), requires_grad=True)
    ctc_loss(lp, targets, input_lengths, target_lengths, reduction="none").backward(cr.tensor(grad_out))
    lpt = torch.tensor(log_probs.copy(), requires_grad=True)
    functional.ctc_loss(lpt, torch.tensor(targets), torch.tensor(input_lengths), torch.tensor(target_lengths),
                        reduction="none").backward(torch.tensor(grad_out))

    in_time = np.arange(log_probs.shape[0])[:, None, None] < input_lengths[None, :, None]
    torch_native = lpt.grad.numpy()
    np.testing.assert_allclose(lp.grad.numpy(), torch_native - in_time * np.exp(log_probs) * grad_out[:, None],
                               rtol=1e-8, atol=1e-12)
    # the posterior over classes sums to one at every frame in time, so grad sums to -grad_out there
    np.testing.assert_allclose(lp.grad.numpy().sum(-1), -(in_time[..., 0] * grad_out), atol=1e-10)


def test_gradient_matches_central_differences_of_the_loss():
    logits, targets, input_lengths, target_lengths = _random_batch(7, frames=8, batch=2, classes=4, longest=3)
    log_probs = cr.tensor(logits - np.log(np.exp(logits).sum(-1, keepdims=True)), requires_grad=True)
    assert gradcheck(
        lambda lp: ctc_loss(lp, targets, input_lengths, target_lengths, reduction="sum"), [log_probs])


def test_float32_in_float32_out_and_close_to_float64():
    logits, targets, input_lengths, target_lengths = _random_batch(8)
    results = {}
    for dtype in (np.float32, np.float64):
        x = cr.tensor(logits.astype(dtype), requires_grad=True)
        loss = ctc_loss(x.log_softmax(-1), targets, input_lengths, target_lengths)
        loss.backward()
        assert loss.dtype == dtype and x.grad.dtype == dtype
        results[dtype] = loss.item(), x.grad.numpy()
    assert results[np.float32][0] == pytest.approx(results[np.float64][0], rel=1e-5)
    np.testing.assert_allclose(results[np.float32][1], results[np.float64][1], atol=1e-5)


def test_tensors_and_lists_are_accepted_as_targets_and_lengths_and_inputs_are_not_changed():
    logits, targets, input_lengths, target_lengths = _random_batch(9)
    kept = [a.copy() for a in (logits, targets, input_lengths, target_lengths)]
    from_arrays = ctc_loss(cr.tensor(logits), targets, input_lengths, target_lengths)
    from_tensors = ctc_loss(cr.tensor(logits), cr.tensor(targets), cr.tensor(input_lengths),
                            cr.tensor(target_lengths))
    from_lists = ctc_loss(cr.tensor(logits), targets.tolist(), input_lengths.tolist(), target_lengths.tolist())
    assert from_arrays.item() == from_tensors.item() == from_lists.item()
    for old, new in zip(kept, (logits, targets, input_lengths, target_lengths)):
        np.testing.assert_array_equal(old, new)


def test_second_order_gradients_are_refused():
    logits, targets, input_lengths, target_lengths = _random_batch(10)
    log_probs = cr.tensor(logits, requires_grad=True)
    loss = ctc_loss(log_probs, targets, input_lengths, target_lengths)
    with pytest.raises(GradError, match=r"ctc_loss: second-order gradients are not supported"):
        cr.grad(loss, log_probs, create_graph=True)


def _good():
    """A valid call (log_probs (8, 2, 5), padded targets (2, 3)) for the error tests to spoil."""
    log_probs = np.log(np.full((8, 2, 5), 0.2))
    return dict(log_probs=log_probs, targets=np.array([[1, 2, 3], [4, 4, 0]]),
                input_lengths=np.array([8, 6]), target_lengths=np.array([3, 2]))


BAD_INPUTS = [
    ({"log_probs": np.zeros((8, 2, 5), dtype=np.int64)}, DTypeError,
     r"ctc_loss: log_probs must be floating point; expected a float32 or float64 tensor, got dtype int64"),
    ({"log_probs": np.zeros((8, 2, 5, 1))}, ShapeError,
     r"ctc_loss: log_probs .*expected shape \(T, N, C\) or \(T, C\).*got shape \(8, 2, 5, 1\)"),
    ({"blank": 5}, ShapeError, r"ctc_loss: blank is not a class; expected 0 <= blank < C = 5, got 5"),
    ({"blank": 1.0}, DTypeError, r"ctc_loss: blank must be a class index; expected an int, got 1.0"),
    ({"reduction": "avg"}, ShapeError, r"ctc_loss: unknown reduction; expected one of .*got 'avg'"),
    ({"input_lengths": np.array([9, 6])}, ShapeError,
     r"ctc_loss: input_lengths out of range; expected 0 <= input_lengths <= T = 8, got 9 for batch item 0"),
    ({"input_lengths": np.array([8, 6, 4])}, ShapeError,
     r"ctc_loss: input_lengths needs one length per batch item; expected shape \(2,\), got shape \(3,\)"),
    ({"input_lengths": np.array([8.0, 6.0])}, DTypeError,
     r"ctc_loss: input_lengths must hold integers; expected an integer tensor, got dtype float64"),
    ({"target_lengths": np.array([3, 4])}, ShapeError,
     r"ctc_loss: target_lengths out of range; expected 0 <= target_lengths <= S = 3, got 4 for batch item 1"),
    ({"target_lengths": np.array([3, -1])}, ShapeError, r"ctc_loss: target_lengths out of range;.* got -1"),
    ({"targets": np.array([[1, 2, 3], [4, 0, 0]])}, ShapeError,
     r"ctc_loss: targets must be class indices other than the blank; expected values in \[0, 5\) except "
     r"blank=0, got 0 at position 1 of batch item 1"),
    ({"targets": np.array([[1, 2, 7], [4, 4, 0]])}, ShapeError, r"ctc_loss: targets must be class .*got 7 at"),
    ({"targets": np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 0.0]])}, DTypeError,
     r"ctc_loss: targets must hold integers; expected an integer tensor, got dtype float64"),
    ({"targets": np.array([[1, 2, 3]])}, ShapeError,
     r"ctc_loss: padded targets need one row per batch item; expected shape \(2, S\), got shape \(1, 3\)"),
    ({"targets": np.array([1, 2, 3, 4])}, ShapeError,
     r"ctc_loss: concatenated targets must hold every target; expected sum\(target_lengths\) = 5 labels, got 4"),
    ({"targets": np.ones((2, 3, 1), dtype=np.int64)}, ShapeError,
     r"ctc_loss: targets must be padded or concatenated; expected shape \(2, S\) or \(sum\(target_lengths\),\)"),
]


@pytest.mark.parametrize("change, error, message", BAD_INPUTS, ids=[m[:40] for _, _, m in BAD_INPUTS])
def test_bad_input_raises_an_error_naming_ctc_loss(change, error, message):
    arguments = {**_good(), **change}
    with pytest.raises(error, match=message):
        ctc_loss(cr.tensor(arguments.pop("log_probs")), **arguments)


def test_unbatched_input_needs_one_target_sequence_and_scalar_lengths():
    log_probs = cr.tensor(np.log(np.full((8, 5), 0.2)))
    # torch wants exactly target_length labels here; chainrule also accepts a padded sequence
    padded = ctc_loss(log_probs, np.array([1, 2, 0, 0]), 8, 2, reduction="none")
    assert padded.shape == () and padded.item() == ctc_loss(log_probs, np.array([1, 2]), 8, 2).item() * 2
    with pytest.raises(ShapeError, match=r"ctc_loss: unbatched targets must be one sequence; expected shape \(S,\)"):
        ctc_loss(log_probs, np.array([[1, 2]]), 8, 2)
    with pytest.raises(ShapeError, match=r"expected shape \(\) or \(1,\), got shape \(2,\)"):
        ctc_loss(log_probs, np.array([1, 2]), [8, 8], 2)


def test_ctc_loss_layer_calls_the_function_with_its_options():
    logits, targets, input_lengths, target_lengths = _random_batch(11)
    log_probs = cr.tensor(logits).log_softmax(-1)
    layer = CTCLoss(blank=0, reduction="sum", zero_infinity=True)
    expected = ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction="sum", zero_infinity=True)
    assert layer(log_probs, targets, input_lengths, target_lengths).item() == expected.item()
    assert repr(layer) == "CTCLoss(blank=0, reduction='sum', zero_infinity=True)"
    assert list(layer.parameters()) == []
    with pytest.raises(ShapeError, match=r"CTCLoss: unknown reduction; expected one of .*got 'average'"):
        CTCLoss(reduction="average")
