"""Losses: values against numpy references, gradients against finite differences (float64),
stability at the edges, and the errors for bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F
from tinygrad_edu.testing import arrays


def _t(a, grad=False):
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _reduce(x, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](x)


REDUCTIONS = ["mean", "sum", "none"]


def _np_huber(d, delta):
    a = np.abs(d)
    return np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


def _np_bce(p, y):
    with np.errstate(divide="ignore"):
        return -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log(1 - p), -100))


def _np_bce_logits(x, y, pw=1.0):
    s = 1 / (1 + np.exp(-x))
    return -(pw * y * np.log(s) + (1 - y) * np.log(1 - s))


# ---------------------------------------------------------------------------- values

pair = st.integers(1, 4).flatmap(lambda n: st.tuples(
    arrays((n, 3), low=-3, high=3), arrays((n, 3), low=-3, high=3)))


@settings(max_examples=20)
@given(xy=pair, reduction=st.sampled_from(REDUCTIONS))
def test_regression_loss_values(xy, reduction):
    x, y = xy
    d = x - y
    cases = [
        (F.mse_loss, {}, d * d),
        (F.l1_loss, {}, np.abs(d)),
        (F.huber_loss, {"delta": 1.0}, _np_huber(d, 1.0)),
        (F.huber_loss, {"delta": 0.3}, _np_huber(d, 0.3)),
        (F.smooth_l1_loss, {"beta": 0.5}, _np_huber(d, 0.5) / 0.5),
        (F.smooth_l1_loss, {"beta": 0.0}, np.abs(d)),
    ]
    for fn, kw, ref in cases:
        out = fn(_t(x), _t(y), reduction=reduction, **kw)
        np.testing.assert_allclose(out.data, _reduce(ref, reduction), rtol=1e-12, atol=1e-12)


@settings(max_examples=20)
@given(p=arrays((4, 2), low=0.01, high=0.99), y=arrays((4, 2), low=0.0, high=1.0),
       reduction=st.sampled_from(REDUCTIONS))
def test_binary_cross_entropy_values(p, y, reduction):
    np.testing.assert_allclose(F.binary_cross_entropy(_t(p), _t(y), reduction=reduction).data,
                               _reduce(_np_bce(p, y), reduction), rtol=1e-10)
    x = np.log(p / (1 - p))  # logits of the same probabilities
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(_t(x), _t(y), reduction=reduction).data,
        _reduce(_np_bce_logits(x, y), reduction), rtol=1e-8)
    pw = np.array([2.0, 0.5])
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(_t(x), _t(y), reduction=reduction,
                                           pos_weight=_t(pw)).data,
        _reduce(_np_bce_logits(x, y, pw), reduction), rtol=1e-8)
    w = np.array([[1.0], [2.0], [0.0], [0.5]])
    np.testing.assert_allclose(F.binary_cross_entropy(_t(p), _t(y), weight=_t(w)).data,
                               np.mean(_np_bce(p, y) * w), rtol=1e-10)


def test_bce_is_finite_at_the_edges_like_pytorch():
    p = _t([0.0, 1.0, 0.0, 1.0], grad=True)
    y = _t([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 100.0, 100.0])  # logs clamped at -100
    loss.sum().backward()
    assert np.isfinite(p.grad.data).all()


def test_bce_with_logits_is_stable_for_huge_logits_and_right_at_zero():
    x = _t([1e4, -1e4, 1e4, -1e4, 0.0], grad=True)
    y = _t([1.0, 0.0, 0.0, 1.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 1e4, 1e4, np.log(2)], rtol=1e-12)
    loss.sum().backward()
    # d/dx = sigmoid(x) - y; at x = 0 that is -0.5 (a relu/abs composition would give -1 there)
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0, 1.0, -1.0, -0.5], atol=1e-12)


# ---------------------------------------------------------------------------- gradients


def _gradcheck_both(fn, x, y, **kw):
    """Gradient with respect to input and target."""
    assert tg.gradcheck(lambda a, b: fn(a, b, **kw), [_t(x, True), _t(y, True)])


@settings(max_examples=15)
@given(xy=pair, reduction=st.sampled_from(REDUCTIONS))
def test_regression_loss_gradients(xy, reduction):
    x, y = xy
    # keep |x - y| away from 0 (the L1 kink) and from delta/beta (where Huber switches branch:
    # smooth, but its second derivative jumps, which costs finite differences accuracy)
    d = np.abs(x - y)
    x = np.where(d < 0.05, x + 0.1, x)
    d = np.abs(x - y)
    x = np.where(np.abs(d - 0.7) < 0.05, x + 0.15 * np.sign(x - y), x)
    _gradcheck_both(F.mse_loss, x, y, reduction=reduction)
    _gradcheck_both(F.l1_loss, x, y, reduction=reduction)
    _gradcheck_both(F.huber_loss, x, y, reduction=reduction, delta=0.7)
    _gradcheck_both(F.smooth_l1_loss, x, y, reduction=reduction, beta=0.7)


@settings(max_examples=15)
@given(p=arrays((3, 2), low=0.05, high=0.95), y=arrays((3, 2), low=0.0, high=1.0),
       x=arrays((3, 2), low=-4, high=4), reduction=st.sampled_from(REDUCTIONS))
def test_binary_cross_entropy_gradients(p, y, x, reduction):
    _gradcheck_both(F.binary_cross_entropy, p, y, reduction=reduction)
    _gradcheck_both(F.binary_cross_entropy, p, y, reduction=reduction, weight=_t([0.5, 2.0]))
    _gradcheck_both(F.binary_cross_entropy_with_logits, x, y, reduction=reduction)
    _gradcheck_both(F.binary_cross_entropy_with_logits, x, y, reduction=reduction,
                    pos_weight=_t([3.0, 0.25]))


def test_bce_with_logits_second_derivative():
    # d2L/dx2 = s (1 - s) (1 + (pw - 1) y): check it through create_graph
    x = _t([-1.0, 0.5, 2.0], grad=True)
    y = _t([0.0, 1.0, 0.3])
    pw = np.array([1.5, 1.5, 1.5])

    def first(a):
        with tg.enable_grad():  # gradcheck's finite differences run under no_grad
            loss = F.binary_cross_entropy_with_logits(a, y, reduction="sum", pos_weight=_t(pw))
            (g,) = tg.autograd.grad(loss, a, create_graph=True)
        return g

    assert tg.gradcheck(first, [x])


def test_penalties():
    w1 = _t([[1.0, -2.0], [3.0, -4.0]], grad=True)
    w2 = _t([0.5, -0.5], grad=True)
    assert F.l1_penalty([w1, w2]).item() == pytest.approx(11.0)
    l2 = F.l2_penalty([w1, w2])
    assert l2.item() == pytest.approx(30.5)
    l2.backward()
    np.testing.assert_allclose(w1.grad.data, 2 * w1.data)
    lin = nn.Linear(3, 2)
    expected = sum(np.abs(p.data).sum() for p in lin.parameters())
    assert nn.l1_penalty(lin).item() == pytest.approx(expected, rel=1e-6)
    assert F.l2_penalty([]).item() == 0.0


# ---------------------------------------------------------------------------- modules


def test_loss_modules_match_functions():
    tg.manual_seed(0)
    x, y = tg.randn(4, 3), tg.rand(4, 3)
    assert nn.MSELoss()(x, y).item() == pytest.approx(F.mse_loss(x, y).item())
    assert nn.L1Loss(reduction="sum")(x, y).item() == pytest.approx(
        F.l1_loss(x, y, reduction="sum").item())
    assert nn.HuberLoss(delta=0.5)(x, y).item() == pytest.approx(
        F.huber_loss(x, y, delta=0.5).item())
    assert nn.SmoothL1Loss(beta=2.0)(x, y).item() == pytest.approx(
        F.smooth_l1_loss(x, y, beta=2.0).item())
    assert nn.BCELoss()(x.sigmoid(), y).item() == pytest.approx(
        F.binary_cross_entropy(x.sigmoid(), y).item())
    crit = nn.BCEWithLogitsLoss(pos_weight=tg.tensor([1.0, 2.0, 3.0]))
    assert crit(x, y).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(x, y, pos_weight=tg.tensor([1.0, 2.0, 3.0])).item())
    assert "pos_weight" in crit.state_dict()
    assert nn.MSELoss(reduction="none")(x, y).shape == (4, 3)


# ---------------------------------------------------------------------------- bad input


def test_shape_mismatch_is_an_error_with_a_hint():
    pred, target = tg.zeros(5, 1), tg.zeros(5)
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(5, 1\) and target shape "
                                         r"\(5,\) differ.*squeeze"):
        F.mse_loss(pred, target)
    with pytest.raises(ValueError, match=r"target.squeeze\(-1\)"):
        nn.L1Loss()(target, pred)
    for fn in (F.huber_loss, F.smooth_l1_loss, F.binary_cross_entropy,
               F.binary_cross_entropy_with_logits):
        with pytest.raises(ValueError, match=fn.__name__):
            fn(tg.zeros(2, 3), tg.zeros(3, 2))


def test_bad_arguments():
    x = tg.zeros(2)
    with pytest.raises(ValueError, match="reduction must be"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss(reduction="elementwise")
    with pytest.raises(ValueError, match="delta must be positive"):
        nn.HuberLoss(delta=0)
    with pytest.raises(ValueError, match="beta must be non-negative"):
        F.smooth_l1_loss(x, x, beta=-1)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*sigmoid"):
        F.binary_cross_entropy(tg.tensor([0.5, 1.5]), tg.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(tg.tensor([0.5, float("nan")]), tg.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="pos_weight of shape"):
        F.binary_cross_entropy_with_logits(tg.zeros(2, 3), tg.zeros(2, 3),
                                           pos_weight=tg.ones(2))
    with pytest.raises(ValueError, match="weight of shape"):
        F.binary_cross_entropy(tg.zeros(2, 3), tg.zeros(2, 3), weight=tg.ones(2))


# ---------------------------------------------------------------------------- CE / NLL modules


def _np_log_softmax(x, axis=1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def test_cross_entropy_and_nll_modules_against_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 4)) * 2
    t = np.array([0, 3, 3, 1, 2])
    lp = _np_log_softmax(x)
    picked = -lp[np.arange(5), t]
    assert nn.CrossEntropyLoss()(_t(x), tg.tensor(t)).item() == pytest.approx(picked.mean())
    assert nn.NLLLoss(reduction="sum")(_t(lp), tg.tensor(t)).item() == pytest.approx(picked.sum())
    # class weights: the mean divides by the total weight of the targets (PyTorch's rule)
    w = np.array([1.0, 2.0, 0.5, 3.0])
    crit = nn.CrossEntropyLoss(weight=tg.tensor(w))
    assert crit(_t(x), tg.tensor(t)).item() == pytest.approx((w[t] * picked).sum() / w[t].sum())
    assert "weight" in crit.state_dict()
    # ignore_index: those rows count for nothing
    t2 = np.array([0, -100, 3, -100, 2])
    keep = t2 != -100
    assert nn.CrossEntropyLoss()(_t(x), tg.tensor(t2)).item() == pytest.approx(
        -lp[np.arange(5)[keep], t2[keep]].mean())
    # label smoothing: the target is (1 - eps) one_hot + eps / C
    eps = 0.1
    y = np.eye(4)[t] * (1 - eps) + eps / 4
    assert nn.CrossEntropyLoss(label_smoothing=eps)(_t(x), tg.tensor(t)).item() == \
        pytest.approx(-(y * lp).sum(1).mean())
    # probabilities as the target
    probs = np.exp(_np_log_softmax(rng.normal(size=(5, 4))))
    assert F.cross_entropy(_t(x), _t(probs)).item() == pytest.approx(-(probs * lp).sum(1).mean())
    xt = _t(x, True)
    assert tg.gradcheck(lambda a: nn.CrossEntropyLoss(weight=tg.tensor(w), label_smoothing=0.2)(
        a, tg.tensor(t)), [xt])
    assert tg.gradcheck(lambda a: nn.NLLLoss()(a, tg.tensor(t)), [_t(lp, True)])


def test_cross_entropy_bad_labels():
    x = tg.zeros(3, 4)
    with pytest.raises((ValueError, IndexError), match="4"):
        nn.CrossEntropyLoss()(x, tg.tensor([0, 4, 1]))  # class 4 of 4 is out of range
    with pytest.raises(TypeError):
        nn.CrossEntropyLoss()(x, tg.tensor([0.0, 1.0, 2.0]))  # float labels of the wrong shape
    with pytest.raises(ValueError, match="reduction must be"):
        F.cross_entropy(x, tg.tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
