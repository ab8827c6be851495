"""Learning-rate schedulers against PyTorch: the same rates (and momenta) at every step."""

import math

import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim import OptimizerError, lr_scheduler

torch = pytest.importorskip("torch")

LRS = (0.1, 0.03)  # two parameter groups with different rates


def _optimizers(name, **options):
    ours = getattr(optim, name)([{"params": [nn.Parameter(cr.zeros(2))], "lr": lr} for lr in LRS], **options)
    theirs = getattr(torch.optim, name)([{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in LRS],
                                        **options)
    return ours, theirs


def _momenta(optimizer):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in optimizer.param_groups]


def _assert_close(mine, reference, what):
    assert mine == pytest.approx(reference, rel=1e-12, abs=1e-15), what


SCHEDULES = {
    "step": ("SGD", {}, "StepLR", {"step_size": 3, "gamma": 0.5}, 20),
    "multistep": ("SGD", {}, "MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.3}, 14),
    "exponential": ("Adam", {}, "ExponentialLR", {"gamma": 0.9}, 20),
    "cosine": ("SGD", {}, "CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}, 45),
    "cosine-to-zero": ("SGD", {}, "CosineAnnealingLR", {"T_max": 7}, 30),
    "linear-warmup": ("SGD", {}, "LinearLR", {"start_factor": 0.25, "total_iters": 6}, 12),
    "linear-decay": ("Adam", {}, "LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 8}, 12),
    "onecycle-sgd": ("SGD", {"momentum": 0.9}, "OneCycleLR", {"max_lr": [0.5, 1.0], "total_steps": 40}, 40),
    "onecycle-adam-linear": ("Adam", {}, "OneCycleLR", {"max_lr": 0.01, "epochs": 4, "steps_per_epoch": 9,
                                                        "anneal_strategy": "linear", "pct_start": 0.25}, 36),
    "onecycle-three-phase": ("SGD", {"momentum": 0.9, "nesterov": True}, "OneCycleLR",
                             {"max_lr": 0.3, "total_steps": 50, "three_phase": True, "div_factor": 10.0,
                              "final_div_factor": 100.0, "base_momentum": 0.8, "max_momentum": [0.9, 0.99]}, 50),
    "onecycle-no-momentum": ("RMSprop", {}, "OneCycleLR", {"max_lr": 0.2, "total_steps": 15,
                                                           "cycle_momentum": False}, 15),
}


@pytest.mark.parametrize("case", sorted(SCHEDULES))
def test_schedule_matches_pytorch(case):
    name, options, scheduler_name, scheduler_options, steps = SCHEDULES[case]
    ours, theirs = _optimizers(name, **options)
    ours_scheduler = getattr(lr_scheduler, scheduler_name)(ours, **scheduler_options)
    theirs_scheduler = getattr(torch.optim.lr_scheduler, scheduler_name)(theirs, **scheduler_options)
    seen = set()
    for step in range(steps + 1):
        _assert_close(ours_scheduler.get_last_lr(), theirs_scheduler.get_last_lr(), f"lr at step {step} of {case}")
        _assert_close([g["lr"] for g in ours.param_groups], [g["lr"] for g in theirs.param_groups], "group lr")
        _assert_close(_momenta(ours), _momenta(theirs), f"momentum at step {step} of {case}")
        seen.add(tuple(ours_scheduler.get_last_lr()))
        if step < steps:
            ours.step()
            theirs.step()
            ours_scheduler.step()
            theirs_scheduler.step()
    assert len(seen) > 2  # the schedule did change the rate


METRICS = [1.0, 0.9, 0.9, 0.91, 0.95, 0.9, 0.89995, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.7, 0.71, 0.72, 0.7,
           0.7, 0.69999, 0.73, 0.74, 0.75, 0.76, 0.6, 0.61, 0.62, 0.63, 0.64, 0.65, 0.66]

PLATEAUS = {
    "min-rel": {"patience": 2},
    "min-abs-cooldown": {"patience": 1, "threshold": 0.01, "threshold_mode": "abs", "cooldown": 2, "factor": 0.5},
    "max-rel": {"mode": "max", "patience": 0, "factor": 0.7, "min_lr": [0.01, 0.02]},
    "max-abs-min-lr": {"mode": "max", "patience": 1, "threshold_mode": "abs", "min_lr": 0.02, "eps": 1e-3},
}


@pytest.mark.parametrize("case", sorted(PLATEAUS))
def test_reduce_on_plateau_matches_pytorch(case):
    ours, theirs = _optimizers("SGD", momentum=0.5)
    ours_scheduler = lr_scheduler.ReduceLROnPlateau(ours, **PLATEAUS[case])
    theirs_scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **PLATEAUS[case])
    rates = []
    for epoch, metric in enumerate(METRICS):
        ours_scheduler.step(metric)
        theirs_scheduler.step(metric)
        _assert_close(ours_scheduler.get_last_lr(), theirs_scheduler.get_last_lr(), f"epoch {epoch} of {case}")
        assert ours_scheduler.num_bad_epochs == theirs_scheduler.num_bad_epochs
        rates.append(ours_scheduler.get_last_lr()[0])
    assert len(set(rates)) > 1
    ours_scheduler.step(cr.tensor(0.5))  # a one-element tensor is a metric too


def test_schedulers_chain_like_pytorch():
    ours, theirs = _optimizers("SGD")
    ours_schedulers = [lr_scheduler.LinearLR(ours, start_factor=0.5, total_iters=4),
                       lr_scheduler.ExponentialLR(ours, gamma=0.9)]
    theirs_schedulers = [torch.optim.lr_scheduler.LinearLR(theirs, start_factor=0.5, total_iters=4),
                         torch.optim.lr_scheduler.ExponentialLR(theirs, gamma=0.9)]
    for _ in range(8):
        ours.step()
        theirs.step()
        for mine, reference in zip(ours_schedulers, theirs_schedulers):
            mine.step()
            reference.step()
        _assert_close([g["lr"] for g in ours.param_groups], [g["lr"] for g in theirs.param_groups], "chained")


def test_scheduler_state_dict_round_trip_continues_the_schedule():
    first, _ = _optimizers("SGD", momentum=0.9)
    scheduler = lr_scheduler.OneCycleLR(first, max_lr=1.0, total_steps=20)
    for _ in range(7):
        first.step()
        scheduler.step()
    saved_optimizer, saved_scheduler = first.state_dict(), scheduler.state_dict()
    assert "optimizer" not in saved_scheduler and saved_scheduler["last_epoch"] == 7
    second, _ = _optimizers("SGD", momentum=0.9)
    resumed = lr_scheduler.OneCycleLR(second, max_lr=1.0, total_steps=20)
    second.load_state_dict(saved_optimizer)
    resumed.load_state_dict(saved_scheduler)
    for _ in range(13):
        for opt, sched in ((first, scheduler), (second, resumed)):
            opt.step()
            sched.step()
        assert resumed.get_last_lr() == scheduler.get_last_lr() and _momenta(second) == _momenta(first)
    with pytest.raises(OptimizerError, match=r"^OneCycleLR: stepped past the end of the cycle"):
        resumed.step()


def test_multistep_state_survives_a_plain_dict():
    opt, _ = _optimizers("SGD")
    scheduler = lr_scheduler.MultiStepLR(opt, milestones=[1, 1])
    state = scheduler.state_dict()
    state["milestones"] = dict(state["milestones"])
    scheduler.load_state_dict(state)
    opt.step()
    scheduler.step()
    assert scheduler.get_last_lr()[0] == pytest.approx(LRS[0] * 0.01)


def test_resuming_with_last_epoch_needs_initial_lr():
    opt, _ = _optimizers("SGD")
    with pytest.raises(OptimizerError, match=r"^StepLR: param_groups\[0\] has no 'initial_lr' to resume from"):
        lr_scheduler.StepLR(opt, step_size=2, last_epoch=4)
    lr_scheduler.StepLR(opt, step_size=2)
    resumed = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5, last_epoch=4)
    assert resumed.last_epoch == 5


@pytest.mark.parametrize("make, message", [
    (lambda opt: lr_scheduler.StepLR(opt, step_size=0),
     "StepLR: invalid step_size; expected a positive int, got 0."),
    (lambda opt: lr_scheduler.StepLR([], step_size=1), "StepLR: needs an optimizer; expected a chainrule.optim."
                                                       "Optimizer, got list."),
    (lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=2.5), "CosineAnnealingLR: invalid T_max"),
    (lambda opt: lr_scheduler.LinearLR(opt, start_factor=0.0), "LinearLR: invalid start_factor"),
    (lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[1.5]), "MultiStepLR: invalid milestones"),
    (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=1.0), "OneCycleLR: the length of the cycle is not given"),
    (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=[1.0], total_steps=5),
     "OneCycleLR: one max_lr per parameter group is needed; expected 2 values, got 1."),
    (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5, anneal_strategy="step"),
     "OneCycleLR: unknown anneal_strategy"),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=1.0), "ReduceLROnPlateau: invalid factor"),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, mode="lowest"), "ReduceLROnPlateau: unknown mode"),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1]), "ReduceLROnPlateau: one min_lr per parameter"),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt).step("low"),
     "ReduceLROnPlateau: the metric must be a number"),
])
def test_bad_arguments_raise_errors_that_name_the_scheduler(make, message):
    opt, _ = _optimizers("SGD")
    with pytest.raises(OptimizerError) as info:
        make(opt)
    assert str(info.value).startswith(message)


def test_onecycle_momentum_needs_an_optimizer_with_momentum():
    opt = optim.Adagrad([nn.Parameter(cr.zeros(1))])
    with pytest.raises(OptimizerError, match="^OneCycleLR: cycle_momentum needs an optimizer with momentum"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    scheduler = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, cycle_momentum=False)
    assert math.isclose(scheduler.get_last_lr()[0], 1.0 / 25)
