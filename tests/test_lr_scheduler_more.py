"""ConstantLR, PolynomialLR, CosineAnnealingWarmRestarts, ChainedScheduler: chainable forms
against closed forms, hand-derived sequences, resume from a state dict, bad input, and the
same lr sequences as PyTorch when it is installed."""

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.optim import lr_scheduler as L


def make_opt(lrs=(1.0,), momentum=0.0):
    groups = [{"params": [tg.Tensor(np.ones(2), requires_grad=True)], "lr": lr} for lr in lrs]
    return optim.SGD(groups, lr=lrs[0], momentum=momentum)


def lrs_of(sched, n, group=0):
    out = [sched.get_last_lr()[group]]
    for _ in range(n):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr()[group])
    return out


def sgdr(base, e, T_0, T_mult, eta_min):
    """The SGDR closed form, periods found by hand: T_0, T_0 T_mult, ..."""
    start, period = 0, T_0
    while e >= start + period:
        start, period = start + period, period * T_mult
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * (e - start) / period)) / 2


CLOSED = {
    "constant": (lambda o: L.ConstantLR(o, factor=0.25, total_iters=3),
                 lambda b, e: b * (0.25 if e < 3 else 1.0)),
    "polynomial": (lambda o: L.PolynomialLR(o, total_iters=6, power=2.0),
                   lambda b, e: b * (1 - min(e, 6) / 6) ** 2),
    "polynomial_linear": (lambda o: L.PolynomialLR(o, total_iters=4),
                          lambda b, e: b * (1 - min(e, 4) / 4)),
    "warm_restarts": (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.05),
                      lambda b, e: sgdr(b, e, 3, 2, 0.05)),
    "warm_restarts_mult1": (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=4),
                            lambda b, e: sgdr(b, e, 4, 1, 0.0)),
}


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_chainable_form_matches_closed_form_for_every_group(name):
    make, closed = CLOSED[name]
    opt = make_opt(lrs=(0.3, 2.0))
    sched = make(opt)
    for epoch in range(25):
        for base, lr in zip((0.3, 2.0), sched.get_last_lr()):
            assert lr == pytest.approx(closed(base, epoch), rel=1e-9, abs=1e-12), epoch
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
        opt.step()
        sched.step()
    for epoch in (0, 2, 3, 9, 21, 7):  # step(epoch): jump with the closed form, any order
        sched.step(epoch)
        assert sched.get_last_lr()[1] == pytest.approx(closed(2.0, epoch), rel=1e-9, abs=1e-12)


def test_hand_derived_sequences():
    approx = pytest.approx
    assert lrs_of(L.ConstantLR(make_opt((0.1,)), factor=0.5, total_iters=2), 4) == approx(
        [0.05, 0.05, 0.1, 0.1, 0.1])
    # factor 0 cannot be undone by dividing: the lr comes back from base_lr
    assert lrs_of(L.ConstantLR(make_opt(), factor=0.0, total_iters=2), 3) == [0, 0, 1, 1]
    assert lrs_of(L.PolynomialLR(make_opt(), total_iters=4, power=1.0), 5) == approx(
        [1, 0.75, 0.5, 0.25, 0, 0], abs=1e-12)
    # T_0 = 2, T_mult = 2: periods 2, 4; lr = (1 + cos(pi T_cur / T_i)) / 2
    assert lrs_of(L.CosineAnnealingWarmRestarts(make_opt(), T_0=2, T_mult=2), 6) == approx(
        [1, 0.5, 1, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 - math.cos(math.pi / 4)) / 2, 1],
        abs=1e-12)
    # warm-up x0.1 for 2 epochs chained with x0.9 per epoch: the factors multiply
    opt = make_opt()
    chain = L.ChainedScheduler([L.ConstantLR(opt, factor=0.1, total_iters=2),
                                L.ExponentialLR(opt, gamma=0.9)])
    assert lrs_of(chain, 4) == approx([0.1, 0.09, 0.81, 0.729, 0.6561])


def test_warm_restarts_fractional_epochs():
    """step(epoch + i / n) anneals within an epoch; an exact restart lands on T_cur = 0."""
    opt = make_opt()
    s = L.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=3, eta_min=0.1)
    for e in (0.5, 1.25, 2.0, 4.75, 8.0, 7.999, 26.0, 30.5):
        s.step(e)
        assert s.get_last_lr()[0] == pytest.approx(sgdr(1.0, e, 2, 3, 0.1), abs=1e-12), e
        assert s.last_epoch == math.floor(e)
    s.step(8.0)  # 2 + 6: the start of the third period (12 long)
    assert (s.T_cur, s.T_i) == (0.0, 18) and s.get_last_lr()[0] == pytest.approx(1.0)
    s.step()  # then plain steps continue from there
    assert s.get_last_lr()[0] == pytest.approx(sgdr(1.0, 9, 2, 3, 0.1))


RESUMABLE = [
    lambda o: L.ConstantLR(o, factor=0.5, total_iters=6),
    lambda o: L.PolynomialLR(o, total_iters=10, power=0.5),
    lambda o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01),
    lambda o: L.ChainedScheduler([L.ConstantLR(o, 0.5, 5), L.CosineAnnealingLR(o, 6)]),
]


@pytest.mark.parametrize("make", RESUMABLE, ids=["constant", "poly", "sgdr", "chained"])
def test_state_dict_resume_gives_identical_lrs(tmp_path, make):
    opt = make_opt(lrs=(0.5, 0.2), momentum=0.9)
    sched = make(opt)
    lrs_of(sched, 4)
    tg.save({"o": opt.state_dict(), "s": sched.state_dict()}, tmp_path / "s.npz")
    rest = lrs_of(sched, 9)[1:]
    ck = tg.load(tmp_path / "s.npz")
    opt2 = make_opt(lrs=(0.5, 0.2), momentum=0.9)
    sched2 = make(opt2)
    opt2.load_state_dict(ck["o"])
    sched2.load_state_dict(ck["s"])
    assert lrs_of(sched2, 9)[1:] == rest


@pytest.mark.parametrize("make,exc,msg", [
    (lambda o: L.ConstantLR(o, factor=1.5), ValueError, r"factor must be in \[0, 1\]"),
    (lambda o: L.ConstantLR(o, total_iters=-1), ValueError, "total_iters must be an int >= 0"),
    (lambda o: L.PolynomialLR(o, total_iters=0), ValueError, "total_iters must be a positive"),
    (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0 must be a positive"),
    (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5), ValueError, "T_mult"),
    (lambda o: L.CosineAnnealingWarmRestarts(o, 2).step(-1), ValueError, "epoch must be >= 0"),
    (lambda o: L.ChainedScheduler([]), ValueError, "at least one"),
    (lambda o: L.ChainedScheduler([L.StepLR(o, 2), L.StepLR(make_opt(), 2)]), ValueError,
     r"schedulers\[1\] \(StepLR\) belongs to another optimizer"),
    (lambda o: L.ChainedScheduler([L.ReduceLROnPlateau(o)]), ValueError, "needs a metric"),
    (lambda o: L.ChainedScheduler([L.StepLR(o, 2), "x"], o), TypeError, "not a scheduler"),
])
def test_bad_scheduler_arguments(make, exc, msg):
    with pytest.raises(exc, match=msg):
        make(make_opt())


# ---------------------------------------------------------------- parity with PyTorch

PAIRS = {
    "constant": lambda m, o: m.ConstantLR(o, factor=0.2, total_iters=4),
    "polynomial": lambda m, o: m.PolynomialLR(o, total_iters=7, power=1.7),
    "sgdr": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.02),
    "sgdr_mult1": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5),
    "chained": lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.5, total_iters=3),
                                                m.ExponentialLR(o, gamma=0.9),
                                                m.PolynomialLR(o, total_iters=20)]),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_same_lrs_as_torch(name):
    torch = pytest.importorskip("torch")
    lrs = (0.5, 0.03)
    topt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr}
                            for lr in lrs])
    theirs = PAIRS[name](torch.optim.lr_scheduler, topt)
    ours = PAIRS[name](L, make_opt(lrs))
    for _ in range(30):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12,
                                   atol=1e-15)
        topt.step()
        theirs.step()
        ours.optimizer.step()
        ours.step()


def test_warm_restarts_fractional_epochs_as_torch():
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, 2, 3, 0.1)
    ours = L.CosineAnnealingWarmRestarts(make_opt(), 2, 3, 0.1)
    for e in np.arange(0, 30, 0.35):  # away from exact restarts, where torch's log() can round
        theirs.step(float(e))
        ours.step(float(e))
        assert ours.get_last_lr()[0] == pytest.approx(theirs.get_last_lr()[0], abs=1e-12)
        assert ours.last_epoch == theirs.last_epoch
