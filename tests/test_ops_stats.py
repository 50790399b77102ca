"""Statistics: var/std, logsumexp stability, argmax/argmin, prod with zeros, cumsum, max/min with
indices, and the gradient convention at ties. (Finite-difference gradients: op_table.py.)"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.testing import arrays, shapes


def _t(a, grad=False):
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ------------------------------------------------------------------------------- ties


def test_max_min_split_the_gradient_evenly_at_ties():
    """x.max(axis) / x.min(axis) (ops/reduce.py): tied elements share the gradient equally."""
    x = _t([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    y = _t([[4.0, 0.0, 0.0, 7.0]], True)
    (y.min(axis=1) * 6.0).sum().backward()
    np.testing.assert_allclose(y.grad.data, [[0, 3, 3, 0]])
    z = _t([[5.0, 1.0], [5.0, 5.0]], True)
    z.max().backward()  # a 3-way tie over all elements
    np.testing.assert_allclose(z.grad.data, [[1 / 3, 0], [1 / 3, 1 / 3]])


def test_max_with_indices_sends_the_gradient_to_the_returned_index():
    x = _t([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], True)
    values, indices = x.max_with_indices(axis=1)
    np.testing.assert_array_equal(values.data, [3, 2])
    np.testing.assert_array_equal(indices.data, [1, 0])  # the first of the tied ones
    assert indices.dtype == np.int64 and not indices.requires_grad
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 1, 0], [1, 0, 0]])


def test_max_min_with_indices_match_numpy():
    a = np.random.default_rng(1).standard_normal((3, 4, 5))
    for axis in (0, 1, -1):
        v, i = tg.max_with_indices(_t(a), axis)
        np.testing.assert_array_equal(v.data, a.max(axis))
        np.testing.assert_array_equal(i.data, a.argmax(axis))
        r = _t(a).min_with_indices(axis, keepdims=True)
        np.testing.assert_array_equal(r.values.data, a.min(axis, keepdims=True))
        np.testing.assert_array_equal(r.indices.data, a.argmin(axis, keepdims=True))
    with pytest.raises(TypeError, match="axis must be an int"):
        tg.zeros(2, 3).max_with_indices(None)
    with pytest.raises(ValueError, match="empty"):
        tg.zeros(2, 0).max_with_indices(1)


# ------------------------------------------------------------------------------- var / std


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=arrays(shapes(min_dims=1, max_dims=3, min_side=2, max_side=4)), data=st.data())
def test_var_std_match_numpy(a, data, each_backend):
    axis = data.draw(st.none() | st.integers(-a.ndim, a.ndim - 1))
    np.testing.assert_allclose(_t(a).var(axis).data, a.var(axis, ddof=1), atol=1e-12)  # unbiased
    np.testing.assert_allclose(_t(a).var(axis, unbiased=False).data, a.var(axis), atol=1e-12)
    np.testing.assert_allclose(tg.std(_t(a), axis, keepdims=True, correction=0).data,
                               a.std(axis, keepdims=True), atol=1e-12)


def test_var_needs_more_elements_than_the_correction():
    with pytest.raises(ValueError, match="N - correction = 0.*unbiased=False"):
        tg.ones(3, 1).var(axis=1)
    assert tg.ones(3, 1).var(axis=1, unbiased=False).shape == (3,)
    assert tg.tensor([1, 2, 3]).var().dtype == np.float32  # ints are averaged as floats


# ------------------------------------------------------------------------------- logsumexp


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_is_stable_at_large_magnitudes(dtype, each_backend):
    a = np.array([[1e4, 1e4], [-1e4, -1e4], [1e4, -1e4], [0.0, 0.0]], dtype=dtype)
    x = tg.Tensor(a, requires_grad=True)
    out = x.logsumexp(axis=1)
    np.testing.assert_allclose(out.data, [1e4 + np.log(2), -1e4 + np.log(2), 1e4, np.log(2)],
                               rtol=1e-6)
    out.sum().backward()  # the gradient is the softmax of each row
    np.testing.assert_allclose(x.grad.data, [[0.5, 0.5], [0.5, 0.5], [1, 0], [0.5, 0.5]])
    assert np.isfinite(x.grad.data).all()


def test_logsumexp_of_minus_infinity_rows_and_empty():
    out = tg.tensor([[-np.inf, -np.inf], [0.0, -np.inf]]).logsumexp(axis=1)
    assert out.data[0] == -np.inf and out.data[1] == 0.0  # no nan from (-inf) - (-inf)
    with pytest.raises(ValueError, match="empty"):
        tg.zeros(2, 0).logsumexp(axis=1)


@settings(max_examples=25, deadline=None)
@given(a=arrays(shapes(min_dims=1, max_dims=3), low=-50, high=50))
def test_logsumexp_matches_numpy(a):
    np.testing.assert_allclose(tg.logsumexp(_t(a), axis=-1).data,
                               np.log(np.sum(np.exp(a), axis=-1)), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------- argmax


def test_argmax_argmin():
    a = np.array([[1.0, 5.0, 5.0], [7.0, 0.0, 7.0]])
    x = tg.Tensor(a, requires_grad=True)
    out = x.argmax(axis=1)
    assert out.dtype == np.int64 and not out.requires_grad and out._ctx is None
    np.testing.assert_array_equal(out.data, [1, 0])  # ties: the first one
    np.testing.assert_array_equal(tg.argmin(x, axis=0, keepdims=True).data, [[0, 1, 0]])
    assert tg.argmax(x).item() == 3  # flat index when axis is None
    with pytest.raises(ValueError, match="empty"):
        tg.zeros(0).argmax()
    with pytest.raises(ValueError, match="out of range"):
        x.argmax(axis=2)


# ------------------------------------------------------------------------------- prod


def test_prod_gradient_with_zeros():
    # one zero in a row: only the zero gets a gradient, the product of the others
    x = _t([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]], True)
    x.prod(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 6, 0], [0, 0, 0], [6, 3, 2]])
    # the product is linear in each element, so central differences are exact even at zeros
    assert tg.gradcheck(lambda t: t.prod(axis=0), [_t([[0.0, 2.0], [3.0, 0.0], [0.0, 5.0]], True)])


def test_prod_second_derivative_with_zeros_is_refused():
    x = _t([0.0, 2.0], True)
    with pytest.raises(RuntimeError, match="zero elements"):
        tg.autograd.grad(x.prod(), x, create_graph=True)


def test_prod_values():
    a = np.arange(1, 7).reshape(2, 3)
    np.testing.assert_array_equal(tg.tensor(a).prod(axis=0).data, a.prod(axis=0))
    assert tg.tensor(a).prod().dtype == np.int64


# ------------------------------------------------------------------------------- cumsum


@settings(max_examples=25, deadline=None)
@given(a=arrays(shapes(min_dims=1, max_dims=3)), data=st.data())
def test_cumsum_matches_numpy_with_reversed_cumsum_gradient(a, data):
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    x = _t(a, True)
    y = x.cumsum(axis)
    np.testing.assert_allclose(y.data, np.cumsum(a, axis), atol=1e-12)
    g = np.random.default_rng(0).standard_normal(a.shape)
    y.backward(_t(g))
    expect = np.flip(np.cumsum(np.flip(g, axis), axis), axis)
    np.testing.assert_allclose(x.grad.data, expect, atol=1e-12)


def test_cumsum_dtypes_and_flat():
    assert tg.tensor([True, True, False]).cumsum().dtype == np.int64
    np.testing.assert_array_equal(tg.tensor([[1, 2], [3, 4]]).cumsum().data, [1, 3, 6, 10])
    assert tg.tensor(3.0).cumsum(0).shape == ()
    assert tg.tensor(3.0).cumsum().shape == (1,)  # axis=None flattens, like numpy
