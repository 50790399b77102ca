"""conv2d/conv1d and pooling: values against direct naive-loop references, gradients and
second derivatives against finite differences (float64), errors for bad geometry, and every
C kernel against the numpy reference kernel on hypothesis-chosen geometry (empty batch too)."""

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy as npb
from tinygrad_edu.ops.conv import (
    adaptive_avg_pool2d,
    avg_pool2d,
    conv1d,
    conv2d,
    global_avg_pool2d,
    max_pool2d,
)
from tinygrad_edu.testing import distinct_arrays

BACKENDS = tg.backend.available()
HAVE_C = "c" in BACKENDS
if HAVE_C:
    from tinygrad_edu.backend import c as cb


using = tg.backend.using  # one block on a given backend


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# ---------------------------------------------------------------------------- naive references


def conv2d_naive(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """The definition, one output element at a time."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, _c, h, wd = x.shape
    co, cg, kh, kw = w.shape
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, co, ho, wo))
    per_group = co // groups
    for b_, o, i, j in np.ndindex(n, co, ho, wo):
        g = o // per_group
        s = 0.0 if b is None else b[o]
        for ci, a, e in np.ndindex(cg, kh, kw):
            ih, iw = i * sh - ph + a * dh, j * sw - pw + e * dw
            if 0 <= ih < h and 0 <= iw < wd:
                s += w[o, ci, a, e] * x[b_, g * cg + ci, ih, iw]
        out[b_, o, i, j] = s
    return out


def _windows(x_shape, kernel, stride, padding):
    """Output shape (Ho, Wo) and, per output (n, c, i, j), the window's real pixels (ih, iw)
    in row-major order (padding positions left out)."""
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel), _pair(stride), _pair(padding)
    n, c, h, w = x_shape
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    wins = {}
    for b, ch, i, j in np.ndindex(n, c, ho, wo):
        pix = [(i * sh - ph + a, j * sw - pw + e) for a in range(kh) for e in range(kw)]
        wins[b, ch, i, j] = [(p, q) for p, q in pix if 0 <= p < h and 0 <= q < w]
    return (ho, wo), wins


def max_pool_naive(x, kernel, stride, padding):
    oshape, wins = _windows(x.shape, kernel, stride, padding)
    res, arg = np.zeros(x.shape[:2] + oshape), {}
    for (b, c, i, j), pix in wins.items():
        vals = [x[b, c, p, q] for p, q in pix]
        k = int(np.argmax(vals))  # the first maximum
        res[b, c, i, j], arg[b, c, i, j] = vals[k], pix[k]
    return res, arg


def avg_pool_naive(x, kernel, stride, padding, count_include_pad):
    k = _pair(kernel)
    oshape, wins = _windows(x.shape, kernel, stride, padding)
    res = np.zeros(x.shape[:2] + oshape)
    for (b, c, i, j), pix in wins.items():
        den = k[0] * k[1] if count_include_pad else len(pix)
        res[b, c, i, j] = sum(x[b, c, p, q] for p, q in pix) / den
    return res


def adaptive_naive(x, ho, wo):
    n, c, h, w = x.shape
    out = np.zeros((n, c, ho, wo))
    for i, j in np.ndindex(ho, wo):
        h0, h1 = (i * h) // ho, -(-((i + 1) * h) // ho)
        w0, w1 = (j * w) // wo, -(-((j + 1) * w) // wo)
        out[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return out


# ---------------------------------------------------------------------------- conv values

# (x shape, weight shape, stride, padding, dilation, groups, bias)
CONV_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 2), 1, 0, 1, 1, True),
    ((2, 4, 9, 8), (6, 2, 3, 3), (2, 3), (1, 2), (2, 1), 2, True),
    ((1, 4, 5, 5), (4, 4, 1, 1), 1, 0, 1, 1, False),  # 1x1: the GEMM reads the image directly
    ((2, 3, 4, 4), (3, 1, 3, 3), 2, 1, 1, 3, True),  # depthwise
    ((1, 2, 5, 6), (2, 2, 2, 2), (1, 2), (1, 0), (2, 2), 1, False),
    ((1, 1, 4, 4), (2, 1, 4, 4), 1, 0, 1, 1, True),  # kernel == input: 1x1 output
    ((3, 2, 3, 5), (2, 2, 1, 3), 3, (0, 2), 1, 1, True),  # stride larger than the kernel
    ((0, 2, 5, 5), (3, 2, 2, 2), 1, 1, 1, 1, True),  # empty batch
]
CONV_IDS = [f"x{c[0]}-w{c[1]}-s{c[2]}-p{c[3]}-d{c[4]}-g{c[5]}" for c in CONV_CASES]


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv2d_matches_naive_loops(each_backend, case):
    xs, ws, stride, padding, dilation, groups, has_bias = case
    rng = np.random.default_rng(sum(xs) + sum(ws))
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[0]) if has_bias else None
    ref = conv2d_naive(x, w, b, stride, padding, dilation, groups)
    for dt, tol in ((np.float64, 1e-12), (np.float32, 2e-5)):
        out = conv2d(tg.Tensor(x.astype(dt)), tg.Tensor(w.astype(dt)),
                     None if b is None else tg.Tensor(b.astype(dt)), stride=stride,
                     padding=padding, dilation=dilation, groups=groups)
        assert out.dtype == dt and out.shape == ref.shape
        np.testing.assert_allclose(out.data, ref, rtol=tol, atol=tol)


def test_conv2d_same_padding_unbatched_and_conv1d(each_backend):
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 5, 6)), rng.standard_normal((3, 2, 3, 3))
    out = conv2d(tg.Tensor(x), tg.Tensor(w), padding="same", dilation=2)
    assert out.shape == (3, 5, 6)  # unbatched in, unbatched out
    np.testing.assert_allclose(out.data, conv2d_naive(x[None], w, padding=2, dilation=2)[0],
                               rtol=1e-12)
    x1, w1, b1 = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 2, 3)), rng.standard_normal(6)
    out1 = conv1d(tg.Tensor(x1), tg.Tensor(w1), tg.Tensor(b1), stride=2, padding=1, dilation=2,
                  groups=2)
    ref1 = conv2d_naive(x1[:, :, None], w1[:, :, None], b1, (1, 2), (0, 1), (1, 2), 2)[:, :, 0]
    np.testing.assert_allclose(out1.data, ref1, rtol=1e-12)
    xt, wt = tg.Tensor(x1[:1, :2, :5], requires_grad=True), tg.Tensor(w1[:2, :, :2], requires_grad=True)
    assert tg.gradcheck(lambda a, b: conv1d(a, b, padding=1), [xt, wt])


# ---------------------------------------------------------------------------- conv gradients

# small geometry for full-Jacobian gradchecks: (x, w, stride, padding, dilation, groups)
GRAD_CASES = [
    ((1, 2, 4, 4), (3, 2, 2, 2), 1, 0, 1, 1),
    ((2, 2, 5, 4), (2, 1, 3, 2), (2, 1), (1, 1), (1, 2), 2),
    ((1, 2, 3, 3), (2, 2, 1, 1), 1, 0, 1, 1),
    ((1, 3, 5, 5), (3, 1, 2, 2), 2, 1, 2, 3),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[str(c) for c in GRAD_CASES])
def test_conv2d_gradients_and_second_derivatives(each_backend, case):
    xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(len(xs) + sum(ws))
    x = tg.Tensor(rng.standard_normal(xs), requires_grad=True)
    w = tg.Tensor(rng.standard_normal(ws), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(ws[0]), requires_grad=True)
    kw = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    assert tg.gradcheck(lambda a, c, d: conv2d(a, c, d, **kw), [x, w, b])
    cw = tg.Tensor(rng.standard_normal(conv2d(x, w, **kw).shape))

    @tg.enable_grad()
    def grads(a, c):  # d/dx and d/dw of a non-linear loss, kept differentiable
        loss = (conv2d(a, c, **kw) ** 2 * cw).sum()
        return tg.autograd.grad(loss, [a, c], create_graph=True)

    assert tg.gradcheck(grads, [x, w])


def test_conv2d_empty_batch_gradients(each_backend):
    x = tg.Tensor(np.zeros((0, 2, 4, 4)), requires_grad=True)
    w = tg.Tensor(np.ones((3, 2, 2, 2)), requires_grad=True)
    b = tg.Tensor(np.ones(3), requires_grad=True)
    conv2d(x, w, b).sum().backward()
    assert x.grad.shape == (0, 2, 4, 4)
    np.testing.assert_array_equal(w.grad.data, 0)
    np.testing.assert_array_equal(b.grad.data, 0)


# ---------------------------------------------------------------------------- pooling

POOL_CASES = [  # (x shape, kernel, stride, padding)
    ((2, 3, 6, 7), 2, None, 0),
    ((1, 2, 7, 7), 3, (2, 1), 1),
    ((2, 1, 5, 5), (2, 3), 1, (1, 1)),
    ((1, 1, 5, 5), 5, 1, 2),
    ((0, 2, 4, 4), 2, 2, 1),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=[str(c) for c in POOL_CASES])
def test_pooling_matches_naive_loops(each_backend, case):
    xs, kernel, stride, padding = case
    rng = np.random.default_rng(1)
    x = rng.permutation(max(int(np.prod(xs)), 1))[:int(np.prod(xs))].reshape(xs) * 0.1
    st_ = kernel if stride is None else stride
    ref, arg = max_pool_naive(x, kernel, st_, padding)
    out = max_pool2d(tg.Tensor(x), kernel, stride, padding)
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)
    for cip in (True, False):
        a = avg_pool2d(tg.Tensor(x), kernel, stride, padding, count_include_pad=cip)
        np.testing.assert_allclose(a.data, avg_pool_naive(x, kernel, st_, padding, cip),
                                   rtol=1e-12)
    # the max-pool gradient lands on the argmax recorded by the naive loop
    xt = tg.Tensor(x, requires_grad=True)
    g = rng.standard_normal(ref.shape)
    max_pool2d(xt, kernel, stride, padding).backward(tg.Tensor(g))
    expect = np.zeros(xs)
    for (b, c, i, j), (p, q) in arg.items():
        expect[b, c, p, q] += g[b, c, i, j]
    np.testing.assert_allclose(xt.grad.data, expect, rtol=1e-12)


def test_max_pool_ties_route_the_gradient_to_the_first_maximum(each_backend):
    x = tg.Tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    expect = np.zeros((4, 4))
    expect[::2, ::2] = 1  # the top-left element of every 2x2 window
    np.testing.assert_array_equal(x.grad.data[0, 0], expect)


@pytest.mark.parametrize("case", POOL_CASES[:4], ids=[str(c) for c in POOL_CASES[:4]])
def test_pooling_gradients_and_second_derivatives(each_backend, case):
    xs, kernel, stride, padding = case
    xs = (1,) + xs[1:]
    rng = np.random.default_rng(2)
    # max pool: pairwise distinct values, so no window has a tie (a kink)
    x = tg.Tensor(rng.permutation(int(np.prod(xs))).reshape(xs) * 0.01 +
                  rng.uniform(0, 0.001, xs), requires_grad=True)
    for fn in (lambda a: max_pool2d(a, kernel, stride, padding),
               lambda a: avg_pool2d(a, kernel, stride, padding),
               lambda a: avg_pool2d(a, kernel, stride, padding, count_include_pad=False)):
        assert tg.gradcheck(fn, [x])
        cw = tg.Tensor(rng.standard_normal(fn(x).shape))
        assert tg.gradcheck(tg.enable_grad()(lambda a, f=fn, c=cw: tg.autograd.grad(
            (f(a) ** 2 * c).sum(), a, create_graph=True)[0]), [x])


@pytest.mark.parametrize("size,out", [((5, 7), (3, 2)), ((4, 6), (2, 3)), ((5, 4), 1),
                                      ((6, 5), (None, 2)), ((3, 3), (5, 4))])
def test_adaptive_avg_pool2d_matches_formula(each_backend, size, out):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3) + size)
    o = (out, out) if isinstance(out, int) else out
    ho, wo = (size[0] if o[0] is None else o[0]), (size[1] if o[1] is None else o[1])
    got = adaptive_avg_pool2d(tg.Tensor(x), out)
    np.testing.assert_allclose(got.data, adaptive_naive(x, ho, wo), rtol=1e-12)
    xt = tg.Tensor(x[:1, :2], requires_grad=True)
    assert tg.gradcheck(lambda a: adaptive_avg_pool2d(a, out), [xt])
    np.testing.assert_allclose(global_avg_pool2d(tg.Tensor(x)).data, x.mean(axis=(2, 3)))
    assert global_avg_pool2d(tg.Tensor(x), keepdims=True).shape == (2, 3, 1, 1)


# ---------------------------------------------------------------------------- bad geometry


def test_bad_geometry_raises_clear_errors():
    x = tg.Tensor(np.zeros((2, 4, 5, 5)))
    with pytest.raises(ValueError, match=r"conv2d: in-channels 4 and out-channels 3 .*groups=2"):
        conv2d(x, tg.Tensor(np.zeros((3, 2, 3, 3))), groups=2)
    with pytest.raises(ValueError, match=r"conv2d: weight \(2, 3, 3, 3\) expects 3 input channels"
                                         r".*\(2, 4, 5, 5\) has 4"):
        conv2d(x, tg.Tensor(np.zeros((2, 3, 3, 3))))
    with pytest.raises(ValueError, match=r"conv2d: kernel 7x7 .* larger than the padded input 5x5"):
        conv2d(x, tg.Tensor(np.zeros((2, 4, 4, 4))), dilation=2)
    with pytest.raises(ValueError, match=r"conv2d: input must be 4-d .* got shape \(4, 5\)"):
        conv2d(tg.Tensor(np.zeros((4, 5))), tg.Tensor(np.zeros((2, 4, 3, 3))))
    with pytest.raises(ValueError, match=r"conv2d: weight must be a 4-d tensor"):
        conv2d(x, tg.Tensor(np.zeros((2, 4, 3))))
    with pytest.raises(ValueError, match=r"conv2d: bias must be a tensor of shape \(2,\)"):
        conv2d(x, tg.Tensor(np.zeros((2, 4, 3, 3))), tg.Tensor(np.zeros(3)))
    with pytest.raises(ValueError, match="conv2d: stride must be >= 1"):
        conv2d(x, tg.Tensor(np.zeros((2, 4, 3, 3))), stride=0)
    with pytest.raises(ValueError, match="conv2d: padding='same' needs stride 1"):
        conv2d(x, tg.Tensor(np.zeros((2, 4, 3, 3))), stride=2, padding="same")
    with pytest.raises(ValueError, match=r"max_pool2d: padding \(2, 2\) must be at most half"):
        max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"avg_pool2d: kernel \(6, 6\) is larger than the padded"):
        avg_pool2d(x, 6)
    with pytest.raises(ValueError, match=r"max_pool2d: input must be 4-d"):
        max_pool2d(tg.Tensor(np.zeros((5, 5))), 2)
    with pytest.raises(ValueError, match="empty channel or spatial"):
        avg_pool2d(tg.Tensor(np.zeros((1, 0, 4, 4))), 2)
    with pytest.raises(TypeError, match="conv1d: stride must be an int"):
        conv1d(tg.Tensor(np.zeros((1, 2, 5))), tg.Tensor(np.zeros((1, 2, 2))), stride=(1, 2))


# ---------------------------------------------------------------------------- C vs numpy kernels


def _tol(dtype):
    return {"rtol": 2e-5, "atol": 2e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}


@st.composite
def conv_geometry(draw):
    groups = draw(st.integers(1, 2))
    cg, cog = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    eff = [dd * (kk - 1) + 1 for kk, dd in zip(k, d)]
    hw = [max(1, e - 2 * pp) + draw(st.integers(0, 4)) for e, pp in zip(eff, p)]
    n = draw(st.integers(0, 3))
    return (n, cg * groups) + tuple(hw), (cog * groups, cg) + k, s, p, d, groups


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(geo=conv_geometry(), seed=st.integers(0, 2**16))
@settings(max_examples=30)
def test_c_conv_kernels_match_numpy(dtype, geo, seed):
    xs, ws, s, p, d, groups = geo
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    k = ws[2:]
    cols = npb.im2col(x, k, s, p, d)
    np.testing.assert_allclose(cb.im2col(x, k, s, p, d), cols, **_tol(dtype))
    rc = rng.standard_normal(cols.shape).astype(dtype)
    np.testing.assert_allclose(cb.col2im(rc, xs, k, s, p, d), npb.col2im(rc, xs, k, s, p, d),
                               **_tol(dtype))
    for bias in (b, None):
        out = npb.conv2d_forward(x, w, bias, s, p, d, groups)
        np.testing.assert_allclose(cb.conv2d_forward(x, w, bias, s, p, d, groups), out,
                                   **_tol(dtype))
    g = rng.standard_normal(out.shape).astype(dtype)
    np.testing.assert_allclose(cb.conv2d_backward_input(g, w, xs, s, p, d, groups),
                               npb.conv2d_backward_input(g, w, xs, s, p, d, groups), **_tol(dtype))
    np.testing.assert_allclose(cb.conv2d_backward_weight(x, g, ws, s, p, d, groups),
                               npb.conv2d_backward_weight(x, g, ws, s, p, d, groups),
                               **_tol(dtype))


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
@pytest.mark.parametrize("xs,ws,stride,padding,groups", [
    ((13, 4, 6, 5), (6, 2, 3, 2), 1, (1, 0), 2),  # several samples per GEMM block
    ((37, 3, 9, 9), (4, 3, 3, 3), 2, 1, 1),  # weight-gradient chunks of unequal length
    ((9, 4, 3, 3), (8, 4, 1, 1), 1, 0, 1),  # 1x1: the image is the column matrix
    ((3, 2, 40, 30), (3, 2, 3, 3), 1, 1, 1),  # one sample per GEMM (long columns)
])
def test_c_conv_many_samples_match_numpy(xs, ws, stride, padding, groups):
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[0])
    s, p, d = _pair(stride), _pair(padding), (1, 1)
    out = npb.conv2d_forward(x, w, b, s, p, d, groups)
    np.testing.assert_allclose(cb.conv2d_forward(x, w, b, s, p, d, groups), out, **_tol(np.float64))
    g = rng.standard_normal(out.shape)
    np.testing.assert_allclose(cb.conv2d_backward_input(g, w, xs, s, p, d, groups),
                               npb.conv2d_backward_input(g, w, xs, s, p, d, groups),
                               **_tol(np.float64))
    np.testing.assert_allclose(cb.conv2d_backward_weight(x, g, ws, s, p, d, groups),
                               npb.conv2d_backward_weight(x, g, ws, s, p, d, groups),
                               **_tol(np.float64))


@st.composite
def pool_geometry(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    hw = [max(1, kk - 2 * pp) + draw(st.integers(0, 4)) for kk, pp in zip(k, p)]
    return (draw(st.integers(0, 3)), draw(st.integers(1, 3))) + tuple(hw), k, s, p


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(geo=pool_geometry(), data=st.data())
def test_c_pool_kernels_match_numpy(dtype, geo, data):
    xs, k, s, p = geo
    x = data.draw(distinct_arrays(xs)).astype(dtype)  # no ties: one argmax per window
    out, idx = npb.max_pool2d_forward(x, k, s, p)
    out_c, idx_c = cb.max_pool2d_forward(x, k, s, p)
    np.testing.assert_allclose(out_c, out, **_tol(dtype))
    np.testing.assert_array_equal(idx_c, idx)
    g = data.draw(distinct_arrays(out.shape)).astype(dtype)
    np.testing.assert_allclose(cb.max_pool2d_backward(g, idx, xs),
                               npb.max_pool2d_backward(g, idx, xs), **_tol(dtype))
    for cip in (True, False):
        np.testing.assert_allclose(cb.avg_pool2d_forward(x, k, s, p, cip),
                                   npb.avg_pool2d_forward(x, k, s, p, cip), **_tol(dtype))
        np.testing.assert_allclose(cb.avg_pool2d_backward(g, xs, k, s, p, cip),
                                   npb.avg_pool2d_backward(g, xs, k, s, p, cip), **_tol(dtype))


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
def test_c_max_pool_ties_and_nan_follow_the_reference():
    x = np.array([[[[1.0, 1.0], [np.nan, 1.0]]]], np.float32)
    for mod in (npb, cb):
        out, idx = mod.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
        assert np.isnan(out).all() and idx.item() == 2  # NaN propagates (first NaN)
        out, idx = mod.max_pool2d_forward(np.ones((1, 1, 2, 2)), (2, 2), (1, 1), (0, 0))
        assert idx.item() == 0  # ties: the first maximum in row-major order
    with pytest.raises(ValueError, match="max_pool2d_backward: an index is outside"):
        cb.max_pool2d_backward(np.ones((1, 1, 1, 1)), np.array([[[[9]]]]), (1, 1, 2, 2))


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
def test_c_results_do_not_depend_on_the_thread_count():
    rng = np.random.default_rng(10)
    x, w = rng.standard_normal((16, 4, 12, 12)), rng.standard_normal((6, 4, 3, 3))
    g = rng.standard_normal((16, 6, 10, 10))
    geo = ((1, 1), (0, 0), (1, 1), 1)
    before = cb.get_num_threads()
    results = []
    try:
        for nt in (1, 2, 3):
            cb.set_num_threads(nt)
            results.append((cb.conv2d_forward(x, w, None, *geo),
                            cb.conv2d_backward_input(g, w, x.shape, *geo),
                            cb.conv2d_backward_weight(x, g, w.shape, *geo),
                            cb.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))[0],
                            cb.softmax(x.reshape(64, -1), -1)))
    finally:
        cb.set_num_threads(before)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)  # bit-identical


# ---------------------------------------------------------------------------- stride-1 SIMD path
# csrc/conv.c runs stride-1 convolutions (forward, both gradients) through register-tiled
# kernels reading the padded image directly, chosen by SIMD level: AVX-512 (tiles of 8
# channels x 48 f32 / 24 f64 positions; weight gradient 4 channels x 6 taps), AVX2 (4 x 24 /
# 12; 3 x 4), and the im2col path at level 0. Sizes below straddle those tile edges; the
# input gradient runs as a transposed convolution or as a scatter, whichever costs less.

SIMD_LEVELS = (-1, 2, 0)  # the CPU's best, AVX2 at most, generic C (im2col + GEMM)


@contextlib.contextmanager
def simd(level):
    before = cb._set_simd_level(level)
    try:
        yield
    finally:
        cb._set_simd_level(-1 if before >= 2 else before)


def _check_all_three(x, w, b, s, p, d, groups, tol):
    out = npb.conv2d_forward(x, w, b, s, p, d, groups)
    np.testing.assert_allclose(cb.conv2d_forward(x, w, b, s, p, d, groups), out, **tol)
    g = np.random.default_rng(5).standard_normal(out.shape).astype(x.dtype)
    np.testing.assert_allclose(cb.conv2d_backward_input(g, w, x.shape, s, p, d, groups),
                               npb.conv2d_backward_input(g, w, x.shape, s, p, d, groups), **tol)
    np.testing.assert_allclose(cb.conv2d_backward_weight(x, g, w.shape, s, p, d, groups),
                               npb.conv2d_backward_weight(x, g, w.shape, s, p, d, groups), **tol)


def _tol_sum(dtype, terms):
    """Tolerance for sums of `terms` products of standard normals (error grows with them)."""
    if dtype == np.float32:
        return {"rtol": 2e-5, "atol": 2e-6 * max(terms, 10) ** 0.5 * 4}
    return {"rtol": 1e-10, "atol": 1e-12 * max(terms, 10)}


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
@pytest.mark.parametrize("level", SIMD_LEVELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,padding,dilation,groups", [
    ((3, 6, 12, 12), (16, 6, 5, 5), 0, 1, 1),  # LeNet conv2: wide rows 12, 8 real
    ((2, 16, 9, 10), (17, 16, 3, 3), 1, 1, 1),  # 17 channels: full tiles + 1 row
    ((2, 5, 7, 7), (9, 5, 3, 3), 1, 1, 1),  # 9 = 8 + 1 (AVX-512), 2 x 4 + 1 (AVX2)
    ((1, 3, 4, 13), (7, 3, 2, 3), (2, 1), (1, 2), 1),  # 7 = tile - 1; n = 1: tiles split
    ((3, 4, 8, 9), (8, 2, 3, 2), (1, 2), (2, 1), 2),  # groups, dilation, uneven padding
    ((2, 12, 6, 5), (12, 4, 3, 3), (3, 0), 1, 3),  # padding > dilation (k - 1): col2im
    ((4, 1, 28, 28), (6, 1, 5, 5), 0, 1, 1),  # one input channel: dx by col2im
    ((2, 8, 1, 47), (5, 8, 1, 3), (0, 1), 1, 1),  # 47 wide positions: a tile - 1
    ((2, 8, 1, 48), (5, 8, 1, 1), (0, 0), 1, 1),  # 1x1 stride 1: the image is the columns
    ((2, 8, 2, 24), (5, 8, 2, 1), (0, 0), 1, 1),  # 24 positions: f64 AVX-512 tile edge
    ((2, 8, 3, 25), (5, 8, 1, 1), (1, 0), 1, 1),  # 1x1 with padding: fast path
    ((5, 3, 7, 6), (9, 3, 3, 3), 0, 1, 1),  # half of every wide row is junk
    ((3, 4, 9, 8), (6, 2, 2, 3), 0, 2, 2),  # groups and dilation without padding
])
def test_c_stride1_paths_match_numpy(level, dtype, xs, ws, padding, dilation, groups):
    rng = np.random.default_rng(11)
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    terms = max(ws[1] * ws[2] * ws[3], ws[0] * ws[2] * ws[3], xs[0] * xs[2] * xs[3])
    with simd(level):
        _check_all_three(x, w, b, (1, 1), _pair(padding), _pair(dilation), groups,
                         _tol_sum(dtype, terms))


@st.composite
def stride1_geometry(draw):
    groups = draw(st.integers(1, 2))
    cg, cog = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    eff = [dd * (kk - 1) + 1 for kk, dd in zip(k, d)]
    hw = [max(1, e - 2 * pp) + draw(st.integers(0, 20)) for e, pp in zip(eff, p)]
    n = draw(st.integers(0, 3))
    return (n, cg * groups) + tuple(hw), (cog * groups, cg) + k, p, d, groups


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
@pytest.mark.parametrize("level", SIMD_LEVELS[:2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(geo=stride1_geometry(), seed=st.integers(0, 2**16))
@settings(max_examples=25, deadline=None)
def test_c_stride1_kernels_match_numpy_any_geometry(level, dtype, geo, seed):
    xs, ws, p, d, groups = geo
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    terms = max(ws[1] * ws[2] * ws[3], ws[0] * ws[2] * ws[3], xs[0] * xs[2] * xs[3])
    with simd(level):
        _check_all_three(x, w, b, (1, 1), p, d, groups, _tol_sum(dtype, terms))


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
def test_c_weight_gradient_over_long_chunks():
    # 64 images in 8 chunks of 8 whose per-lane partial sums run over all 8 images
    rng = np.random.default_rng(12)
    x, w = rng.standard_normal((64, 8, 40, 40)), rng.standard_normal((8, 8, 3, 3))
    g = rng.standard_normal((64, 8, 40, 40))
    geo = ((1, 1), (1, 1), (1, 1), 1)
    np.testing.assert_allclose(cb.conv2d_backward_weight(x, g, w.shape, *geo),
                               npb.conv2d_backward_weight(x, g, w.shape, *geo), rtol=1e-10,
                               atol=1e-9)


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
def test_c_weight_gradient_of_a_large_weight_falls_back_to_im2col():
    # 128 x 64 x 3 x 3 weights: the SIMD path's per-lane partial sums would pass 4 MB
    rng = np.random.default_rng(14)
    x = rng.standard_normal((2, 64, 5, 5)).astype(np.float32)
    w = rng.standard_normal((128, 64, 3, 3)).astype(np.float32)
    g = rng.standard_normal((2, 128, 5, 5)).astype(np.float32)
    geo = ((1, 1), (1, 1), (1, 1), 1)
    np.testing.assert_allclose(cb.conv2d_backward_weight(x, g, w.shape, *geo),
                               npb.conv2d_backward_weight(x, g, w.shape, *geo), rtol=2e-5,
                               atol=2e-5)


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
@pytest.mark.parametrize("level", SIMD_LEVELS[:2])
@pytest.mark.parametrize("n", [1, 3, 16])
def test_c_stride1_results_do_not_depend_on_the_thread_count(level, n):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((n, 16, 20, 20)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    g = rng.standard_normal((n, 16, 20, 20)).astype(np.float32)
    geo = ((1, 1), (1, 1), (1, 1), 1)
    before = cb.get_num_threads()
    results = []
    try:
        with simd(level):
            for nt in (1, 2, 1, 2):
                cb.set_num_threads(nt)
                results.append((cb.conv2d_forward(x, w, None, *geo),
                                cb.conv2d_backward_input(g, w, x.shape, *geo),
                                cb.conv2d_backward_weight(x, g, w.shape, *geo)))
    finally:
        cb.set_num_threads(before)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)  # bit-identical


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the reference
@pytest.mark.parametrize("level", SIMD_LEVELS[:2])
@pytest.mark.parametrize("which", ["x", "w", "g"])
@pytest.mark.parametrize("special", [np.inf, np.nan])
@pytest.mark.parametrize("xs,ws,padding", [
    ((1, 2, 1, 1), (1, 2, 1, 1), 1),  # 1x1 with padding: dx by the scatter
    ((2, 3, 7, 7), (4, 3, 5, 5), 0),  # junk columns read real pixels of the next row
    ((2, 16, 6, 6), (16, 16, 3, 3), 1),  # dx as a transposed convolution
])
def test_c_stride1_paths_spread_inf_and_nan_like_the_reference(level, which, special, xs, ws,
                                                               padding):
    # the SIMD path multiplies padding and junk positions by zero: an inf or NaN there would
    # be NaN where the reference has a number, so such inputs must take the im2col path
    rng = np.random.default_rng(15)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    geo = ((1, 1), _pair(padding), (1, 1), 1)
    g = rng.standard_normal(npb.conv2d_forward(x, w, None, *geo).shape).astype(np.float32)
    arr = {"x": x, "w": w, "g": g}[which]
    arr[(0, 0, 0, 0)] = special  # the first pixel: read by junk positions of the row above
    if arr.size > 4:
        arr.reshape(-1)[arr.size // 2] = special
    tol = {"rtol": 1e-4, "atol": 1e-4, "equal_nan": True}
    with simd(level):
        np.testing.assert_allclose(cb.conv2d_forward(x, w, None, *geo),
                                   npb.conv2d_forward(x, w, None, *geo), **tol)
        np.testing.assert_allclose(cb.conv2d_backward_input(g, w, xs, *geo),
                                   npb.conv2d_backward_input(g, w, xs, *geo), **tol)
        np.testing.assert_allclose(cb.conv2d_backward_weight(x, g, ws, *geo),
                                   npb.conv2d_backward_weight(x, g, ws, *geo), **tol)
