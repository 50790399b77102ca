"""softmax, log_softmax, cross_entropy, nll_loss: values against direct numpy formulas,
gradients (and second derivatives) against finite differences, stability for huge logits,
bad labels, and every C kernel against the numpy reference kernel."""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy as npb
from tinygrad_edu.ops.softmax import cross_entropy, log_softmax, nll_loss, softmax
from tinygrad_edu.testing import arrays, shapes

BACKENDS = tg.backend.available()
HAVE_C = "c" in BACKENDS
if HAVE_C:
    from tinygrad_edu.backend import c as cb


using = tg.backend.using  # one block on a given backend


def _grad_of(fn):
    """x -> d(fn(x))/dx with create_graph, so gradcheck tests the second derivative."""

    @tg.enable_grad()
    def g(*xs):
        return tg.autograd.grad(fn(*xs), list(xs), create_graph=True)

    return g


# ---------------------------------------------------------------------------- softmax values


def _softmax_ref(x, axis):
    z = np.moveaxis(x.astype(np.float64), axis, -1)
    out = np.empty_like(z)
    for idx in np.ndindex(z.shape[:-1]):
        row = z[idx]
        e = np.exp(row - row.max())
        out[idx] = e / e.sum()
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("backend", BACKENDS)
@given(x=arrays(shapes(min_dims=1, max_dims=4, max_side=5), low=-20, high=20),
       data=st.data())
def test_softmax_and_log_softmax_values(backend, x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    ref = _softmax_ref(x, axis)
    with using(backend):
        y = softmax(tg.Tensor(x), axis=axis).data
        ly = log_softmax(tg.Tensor(x), axis=axis).data
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-15)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(ly, np.log(ref), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_is_stable_for_huge_logits(each_backend, dtype):
    x = np.array([[1e4, -1e4, 0.0, 1e4 - 1.0], [-1e4, -1e4 + 2.0, -1e4, -1e4]], dtype)
    y = softmax(tg.Tensor(x)).data
    ly = log_softmax(tg.Tensor(x)).data
    assert np.isfinite(y).all() and np.isfinite(ly).all()
    e = np.exp(-1.0)
    np.testing.assert_allclose(y[0], [1 / (1 + e), 0, 0, e / (1 + e)], rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(ly[0, :2], [-np.log1p(e), -2e4 - np.log1p(e)], rtol=1e-6)
    # column softmax of the same numbers (axis 0, the strided kernel)
    yc = softmax(tg.Tensor(x), axis=0).data
    np.testing.assert_allclose(yc[:, 0], [1, 0], atol=1e-30)
    e2 = np.exp(-2.0)
    np.testing.assert_allclose(yc[:, 1], [e2 / (1 + e2), 1 / (1 + e2)], rtol=1e-6)
    g = tg.Tensor(x, requires_grad=True)
    log_softmax(g, axis=-1).sum().backward()
    assert np.isfinite(g.grad.data).all()


def test_masked_logits_give_exact_zeros_and_full_mask_gives_nan(each_backend):
    x = np.array([[0.5, -np.inf, 1.5], [-np.inf, -np.inf, -np.inf]], np.float32)
    y = softmax(tg.Tensor(x)).data
    assert y[0, 1] == 0.0
    np.testing.assert_allclose(y[0, [0, 2]], [1 / (1 + np.e), np.e / (1 + np.e)], rtol=1e-6)
    # a slice with nothing but -inf has no softmax: NaN, as in PyTorch (documented)
    assert np.isnan(y[1]).all()


def test_softmax_zero_dim_and_bad_arguments():
    assert softmax(tg.Tensor(3.0)).item() == 1.0
    with pytest.raises(ValueError, match="softmax: axis 2"):
        softmax(tg.Tensor(np.ones((2, 3))), axis=2)
    with pytest.raises(TypeError, match="log_softmax: needs a float tensor"):
        log_softmax(tg.Tensor([1, 2, 3]))


# ---------------------------------------------------------------------------- softmax gradients


@pytest.mark.parametrize("backend", BACKENDS)
@given(x=arrays(shapes(min_dims=1, max_dims=3, max_side=4), low=-3, high=3), data=st.data())
@settings(max_examples=15)
def test_softmax_gradients(backend, x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    c = np.arange(x.size, dtype=np.float64).reshape(x.shape) / x.size  # weights the outputs
    t = tg.Tensor(x, requires_grad=True)
    cw = tg.Tensor(c)
    with using(backend):
        assert tg.gradcheck(lambda a: softmax(a, axis), [t])
        assert tg.gradcheck(lambda a: log_softmax(a, axis), [t])
        # second derivatives through SoftmaxBackward / LogSoftmaxBackward
        assert tg.gradcheck(_grad_of(lambda a: (softmax(a, axis) ** 2 * cw).sum()), [t])
        assert tg.gradcheck(_grad_of(lambda a: (log_softmax(a, axis) ** 2 * cw).sum()), [t])


def test_softmax_backward_wrt_upstream_gradient_is_differentiable():
    # d/dg of the VJP (the mixed second derivative) for both fused backward Functions
    rng = np.random.default_rng(3)
    x = tg.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    g = tg.Tensor(rng.standard_normal((3, 4)), requires_grad=True)

    def vjp(fn):
        @tg.enable_grad()
        def f(a, gg):
            (dx,) = tg.autograd.grad(fn(a, 1), a, grad_outputs=gg, create_graph=True)
            return dx
        return f

    assert tg.gradcheck(vjp(softmax), [x, g])
    assert tg.gradcheck(vjp(log_softmax), [x, g])


# ---------------------------------------------------------------------------- cross-entropy


def _ce_ref(x, target, weight=None, ignore_index=-100, eps=0.0, reduction="mean"):
    """PyTorch's CrossEntropyLoss, written directly from its documented formula (float64)."""
    x = np.asarray(x, np.float64)
    c = x.shape[1] if x.ndim >= 2 else x.shape[0]
    xs = np.moveaxis(x, 1, -1).reshape(-1, c) if x.ndim >= 2 else x.reshape(1, c)
    logp = np.array([r - r.max() - np.log(np.exp(r - r.max()).sum()) for r in xs])
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    probs = np.asarray(target).dtype.kind == "f"
    if probs:
        y = np.moveaxis(target, 1, -1).reshape(-1, c) if x.ndim >= 2 else target.reshape(1, c)
        q = (1 - eps) * y + eps / c
        losses = np.array([-(w * q[i] * logp[i]).sum() for i in range(len(xs))])
        den = len(xs)
        shape = x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()
    else:
        t = np.asarray(target).reshape(-1)
        losses, den = np.zeros(len(xs)), 0.0
        for i, ti in enumerate(t):
            if ti == ignore_index:
                continue
            q = np.full(c, eps / c)
            q[ti] += 1 - eps
            losses[i] = -(w * q * logp[i]).sum()
            den += w[ti]
        shape = np.asarray(target).shape
    if reduction == "none":
        return losses.reshape(shape)
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / den


CE_OPTIONS = list(itertools.product([None, "w"], [-100, 1], [0.0, 0.15],
                                    ["mean", "sum", "none"]))


@pytest.mark.parametrize("weight,ignore_index,eps,reduction", CE_OPTIONS)
@pytest.mark.parametrize("shape", [(5, 4), (4,), (3, 4, 2), (2, 3, 2, 2)])
def test_cross_entropy_class_indices_matches_formula(each_backend, shape, weight, ignore_index,
                                                     eps, reduction):
    rng = np.random.default_rng(sum(shape))
    c = shape[1] if len(shape) >= 2 else shape[0]
    x = rng.standard_normal(shape) * 3
    t = rng.integers(0, c, shape[:1] + shape[2:] if len(shape) >= 2 else ())
    if t.ndim:
        t.flat[0] = ignore_index if ignore_index >= 0 else -100
    elif t == ignore_index:  # one unbatched target: keep it counted
        t = np.array((ignore_index + 1) % c)
    w = rng.uniform(0.5, 2.0, c) if weight else None
    kw = {"weight": w, "ignore_index": ignore_index, "label_smoothing": eps, "reduction": reduction}
    out = cross_entropy(tg.Tensor(x), t, **kw)
    ref = _ce_ref(x, t, w, ignore_index, eps, reduction)
    assert out.shape == np.shape(ref)
    np.testing.assert_allclose(out.data, ref, rtol=1e-10, atol=1e-12)
    out32 = cross_entropy(tg.Tensor(x.astype(np.float32)), t, **kw)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.data, ref, rtol=2e-5, atol=2e-5)
    xt = tg.Tensor(x, requires_grad=True)
    assert tg.gradcheck(lambda a: cross_entropy(a, t, **kw), [xt])
    if len(shape) == 2:  # the fused backward is a Function: second derivatives too
        assert tg.gradcheck(_grad_of(lambda a: (cross_entropy(a, t, **kw) ** 2).sum()), [xt])


@pytest.mark.parametrize("weight,eps,reduction",
                         list(itertools.product([None, "w"], [0.0, 0.2], ["mean", "sum", "none"])))
@pytest.mark.parametrize("shape", [(4, 3), (3,), (2, 3, 2)])
def test_cross_entropy_probability_targets(each_backend, shape, weight, eps, reduction):
    rng = np.random.default_rng(7)
    c = shape[1] if len(shape) >= 2 else shape[0]
    x = rng.standard_normal(shape)
    y = rng.uniform(0.1, 1.0, shape)
    y /= y.sum(axis=1 if len(shape) >= 2 else 0, keepdims=True)
    w = rng.uniform(0.5, 2.0, c) if weight else None
    kw = {"weight": w, "label_smoothing": eps, "reduction": reduction}
    out = cross_entropy(tg.Tensor(x), tg.Tensor(y), **kw)
    np.testing.assert_allclose(out.data, _ce_ref(x, y, w, eps=eps, reduction=reduction),
                               rtol=1e-10, atol=1e-12)
    # both the logits and the soft target get gradients
    assert tg.gradcheck(lambda a, b: cross_entropy(a, b, **kw),
                        [tg.Tensor(x, requires_grad=True), tg.Tensor(y, requires_grad=True)])


def test_cross_entropy_huge_logits_are_exact(each_backend):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4 - 2.0]], np.float32)
    t = np.array([1, 2])
    out = cross_entropy(tg.Tensor(x), t, reduction="none").data
    np.testing.assert_allclose(out, [2e4, 2.0 + np.log1p(np.exp(-2.0))], rtol=1e-6)
    xt = tg.Tensor(x, requires_grad=True)
    cross_entropy(xt, t).backward()
    assert np.isfinite(xt.grad.data).all()
    np.testing.assert_allclose(xt.grad.data[0], [0.5, -0.5, 0.0], atol=1e-6)


def test_nll_loss_matches_formula_and_cross_entropy(each_backend):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((6, 4))
    t = np.array([0, 3, 1, -100, 2, 3])
    w = rng.uniform(0.5, 2.0, 4)
    for reduction in ("mean", "sum", "none"):
        lp = log_softmax(tg.Tensor(x), axis=1)
        got = nll_loss(lp, t, weight=w, reduction=reduction).data
        ref = _ce_ref(x, t, w, reduction=reduction)
        np.testing.assert_allclose(got, ref, rtol=1e-10)
        lpx = lp.data
        direct = np.array([0 if ti == -100 else -w[ti] * lpx[i, ti] for i, ti in enumerate(t)])
        if reduction == "none":
            np.testing.assert_allclose(got, direct, rtol=1e-12)
        xt = tg.Tensor(x, requires_grad=True)
        assert tg.gradcheck(lambda a, r=reduction: nll_loss(log_softmax(a, 1), t, w, reduction=r), [xt])
    x3 = tg.Tensor(rng.standard_normal((2, 3, 2)), requires_grad=True)
    t3 = np.array([[0, 2], [1, 1]])
    assert tg.gradcheck(lambda a: nll_loss(a, t3, reduction="sum"), [x3])
    np.testing.assert_allclose(nll_loss(log_softmax(x3, 1), t3).data, _ce_ref(x3.data, t3))


# ---------------------------------------------------------------------------- bad labels


def test_cross_entropy_rejects_bad_labels_with_clear_errors():
    x = tg.Tensor(np.zeros((4, 3), np.float32))
    with pytest.raises(TypeError, match=r"cross_entropy: a float target of shape \(4,\).*"
                                        r"\(4, 3\).*target.long\(\)"):
        cross_entropy(x, tg.Tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"cross_entropy: target value 3 at position \(2,\).*"
                                         r"3 classes"):
        cross_entropy(x, [0, 1, 3, 1])
    with pytest.raises(ValueError, match=r"cross_entropy: target value -1"):
        cross_entropy(x, [0, -1, 2, 1])
    with pytest.raises(ValueError, match=r"cross_entropy: target of shape \(3,\) does not fit "
                                         r"logits of shape \(4, 3\)"):
        cross_entropy(x, [0, 1, 2])
    with pytest.raises(TypeError, match="cross_entropy: target must hold int64"):
        cross_entropy(x, [True, False, True, True])
    with pytest.raises(ValueError, match=r"cross_entropy: weight must be .* shape \(3,\)"):
        cross_entropy(x, [0, 1, 2, 1], weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="cross_entropy: reduction"):
        cross_entropy(x, [0, 1, 2, 1], reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing"):
        cross_entropy(x, [0, 1, 2, 1], label_smoothing=1.5)
    with pytest.raises(ValueError, match="cross_entropy: weight requires grad"):
        cross_entropy(x, [0, 1, 2, 1], weight=tg.Tensor([1.0, 1, 1], requires_grad=True))
    with pytest.raises(TypeError, match="nll_loss: target must hold int64"):
        nll_loss(x, tg.Tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="nll_loss: target value 7"):
        nll_loss(x, [0, 7, 2, 1])


@pytest.mark.parametrize("fn", [cross_entropy, nll_loss])
def test_mean_over_nothing_warns_instead_of_silent_nan(each_backend, fn):
    x = tg.Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.warns(RuntimeWarning, match=f"{fn.__name__}: reduction='mean' over no counted"):
        out = fn(x, [-100, -100])
    assert np.isnan(out.item())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out.backward()
    np.testing.assert_array_equal(x.grad.data, 0)  # PyTorch also gives a zero gradient
    assert fn(tg.Tensor(np.ones((2, 3))), [-100, -100], reduction="sum").item() == 0
    assert fn(tg.Tensor(np.ones((0, 3))), np.zeros(0, np.int64), reduction="none").shape == (0,)


# ---------------------------------------------------------------------------- C vs numpy kernels


def _tol(dtype):
    return {"rtol": 2e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(x=arrays(shapes(min_dims=1, max_dims=3, min_side=0, max_side=7), low=-30, high=30),
       data=st.data())
def test_c_softmax_kernels_match_numpy(dtype, x, data):
    x = x.astype(dtype)
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    g = data.draw(arrays(x.shape, low=-2, high=2)).astype(dtype)
    for name in ("softmax", "log_softmax"):
        y_ref = getattr(npb, name)(x, axis)
        y_c = getattr(cb, name)(x, axis)
        assert y_c.dtype == dtype and y_c.shape == x.shape
        np.testing.assert_allclose(y_c, y_ref, **_tol(dtype))
        bwd = name + "_backward"
        np.testing.assert_allclose(getattr(cb, bwd)(y_ref, g, axis),
                                   getattr(npb, bwd)(y_ref, g, axis), **_tol(dtype))


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(n=st.integers(0, 6), c=st.integers(1, 40), seed=st.integers(0, 2**16),
       weighted=st.booleans(), eps=st.sampled_from([0.0, 0.1, 1.0]),
       per_row=st.booleans())
def test_c_cross_entropy_kernels_match_numpy(dtype, n, c, seed, weighted, eps, per_row):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c)) * 5).astype(dtype)
    t = rng.integers(0, c, n)
    t[rng.random(n) < 0.3] = -100
    w = rng.uniform(0.1, 3.0, c).astype(dtype) if weighted else None
    l_ref, s_ref, ws_ref = npb.cross_entropy_forward(x, t, w, -100, eps)
    l_c, s_c, ws_c = cb.cross_entropy_forward(x, t, w, -100, eps)
    np.testing.assert_allclose(l_c, l_ref, **_tol(dtype))
    np.testing.assert_allclose(s_c, s_ref, **_tol(dtype))
    np.testing.assert_allclose(ws_c, ws_ref, rtol=1e-6)
    scale = rng.standard_normal(n).astype(dtype) if per_row else np.asarray(0.5, dtype)
    np.testing.assert_allclose(cb.cross_entropy_backward(x, s_ref, t, w, -100, eps, scale),
                               npb.cross_entropy_backward(x, s_ref, t, w, -100, eps, scale),
                               **_tol(dtype))


@pytest.mark.skipif(not HAVE_C, reason="C backend not built")
def test_c_cross_entropy_kernel_refuses_out_of_range_targets():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="target 4 at position 1 is out of range for 4"):
        cb.cross_entropy_forward(x, np.array([0, 4, 1]), None, -100, 0.0)
    with pytest.raises(TypeError, match="same dtype"):
        cb.softmax_backward(x, x.astype(np.float64), -1)


def test_tensor_methods_and_dtypes(each_backend):
    x = tg.Tensor(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], np.float32))
    np.testing.assert_allclose(x.softmax().data, softmax(x, -1).data)
    np.testing.assert_allclose(x.log_softmax(0).data, log_softmax(x, 0).data)
    assert x.softmax().dtype == np.float32 and x.double().softmax().dtype == np.float64
    assert cross_entropy(x, [2, 0]).dtype == np.float32
