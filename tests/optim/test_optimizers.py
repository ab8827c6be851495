"""Optimizers against PyTorch: the same MLP, data and loss, parameters compared after every step."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ChainruleError, GradError, ShapeError
from chainrule.optim import OptimizerError

torch = pytest.importorskip("torch")

STEPS = 20

# (optimizer, options, groups): groups is None (one group) or [(layer, group options), ...].
CASES = {
    "sgd": ("SGD", {"lr": 0.1}, None),
    "sgd-momentum": ("SGD", {"lr": 0.05, "momentum": 0.9}, None),
    "sgd-dampening": ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}, None),
    "sgd-nesterov-decay": ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}, None),
    "sgd-maximize": ("SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}, None),
    "sgd-groups": ("SGD", {"lr": 0.05}, [("hidden", {"momentum": 0.9, "nesterov": True}),
                                        ("out", {"lr": 0.2, "weight_decay": 0.05})]),
    "adam": ("Adam", {"lr": 0.01}, None),
    "adam-amsgrad": ("Adam", {"lr": 0.02, "amsgrad": True}, None),
    "adam-decay-betas-eps": ("Adam", {"lr": 0.02, "betas": (0.8, 0.95), "eps": 0.1, "weight_decay": 0.1}, None),
    "adam-maximize": ("Adam", {"lr": 0.01, "maximize": True, "amsgrad": True}, None),
    "adam-groups": ("Adam", {"lr": 0.01}, [("hidden", {"amsgrad": True, "eps": 1e-3}),
                                          ("out", {"lr": 0.03, "betas": (0.5, 0.9), "weight_decay": 0.2})]),
    "adamw": ("AdamW", {"lr": 0.01}, None),
    "adamw-amsgrad-decay": ("AdamW", {"lr": 0.02, "weight_decay": 0.5, "amsgrad": True, "eps": 0.01}, None),
    "adamw-groups": ("AdamW", {"lr": 0.01}, [("hidden", {"weight_decay": 0.0}), ("out", {"weight_decay": 1.0})]),
    "rmsprop": ("RMSprop", {"lr": 0.01}, None),
    "rmsprop-centered": ("RMSprop", {"lr": 0.005, "centered": True, "eps": 0.01}, None),
    "rmsprop-momentum-decay": ("RMSprop", {"lr": 0.005, "momentum": 0.9, "weight_decay": 0.1, "alpha": 0.9}, None),
    "rmsprop-centered-momentum": ("RMSprop", {"lr": 0.002, "momentum": 0.5, "centered": True}, None),
    "rmsprop-groups": ("RMSprop", {"lr": 0.01}, [("hidden", {"centered": True, "momentum": 0.3}),
                                                ("out", {"lr": 0.003, "alpha": 0.5})]),
    "adagrad": ("Adagrad", {"lr": 0.1}, None),
    "adagrad-decay-initial": ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1,
                                          "initial_accumulator_value": 0.5, "eps": 0.01}, None),
    "adagrad-groups": ("Adagrad", {"lr": 0.1}, [("hidden", {"lr_decay": 0.1}),
                                                ("out", {"lr": 0.05, "maximize": True})]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_trajectory_matches_pytorch_step_by_step(case, twin):
    name, options, spec = CASES[case]
    ours, theirs = twin.chainrule_model(), twin.torch_model()
    ours_opt = getattr(optim, name)(twin.groups(ours, spec), **options)
    theirs_opt = getattr(torch.optim, name)(twin.groups(theirs, spec), **options)
    start = twin.chainrule_loss(ours).item()
    for step in range(STEPS):
        twin.chainrule_step(ours, ours_opt)
        twin.torch_step(theirs, theirs_opt)
        twin.assert_same_parameters(ours, theirs, f"after step {step + 1} of {case}")
    end = twin.chainrule_loss(ours).item()  # and the run went the way it was asked to
    assert (end > start) if options.get("maximize") else (end < start)


@pytest.mark.parametrize("name, options", [
    ("SGD", {"momentum": 0.9, "weight_decay": 0.1}), ("Adam", {"amsgrad": True}), ("AdamW", {}),
    ("RMSprop", {"centered": True, "momentum": 0.5}), ("Adagrad", {"weight_decay": 0.1})])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scalar_and_float32_parameters_match_pytorch(name, options, dtype):
    values = [np.array(1.5, dtype=dtype), np.arange(-3, 3, dtype=dtype).reshape(2, 3) / 2]
    ours = [nn.Parameter(cr.tensor(v)) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    ours_opt = getattr(optim, name)(ours, lr=0.1, **options)
    theirs_opt = getattr(torch.optim, name)(theirs, lr=0.1, **options)
    for _ in range(5):
        for opt, params in ((ours_opt, ours), (theirs_opt, theirs)):
            opt.zero_grad()
            (params[0] ** 4 + (params[1] ** 2 * params[0]).sum()).backward()
            opt.step()
        for mine, reference in zip(ours, theirs):
            assert mine.dtype == np.dtype(dtype) and mine.shape == tuple(reference.shape)
            np.testing.assert_allclose(mine.numpy(), reference.detach().numpy(),
                                       rtol=1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_state_dict_layout_matches_pytorch(name, twin):
    ours, theirs = twin.chainrule_model(), twin.torch_model()
    spec = [("hidden", {"lr": 0.01}), ("out", {"lr": 0.02})]
    options = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    ours_opt = getattr(optim, name)(twin.groups(ours, spec), **options)
    theirs_opt = getattr(torch.optim, name)(twin.groups(theirs, spec), **options)
    for _ in range(2):
        twin.chainrule_step(ours, ours_opt)
        twin.torch_step(theirs, theirs_opt)
    mine, reference = ours_opt.state_dict(), theirs_opt.state_dict()
    assert [g["params"] for g in mine["param_groups"]] == [[0, 1], [2, 3]]
    assert [g["params"] for g in reference["param_groups"]] == [[0, 1], [2, 3]]
    for group, reference_group in zip(mine["param_groups"], reference["param_groups"]):
        assert set(group) <= set(reference_group)
        options = [k for k in group if k != "params"]
        assert {k: group[k] for k in options} == {k: reference_group[k] for k in options}
    assert sorted(mine["state"]) == sorted(reference["state"])
    for index, state in mine["state"].items():
        assert set(state) == set(reference["state"][index])
        for key, value in state.items():
            np.testing.assert_allclose(np.asarray(value), reference["state"][index][key].numpy(), rtol=1e-9)


def test_parameters_without_gradient_are_skipped_and_get_no_state(twin):
    model = twin.chainrule_model()
    frozen = nn.Parameter(cr.ones(3, dtype=cr.float64))
    for name in ("SGD", "Adam", "RMSprop"):
        options = {"momentum": 0.9} if name != "Adam" else {}
        opt = getattr(optim, name)([*model.parameters(), frozen], lr=0.1, **options)
        twin.chainrule_step(model, opt)
        assert frozen.tolist() == [1.0, 1.0, 1.0] and frozen not in opt.state
        assert 4 not in opt.state_dict()["state"] and len(opt.state_dict()["state"]) == 4


def test_step_builds_no_graph_and_updates_float32_in_place():
    layer = nn.Linear(3, 2)
    weight_array = layer.weight.data
    opt = optim.Adam(layer.parameters(), lr=0.1)
    layer(cr.randn(4, 3)).sum().backward()
    opt.step()
    assert layer.weight.data is weight_array and layer.weight.dtype == np.float32
    assert layer.weight.is_leaf and layer.weight.grad_fn is None
    assert opt.state[layer.weight]["exp_avg"].dtype == np.float32


def test_closure_is_evaluated_and_its_loss_returned(twin):
    model = twin.chainrule_model()
    opt = optim.SGD(model.parameters(), lr=0.1)

    def closure():
        opt.zero_grad()
        loss = ((model(cr.tensor(twin.x)) - cr.tensor(twin.y)) ** 2).mean()
        loss.backward()
        return loss

    with cr.no_grad():  # the closure still records its graph
        first = opt.step(closure).item()
    assert opt.step(closure).item() < first


def test_zero_grad_sets_none_or_fresh_zeros():
    weight = nn.Parameter(cr.ones(2))
    opt = optim.SGD([weight], lr=0.1)
    weight.grad = cr.tensor([1.0, 2.0])
    old = weight.grad.data
    opt.zero_grad(set_to_none=False)
    assert weight.grad.tolist() == [0.0, 0.0] and old.tolist() == [1.0, 2.0]
    opt.zero_grad()
    assert weight.grad is None


def test_add_param_group_fills_defaults_and_trains_the_new_group():
    first, second = nn.Parameter(cr.ones(2)), nn.Parameter(cr.ones(2))
    opt = optim.SGD([first], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": second, "lr": 0.5})
    assert opt.param_groups[1]["momentum"] == 0.5 and opt.param_groups[1]["lr"] == 0.5
    second.grad = cr.tensor([1.0, 1.0])
    opt.step()
    assert second.tolist() == [0.5, 0.5] and first.tolist() == [1.0, 1.0]


BAD_OPTIONS = [
    ("SGD", {"lr": -0.1}, "SGD: invalid lr; expected lr >= 0.0, got -0.1."),
    ("SGD", {"lr": 0.1, "momentum": -1}, "SGD: invalid momentum"),
    ("SGD", {"lr": 0.1, "nesterov": True}, "SGD: Nesterov momentum needs a momentum and no dampening"),
    ("Adam", {"lr": "fast"}, "Adam: invalid lr; expected lr >= 0.0, got 'fast'."),
    ("Adam", {"betas": (0.9, 1.0)}, "Adam: invalid betas[1]; expected 0 <= betas[1] < 1, got 1.0."),
    ("Adam", {"betas": 0.9}, "Adam: invalid betas; expected a pair (beta1, beta2), got 0.9."),
    ("AdamW", {"eps": -1e-8}, "AdamW: invalid eps"),
    ("RMSprop", {"alpha": -0.5}, "RMSprop: invalid alpha"),
    ("Adagrad", {"lr_decay": -1.0}, "Adagrad: invalid lr_decay"),
    ("Adagrad", {"initial_accumulator_value": -1.0}, "Adagrad: invalid initial_accumulator_value"),
]


@pytest.mark.parametrize("name, options, message", BAD_OPTIONS)
def test_bad_options_raise_errors_that_name_the_optimizer(name, options, message):
    with pytest.raises(OptimizerError) as info:
        getattr(optim, name)([nn.Parameter(cr.zeros(1))], **options)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, (ChainruleError, ValueError))


def test_bad_parameter_lists_raise_clear_errors():
    weight = nn.Parameter(cr.zeros(2))
    with pytest.raises(OptimizerError, match=r"^Adam: a parameter appears more than once"):
        optim.Adam([weight, weight])
    with pytest.raises(OptimizerError, match=r"^SGD: a parameter appears more than once"):
        optim.SGD([{"params": [weight]}, {"params": [weight], "lr": 0.1}])
    with pytest.raises(OptimizerError, match=r"^SGD: can only optimize Tensors; expected Parameters or leaf "
                                             r"Tensors, got ndarray\."):
        optim.SGD([np.zeros(2)])
    with pytest.raises(GradError, match=r"^RMSprop: can't optimize a tensor computed by an op"):
        optim.RMSprop([weight * 2])
    with pytest.raises(OptimizerError, match=r"^Adam: params must be an iterable of Tensors or of parameter "
                                             r"groups; expected e\.g\. model\.parameters\(\), got Linear\."):
        optim.Adam(nn.Linear(2, 2))
    with pytest.raises(OptimizerError, match=r"^Adagrad: got an empty parameter list"):
        optim.Adagrad([])
    with pytest.raises(OptimizerError, match=r"^SGD: parameters must be in an ordered collection"):
        optim.SGD({weight})
    with pytest.raises(OptimizerError, match=r"^SGD: invalid lr"):
        optim.SGD([weight], lr=0.1).add_param_group({"params": [nn.Parameter(cr.zeros(1))], "lr": -1.0})


def test_mis_shaped_gradient_raises_shape_error():
    weight = nn.Parameter(cr.zeros(2))
    weight.grad = cr.zeros(3)
    with pytest.raises(ShapeError, match=r"^SGD: a gradient does not fit its parameter; expected shape \(2,\), "
                                         r"got \(3,\)\."):
        optim.SGD([weight], lr=0.1).step()


def test_load_state_dict_rejects_a_mismatched_state():
    first = optim.Adam([nn.Parameter(cr.zeros(2)), nn.Parameter(cr.zeros(3))])
    other = optim.Adam([nn.Parameter(cr.zeros(2))])
    with pytest.raises(OptimizerError, match=r"^Adam: load_state_dict: the parameter groups' sizes differ; "
                                             r"expected group sizes \[1\], got \[2\]\."):
        other.load_state_dict(first.state_dict())
    with pytest.raises(OptimizerError, match="not an optimizer state dict"):
        other.load_state_dict({"weights": 1})
    state = other.state_dict()
    state["state"] = {0: {"step": 1, "exp_avg": np.zeros(5), "exp_avg_sq": np.zeros(2)}}
    with pytest.raises(ShapeError, match=r"state 'exp_avg' of parameter 0 does not fit it; expected shape \(2,\)"):
        other.load_state_dict(state)


def test_repr_lists_each_group():
    text = repr(optim.SGD([nn.Parameter(cr.zeros(1))], lr=0.5))
    assert text.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.5" in text
