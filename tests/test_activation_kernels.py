"""Activation kernels: the C kernels (csrc/activation.c) against the numpy reference at float32
and float64 on hypothesis shapes (empty, 0-d, non-contiguous, large enough for threads), the
reference against plain-Python math, the kink conventions, and bad input.

float32 C kernels use their own vectorizable exp/erfc/log1p approximations, so they agree with
the reference to a few ulp (GELU: ~1e-6 relative), not bit for bit; the tolerances say so.
Kinks: leaky_relu/elu at 0 and softplus at its threshold are tested at the point itself, and
otherwise kept out of the random samples (away_from) where finite differences are involved.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy as ref
from tinygrad_edu.ops import activation as act

HAVE_C = "c" in tg.backend.available()
if HAVE_C:
    from tinygrad_edu.backend import c as cb

# name, reference params
KERNELS = [("leaky_relu", (0.1,)), ("elu", (1.3,)), ("gelu", ()), ("gelu_tanh", ()),
           ("silu", ()), ("softplus", (1.0, 20.0)), ("softplus", (2.5, 3.0))]
IDS = [f"{n}{p}" for n, p in KERNELS]
TOL = {np.float32: {"rtol": 2e-6, "atol": 2e-7}, np.float64: {"rtol": 1e-13, "atol": 1e-15}}

SPECIAL = [0.0, -0.0, 1e-30, -1e-30, 1e-6, -1e-6, 0.5, -0.75, 1.2, -1.28, 3.0, -3.0, 8.0,
           -8.0, 10.0, -10.0, 19.9, 20.1, 40.0, -40.0, 88.0, -88.0, 200.0, -200.0, np.inf,
           -np.inf, np.nan]


def _values(dtype):
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9),
                      elements=st.floats(-30, 30, width=32 if dtype == np.float32 else 64))


def _close(got, want, dtype, scale):
    # relative tolerance, plus an absolute one scaled by the gradient (near the zero
    # crossings of f' a relative test would demand more than a float can hold)
    tol = TOL[dtype]
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    same = (got == want) | (np.isnan(got) & np.isnan(want))  # also equal infinities
    with np.errstate(invalid="ignore"):
        ok = same | (np.abs(got - want) <= tol["rtol"] * np.abs(want) + tol["atol"] * scale)
    assert ok.all(), f"{int((~ok).sum())} mismatches, first: got {got[~ok][:3]}, want {want[~ok][:3]}"


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, params", KERNELS, ids=IDS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_c_kernels_match_reference(name, params, dtype, data):
    x = data.draw(_values(dtype))
    g = data.draw(hnp.arrays(dtype, x.shape, elements=st.floats(-2, 2, width=32)))
    out = getattr(cb, name)(x, *params)
    assert out.dtype == dtype and out.shape == x.shape
    _close(out, getattr(ref, name)(x, *params), dtype, 1 + np.abs(x))
    back = getattr(cb, name + "_backward")(x, g, *params)
    assert back.dtype == dtype and back.shape == x.shape
    _close(back, getattr(ref, name + "_backward")(x, g, *params), dtype, np.abs(g))


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, params", KERNELS, ids=IDS)
def test_c_kernels_special_values_large_and_strided(name, params, dtype):
    rng = np.random.default_rng(0)
    special = np.array(SPECIAL, dtype=dtype)
    big = (rng.standard_normal(50_001) * 4).astype(dtype)  # above the threading threshold
    for x in (special, big, big.reshape(-1, 3)[:, ::2][::-1]):  # the last: a strided view
        g = rng.standard_normal(x.shape).astype(dtype)
        with np.errstate(all="ignore"):
            want_f = getattr(ref, name)(x, *params)
            want_b = getattr(ref, name + "_backward")(x, g, *params)
        _close(getattr(cb, name)(x, *params), want_f, dtype, 1 + np.abs(x))
        _close(getattr(cb, name + "_backward")(x, g, *params), want_b, dtype, np.abs(g))
    bx = np.broadcast_to(np.array(1.5, dtype), (4, 3))  # a read-only, zero-stride gradient
    _close(getattr(cb, name + "_backward")(bx, bx, *params),
           getattr(ref, name + "_backward")(bx, bx, *params), dtype, 1.5)


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
def test_c_wrappers_reject_bad_input():
    x = np.zeros(3, np.float32)
    with pytest.raises(TypeError, match="gelu_backward.*float32 and float64"):
        cb.gelu_backward(x, np.zeros(3))
    with pytest.raises(ValueError, match=r"silu_backward.*\(2,\).*\(3,\)"):
        cb.silu_backward(x, np.zeros(2, np.float32))


# ------------------------------------------------------------------------------- reference


def _phi(v):
    return 0.5 * math.erfc(-v / math.sqrt(2))


PY_MATH = {  # plain-Python float64 definitions (the textbook formulas, no stability tricks)
    "leaky_relu": lambda v: v if v > 0 else 0.1 * v,
    "elu": lambda v: v if v > 0 else 1.3 * math.expm1(v),
    "gelu": lambda v: v * _phi(v),
    "gelu_tanh": lambda v: 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3))),
    "silu": lambda v: v / (1 + math.exp(-v)),
    "softplus": lambda v: v if v > 20 else math.log1p(math.exp(v)),
}


@pytest.mark.parametrize("name", sorted(PY_MATH))
def test_reference_matches_textbook_formulas_and_their_derivatives(name):
    params = dict(KERNELS[::-1])[name]  # the first row's parameters (softplus: beta 1)
    x = np.linspace(-12, 12, 4801)  # step 0.005: hits 0 exactly, not 20 (softplus threshold)
    f = PY_MATH[name]
    want = np.array([f(v) for v in x])
    # atol: the textbook (1 + tanh) / 2 itself cancels to ~1e-16 absolute in the left tail
    _close(ref.__dict__[name](x, *params), want, np.float64, 1 + np.abs(x))
    h = 1e-6  # central differences of the textbook formula; the kink at 0 is skipped
    num = np.array([(f(v + h) - f(v - h)) / (2 * h) for v in x])
    keep = np.abs(x) > 1e-3
    got = ref.__dict__[name + "_backward"](x, np.ones_like(x), *params)
    np.testing.assert_allclose(got[keep], num[keep], rtol=1e-6, atol=1e-8)


def test_reference_is_accurate_in_the_far_tails():
    # (1 + erf) / 2 and (1 + tanh) / 2 would round to 0 here; the reference keeps ~14 digits
    np.testing.assert_allclose(ref.gelu(np.array([-10.0])), [-10 * _phi(-10.0)], rtol=1e-13)
    np.testing.assert_allclose(ref.silu(np.array([-50.0])), [-50 / (1 + math.exp(50))],
                               rtol=1e-13)


# ------------------------------------------------------------------------------- conventions


def test_kinks_use_the_left_derivative(each_backend):
    x = tg.Tensor(np.array([0.0, -0.0]), requires_grad=True)
    act.leaky_relu(x, 0.2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.2, 0.2])
    x.grad = None
    act.elu(x, 1.5).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.5, 1.5])
    y = tg.Tensor(np.array([1.5, 1.5000001]), requires_grad=True)  # beta * x = 3 = threshold
    act.softplus(y, beta=2.0, threshold=3.0).sum().backward()
    assert y.grad.data[1] == 1.0 and abs(y.grad.data[0] - 1 / (1 + math.exp(-3))) < 1e-12


def test_activation_values_at_known_points(each_backend):
    x = tg.tensor([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(act.gelu(x).data, [-0.15865525, 0.0, 0.84134475], rtol=1e-6)
    np.testing.assert_allclose(act.gelu(x, "tanh").data, [-0.15880801, 0.0, 0.84119199],
                               rtol=1e-6)
    np.testing.assert_allclose(act.silu(x).data, [-0.26894142, 0.0, 0.73105858], rtol=1e-6)
    np.testing.assert_allclose(act.softplus(x).data, [0.31326169, 0.69314718, 1.31326169],
                               rtol=1e-6)
    np.testing.assert_allclose(act.elu(x).data, [math.expm1(-1), 0.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(act.leaky_relu(x).data, [-0.01, 0.0, 1.0], rtol=1e-6)
    assert act.gelu(x).dtype == np.float32


def test_activation_bad_input():
    with pytest.raises(TypeError, match="gelu: expects a float tensor.*int64"):
        act.gelu(tg.tensor([1, 2]))
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        act.gelu(tg.zeros(2), approximate="fast")
    with pytest.raises(ValueError, match="beta must be positive"):
        act.softplus(tg.zeros(2), beta=0.0)
