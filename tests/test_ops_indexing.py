"""Indexing: getitem against numpy, repeated-index gradients, setitem rules, gather, one_hot,
and the error messages for bad indices. (Gradients of many keys are also in op_table.py.)"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.testing import arrays, shapes

X = np.arange(24, dtype=np.float64).reshape(2, 3, 4)

KEYS = [
    0, -1, (1, 2), (1, 2, 3), slice(None, None, -1), (slice(None), slice(2, None, -2)),
    (Ellipsis, 1), (None, 0, Ellipsis, None), (Ellipsis,), (), [1, 0, 1],
    (slice(None), [2, 0, 0], slice(1, 3)), ([0, 1, 1], [2, 2, 0]), (1, [[0, 1], [2, 2]]),
    (slice(None), np.array([True, False, True])), (0, np.array([[True, False, True, False]] * 3)),
    (Ellipsis, [3, -1]), (slice(5, 1), 0), (np.array([True, False]), Ellipsis, None),
]


@pytest.mark.parametrize("key", KEYS, ids=[repr(k) for k in KEYS])
def test_getitem_matches_numpy(key, each_backend):
    t = tg.Tensor(X)
    np.testing.assert_array_equal(t[key].data, X[key])
    assert t[key].shape == np.asarray(X[key]).shape


def test_getitem_accepts_int_and_bool_tensors():
    t = tg.Tensor(X)
    np.testing.assert_array_equal(t[tg.tensor([1, 0])].data, X[[1, 0]])
    np.testing.assert_array_equal(t[t > 10].data, X[X > 10])


def test_basic_index_is_a_view_and_advanced_index_a_copy():
    t = tg.Tensor(X.copy())
    assert np.shares_memory(t[0, 1:].data, t.data)
    assert not np.shares_memory(t[[0]].data, t.data)


def test_repeated_indices_accumulate_their_gradients(each_backend):
    x = tg.Tensor(np.ones((3, 2)), requires_grad=True)
    (x[[0, 2, 0, 0]] * tg.Tensor([[1.0, 2.0]]).double()).sum().backward()
    # row 0 was read three times, row 1 never, row 2 once
    np.testing.assert_array_equal(x.grad.data, [[3, 6], [0, 0], [1, 2]])


def test_repeated_index_pairs_accumulate():
    x = tg.Tensor(np.zeros((2, 3)), requires_grad=True)
    x[[0, 0, 1, 0], [1, 1, 2, 1]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 3, 0], [0, 0, 1]])


def test_mask_gradient_lands_on_the_selected_elements():
    x = tg.Tensor(np.array([[1.0, -2.0], [-3.0, 4.0]]), requires_grad=True)
    (x[x.detach() > 0] * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[5, 0], [0, 5]])


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_random_slices_match_numpy_forward_and_backward(data):
    a = data.draw(arrays(shapes(min_dims=1, max_dims=3, max_side=6)))
    key = tuple(slice(data.draw(st.integers(-7, 7) | st.none()), data.draw(st.integers(-7, 7) | st.none()),
                      data.draw(st.sampled_from([None, 1, 2, -1, -3]))) for _ in range(a.ndim))
    x = tg.Tensor(a, requires_grad=True)
    y = x[key]
    np.testing.assert_array_equal(y.data, a[key])
    g = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(tg.Tensor(g))
    expect = np.zeros_like(a)
    expect[key] = g
    np.testing.assert_array_equal(x.grad.data, expect)


def test_iteration_yields_rows_and_stops():
    t = tg.Tensor(X)
    rows = list(t)
    assert len(rows) == 2 and all(r.shape == (3, 4) for r in rows)
    with pytest.raises(TypeError, match="0-d"):
        iter(tg.tensor(1.0))


# ------------------------------------------------------------------------------- bad indices


@pytest.mark.parametrize("key, axis, size, bad", [
    (5, 0, 2, 5), (-3, 0, 2, -3), ((0, 3), 1, 3, 3), ((0, 0, -5), 2, 4, -5),
    ([0, 2], 0, 2, 2), ((slice(None), [0, -4]), 1, 3, -4), ((Ellipsis, [4]), 2, 4, 4),
])
def test_out_of_range_names_index_axis_and_size(key, axis, size, bad):
    with pytest.raises(IndexError) as err:
        tg.Tensor(X)[key]
    msg = str(err.value)
    assert f"index {bad} " in msg and f"axis {axis} " in msg and f"size {size}" in msg, msg


def test_mask_shape_mismatch_names_both_shapes():
    with pytest.raises(IndexError, match=r"mask of shape \(3,\).*\(2,\).*\(2, 3, 4\)"):
        tg.Tensor(X)[np.array([True, False, True])]
    with pytest.raises(IndexError, match=r"\(2, 2\).*\(3, 4\)"):
        tg.Tensor(X)[0, np.ones((2, 2), bool)]


def test_other_bad_keys():
    t = tg.Tensor(X)
    with pytest.raises(IndexError, match="too many indices.*\\(2, 3, 4\\)"):
        t[0, 0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        t[..., 0, ...]
    with pytest.raises(IndexError, match="float64"):
        t[np.array([0.5])]
    with pytest.raises(IndexError, match="unsupported index"):
        t["a"]
    with pytest.raises(ValueError, match="step cannot be zero"):
        t[::0]


# ------------------------------------------------------------------------------- setitem


def test_setitem_writes_and_bumps_version():
    t = tg.zeros(2, 3)
    v0 = t._version
    t[0, 1:] = 5.0
    t[tg.tensor([1]), 0] = tg.tensor([7.0])
    t[t > 6] = -1.0
    np.testing.assert_array_equal(t.data, [[0, 5, 5], [-1, 0, 0]])
    assert t._version == v0 + 3


def test_setitem_refuses_a_tensor_that_requires_grad():
    w = tg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"requires grad.*where\("):
        w[0] = 1.0
    y = w * 2.0
    with pytest.raises(RuntimeError, match="output of Mul"):
        y[0] = 1.0


def test_setitem_on_a_leaf_is_allowed_under_no_grad():
    w = tg.zeros(3, requires_grad=True)
    with tg.no_grad():
        w[1] = 2.0
    np.testing.assert_array_equal(w.data, [0, 2, 0])
    assert w.requires_grad


def test_setitem_value_that_requires_grad_is_refused():
    t = tg.zeros(3)
    with pytest.raises(RuntimeError, match="value.*requires grad"):
        t[0] = tg.ones(1, requires_grad=True).sum()


def test_setitem_after_save_for_backward_is_caught_at_backward():
    x = tg.ones(3)
    w = tg.ones(3, requires_grad=True)
    y = (x * w).sum()  # Mul saved x for w's gradient
    x[0] = 5.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_setitem_errors_name_shapes():
    t = tg.zeros(2, 3)
    with pytest.raises(ValueError, match=r"shape \(4,\).*\(2, 3\)"):
        t[0] = np.ones(4)
    with pytest.raises(IndexError, match="index 2 is out of range for axis 0"):
        t[2] = 1.0
    with pytest.raises(RuntimeError, match="read-only"):
        tg.ones(3).expand(2, 3)[0, 0] = 1.0


# ------------------------------------------------------------------------------- gather


def test_gather_matches_take_along_axis_and_scatter_adds(each_backend):
    a = np.arange(12.0).reshape(3, 4)
    idx = np.array([[0, 0, 3], [1, 1, 1], [2, 0, 2]])
    x = tg.Tensor(a, requires_grad=True)
    out = tg.gather(x, 1, idx)
    np.testing.assert_array_equal(out.data, np.take_along_axis(a, idx, 1))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2, 0, 0, 1], [0, 3, 0, 0], [1, 0, 2, 0]])


def test_gather_index_smaller_than_input_like_pytorch():
    a = np.arange(12.0).reshape(3, 4)
    out = tg.Tensor(a).gather(0, tg.tensor([[2, 1]]))  # one row, two columns
    np.testing.assert_array_equal(out.data, [[8, 5]])


def test_gather_errors():
    x = tg.zeros(3, 4)
    with pytest.raises(IndexError, match="index 4 is out of range for axis 1 with size 4"):
        tg.gather(x, 1, [[4]])
    with pytest.raises(IndexError, match="index -1"):
        tg.gather(x, 0, [[-1]])
    with pytest.raises(ValueError, match=r"index shape \(3,\).*\(3, 4\)"):
        tg.gather(x, 1, [0, 1, 2])
    with pytest.raises(TypeError, match="integers"):
        tg.gather(x, 1, [[0.5]])
    with pytest.raises(ValueError, match="larger than input"):
        tg.gather(x, 1, np.zeros((4, 1), np.int64))


# ------------------------------------------------------------------------------- one_hot


def test_one_hot_values_and_dtype():
    out = tg.one_hot(tg.tensor([[0, 2], [1, 1]]), 3)
    assert out.dtype == np.int64 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.data, np.eye(3, dtype=np.int64)[[[0, 2], [1, 1]]])
    assert tg.one_hot(tg.tensor([3, 0])).shape == (2, 4)  # num_classes inferred
    assert tg.one_hot([1], 2, dtype=tg.float32).dtype == np.float32


def test_one_hot_errors():
    with pytest.raises(ValueError, match="label 3 is out of range for num_classes=3"):
        tg.one_hot(tg.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match="label -1"):
        tg.one_hot(tg.tensor([-1, 0]), 3)
    with pytest.raises(TypeError, match="integers"):
        tg.one_hot(tg.tensor([0.0, 1.0]), 2)


# ------------------------------------------------------------------------------- scatter-add kernel


def test_row_index_gradient_with_negative_and_2d_indices(each_backend):
    # x[idx] with idx of any shape (and negative entries) takes the scatter_add_rows path
    x = tg.Tensor(np.zeros((4, 2)), requires_grad=True)
    idx = np.array([[0, -1], [3, 0], [-4, 2]])
    g = np.arange(12.0).reshape(3, 2, 2)
    x[idx].backward(tg.Tensor(g))
    expect = np.zeros((4, 2))
    np.add.at(expect, idx % 4, g)
    np.testing.assert_array_equal(x.grad.data, expect)


@pytest.mark.skipif("c" not in tg.backend.available(), reason="C backend not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_scatter_add_rows_c_matches_numpy(dtype, data):
    from tinygrad_edu.backend import c as cb
    from tinygrad_edu.backend import numpy as ref

    num = data.draw(st.integers(1, 6))
    n = data.draw(st.integers(0, 12))
    row = data.draw(st.sampled_from([(), (0,), (3,), (2, 5), (300,)]))  # 300: column threads
    idx = np.array(data.draw(st.lists(st.integers(0, num - 1), min_size=n, max_size=n)), np.int64)
    src = data.draw(arrays((n,) + row, dtype=dtype))
    got = cb.scatter_add_rows(idx, src, num)
    want = ref.scatter_add_rows(idx, src, num)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=1e-6)


@pytest.mark.skipif("c" not in tg.backend.available(), reason="C backend not built")
def test_scatter_add_rows_c_refuses_out_of_range_indices():
    from tinygrad_edu.backend import c as cb

    with pytest.raises(IndexError, match=r"outside \[0, 3\)"):
        cb.scatter_add_rows(np.array([0, 3]), np.ones((2, 4)), 3)
    with pytest.raises(IndexError):
        cb.scatter_add_rows(np.array([-1]), np.ones((1, 4), np.float32), 3)


def test_setitem_on_a_non_leaf_under_no_grad_is_allowed_and_seen_at_backward():
    """Like the in-place ops: under no_grad any tensor may be written; a graph that saved it
    (here Mul saved h) raises at backward instead of using the new values."""
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = w * 2
    loss = (h * h).sum()
    with tg.no_grad():
        h[0] = 100.0
    assert h.data[0] == 100.0 and h._version == 1
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()
    with pytest.raises(RuntimeError, match="setitem: cannot assign into a tensor"):
        h[1] = 5.0  # grad mode on: refused
