"""LR schedules: chainable forms against closed forms, sequences derived by hand from the docs,
per-group lrs, momentum cycling, state-dict resume, bad input."""

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.optim import lr_scheduler as L


def make_opt(lrs=(1.0,), cls=optim.SGD, **kw):
    groups = [{"params": [tg.Tensor(np.ones(2), requires_grad=True)], "lr": lr} for lr in lrs]
    return cls(groups, lr=lrs[0], **kw)


def lrs_of(sched, n):
    """get_last_lr() after construction and after each of n steps (group 0)."""
    out = [sched.get_last_lr()[0]]
    for _ in range(n):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


# ---------------------------------------------------------------- closed forms


CLOSED = [
    (lambda o: L.StepLR(o, step_size=3, gamma=0.5), lambda b, e: b * 0.5 ** (e // 3)),
    (lambda o: L.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.1),
     lambda b, e: b * 0.1 ** sum(m <= e for m in [2, 5, 5, 9])),
    (lambda o: L.ExponentialLR(o, gamma=0.9), lambda b, e: b * 0.9 ** e),
    (lambda o: L.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
     lambda b, e: 0.01 + (b - 0.01) * (1 + math.cos(math.pi * e / 7)) / 2),
    (lambda o: L.LinearLR(o, start_factor=0.25, end_factor=0.75, total_iters=6),
     lambda b, e: b * (0.25 + 0.5 * min(e, 6) / 6)),
    (lambda o: L.LambdaLR(o, lambda e: 1 / (1 + e)), lambda b, e: b / (1 + e)),
]


@pytest.mark.parametrize("make,closed", CLOSED, ids=["step", "multistep", "exponential", "cosine",
                                                     "linear", "lambda"])
def test_chainable_form_matches_closed_form_for_every_group(make, closed):
    opt = make_opt(lrs=(0.3, 2.0))
    sched = make(opt)
    for epoch in range(25):  # cosine: past T_max and back up again
        for base, lr in zip((0.3, 2.0), sched.get_last_lr()):
            assert lr == pytest.approx(closed(base, epoch), rel=1e-9, abs=1e-12)
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
        opt.step()
        sched.step()


def test_step_with_epoch_uses_the_closed_form():
    sched = L.StepLR(make_opt(), step_size=2, gamma=0.1)
    sched.step(5)
    assert sched.get_last_lr()[0] == pytest.approx(0.01)


# ---------------------------------------------------------------- sequences by hand


def test_hand_derived_sequences():
    approx = pytest.approx
    assert lrs_of(L.StepLR(make_opt(), step_size=2, gamma=0.1), 5) == approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01])
    assert lrs_of(L.LinearLR(make_opt((0.1,)), start_factor=0.5, total_iters=4), 5) == approx(
        [0.05, 0.0625, 0.075, 0.0875, 0.1, 0.1])
    assert lrs_of(L.CosineAnnealingLR(make_opt(), T_max=2), 4) == approx(
        [1, 0.5, 0, 0.5, 1], abs=1e-12)
    # warm-up 0.1 -> 1 over 2 epochs, then x0.9 per epoch, restarting at the milestone
    opt = make_opt()
    seq = L.SequentialLR(opt, [L.LinearLR(opt, start_factor=0.1, total_iters=2),
                               L.ExponentialLR(opt, gamma=0.9)], milestones=[2])
    assert lrs_of(seq, 4) == approx([0.1, 0.55, 1.0, 0.9, 0.81])


def test_cyclic_lr_modes():
    approx = pytest.approx
    tri = L.CyclicLR(make_opt(), 0.1, 1.0, step_size_up=2, cycle_momentum=False)
    assert lrs_of(tri, 8) == approx([0.1, 0.55, 1, 0.55, 0.1, 0.55, 1, 0.55, 0.1])
    tri2 = L.CyclicLR(make_opt(), 0.1, 1.0, step_size_up=2, mode="triangular2",
                      cycle_momentum=False)
    assert lrs_of(tri2, 8) == approx([0.1, 0.55, 1, 0.55, 0.1, 0.325, 0.55, 0.325, 0.1])
    exp = L.CyclicLR(make_opt(), 0.1, 1.0, step_size_up=1, step_size_down=3, mode="exp_range",
                     gamma=0.5, cycle_momentum=False)
    ramp = [0, 1, 2 / 3, 1 / 3, 0, 1]
    assert lrs_of(exp, 5) == approx([0.1 + 0.9 * r * 0.5 ** i for i, r in enumerate(ramp)])


def test_cyclic_lr_cycles_momentum_and_beta1():
    opt = make_opt(momentum=0.5)
    sgd_sched = L.CyclicLR(opt, 0.1, 1.0, step_size_up=2, base_momentum=0.8, max_momentum=0.9)
    assert opt.param_groups[0]["momentum"] == 0.9  # set to max_momentum at the start
    sgd_sched.step()
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.85)
    sched_m = []
    adam = make_opt(cls=optim.Adam)
    sched = L.CyclicLR(adam, 0.1, 1.0, step_size_up=2, base_momentum=0.8, max_momentum=0.9)
    for _ in range(3):
        sched_m.append(adam.param_groups[0]["betas"][0])
        sched.step()
    assert sched_m == pytest.approx([0.9, 0.85, 0.8])
    assert adam.param_groups[0]["betas"][1] == 0.999


def test_one_cycle_lr_by_hand():
    opt = make_opt(momentum=0.9)
    sched = L.OneCycleLR(opt, max_lr=1.0, total_steps=10)  # pct_start 0.3: peak at step 2
    lrs, moms = [], []
    for _ in range(10):
        lrs.append(sched.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    lo, floor = 1.0 / 25, 1.0 / 25 / 1e4
    cos_down = [floor + (1 - floor) / 2 * (1 + math.cos(math.pi * (k - 2) / 7))
                for k in range(2, 10)]
    assert lrs == pytest.approx([lo, (lo + 1) / 2, *cos_down])
    assert moms[:3] == pytest.approx([0.95, 0.9, 0.85]) and moms[-1] == pytest.approx(0.95)
    with pytest.raises(ValueError, match="total_steps=10"):
        sched.step()


def test_one_cycle_three_phase_linear():
    opt = make_opt(cls=optim.Adam)
    sched = L.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.25, div_factor=10,
                         final_div_factor=10, anneal_strategy="linear", three_phase=True)
    # phases end at steps 1.5, 3 and 9: up 0.1 -> 1, down 1 -> 0.1, then 0.1 -> 0.01
    want = [0.1, 0.1 + 0.9 / 1.5, 1 - 0.9 * 0.5 / 1.5, 0.1] + [
        0.1 - 0.09 * k / 6 for k in range(1, 7)]
    assert lrs_of(sched, 9) == pytest.approx(want)
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.95)


def test_reduce_on_plateau():
    opt = make_opt(lrs=(1.0, 0.05))
    sched = L.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=[0.0, 0.04])
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85]
    # bad epochs: .95(1) .95(2 > patience: halve, cooldown 1) .95(cooldown) .95(1) .95(2: halve)
    want = [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    got = []
    for m in metrics:
        sched.step(tg.tensor(m))
        got.append(sched.get_last_lr()[0])
    assert got == pytest.approx(want)
    assert sched.get_last_lr()[1] == pytest.approx(0.04)  # floored at min_lr
    mx = L.ReduceLROnPlateau(make_opt(), mode="max", threshold_mode="abs", threshold=0.1,
                             patience=0)
    for m in [1.0, 1.05, 1.2]:  # +0.05 is not an improvement of more than 0.1
        mx.step(m)
    assert mx.get_last_lr()[0] == pytest.approx(0.1)


# ---------------------------------------------------------------- resume from a state dict


RESUMABLE = [
    lambda o: L.StepLR(o, 3, 0.5),
    lambda o: L.MultiStepLR(o, [2, 4], 0.5),
    lambda o: L.CosineAnnealingLR(o, 5, 0.01),
    lambda o: L.LinearLR(o, 0.2, 1.0, 4),
    lambda o: L.CyclicLR(o, 0.1, 1.0, 2, mode="triangular2"),
    lambda o: L.OneCycleLR(o, 1.0, total_steps=20, three_phase=True),
    lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=3),
                                 L.CosineAnnealingLR(o, 6)], [3]),
    lambda o: L.LambdaLR(o, lambda e: 0.9 ** e),
]


@pytest.mark.parametrize("make", RESUMABLE)
def test_state_dict_resume_gives_identical_lrs(tmp_path, make):
    opt = make_opt(lrs=(0.5, 0.2), momentum=0.9)
    sched = make(opt)
    lrs_of(sched, 4)
    tg.save({"o": opt.state_dict(), "s": sched.state_dict()}, tmp_path / "s.npz")
    rest = lrs_of(sched, 8)[1:]
    ck = tg.load(tmp_path / "s.npz")
    opt2 = make_opt(lrs=(0.5, 0.2), momentum=0.9)
    sched2 = make(opt2)
    opt2.load_state_dict(ck["o"])
    sched2.load_state_dict(ck["s"])
    assert lrs_of(sched2, 8)[1:] == rest


def test_reduce_on_plateau_state_round_trip(tmp_path):
    opt = make_opt()
    s = L.ReduceLROnPlateau(opt, patience=1)
    for m in (1.0, 2.0):
        s.step(m)
    tg.save(s.state_dict(), tmp_path / "r.npz")
    s2 = L.ReduceLROnPlateau(make_opt(), patience=1)
    s2.load_state_dict(tg.load(tmp_path / "r.npz"))
    assert (s2.best, s2.num_bad_epochs) == (1.0, 1)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("make,exc,msg", [
    (lambda o: L.StepLR(o, step_size=0), ValueError, "step_size must be a positive int"),
    (lambda o: L.LinearLR(o, start_factor=0), ValueError, r"start_factor must be in \(0, 1\]"),
    (lambda o: L.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: L.OneCycleLR(o, 1.0), ValueError, "total_steps, or epochs"),
    (lambda o: L.OneCycleLR(o, 1.0, total_steps=10, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: L.OneCycleLR(o, [1.0, 2.0], total_steps=10), ValueError, "expected 1 values"),
    (lambda o: L.CyclicLR(o, 0.1, 1.0, mode="sawtooth"), ValueError, "mode must be"),
    (lambda o: L.ReduceLROnPlateau(o, factor=1.0), ValueError, r"factor must be in \[0, 1\)"),
    (lambda o: L.ReduceLROnPlateau(o, mode="best"), ValueError, "mode must be"),
    (lambda o: L.LambdaLR(o, 3), TypeError, "callable"),
    (lambda o: L.StepLR("sgd", 2), TypeError, "not an Optimizer"),
    (lambda o: L.StepLR(o, 2, last_epoch=3), KeyError, "initial_lr"),
    (lambda o: L.SequentialLR(o, [L.StepLR(o, 2)], milestones=[3]), ValueError, "milestones"),
])
def test_bad_scheduler_arguments(make, exc, msg):
    with pytest.raises(exc, match=msg):
        make(make_opt())


def test_cycle_momentum_needs_momentum_or_betas():
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        L.CyclicLR(make_opt(cls=optim.Adagrad), 0.1, 1.0)


def test_load_state_dict_rejects_a_foreign_state():
    sched = L.StepLR(make_opt(), 2)
    with pytest.raises(ValueError, match="unknown keys"):
        sched.load_state_dict({"T_max": 3})
    with pytest.raises(ValueError, match="base_lrs has 2 entries"):
        sched.load_state_dict({"base_lrs": [1.0, 2.0]})
