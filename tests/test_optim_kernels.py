"""The fused C optimizer steps (csrc/optim.c) against the numpy reference (backend/numpy.py).

Both update their arrays in place; we run each on its own copies of the same inputs and
compare every array afterwards. Sizes include 0, odd sizes (vector tails) and sizes above the
OpenMP threshold (32768 elements), where the work is split between threads.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu.backend import numpy as ref

c = pytest.importorskip("tinygrad_edu.backend.c")

DTYPES = [np.float32, np.float64]
# sizes: empty, tiny, odd vector tails, and across the parallel threshold
SIZES = st.one_of(st.integers(0, 40), st.sampled_from([63, 257, 1001, 32767, 32768, 70001]))
TOL = {np.float32: dict(rtol=1e-6, atol=1e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}


def _inputs(n, dtype, seed, positive_states=()):
    """param, grad and state arrays; states named in positive_states are >= 0 (squares)."""
    r = np.random.default_rng(seed)
    p = r.standard_normal(n).astype(dtype)
    g = r.standard_normal(n).astype(dtype)
    states = [np.abs(r.standard_normal(n)).astype(dtype) if i in positive_states
              else r.standard_normal(n).astype(dtype) for i in range(3)]
    return p, g, states


def _run_both(kernel, p, g, states, *args):
    outs = []
    for module in (c, ref):
        pp, ss = p.copy(), [None if s is None else s.copy() for s in states]
        getattr(module, kernel)(pp, g, *ss, *args)
        outs.append([pp] + [s for s in ss if s is not None])
    return outs


def _assert_same(outs, dtype):
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, **TOL[dtype])


@settings(deadline=None)
@given(n=SIZES, seed=st.integers(0, 2**16), dtype=st.sampled_from(DTYPES),
       momentum=st.sampled_from([0.0, 0.9]), dampening=st.sampled_from([0.0, 0.3]),
       nesterov=st.booleans(), wd=st.sampled_from([0.0, 0.01]), maximize=st.booleans(),
       first=st.booleans())
def test_sgd_kernel_matches_reference(n, seed, dtype, momentum, dampening, nesterov, wd,
                                      maximize, first):
    p, g, (buf, _, _) = _inputs(n, dtype, seed)
    buf = buf if momentum else None
    outs = _run_both("sgd_step", p, g, [buf], 0.05, momentum, dampening, nesterov, wd,
                     maximize, first)
    _assert_same(outs, dtype)
    if n:
        assert not np.array_equal(outs[0][0], p)  # the parameter did move


@settings(deadline=None)
@given(n=SIZES, seed=st.integers(0, 2**16), dtype=st.sampled_from(DTYPES),
       step=st.integers(1, 50), lr_decay=st.sampled_from([0.0, 0.1]),
       wd=st.sampled_from([0.0, 0.01]), maximize=st.booleans())
def test_adagrad_kernel_matches_reference(n, seed, dtype, step, lr_decay, wd, maximize):
    p, g, (s, _, _) = _inputs(n, dtype, seed, positive_states=(0,))
    outs = _run_both("adagrad_step", p, g, [s], step, 0.1, lr_decay, wd, 1e-10, maximize)
    _assert_same(outs, dtype)


@settings(deadline=None)
@given(n=SIZES, seed=st.integers(0, 2**16), dtype=st.sampled_from(DTYPES),
       alpha=st.sampled_from([0.9, 0.99]), wd=st.sampled_from([0.0, 0.01]),
       momentum=st.sampled_from([0.0, 0.5]), centered=st.booleans(), maximize=st.booleans())
def test_rmsprop_kernel_matches_reference(n, seed, dtype, alpha, wd, momentum, centered,
                                          maximize):
    p, g, (sq, ga, buf) = _inputs(n, dtype, seed, positive_states=(0,))
    # NOTE: keep sq - ga^2 well above 0 (it is a variance); at 0 the sqrt sits on its kink.
    sq = (sq + 1.0).astype(dtype)
    ga = (0.5 * np.tanh(ga)).astype(dtype)
    states = [sq, ga if centered else None, buf if momentum else None]
    outs = _run_both("rmsprop_step", p, g, states, 0.01, alpha, 1e-8, wd, momentum, centered,
                     maximize)
    _assert_same(outs, dtype)


@settings(deadline=None)
@given(n=SIZES, seed=st.integers(0, 2**16), dtype=st.sampled_from(DTYPES),
       step=st.integers(1, 20), wd=st.sampled_from([0.0, 0.01]), amsgrad=st.booleans(),
       maximize=st.booleans(), decoupled=st.booleans())
def test_adam_kernel_matches_reference(n, seed, dtype, step, wd, amsgrad, maximize, decoupled):
    p, g, (m, v, vmax) = _inputs(n, dtype, seed, positive_states=(1, 2))
    states = [m, v, vmax if amsgrad else None]
    outs = _run_both("adam_step", p, g, states, step, 1e-3, 0.9, 0.999, 1e-8, wd, amsgrad,
                     maximize, decoupled)
    _assert_same(outs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernels_bit_identical_across_thread_counts(dtype):
    """Elementwise kernels: the split between threads must not change a single bit."""
    n = 100_003  # above the parallel threshold, odd
    results = []
    before = c.get_num_threads()
    try:
        for threads in (1, 2):
            c.set_num_threads(threads)
            p, g, (m, v, vmax) = _inputs(n, dtype, 7, positive_states=(1, 2))
            c.adam_step(p, g, m, v, vmax, 3, 1e-3, 0.9, 0.999, 1e-8, 0.01, True, False, True)
            q, g2, (buf, _, _) = _inputs(n, dtype, 8)
            c.sgd_step(q, g2, buf, 0.1, 0.9, 0.0, True, 1e-4, False, False)
            results.append((p, m, v, vmax, q, buf))
    finally:
        c.set_num_threads(before)
    for a, b in zip(*results):
        assert np.array_equal(a, b)


def test_non_contiguous_grad_is_accepted():
    r = np.random.default_rng(1)
    p = r.standard_normal(10).astype(np.float32)
    g_full = r.standard_normal(20).astype(np.float32)
    for module in (c, ref):
        a, b = p.copy(), p.copy()
        module.sgd_step(a, g_full[::2], None, 0.1, 0.0, 0.0, False, 0.0, False, False)
        module.sgd_step(b, g_full[::2].copy(), None, 0.1, 0.0, 0.0, False, 0.0, False, False)
        np.testing.assert_array_equal(a, b)


def test_gradient_aliasing_the_parameter():
    for module in (c, ref):
        p = np.arange(5.0)
        module.sgd_step(p, p, None, 0.5, 0.0, 0.0, False, 0.0, False, False)
        np.testing.assert_array_equal(p, np.arange(5.0) * 0.5)


@pytest.mark.parametrize("module", [c, ref], ids=["c", "numpy"])
def test_bad_arrays_raise_the_same_errors(module):
    p = np.zeros((4, 3), np.float32)
    g = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="not contiguous"):
        module.sgd_step(np.zeros((3, 4), np.float32).T, g, None, 0.1, 0, 0, False, 0, False,
                        False)
    ro = np.zeros((4, 3), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        module.sgd_step(ro, g, None, 0.1, 0, 0, False, 0, False, False)
    with pytest.raises(TypeError, match="does not match the parameter dtype"):
        module.sgd_step(p, g.astype(np.float64), None, 0.1, 0, 0, False, 0, False, False)
    with pytest.raises(ValueError, match=r"gradient of shape \(3, 4\)"):
        module.adam_step(p, g.reshape(3, 4), np.zeros_like(p), np.zeros_like(p), None, 1, 1e-3,
                         0.9, 0.999, 1e-8, 0, False, False, False)
    with pytest.raises(ValueError, match="state array"):
        module.adam_step(p, g, np.zeros(12, np.float32), np.zeros_like(p), None, 1, 1e-3, 0.9,
                         0.999, 1e-8, 0, False, False, False)
    with pytest.raises(ValueError, match="momentum buffer"):
        module.sgd_step(p, g, None, 0.1, 0.9, 0, False, 0, False, False)
    with pytest.raises(TypeError, match="float32 or float64"):
        module.sgd_step(np.zeros(3, np.int64), np.zeros(3, np.int64), None, 0.1, 0, 0, False,
                        0, False, False)
    assert not p.any()  # nothing was modified by the refused calls


def test_c_entry_points_refuse_bad_sizes_and_null():
    from tinygrad_edu._C import ffi, lib
    p = np.zeros(4, np.float64)
    pp = ffi.from_buffer("double[]", p)
    assert lib.tg_sgd_step_f64(pp, pp, ffi.NULL, -1, 0.1, 0, 0, 0, 0, 0, 0) == lib.TG_EINVAL
    assert lib.tg_sgd_step_f64(pp, pp, ffi.NULL, 4, 0.1, 0.9, 0, 0, 0, 0, 0) == lib.TG_EINVAL
    assert lib.tg_adam_step_f64(pp, pp, pp, pp, ffi.NULL, 4, 0, 1e-3, 0.9, 0.999, 1e-8, 0, 0,
                                0, 0) == lib.TG_EINVAL  # step must be >= 1
    assert lib.tg_sgd_step_f64(ffi.NULL, ffi.NULL, ffi.NULL, 0, 0.1, 0, 0, 0, 0, 0, 0) == 0
