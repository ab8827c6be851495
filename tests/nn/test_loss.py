"""Losses against PyTorch in float64: every reduction and option, input and target gradients,
huge inputs, error messages, and the loss layers' arguments, buffers and repr."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DTypeError, IndexingError, ShapeError
from chainrule.nn import loss as layers
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

rng = np.random.default_rng(0)
LOGITS = rng.normal(size=(5, 4)) * 2
LOGITS_4D = rng.normal(size=(2, 4, 3, 2))
CLASSES = np.array([0, 3, 1, 3, 2])
CLASSES_IGNORED = np.array([0, -100, 1, 3, -100])
CLASSES_3D = rng.integers(0, 4, size=(2, 3, 2))
PROBS = rng.dirichlet(np.ones(4), size=5)
WEIGHT = rng.uniform(0.5, 2.0, size=4)
P = rng.uniform(0.02, 0.98, size=(5, 4))
T = rng.uniform(0.0, 1.0, size=(5, 4))
X = rng.normal(size=(5, 4)) * 3
Y = rng.normal(size=(5, 4)) * 3
LOG_P = np.log(rng.dirichlet(np.ones(4), size=5))
POS_WEIGHT = rng.uniform(0.5, 3.0, size=4)


def _ce(kwargs):
    return F.cross_entropy, TF.cross_entropy, kwargs


# name: (our function, torch function, differentiated inputs, constant target or None, keyword options).
# A None constant means the second differentiated input is the target (its gradient is compared too).
CASES = {}
for reduction in ("mean", "sum", "none"):
    CASES[f"ce_{reduction}"] = (F.cross_entropy, TF.cross_entropy, [LOGITS], CLASSES, {"reduction": reduction})
    CASES[f"ce_weight_ignore_smoothing_{reduction}"] = (
        F.cross_entropy, TF.cross_entropy, [LOGITS], CLASSES_IGNORED,
        {"reduction": reduction, "weight": WEIGHT, "label_smoothing": 0.25})
    CASES[f"ce_probabilities_weight_smoothing_{reduction}"] = (
        F.cross_entropy, TF.cross_entropy, [LOGITS, PROBS], None,
        {"reduction": reduction, "weight": WEIGHT, "label_smoothing": 0.1})
    CASES[f"nll_weight_ignore_{reduction}"] = (F.nll_loss, TF.nll_loss, [LOG_P], CLASSES_IGNORED,
                                               {"reduction": reduction, "weight": WEIGHT})
    CASES[f"bce_{reduction}"] = (F.binary_cross_entropy, TF.binary_cross_entropy, [P, T], None, {"reduction": reduction})
    CASES[f"bce_logits_{reduction}"] = (F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
                                        [X, T], None, {"reduction": reduction})
    CASES[f"l1_{reduction}"] = (F.l1_loss, TF.l1_loss, [X, Y], None, {"reduction": reduction})
    CASES[f"huber_{reduction}"] = (F.huber_loss, TF.huber_loss, [X, Y], None, {"reduction": reduction, "delta": 2.5})
    CASES[f"smooth_l1_{reduction}"] = (F.smooth_l1_loss, TF.smooth_l1_loss, [X, Y], None,
                                       {"reduction": reduction, "beta": 1.5})
    CASES[f"kl_{reduction}"] = (F.kl_div, TF.kl_div, [LOG_P, PROBS], None, {"reduction": reduction})
CASES.update({
    "ce_more_classes_than_rows": (F.cross_entropy, TF.cross_entropy, [LOGITS.T], np.array([4, 0, 2, 4]), {}),
    "ce_more_classes_than_rows_none": (F.cross_entropy, TF.cross_entropy, [LOGITS.T], np.array([1, 0, 2, 4]),
                                       {"reduction": "none"}),
    "ce_weight": (F.cross_entropy, TF.cross_entropy, [LOGITS], CLASSES, {"weight": WEIGHT}),
    "ce_ignore_index_3": (F.cross_entropy, TF.cross_entropy, [LOGITS], CLASSES, {"ignore_index": 3}),
    "ce_smoothing": (F.cross_entropy, TF.cross_entropy, [LOGITS], CLASSES, {"label_smoothing": 0.3}),
    "ce_spatial_weight_smoothing": (F.cross_entropy, TF.cross_entropy, [LOGITS_4D], CLASSES_3D,
                                    {"weight": WEIGHT, "label_smoothing": 0.2}),
    "ce_spatial_none": (F.cross_entropy, TF.cross_entropy, [LOGITS_4D], CLASSES_3D, {"reduction": "none"}),
    "ce_unbatched": (F.cross_entropy, TF.cross_entropy, [LOGITS[0]], np.array(2), {"label_smoothing": 0.1}),
    "ce_probabilities": (F.cross_entropy, TF.cross_entropy, [LOGITS, PROBS], None, {}),
    "ce_spatial_probabilities": (F.cross_entropy, TF.cross_entropy,
                                 [LOGITS_4D, np.moveaxis(rng.dirichlet(np.ones(4), size=(2, 3, 2)), -1, 1)], None,
                                 {"weight": WEIGHT}),
    "nll": (F.nll_loss, TF.nll_loss, [LOG_P], CLASSES, {}),
    "nll_spatial_ignore_index_1": (F.nll_loss, TF.nll_loss, [LOGITS_4D], CLASSES_3D, {"ignore_index": 1}),
    "nll_unbatched": (F.nll_loss, TF.nll_loss, [LOG_P[1]], np.array(3), {"weight": WEIGHT}),
    "bce_weight": (F.binary_cross_entropy, TF.binary_cross_entropy, [P, T], None, {"weight": WEIGHT}),
    "bce_logits_weight_pos_weight": (F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
                                     [X, T], None, {"weight": rng.uniform(0.5, 2, size=(5, 1)),
                                                    "pos_weight": POS_WEIGHT}),
    "bce_logits_pos_weight_none": (F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
                                   [X, T], None, {"reduction": "none", "pos_weight": POS_WEIGHT}),
    "huber_default_delta": (F.huber_loss, TF.huber_loss, [X, Y], None, {}),
    "smooth_l1_beta_0": (F.smooth_l1_loss, TF.smooth_l1_loss, [X, Y], None, {"beta": 0.0}),
    "smooth_l1_default_beta": (F.smooth_l1_loss, TF.smooth_l1_loss, [X, Y], None, {}),
    "kl_batchmean": (F.kl_div, TF.kl_div, [LOG_P, PROBS], None, {"reduction": "batchmean"}),
    "kl_log_target_batchmean": (F.kl_div, TF.kl_div, [LOG_P, np.log(PROBS)], None,
                                {"reduction": "batchmean", "log_target": True}),
    "kl_log_target_none": (F.kl_div, TF.kl_div, [LOG_P, np.log(PROBS)], None,
                           {"reduction": "none", "log_target": True}),
})


def _evaluate(case, library):
    ours, theirs, inputs, constant, options = case
    if library == "cr":
        leaves = [cr.tensor(x, requires_grad=True) for x in inputs]
        extra = [] if constant is None else [cr.tensor(constant)]
        options = {k: (cr.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in options.items()}
        out = ours(*leaves, *extra, **options)
    else:
        leaves = [torch.tensor(x, requires_grad=True) for x in inputs]
        extra = [] if constant is None else [torch.tensor(constant)]
        options = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in options.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns that kl_div's "mean" is not the true KL
            out = theirs(*leaves, *extra, **options)
    upstream = np.random.default_rng(1).standard_normal(tuple(out.shape))
    out.backward(cr.tensor(upstream) if library == "cr" else torch.tensor(upstream))
    grads = [leaf.grad.numpy() if library == "cr" else leaf.grad.detach().numpy() for leaf in leaves]
    return (out.numpy() if library == "cr" else out.detach().numpy()), grads


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_torch_in_float64_values_and_gradients(name):
    value, grads = _evaluate(CASES[name], "cr")
    expected, expected_grads = _evaluate(CASES[name], "torch")
    assert value.shape == expected.shape and value.dtype == np.float64
    np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-13)
    for which, grad, expected_grad in zip(("input", "target"), grads, expected_grads):
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-9, atol=1e-13, err_msg=f"{name}: {which} gradient")


@pytest.mark.parametrize("name", ["ce_mean", "ce_more_classes_than_rows", "ce_weight_ignore_smoothing_mean",
                                  "ce_probabilities", "bce_mean",
                                  "bce_logits_weight_pos_weight", "huber_mean", "kl_batchmean", "nll"])
def test_loss_keeps_float32(name):
    ours, _, inputs, constant, options = CASES[name]
    leaves = [cr.tensor(x, dtype=cr.float32, requires_grad=True) for x in inputs]
    extra = [] if constant is None else [cr.tensor(constant)]
    out = ours(*leaves, *extra, **options)
    out.backward()
    assert out.dtype == np.float32 and all(leaf.grad.dtype == np.float32 for leaf in leaves)


@pytest.mark.parametrize("options", [{"label_smoothing": 0.1}, {}, {"reduction": "none"}], ids=str)
def test_cross_entropy_second_derivative_matches_torch(options):
    a, b = cr.tensor(LOGITS, requires_grad=True), torch.tensor(LOGITS, requires_grad=True)
    loss_a = F.cross_entropy(a, cr.tensor(CLASSES), **options)
    loss_b = TF.cross_entropy(b, torch.tensor(CLASSES), **options)
    (ga,) = cr.grad(loss_a.sum(), a, create_graph=True)
    (gb,) = torch.autograd.grad(loss_b.sum(), b, create_graph=True)
    (ga * ga).sum().backward()
    (gb * gb).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-13)


def test_all_targets_ignored_gives_nan_mean_like_torch():
    loss = F.cross_entropy(cr.tensor(LOGITS[:2]), cr.tensor([-100, -100]))
    assert np.isnan(loss.item()) and np.isnan(TF.cross_entropy(torch.tensor(LOGITS[:2]), torch.tensor([-100, -100])).item())


def _no_warnings_and_finite(fn, *arrays, **options):
    leaves = [cr.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fn(*leaves, **options)
        out.backward(cr.tensor(np.ones(out.shape)))
    assert np.isfinite(out.numpy()).all()
    for leaf in leaves:
        if leaf.requires_grad:
            assert np.isfinite(leaf.grad.numpy()).all()
    return out, leaves


@pytest.mark.parametrize("rows", [2, 4], ids=["rows < classes", "rows > classes"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("scale", [1e4, 1e30, 1e300])
def test_cross_entropy_is_stable_for_huge_logits(scale, smoothing, rows):
    logits = np.array([[1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]] * (rows // 2)) * scale
    classes = np.array([0, 2] * (rows // 2))
    out, (x, _) = _no_warnings_and_finite(F.cross_entropy, logits, classes, label_smoothing=smoothing)
    expected = TF.cross_entropy(torch.tensor(logits), torch.tensor(classes), label_smoothing=smoothing)
    if scale < 1e300:  # torch's logsumexp overflows there; chainrule's stays finite
        np.testing.assert_allclose(out.item(), expected.item(), rtol=1e-12)
    _no_warnings_and_finite(F.cross_entropy, logits, np.array([[0.5, 0.5, 0.0]] * rows))


def test_cross_entropy_with_minus_infinity_logits_at_other_classes_is_finite_like_torch():
    # A masked-out class (logit -inf) must not turn the loss into NaN through 0 * -inf.
    logits = np.array([[2.0, -np.inf, 0.5], [-np.inf, 1.0, 0.0]])
    out = F.cross_entropy(cr.tensor(logits), cr.tensor([0, 2]))
    np.testing.assert_allclose(out.item(), TF.cross_entropy(torch.tensor(logits), torch.tensor([0, 2])).item())


@pytest.mark.parametrize("scale", [1e4, 1e30, 1e300])
def test_binary_cross_entropy_with_logits_is_stable_for_huge_logits(scale):
    logits = np.array([-1.0, 1.0, -1.0, 1.0]) * scale
    targets = np.array([0.0, 1.0, 1.0, 0.0])
    out, _ = _no_warnings_and_finite(F.binary_cross_entropy_with_logits, logits, targets,
                                     reduction="none", pos_weight=cr.tensor([2.0]))
    expected = TF.binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(targets), reduction="none",
                                                   pos_weight=torch.tensor([2.0]))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)


def test_binary_cross_entropy_clamps_logs_at_minus_100_like_torch():
    p, t = np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([0.3, 0.6, 0.0, 1.0, 1.0])
    out, (a, b) = _no_warnings_and_finite(F.binary_cross_entropy, p, t, reduction="none")
    pa = torch.tensor(p, requires_grad=True)
    expected = TF.binary_cross_entropy(pa, torch.tensor(t), reduction="none")
    expected.sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy())
    np.testing.assert_allclose(a.grad.numpy(), pa.grad.numpy())  # (p - t) / max(p (1 - p), 1e-12)
    # The target's gradient is the slope of the clamped loss (torch gives +-inf here).
    np.testing.assert_allclose(b.grad.numpy(), [100.0, -100.0, 100.0, -100.0, 0.0])


def test_kl_div_zero_targets_add_nothing():
    target = np.array([[0.0, 0.25, 0.75]])
    out, (x, t) = _no_warnings_and_finite(F.kl_div, np.log([[0.2, 0.3, 0.5]]), target, reduction="sum")
    expected = TF.kl_div(torch.tensor(np.log([[0.2, 0.3, 0.5]])), torch.tensor(target), reduction="sum")
    np.testing.assert_allclose(out.item(), expected.item())
    assert t.grad.numpy()[0, 0] == 0.0  # the -inf slope at t = 0 is taken as 0 (torch gives NaN)


# --- layers ----------------------------------------------------------------------------------

LAYER_CASES = [
    (lambda: layers.MSELoss(), lambda: torch.nn.MSELoss(), [X, Y], None),
    (lambda: layers.MSELoss(reduction="sum"), lambda: torch.nn.MSELoss(reduction="sum"), [X, Y], None),
    (lambda: layers.L1Loss(reduction="none"), lambda: torch.nn.L1Loss(reduction="none"), [X, Y], None),
    (lambda: layers.HuberLoss(delta=0.5), lambda: torch.nn.HuberLoss(delta=0.5), [X, Y], None),
    (lambda: layers.SmoothL1Loss(beta=2.0), lambda: torch.nn.SmoothL1Loss(beta=2.0), [X, Y], None),
    (lambda: layers.BCELoss(cr.tensor(WEIGHT)), lambda: torch.nn.BCELoss(torch.tensor(WEIGHT)), [P, T], None),
    (lambda: layers.BCEWithLogitsLoss(pos_weight=cr.tensor(POS_WEIGHT)),
     lambda: torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(POS_WEIGHT)), [X, T], None),
    (lambda: layers.CrossEntropyLoss(cr.tensor(WEIGHT), ignore_index=-100, label_smoothing=0.2),
     lambda: torch.nn.CrossEntropyLoss(torch.tensor(WEIGHT), ignore_index=-100, label_smoothing=0.2),
     [LOGITS], CLASSES_IGNORED),
    (lambda: layers.NLLLoss(cr.tensor(WEIGHT), reduction="sum"),
     lambda: torch.nn.NLLLoss(torch.tensor(WEIGHT), reduction="sum"), [LOG_P], CLASSES),
    (lambda: layers.KLDivLoss(reduction="batchmean", log_target=True),
     lambda: torch.nn.KLDivLoss(reduction="batchmean", log_target=True), [LOG_P, np.log(PROBS)], None),
]


@pytest.mark.parametrize("k", range(len(LAYER_CASES)))
def test_layer_matches_torch_and_has_torch_repr_and_buffers(k):
    make_ours, make_theirs, inputs, constant = LAYER_CASES[k]
    ours, theirs = make_ours(), make_theirs()
    case = (lambda *a: ours(*a), lambda *a: theirs(*a), inputs, constant, {})
    value, grads = _evaluate(case, "cr")
    expected, expected_grads = _evaluate(case, "torch")
    np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-13)
    for grad, expected_grad in zip(grads, expected_grads):
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-9, atol=1e-13)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours.parameters()) == []


def test_layer_arguments_after_weight_are_keyword_only():
    with pytest.raises(TypeError):
        layers.CrossEntropyLoss(None, None, -100)  # torch's (weight, size_average, ignore_index) order
    with pytest.raises(TypeError):
        layers.MSELoss("sum")


def test_layer_weight_buffers_follow_the_dtype():
    criterion = layers.CrossEntropyLoss([1.0, 2.0, 3.0, 4.0]).double()
    assert criterion.weight.dtype == np.float64
    assert criterion(cr.tensor(LOGITS), cr.tensor(CLASSES)).dtype == np.float64


# --- errors ----------------------------------------------------------------------------------

ERRORS = [
    (lambda: F.cross_entropy(cr.randn(5, 4), cr.tensor([0, 1, 2])), ShapeError,
     r"^cross_entropy: the target must hold one class index per row; expected target shape \(5,\) for input "
     r"shape \(5, 4\), got target.shape=\(3,\)\."),
    (lambda: F.cross_entropy(cr.randn(2, 4), cr.tensor([0, 4])), IndexingError,
     r"^cross_entropy: target class out of range; expected 0 <= target < 4 or target == ignore_index \(-100\), got 4\."),
    (lambda: F.nll_loss(cr.randn(2, 4), cr.tensor([-1, 0])), IndexingError, r"^nll_loss: target class out of range"),
    (lambda: F.cross_entropy(cr.randn(2, 4), cr.tensor([0, 1]), cr.ones(3)), ShapeError,
     r"^cross_entropy: weight must hold one value per class; expected shape \(4,\), got weight.shape=\(3,\)\."),
    (lambda: F.cross_entropy(cr.randn(2, 4), cr.randn(2, 3)), ShapeError,
     r"^cross_entropy: probability targets must have the input's shape; expected \(2, 4\), got target.shape=\(2, 3\)"),
    (lambda: F.cross_entropy(cr.randn(2, 4), cr.tensor([True, False])), DTypeError,
     r"^cross_entropy: the target must hold class indices or probabilities; expected an int64 or float tensor, got bool"),
    (lambda: F.cross_entropy(cr.randn(2, 4), cr.rand(2, 4), ignore_index=1), DTypeError,
     r"^cross_entropy: ignore_index applies to class-index targets"),
    (lambda: F.cross_entropy(cr.tensor(1.0), cr.tensor(0)), ShapeError,
     r"^cross_entropy: the input has no class dimension; expected shape \(C,\), \(N, C\) or \(N, C, d1, ...\), got shape \(\)"),
    (lambda: F.cross_entropy(cr.tensor([[1, 2]]), cr.tensor([0])), DTypeError,
     r"^cross_entropy: the input must be floating point; expected float32 or float64, got int64"),
    (lambda: F.cross_entropy(cr.randn(2, 4), cr.tensor([0, 1]), label_smoothing=1.5), ShapeError,
     r"^cross_entropy: label_smoothing out of range; expected 0 <= label_smoothing <= 1, got 1.5"),
    (lambda: F.cross_entropy(cr.randn(2, 4), cr.tensor([0, 1]), reduction="avg"), ShapeError,
     r"^cross_entropy: unknown reduction; expected one of \('mean', 'sum', 'none'\), got 'avg'"),
    (lambda: F.nll_loss(cr.randn(2, 4), cr.rand(2, 4)), DTypeError,
     r"^nll_loss: the target must hold class indices; expected an int64 tensor, got float32"),
    (lambda: F.binary_cross_entropy(cr.tensor([0.5, 1.5]), cr.tensor([0.0, 1.0])), ShapeError,
     r"^binary_cross_entropy: input values out of range; expected probabilities in \[0, 1\], got values from 0.5 "
     r"to 1.5. Hint: apply sigmoid first"),
    (lambda: F.binary_cross_entropy(cr.rand(3, 2), cr.rand(2, 3)), ShapeError,
     r"^binary_cross_entropy: input and target shapes differ; expected equal shapes, got input.shape=\(3, 2\), "
     r"target.shape=\(2, 3\)\."),
    (lambda: F.binary_cross_entropy_with_logits(cr.randn(3, 2), cr.rand(3, 2), pos_weight=cr.ones(3)), ShapeError,
     r"^binary_cross_entropy_with_logits: pos_weight does not broadcast to the input; expected a shape "
     r"broadcastable to \(3, 2\), got pos_weight.shape=\(3,\)\."),
    (lambda: F.l1_loss(cr.randn(3), cr.randn(4)), ShapeError, r"^l1_loss: input and target shapes differ"),
    (lambda: F.huber_loss(cr.randn(3), cr.randn(3), delta=0.0), ShapeError,
     r"^huber_loss: delta out of range; expected delta > 0, got 0.0"),
    (lambda: F.smooth_l1_loss(cr.randn(3), cr.randn(3), beta=-1.0), ShapeError,
     r"^smooth_l1_loss: beta out of range; expected beta >= 0, got -1.0"),
    (lambda: F.kl_div(cr.randn(3), cr.rand(3), reduction="batch"), ShapeError,
     r"^kl_div: unknown reduction; expected one of \('mean', 'sum', 'none', 'batchmean'\), got 'batch'"),
    (lambda: layers.CrossEntropyLoss()(cr.randn(4, 3), cr.tensor([[0], [1], [2], [0]])), ShapeError,
     r"^cross_entropy: the target must hold one class index per row"),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_bad_input_raises_a_chainrule_error_naming_the_op(k):
    call, kind, pattern = ERRORS[k]
    with pytest.raises(kind, match=pattern):
        call()
