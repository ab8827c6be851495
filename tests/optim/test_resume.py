"""Checkpoint and resume: 10 steps, save, load into fresh objects, 10 more == 20 uninterrupted steps, exactly."""

import copy

import numpy as np
import pytest

from chainrule import optim
from chainrule.optim import lr_scheduler
from chainrule.serialization import load, save

# (optimizer, options, scheduler, scheduler options, whether the scheduler is stepped with the loss)
RUNS = {
    "sgd-nesterov-onecycle": ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
                              "OneCycleLR", {"max_lr": 0.2, "total_steps": 20}, False),
    "adam-amsgrad-onecycle": ("Adam", {"lr": 0.01, "amsgrad": True}, "OneCycleLR",
                              {"max_lr": [0.02, 0.05], "total_steps": 20, "three_phase": True}, False),
    "adamw-plateau": ("AdamW", {"lr": 0.05}, "ReduceLROnPlateau", {"patience": 0, "factor": 0.5,
                                                                   "threshold": 0.05}, True),
    "rmsprop-centered-cosine": ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5},
                                "CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}, False),
    "adagrad-multistep": ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}, "MultiStepLR", {"milestones": [3, 12, 12]},
                          False),
    "sgd-warmup": ("SGD", {"lr": 0.1, "momentum": 0.5, "dampening": 0.1}, "LinearLR", {"total_iters": 15}, False),
    "adam-step": ("Adam", {"lr": 0.01, "weight_decay": 0.1}, "StepLR", {"step_size": 4, "gamma": 0.7}, False),
    "rmsprop-exponential": ("RMSprop", {"lr": 0.01}, "ExponentialLR", {"gamma": 0.9}, False),
}
GROUPS = [("hidden", {}), ("out", {"lr": 0.02})]


def _build(twin, run):
    name, options, scheduler_name, scheduler_options, _ = RUNS[run]
    model = twin.chainrule_model()
    optimizer = getattr(optim, name)(twin.groups(model, GROUPS), **options)
    scheduler = getattr(lr_scheduler, scheduler_name)(optimizer, **scheduler_options)
    return model, optimizer, scheduler


def _train(twin, run, model, optimizer, scheduler, steps):
    for _ in range(steps):
        loss = twin.chainrule_step(model, optimizer)
        scheduler.step(loss) if RUNS[run][4] else scheduler.step()


@pytest.mark.parametrize("run", sorted(RUNS))
def test_resumed_run_equals_uninterrupted_run(run, twin, tmp_path):
    reference = _build(twin, run)
    _train(twin, run, *reference, steps=20)

    model, optimizer, scheduler = _build(twin, run)
    _train(twin, run, model, optimizer, scheduler, steps=10)
    path = tmp_path / "checkpoint.npz"
    save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
         path)
    checkpoint = load(path)

    # Fresh objects, as a new process would make them: model, optimizer, scheduler, then the states.
    resumed = _build(twin, run)
    resumed[0].load_state_dict(checkpoint["model"])
    resumed[1].load_state_dict(checkpoint["optimizer"])
    resumed[2].load_state_dict(checkpoint["scheduler"])
    _train(twin, run, *resumed, steps=10)

    for (name, mine), (_, expected) in zip(resumed[0].named_parameters(), reference[0].named_parameters()):
        np.testing.assert_array_equal(mine.numpy(), expected.numpy(), err_msg=name)
    assert resumed[2].get_last_lr() == reference[2].get_last_lr()
    assert resumed[1].param_groups[1].keys() == reference[1].param_groups[1].keys()
    for param, expected_param in zip(resumed[0].parameters(), reference[0].parameters()):
        state, expected = resumed[1].state[param], reference[1].state[expected_param]
        assert state.keys() == expected.keys()
        for key in state:
            np.testing.assert_array_equal(state[key], expected[key], err_msg=key)
    assert not np.allclose(reference[0].out.weight.numpy(), twin.weights["out.weight"])  # it did train


def test_in_memory_state_dict_shares_arrays_until_copied(twin):
    model, optimizer, scheduler = _build(twin, "adam-step")
    _train(twin, "adam-step", model, optimizer, scheduler, steps=2)
    live, frozen = optimizer.state_dict(), copy.deepcopy(optimizer.state_dict())
    _train(twin, "adam-step", model, optimizer, scheduler, steps=1)
    assert live["state"][0]["step"] == 2 and frozen["state"][0]["step"] == 2
    assert not np.array_equal(live["state"][0]["exp_avg"], frozen["state"][0]["exp_avg"])  # PyTorch's aliasing
    fresh = _build(twin, "adam-step")[1]
    fresh.load_state_dict(frozen)
    assert fresh.state[next(iter(fresh.state))]["exp_avg"] is not frozen["state"][0]["exp_avg"]
