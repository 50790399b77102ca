"""Hessian analysis: HVP, Lanczos eigenvalues against numpy.linalg.eigvalsh, and the
classification of critical points (saddle x^2 - y^2, minima, maxima, degenerate cases, and a
tiny network at a point where its gradient vanishes)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.autograd.functional import hessian
from tinygrad_edu.teach import (HessianVectorProduct, classify_critical_point, dense_hessian,
                                hessian_eigs, lanczos)


def _sym(rng, n, spectrum=None):
    if spectrum is None:
        A = rng.standard_normal((n, n))
        return (A + A.T) / 2
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return Q @ np.diag(spectrum) @ Q.T


def _quadratic(A, b=None):
    """loss(w) = 1/2 w^T A w + b.w : Hessian A everywhere."""
    At = tg.Tensor(A)
    bt = tg.Tensor(np.zeros(len(A)) if b is None else b)
    return lambda w: 0.5 * (w @ (At @ w)) + (bt * w).sum()


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(2, 12))
def test_lanczos_on_full_krylov_space_gives_all_eigenvalues(seed, n):
    A = _sym(np.random.default_rng(seed), n)
    vals, vecs = lanczos(lambda v: A @ v, n, num_iter=n, seed=seed)
    np.testing.assert_allclose(vals, np.linalg.eigvalsh(A), atol=1e-8)
    # Ritz vectors are eigenvectors: A u = lambda u
    np.testing.assert_allclose(A @ vecs, vecs * vals, atol=1e-7)


def test_hessian_eigs_of_a_quadratic_model_match_eigvalsh():
    rng = np.random.default_rng(3)
    n = 60
    spectrum = np.concatenate([[-3.0, -1.0], np.linspace(0.1, 1.0, n - 4), [4.0, 9.0]])
    A = _sym(rng, n, spectrum)
    w = tg.Tensor(rng.standard_normal(n), requires_grad=True)
    f = _quadratic(A)
    res = hessian_eigs(lambda: f(w), [w], num_iter=25)  # fewer products than unknowns
    exact = np.linalg.eigvalsh(A)
    assert res.num_hvp == 25
    assert res.max_value == pytest.approx(exact[-1], abs=1e-6)
    assert res.min_value == pytest.approx(exact[0], abs=1e-6)
    # the eigenvector belongs to the eigenvalue
    u = res.min_vector[0]
    np.testing.assert_allclose(A @ u, res.min_value * u, atol=1e-5)
    assert w.grad is None  # .grad untouched


def test_hvp_over_several_parameters_matches_dense_hessian_float64():
    rng = np.random.default_rng(1)
    W = tg.Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(2), requires_grad=True)
    X = tg.Tensor(rng.standard_normal((5, 3)))

    def loss():
        return ((X @ W + b).tanh() ** 2).mean()

    hv = HessianVectorProduct(loss, [W, b])
    H = hessian(lambda w_, b_: ((X @ w_ + b_).tanh() ** 2).mean(), (W, b))
    dense = np.block([[H[0][0].data.reshape(6, 6), H[0][1].data.reshape(6, 2)],
                      [H[1][0].data.reshape(2, 6), H[1][1].data.reshape(2, 2)]])
    v = rng.standard_normal(8)
    np.testing.assert_allclose(hv(v), dense @ v, rtol=1e-10, atol=1e-12)
    D, _ = dense_hessian(loss, [W, b])
    np.testing.assert_allclose(D, dense, rtol=1e-10, atol=1e-12)
    # and against finite differences of the gradient
    eps = 1e-6

    def grad_at(flat):
        Wt = tg.Tensor(flat[:6].reshape(3, 2), requires_grad=True)
        bt = tg.Tensor(flat[6:], requires_grad=True)
        gW, gb = tg.autograd.grad(((X @ Wt + bt).tanh() ** 2).mean(), [Wt, bt])
        return np.concatenate([gW.data.ravel(), gb.data])

    p = np.concatenate([W.data.ravel(), b.data])
    num = (grad_at(p + eps * v) - grad_at(p - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv(v), num, rtol=1e-5, atol=1e-7)


def test_saddle_x2_minus_y2_escapes_along_y():
    r = classify_critical_point(lambda x, y: x * x - y * y, [np.array(0.0), np.array(0.0)])
    assert r.kind == "saddle"
    np.testing.assert_allclose(np.sort(r.eigenvalues), [-2.0, 2.0])
    ex, ey = (float(d) for d in r.escape_direction)
    assert abs(ex) < 1e-12 and abs(abs(ey) - 1.0) < 1e-12  # along y
    assert r.escape_eigenvalue == pytest.approx(-2.0)
    # moving along it lowers f
    t = 0.1
    assert (0.0 - (t * ey) ** 2) < 0.0
    assert "saddle" in str(r)


@pytest.mark.parametrize("fn, point, kind", [
    (lambda p: (p * p).sum(), [0.0, 0.0, 0.0], "minimum"),
    (lambda p: -(p * p).sum() + 1.0, [0.0, 0.0], "maximum"),
    (lambda p: (p ** 3).sum(), [0.0, 0.0], "flat"),  # H = 0 at the origin
    (lambda p: (p * p * tg.tensor([1.0, 0.0])).sum() + (p ** 4).sum(), [0.0, 0.0], "degenerate"),
    (lambda p: (p * p).sum(), [1.0, 0.0], "not critical"),
])
def test_classification_cases(fn, point, kind):
    r = classify_critical_point(fn, point)
    assert r.kind == kind, str(r)
    if kind == "not critical":
        np.testing.assert_allclose(r.escape_direction, [-1.0, 0.0])  # -gradient, normalised
    if kind == "maximum":
        assert r.escape_direction is not None and r.escape_eigenvalue < 0


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(2, 8))
def test_classification_matches_eigvalsh_signs(seed, n):
    rng = np.random.default_rng(seed)
    spectrum = rng.choice([-1, 1], n) * rng.uniform(0.5, 3.0, n)
    A = _sym(rng, n, spectrum)
    r = classify_critical_point(_quadratic(A), np.zeros(n))
    np.testing.assert_allclose(r.eigenvalues, np.linalg.eigvalsh(A), atol=1e-9)
    expected = ("minimum" if (spectrum > 0).all() else "maximum" if (spectrum < 0).all()
                else "saddle")
    assert r.kind == expected


def test_lanczos_path_agrees_with_dense_path_on_extremes():
    rng = np.random.default_rng(5)
    A = _sym(rng, 30, np.linspace(-2, 5, 30))
    dense = classify_critical_point(_quadratic(A), np.zeros(30))
    lz = classify_critical_point(_quadratic(A), np.zeros(30), dense_limit=0, num_iter=30)
    assert dense.kind == lz.kind == "saddle" and dense.exact and not lz.exact
    assert lz.eigenvalues[0] == pytest.approx(-2.0, abs=1e-8)
    assert lz.eigenvalues[-1] == pytest.approx(5.0, abs=1e-8)


def test_tiny_network_with_zero_weights_is_a_saddle_of_mse():
    """y_hat = tanh(X W1 + b1) W2 + b2 with W1 = b1 = W2 = 0 and b2 = mean(y): every gradient
    vanishes (the hidden layer outputs 0 and gets no signal through W2 = 0). The Hessian has a
    W1-W2 coupling of both signs: a saddle, the classic reason not to initialise with zeros."""
    rng = np.random.default_rng(0)
    X = tg.Tensor(rng.standard_normal((20, 3)))
    y = tg.Tensor(X.data @ np.array([1.0, -2.0, 0.5]))
    W1 = tg.Tensor(np.zeros((3, 4)), requires_grad=True)
    b1 = tg.Tensor(np.zeros(4), requires_grad=True)
    W2 = tg.Tensor(np.zeros(4), requires_grad=True)
    b2 = tg.Tensor(np.array(y.data.mean()), requires_grad=True)
    params = [W1, b1, W2, b2]

    def loss():
        pred = (X @ W1 + b1).tanh() @ W2 + b2
        return ((pred - y) ** 2).mean()

    grads = tg.autograd.grad(loss(), params)
    assert max(float(np.abs(g.data).max()) for g in grads) < 1e-12  # a critical point
    r = classify_critical_point(loss, params=params)
    assert r.kind == "saddle", str(r)
    assert r.gradient_norm < 1e-12
    # the escape direction lowers the loss (second order: by about lambda t^2 / 2)
    base = float(loss().data)
    t = 1e-2
    for p, d in zip(params, r.escape_direction):
        p.data = p.data + t * d
    assert float(loss().data) < base - 0.25 * abs(r.escape_eigenvalue) * t * t
    # Lanczos path (as for a big model) finds the same extreme eigenvalue
    for p, d in zip(params, r.escape_direction):
        p.data = p.data - t * d
    eig = hessian_eigs(loss, params, num_iter=len(r.eigenvalues))
    assert eig.min_value == pytest.approx(r.eigenvalues[0], rel=1e-6)


def test_bad_arguments():
    w = tg.Tensor(np.ones(2))
    with pytest.raises(ValueError, match="requires grad"):
        HessianVectorProduct(lambda: (w * w).sum(), [w])
    w.requires_grad_()
    with pytest.raises(ValueError, match="one-element"):
        HessianVectorProduct(lambda: w * w, [w])
    with pytest.raises(ValueError, match="point or params"):
        classify_critical_point(lambda p: p.sum())
