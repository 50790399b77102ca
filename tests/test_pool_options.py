"""Pooling options beyond the basics: max_pool2d dilation / ceil_mode / return_indices,
avg_pool2d ceil_mode / count_include_pad / divisor_override. Values against naive loops
written from PyTorch's definitions, C kernels against the numpy reference, gradients against
finite differences (float64), and, when PyTorch is installed, parity with it."""


import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy as npb
from tinygrad_edu.nn import functional as F
from tinygrad_edu.ops.conv import avg_pool2d, max_pool2d
from tinygrad_edu.testing import distinct_arrays

BACKENDS = tg.backend.available()
HAVE_C = "c" in BACKENDS
if HAVE_C:
    from tinygrad_edu.backend import c as cb


using = tg.backend.using  # one block on a given backend


def _out(size, k, s, p, d, ceil):
    """PyTorch's pooling output length (ceil_mode drops a window starting in the padding)."""
    num = size + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil else num // s) + 1
    return o - 1 if ceil and (o - 1) * s >= size + p else o


def _taps(o, k, s, p, d, size):
    return [o * s - p + i * d for i in range(k) if 0 <= o * s - p + i * d < size]


def naive_max(x, k, s, p, d, ceil):
    n, c, h, w = x.shape
    ho, wo = _out(h, k[0], s[0], p[0], d[0], ceil), _out(w, k[1], s[1], p[1], d[1], ceil)
    out, idx = np.empty((n, c, ho, wo), x.dtype), np.empty((n, c, ho, wo), np.int64)
    for a in range(ho):
        for b in range(wo):
            pix = [(r, q) for r in _taps(a, k[0], s[0], p[0], d[0], h)
                   for q in _taps(b, k[1], s[1], p[1], d[1], w)]
            vals = np.stack([x[:, :, r, q] for r, q in pix], -1)
            j = np.argmax(vals, -1)  # distinct values in the tests: one maximum
            out[:, :, a, b] = np.max(vals, -1)
            idx[:, :, a, b] = np.array([r * w + q for r, q in pix])[j]
    return out, idx


def naive_avg(x, k, s, p, ceil, count_include_pad, divisor_override=None):
    n, c, h, w = x.shape
    ho, wo = _out(h, k[0], s[0], p[0], 1, ceil), _out(w, k[1], s[1], p[1], 1, ceil)
    out = np.empty((n, c, ho, wo), x.dtype)
    for a in range(ho):
        for b in range(wo):
            rows, cols = _taps(a, k[0], s[0], p[0], 1, h), _taps(b, k[1], s[1], p[1], 1, w)
            total = x[:, :, rows][:, :, :, cols].sum(axis=(2, 3))
            hs, ws = a * s[0] - p[0], b * s[1] - p[1]
            padded = (min(hs + k[0], h + p[0]) - hs) * (min(ws + k[1], w + p[1]) - ws)
            div = (divisor_override if divisor_override is not None else
                   padded if count_include_pad else len(rows) * len(cols))
            out[:, :, a, b] = total / div
    return out


@st.composite
def geometry(draw, dilation=True):
    """kernel, stride, padding (<= half the kernel), dilation, ceil_mode and an input big
    enough for the dilated kernel; windows that dilation makes miss the image are filtered
    out (the op refuses them, tested separately)."""
    k = tuple(draw(st.integers(1, 3)) for _ in range(2))
    s = tuple(draw(st.integers(1, 3)) for _ in range(2))
    p = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    d = tuple(draw(st.integers(1, 3)) for _ in range(2)) if dilation else (1, 1)
    hw = tuple(max(1, dd * (kk - 1) + 1 - 2 * pp) + draw(st.integers(0, 4))
               for kk, pp, dd in zip(k, p, d))
    ceil = draw(st.booleans())
    for axis in range(2):
        args = (k[axis], s[axis], p[axis], d[axis])
        o = _out(hw[axis], *args[:3], d[axis], ceil)
        if any(not _taps(i, *args, hw[axis]) for i in range(o)):
            draw(st.nothing())
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + hw, k, s, p, d, ceil


@pytest.mark.parametrize("backend", BACKENDS)
@given(geo=geometry(), data=st.data())
def test_max_pool_dilation_ceil_mode_match_naive_loops(backend, geo, data):
    shape, k, s, p, d, ceil = geo
    x = data.draw(distinct_arrays(shape))  # no ties: one argmax per window
    with using(backend):
        out, idx = max_pool2d(tg.Tensor(x), k, s, p, dilation=d, ceil_mode=ceil,
                              return_indices=True)
    want, want_idx = naive_max(x, k, s, p, d, ceil)
    np.testing.assert_allclose(out.data, want, rtol=1e-6)
    np.testing.assert_array_equal(idx.data, want_idx)
    assert idx.dtype == np.int64 and not idx.requires_grad


@pytest.mark.parametrize("backend", BACKENDS)
@given(geo=geometry(dilation=False), data=st.data(), cip=st.booleans(),
       override=st.sampled_from([None, 3, -2]))
def test_avg_pool_ceil_mode_divisors_match_naive_loops(backend, geo, data, cip, override):
    shape, k, s, p, _, ceil = geo
    x = data.draw(distinct_arrays(shape))
    with using(backend):
        got = avg_pool2d(tg.Tensor(x), k, s, p, ceil_mode=ceil, count_include_pad=cip,
                         divisor_override=override)
    np.testing.assert_allclose(got.data, naive_avg(x, k, s, p, ceil, cip, override), rtol=1e-6,
                               atol=1e-12)


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(geo=geometry(), data=st.data(), cip=st.booleans())
def test_c_pool_kernels_match_numpy_with_dilation_and_ceil_mode(dtype, geo, data, cip):
    shape, k, s, p, d, ceil = geo
    x = data.draw(distinct_arrays(shape)).astype(dtype)
    out, idx = npb.max_pool2d_forward(x, k, s, p, d, ceil)
    out_c, idx_c = cb.max_pool2d_forward(x, k, s, p, d, ceil)
    np.testing.assert_array_equal(out_c, out)
    np.testing.assert_array_equal(idx_c, idx)
    g = data.draw(distinct_arrays(out.shape)).astype(dtype)
    np.testing.assert_allclose(cb.max_pool2d_backward(g, idx, shape),
                               npb.max_pool2d_backward(g, idx, shape), rtol=1e-6)
    # avg pooling has no dilation: the same geometry without it
    ao = npb.avg_pool2d_forward(x, k, s, p, cip, ceil)
    np.testing.assert_allclose(cb.avg_pool2d_forward(x, k, s, p, cip, ceil), ao, rtol=1e-5)
    ga = data.draw(distinct_arrays(ao.shape)).astype(dtype)
    np.testing.assert_allclose(cb.avg_pool2d_backward(ga, shape, k, s, p, cip, ceil),
                               npb.avg_pool2d_backward(ga, shape, k, s, p, cip, ceil),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", [
    {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True},
    {"kernel_size": (2, 3), "stride": (2, 1), "padding": (1, 0), "dilation": (1, 2),
     "ceil_mode": False},
    {"kernel_size": 2, "stride": 2, "ceil_mode": True},
])
def test_max_pool_gradients_with_dilation_and_ceil_mode(each_backend, case):
    # distinct values: no ties, so the max is differentiable at the sample point
    x = np.random.default_rng(3).permutation(2 * 7 * 5).reshape(1, 2, 7, 5) / 7.0
    xt = tg.Tensor(x, requires_grad=True)
    assert tg.gradcheck(lambda a: max_pool2d(a, **case), [xt])
    assert tg.gradcheck(lambda a: F.max_pool2d(a, return_indices=True, **case)[0], [xt])


@pytest.mark.parametrize("case", [
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": (2, 3), "stride": (3, 2), "padding": (1, 1), "ceil_mode": True,
     "divisor_override": 4},
])
def test_avg_pool_gradients_with_ceil_mode(each_backend, case):
    x = np.random.default_rng(4).standard_normal((2, 2, 6, 5))
    assert tg.gradcheck(lambda a: avg_pool2d(a, **case), [tg.Tensor(x, requires_grad=True)])


def test_second_derivative_through_pooling_options():
    from tinygrad_edu.teach import gradgradcheck
    x = np.random.default_rng(5).permutation(36).reshape(1, 1, 6, 6) / 9.0
    xt = tg.Tensor(x, requires_grad=True)
    # pooling is piecewise linear: the square makes the second derivative nonzero
    assert gradgradcheck(lambda a: max_pool2d(a * a, 3, 2, 1, dilation=2, ceil_mode=True), [xt])
    assert gradgradcheck(lambda a: avg_pool2d(a * a, 3, 2, 1, ceil_mode=True,
                                              count_include_pad=False), [xt])


def test_return_indices_forms():
    x = np.random.default_rng(6).permutation(50).reshape(2, 5, 5).astype(np.float32)
    out, idx = max_pool2d(tg.Tensor(x), 2, ceil_mode=True, return_indices=True)  # unbatched
    assert out.shape == idx.shape == (2, 3, 3)
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(2, -1), idx.data.reshape(2, -1),
                                                     1).reshape(2, 3, 3), out.data)
    with tg.no_grad():  # no graph node: the indices still come back
        _, idx2 = max_pool2d(tg.Tensor(x), 2, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(idx2.data, idx.data)
    # the returned indices are the caller's own: changing them leaves backward alone
    xt = tg.Tensor(x, requires_grad=True)
    out, idx = max_pool2d(xt, 2, return_indices=True)
    want = np.zeros(x.size)
    want[(idx.data + 25 * np.arange(2)[:, None, None]).ravel()] = 1.0
    idx.data[...] = 0
    out.sum().backward()
    np.testing.assert_array_equal(xt.grad.data.ravel(), want)


def test_window_that_covers_only_padding_is_refused():
    # 1 row, kernel 2, padding 1, dilation 2: the taps sit at -1 and 1, both outside the image
    with pytest.raises(ValueError, match=r"max_pool2d: .* output row 0 covers only padding"):
        max_pool2d(tg.zeros(1, 1, 1, 4), 2, 1, 1, dilation=2)
    with pytest.raises(ValueError, match=r"max_pool2d: kernel \(3, 3\) with dilation \(3, 3\) "
                                         r"is larger than the padded input"):
        max_pool2d(tg.zeros(1, 1, 4, 4), 3, dilation=3)
    with pytest.raises(ValueError, match="divisor_override must be a nonzero int"):
        avg_pool2d(tg.zeros(1, 1, 4, 4), 2, divisor_override=0)


# ---------------------------------------------------------------- parity with PyTorch


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@given(geo=geometry(), data=st.data())
def test_max_pool_matches_torch(torch, geo, data):
    shape, k, s, p, d, ceil = geo
    x = data.draw(distinct_arrays(shape))
    xt = tg.Tensor(x, requires_grad=True)
    out, idx = max_pool2d(xt, k, s, p, dilation=d, ceil_mode=ceil, return_indices=True)
    w = np.random.default_rng(0).standard_normal(out.shape)
    (out * tg.Tensor(w)).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    tout, tidx = torch.nn.functional.max_pool2d(tx, k, s, p, d, ceil_mode=ceil,
                                                return_indices=True)
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy())
    np.testing.assert_array_equal(idx.data, tidx.numpy())
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy())


@given(geo=geometry(dilation=False), data=st.data(), cip=st.booleans(),
       override=st.sampled_from([None, 3]))
def test_avg_pool_matches_torch(torch, geo, data, cip, override):
    shape, k, s, p, _, ceil = geo
    x = data.draw(distinct_arrays(shape))
    xt = tg.Tensor(x, requires_grad=True)
    out = avg_pool2d(xt, k, s, p, ceil, cip, override)
    w = np.random.default_rng(0).standard_normal(out.shape)
    (out * tg.Tensor(w)).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.nn.functional.avg_pool2d(tx, k, s, p, ceil, cip, override)
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_pool_modules_match_torch(torch):
    x = np.random.default_rng(7).permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) / 11.0
    ours = tg.nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True, return_indices=True)
    theirs = torch.nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True, return_indices=True)
    (o, i), (to, ti) = ours(tg.Tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(o.data, to.numpy())
    np.testing.assert_array_equal(i.data, ti.numpy())
    ours = tg.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)
    theirs = torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(ours(tg.Tensor(x)).data, theirs(torch.tensor(x)).numpy())
