"""Tensor creation, dtypes and promotion, interop, repr, shape errors."""

import numpy as np
import pytest

import tinygrad_edu as tg


def test_default_dtypes():
    assert tg.tensor([1.0, 2.0]).dtype == np.float32
    assert tg.tensor([1, 2]).dtype == np.int64
    assert tg.tensor(np.zeros(2)).dtype == np.float64  # numpy arrays keep their float dtype
    assert tg.tensor(np.zeros(2, np.float16)).dtype == np.float32
    assert tg.tensor([True, False]).dtype == np.bool_
    assert tg.zeros(2, 3).dtype == np.float32 and tg.zeros(2, 3).shape == (2, 3)
    assert tg.arange(5).dtype == np.int64 and tg.arange(0.0, 1.0, 0.5).dtype == np.float32
    with pytest.raises(TypeError, match="complex"):
        tg.tensor([1j])
    with pytest.raises(TypeError, match="not supported"):
        tg.zeros(2, dtype="int8")


def test_creation_functions():
    tg.manual_seed(0)
    a = tg.randn(100, 100)
    tg.manual_seed(0)
    b = tg.randn(100, 100)
    np.testing.assert_array_equal(a.data, b.data)
    assert abs(a.data.mean()) < 0.05 and abs(a.data.std() - 1) < 0.05
    r = tg.rand(1000)
    assert r.data.min() >= 0 and r.data.max() < 1
    np.testing.assert_array_equal(tg.eye(3).data, np.eye(3))
    np.testing.assert_array_equal(tg.full((2, 2), 7.0).data, 7.0)
    assert tg.full((2,), 3).dtype == np.int64
    assert tg.ones_like(a).shape == a.shape and tg.zeros_like(a, dtype="float64").dtype == np.float64
    assert tg.randn_like(a).shape == a.shape and tg.rand_like(a).shape == a.shape
    assert tg.full_like(a, 2.0).data[0, 0] == 2.0
    with pytest.raises(ValueError, match="non-negative"):
        tg.zeros(-1)
    with pytest.raises(ValueError, match="manual_seed"):
        tg.manual_seed(-3)


def test_from_numpy_shares_memory():
    arr = np.zeros(3)
    t = tg.from_numpy(arr)
    arr[0] = 5
    assert t.data[0] == 5
    with pytest.raises(TypeError, match="ndarray"):
        tg.from_numpy([1, 2])


def test_interop():
    t = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert len(t) == 2 and t.ndim == 2 and t.size == 4 and t.shape == (2, 2)
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert tg.tensor(3.5).item() == 3.5
    assert np.asarray(t).dtype == np.float32
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert not np.shares_memory(np.array(t, copy=True), t.data)
    with pytest.raises(ValueError, match="one element"):
        t.item()
    with pytest.raises(TypeError, match="0-d"):
        len(tg.tensor(1.0))
    g = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\).numpy\(\)"):
        g.numpy()
    assert g.detach().numpy()[0] == 1.0


def test_repr_shows_grad_fn_and_dtype():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=<Mul>" in repr(x * 2)
    assert "float64" in repr(tg.tensor(np.zeros(2)))


def test_promotion_rules():
    f32 = tg.tensor([1.0, 2.0])
    f64 = tg.tensor(np.array([1.0, 2.0]))
    i64 = tg.tensor([1, 2])
    assert (f32 + f64).dtype == np.float64
    assert (i64 * f32).dtype == np.float32
    assert (f32 * 2.5).dtype == np.float32  # Python scalars never widen
    assert (i64 * 2).dtype == np.int64
    assert (i64 * 2.5).dtype == np.float32
    assert (2.0 - f64).dtype == np.float64
    assert (f32 < f64).dtype == np.bool_


def test_promotion_is_differentiable():
    a = tg.tensor([1.0, 2.0], requires_grad=True)  # float32
    b = tg.tensor(np.array([3.0, 4.0]), requires_grad=True)  # float64
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.data, [3.0, 4.0])


def test_requires_grad_only_for_floats():
    with pytest.raises(TypeError, match="only float tensors"):
        tg.tensor([1, 2], requires_grad=True)


def test_comparisons():
    a = tg.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal((a > 1.5).data, [False, True, True])
    np.testing.assert_array_equal((a == tg.tensor([1.0, 0.0, 3.0])).data, [True, False, True])
    np.testing.assert_array_equal((a <= 2).data, [True, True, False])


def test_broadcast_error_names_op_and_shapes(each_backend):
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        tg.ones(2, 3) + tg.ones(4)


def test_matmul_errors_name_shapes(each_backend):
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) cannot be multiplied: 4 != 5"):
        tg.ones(3, 4) @ tg.ones(5, 2)
    with pytest.raises(ValueError, match="at least 1 dim"):
        tg.tensor(1.0) @ tg.ones(2)
    with pytest.raises(ValueError, match="batch dims"):
        tg.ones(2, 3, 4) @ tg.ones(3, 4, 5)


def test_shape_methods():
    x = tg.arange(24).reshape(2, 3, 4)
    assert x.permute(2, 0, 1).shape == (4, 2, 3)
    assert x.T.shape == (4, 3, 2)
    assert x.transpose(0, 2).shape == (4, 3, 2)
    assert x.unsqueeze(1).shape == (2, 1, 3, 4) and x.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert tg.ones(1, 3, 1).squeeze().shape == (3,)
    assert tg.ones(1, 3, 1).squeeze(0).shape == (3, 1)
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12)
    assert tg.ones(3, 1).expand(2, 3, 4).shape == (2, 3, 4)
    assert tg.ones(3, 1).expand(-1, 5).shape == (3, 5)
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3, 4\)"):
        x.reshape(5, 5)
    with pytest.raises(ValueError, match="permute"):
        x.permute(0, 0, 1)
    with pytest.raises(ValueError, match="expand"):
        tg.ones(3).expand(4)
    with pytest.raises(ValueError, match="squeeze"):
        x.squeeze(0)


def test_reductions_values(each_backend):
    x = tg.tensor(np.arange(12.0).reshape(3, 4))
    assert x.sum().item() == 66
    np.testing.assert_array_equal(x.sum(axis=0).data, x.data.sum(0))
    np.testing.assert_array_equal(x.max(axis=1, keepdims=True).data, [[3], [7], [11]])
    np.testing.assert_array_equal(x.min(axis=-1).data, [0, 4, 8])
    assert x.mean().item() == 5.5
    assert tg.tensor([1, 2]).mean().dtype == np.float32
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        x.sum(axis=2)


def test_max_gradient_splits_ties_evenly():
    x = tg.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.data, [0, 0.5, 0.5, 0])


def test_maximum_gradient_splits_ties_evenly():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([1.0, 3.0], requires_grad=True)
    a.maximum(b).sum().backward()
    np.testing.assert_allclose(a.grad.data, [0.5, 0])
    np.testing.assert_allclose(b.grad.data, [0.5, 1])


def test_matmul_1d_semantics(each_backend):
    a, b = np.arange(4.0), np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose((tg.tensor(a) @ tg.tensor(b)).data, a @ b)
    np.testing.assert_allclose((tg.tensor(b.T) @ tg.tensor(a)).data, b.T @ a)
    assert (tg.tensor(a) @ tg.tensor(a)).shape == ()


def test_zero_d_results_are_arrays_on_every_backend(each_backend):
    """numpy ufuncs and full reductions return numpy scalars for 0-d results; a Tensor must
    still hold an ndarray (weak-referenceable, writeable, with .flags), with grad or without."""
    x, y = tg.tensor(2.0, requires_grad=True), tg.tensor(3.0)
    outs = [x * y, x + 1.0, -x, x.exp(), x.tanh(), tg.tensor([1.0, 2.0]).sum(), x / y]
    with tg.no_grad():
        outs += [x * y, -x, x.exp(), tg.tensor([[1.0, 2.0]]).sum()]
    for t in outs:
        assert type(t.data) is np.ndarray and t.data.ndim == 0, type(t.data)
    (x * y).backward()
    assert type(x.grad.data) is np.ndarray and x.grad.data.flags.writeable
    assert x.grad.item() == 3.0
