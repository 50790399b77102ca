"""autograd.functional (vjp, jvp, jacobian, hessian, hvp, vhp) against finite differences of
first-order gradients, in float64."""

import numpy as np
import pytest
from hypothesis import given, settings

import tinygrad_edu as tg
from tinygrad_edu import autograd
from tinygrad_edu.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp
from tinygrad_edu.testing import arrays

EPS = 1e-6


def f_scalar(x, y):
    """A smooth scalar function of two tensors with mixed second derivatives."""
    return (x.tanh() * y).sum() + (x * x * y.exp()).sum() + (x.sum() * y * y).sum()


def f_vector(x):
    return (x * x).exp() * x.sum() + x.sigmoid()


def _grad_np(f, arrs):
    ts = [tg.Tensor(a.copy(), requires_grad=True) for a in arrs]
    gs = autograd.grad(f(*ts), ts)
    return [g.data.copy() for g in gs]


def _numeric_hessian(f, arrs):
    """H[i][j] = d(grad_i)/d(x_j) by central differences of the analytic *first* derivative."""
    blocks = [[None] * len(arrs) for _ in arrs]
    for j, a in enumerate(arrs):
        cols = []
        for k in range(a.size):
            plus = [b.copy() for b in arrs]
            minus = [b.copy() for b in arrs]
            plus[j].reshape(-1)[k] += EPS
            minus[j].reshape(-1)[k] -= EPS
            gp, gm = _grad_np(f, plus), _grad_np(f, minus)
            cols.append([(p - m) / (2 * EPS) for p, m in zip(gp, gm)])
        for i, ai in enumerate(arrs):
            blocks[i][j] = np.stack([c[i] for c in cols], axis=-1).reshape(ai.shape + a.shape)
    return blocks


def _numeric_jacobian(f, a):
    out = f(tg.Tensor(a)).data
    J = np.zeros(out.shape + a.shape)
    for k in range(a.size):
        p, m = a.copy(), a.copy()
        p.reshape(-1)[k] += EPS
        m.reshape(-1)[k] -= EPS
        J.reshape(out.size, a.size)[:, k] = ((f(tg.Tensor(p)).data - f(tg.Tensor(m)).data)
                                             / (2 * EPS)).ravel()
    return J


@settings(max_examples=15, deadline=None)
@given(x=arrays((3,), low=-1.5, high=1.5), y=arrays((2, 3), low=-1.5, high=1.5))
def test_hessian_matches_finite_differences_of_gradients(x, y):
    H = hessian(f_scalar, (tg.Tensor(x), tg.Tensor(y)))
    num = _numeric_hessian(f_scalar, [x, y])
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(H[i][j].data, num[i][j], rtol=1e-5, atol=1e-6)
    # symmetry of mixed partials
    np.testing.assert_allclose(H[0][1].data.reshape(3, 6), H[1][0].data.reshape(6, 3).T,
                               rtol=1e-10, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(x=arrays((3,), low=-1.5, high=1.5), y=arrays((2, 3), low=-1.5, high=1.5),
       vx=arrays((3,)), vy=arrays((2, 3)))
def test_hvp_and_vhp_match_finite_differences_of_gradients(x, y, vx, vy):
    out, (hx, hy) = hvp(f_scalar, (tg.Tensor(x), tg.Tensor(y)), (tg.Tensor(vx), tg.Tensor(vy)))
    # H v = (grad(p + eps v) - grad(p - eps v)) / (2 eps): a directional difference
    gp = _grad_np(f_scalar, [x + EPS * vx, y + EPS * vy])
    gm = _grad_np(f_scalar, [x - EPS * vx, y - EPS * vy])
    np.testing.assert_allclose(hx.data, (gp[0] - gm[0]) / (2 * EPS), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hy.data, (gp[1] - gm[1]) / (2 * EPS), rtol=1e-5, atol=1e-6)
    assert np.isclose(out.item(), f_scalar(tg.Tensor(x), tg.Tensor(y)).item())
    _, (ux, uy) = vhp(f_scalar, (tg.Tensor(x), tg.Tensor(y)), (tg.Tensor(vx), tg.Tensor(vy)))
    np.testing.assert_allclose(ux.data, hx.data, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(uy.data, hy.data, rtol=1e-10, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(x=arrays((4,), low=-1.0, high=1.0), v=arrays((4,)))
def test_jacobian_jvp_vjp_match_finite_differences(x, v):
    J = jacobian(f_vector, tg.Tensor(x))
    num = _numeric_jacobian(f_vector, x)
    assert J.shape == (4, 4)
    np.testing.assert_allclose(J.data, num, rtol=1e-5, atol=1e-6)
    out, jv = jvp(f_vector, tg.Tensor(x), tg.Tensor(v))
    np.testing.assert_allclose(jv.data, num @ v, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.data, f_vector(tg.Tensor(x)).data)
    _, vj = vjp(f_vector, tg.Tensor(x), tg.Tensor(v))
    np.testing.assert_allclose(vj.data, v @ num, rtol=1e-5, atol=1e-6)


def test_return_structures_follow_pytorch():
    x, y = tg.Tensor(np.ones(3)), tg.Tensor(np.ones((2, 3)))
    H = hessian(lambda a: (a * a * a).sum(), x)
    assert isinstance(H, tg.Tensor) and H.shape == (3, 3)
    np.testing.assert_allclose(H.data, 6 * np.eye(3))
    H2 = hessian(f_scalar, (x, y))
    assert isinstance(H2, tuple) and len(H2) == 2 and H2[0][1].shape == (3, 2, 3)
    J = jacobian(lambda a, b: (a * b, b.sum()), (x, y))  # two outputs, two inputs
    assert J[0][0].shape == (2, 3, 3) and J[0][1].shape == (2, 3, 2, 3) and J[1][1].shape == (2, 3)
    out, g = vjp(lambda a: (a * a).sum(), x)  # v may be omitted for a one-element output
    assert g.shape == (3,) and out.item() == 3.0
    # inputs' .grad never touched, results are not in a graph
    assert x.grad is None and not g.requires_grad and g._ctx is None


def test_unused_input_gives_zeros_and_strict_raises():
    x, y = tg.Tensor(np.ones(2)), tg.Tensor(np.ones(2))
    _, (gx, gy) = vjp(lambda a, b: (a * 2).sum(), (x, y))
    np.testing.assert_array_equal(gy.data, 0)
    with pytest.raises(RuntimeError, match="strict"):
        vjp(lambda a, b: (a * 2).sum(), (x, y), strict=True)
    H = hessian(lambda a: a.sum() * 3, x)  # linear: gradient constant, Hessian zero
    np.testing.assert_array_equal(H.data, 0)


def test_create_graph_allows_third_derivative():
    # f = sum x^4: H v = 12 x^2 v; d/dx sum(H v) = 24 x v
    x = tg.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    v = tg.Tensor(np.array([1.0, 2.0, 3.0]))
    _, hv = hvp(lambda a: (a ** 4).sum(), x, v, create_graph=True)
    np.testing.assert_allclose(hv.data, 12 * x.data ** 2 * v.data)
    (g3,) = autograd.grad(hv.sum(), [x])
    np.testing.assert_allclose(g3.data, 24 * x.data * v.data)


def test_bad_arguments_have_clear_errors():
    x = tg.Tensor(np.ones(3))
    with pytest.raises(RuntimeError, match="v can be omitted only"):
        vjp(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match=r"v\[0\] has shape"):
        vjp(lambda a: a * 2, x, tg.Tensor(np.ones(2)))
    with pytest.raises(RuntimeError, match="single one-element tensor"):
        hessian(lambda a: a * 2, x)
    with pytest.raises(TypeError, match="float inputs"):
        jacobian(lambda a: a * 2, tg.Tensor(np.arange(3)))
    with pytest.raises(TypeError, match="Tensor or a tuple of Tensors"):
        jacobian(lambda a: a * 2, [np.ones(3)])


def test_functional_is_reachable_as_autograd_attribute():
    import tinygrad_edu.autograd.functional as F

    assert tg.autograd.functional is F and F.hessian is hessian


def test_jacobian_and_hessian_with_create_graph_stay_differentiable():
    x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    H = hessian(lambda a: (a ** 4).sum(), x, create_graph=True)  # diag(12 x^2)
    np.testing.assert_allclose(H.data, np.diag(12 * x.data ** 2))
    (g,) = autograd.grad(H.sum(), [x])
    np.testing.assert_allclose(g.data, 24 * x.data)
    J = jacobian(lambda a: a * a * a, x, create_graph=True)  # diag(3 x^2)
    (g,) = autograd.grad(J.sum(), [x])
    np.testing.assert_allclose(g.data, 6 * x.data)
