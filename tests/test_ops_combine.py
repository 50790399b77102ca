"""Shape algebra: cat/stack/split/chunk/pad/where/clip/flip/roll/tile/repeat against numpy,
explicit gradients, and the error messages. (Finite-difference gradients: op_table.py.)"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.testing import arrays, shapes


def _t(a, grad=False):
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ------------------------------------------------------------------------------- cat / stack


def test_cat_and_stack_match_numpy(each_backend):
    a, b = np.arange(6.0).reshape(2, 3), np.arange(4.0).reshape(2, 2)
    np.testing.assert_array_equal(tg.cat([_t(a), _t(b)], axis=1).data, np.concatenate([a, b], 1))
    np.testing.assert_array_equal(tg.concatenate([_t(a), _t(a)], -2).data, np.concatenate([a, a]))
    np.testing.assert_array_equal(tg.stack([_t(a), _t(a * 2)], axis=1).data, np.stack([a, a * 2], 1))


def test_cat_gradient_is_the_slice_of_each_input():
    a, b = _t(np.ones((2, 1)), True), _t(np.ones((2, 2)), True)
    w = _t([[1, 2, 3], [4, 5, 6]])
    (tg.cat([a, b, a], axis=1)[:, :3] * w).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [[1], [4]])  # the third copy was cut off
    np.testing.assert_array_equal(b.grad.data, [[2, 3], [5, 6]])


def test_cat_promotes_dtypes():
    out = tg.cat([tg.ones(2), tg.ones(2, dtype=tg.float64), tg.tensor([1, 2])])
    assert out.dtype == np.float64 and out.shape == (6,)


def test_cat_shape_mismatch_names_op_axis_and_all_shapes():
    with pytest.raises(ValueError) as err:
        tg.cat([tg.zeros(2, 3), tg.zeros(2, 3), tg.zeros(3, 2)], axis=1)
    msg = str(err.value)
    assert "cat" in msg and "axis 1" in msg and "(2, 3), (2, 3), (3, 2)" in msg, msg
    with pytest.raises(ValueError, match=r"number of dims.*\(2,\).*\(2, 1\)"):
        tg.cat([tg.zeros(2), tg.zeros(2, 1)])
    with pytest.raises(ValueError, match="non-empty"):
        tg.cat([])
    with pytest.raises(ValueError, match="zero-dimensional"):
        tg.cat([tg.tensor(1.0), tg.tensor(2.0)])
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        tg.cat([tg.zeros(2, 3)], axis=2)
    with pytest.raises(TypeError, match="list or tuple"):
        tg.cat(tg.zeros(2, 3))


def test_stack_shape_mismatch():
    with pytest.raises(ValueError, match=r"stack.*\(2, 3\), \(3, 2\)"):
        tg.stack([tg.zeros(2, 3), tg.zeros(3, 2)])


# ------------------------------------------------------------------------------- split / chunk


def test_split_and_chunk_piece_sizes():
    x = tg.arange(10).reshape(5, 2)
    assert [p.shape[0] for p in tg.split(x, 2)] == [2, 2, 1]
    assert [p.shape[1] for p in x.split([0, 2], axis=1)] == [0, 2]
    assert [p.shape[0] for p in tg.chunk(x, 3)] == [2, 2, 1]
    assert [p.shape[0] for p in tg.chunk(tg.zeros(6), 4)] == [2, 2, 2]  # PyTorch: 3 pieces
    np.testing.assert_array_equal(tg.cat(tg.split(x, [1, 4])).data, x.data)


def test_split_errors():
    x = tg.zeros(5, 2)
    with pytest.raises(ValueError, match=r"add up to 5"):
        tg.split(x, [2, 2])
    with pytest.raises(ValueError, match="positive"):
        tg.split(x, 0)
    with pytest.raises(ValueError, match="positive"):
        tg.chunk(x, 0)


# ------------------------------------------------------------------------------- pad


def test_pad_spellings_agree_with_numpy(each_backend):
    a = np.arange(24.0).reshape(2, 3, 4)
    torch_order = tg.pad(_t(a), (1, 2, 3, 0), value=-1.0)  # last dim (1, 2), then (3, 0)
    numpy_order = tg.pad(_t(a), ((0, 0), (3, 0), (1, 2)), value=-1.0)
    expect = np.pad(a, ((0, 0), (3, 0), (1, 2)), constant_values=-1.0)
    np.testing.assert_array_equal(torch_order.data, expect)
    np.testing.assert_array_equal(numpy_order.data, expect)


def test_pad_gradient_drops_the_border():
    x = _t(np.ones((2, 2)), True)
    (tg.pad(x, (1, 1)) * _t([[1, 2, 3, 4], [5, 6, 7, 8]])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2, 3], [6, 7]])


def test_pad_errors():
    x = tg.zeros(2, 3)
    with pytest.raises(ValueError, match="even number"):
        tg.pad(x, (1, 2, 3))
    with pytest.raises(ValueError, match="at most 2 \\* ndim"):
        tg.pad(x, (1, 1, 1, 1, 1, 1))
    with pytest.raises(ValueError, match="one \\(before, after\\) pair per dim"):
        tg.pad(x, ((1, 1),))
    with pytest.raises(ValueError, match="negative"):
        tg.pad(x, (-1, 0))


# ------------------------------------------------------------------------------- where / clip


def test_where_broadcasts_and_routes_gradients(each_backend):
    cond = tg.tensor([[True], [False]])
    a, b = _t([1.0, 2.0, 3.0], True), _t(10.0, True)
    out = tg.where(cond, a, b)
    np.testing.assert_array_equal(out.data, [[1, 2, 3], [10, 10, 10]])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.data, [1, 1, 1])  # one row took a
    assert b.grad.item() == 3  # three elements took b


def test_where_scalars_and_errors():
    x = tg.tensor([-1.0, 2.0])
    np.testing.assert_array_equal(tg.where(x > 0, x, 0.0).data, [0, 2])
    assert tg.where(x > 0, 1.0, 0.0).dtype == np.float32
    with pytest.raises(TypeError, match="bool.*x > 0"):
        tg.where(x, x, x)
    with pytest.raises(ValueError, match=r"cond \(2,\), a \(3,\), b \(2,\)"):
        tg.where(x > 0, tg.zeros(3), x)


def test_clip_values_and_gradient_inside_outside_and_at_bounds():
    x = _t([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0], True)
    y = x.clip(-1.0, 1.0)
    np.testing.assert_array_equal(y.data, [-1, -1, 0, 0.5, 1, 1])
    y.sum().backward()
    # 1 inside [min, max], bounds included (PyTorch's convention at the kink), 0 outside
    np.testing.assert_array_equal(x.grad.data, [0, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(tg.clamp(_t([-3.0, 3.0]), min=0.0).data, [0, 3])
    np.testing.assert_array_equal(tg.clip(_t([-3.0, 3.0]), max=0.0).data, [-3, 0])


def test_clip_with_tensor_bounds_and_int_input():
    x = _t([0.0, 5.0], True)
    lo = _t([1.0, 1.0], True)
    x.clip(lo, 4.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0])
    np.testing.assert_array_equal(lo.grad.data, [1, 0])
    assert tg.tensor([1, 5]).clip(0.5, 2.5).dtype == np.float32
    assert tg.tensor([1, 5]).clip(0, 2).dtype == np.int64


def test_clip_errors():
    with pytest.raises(ValueError, match="at least one"):
        tg.zeros(2).clip()
    with pytest.raises(ValueError, match=r"min \(2.0\) is greater than max \(1.0\)"):
        tg.zeros(2).clip(2.0, 1.0)


def test_maximum_minimum_functions_take_scalars_on_either_side():
    x = tg.tensor([-1.0, 2.0])
    np.testing.assert_array_equal(tg.maximum(x, 0.0).data, [0, 2])
    np.testing.assert_array_equal(tg.minimum(0.0, x).data, [-1, 0])


# ------------------------------------------------------------------------------- flip/roll/tile


@settings(max_examples=25, deadline=None)
@given(a=arrays(shapes(min_dims=1, max_dims=3, max_side=4)), data=st.data())
def test_flip_roll_tile_match_numpy(a, data):
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    shift = data.draw(st.integers(-5, 5))
    reps = tuple(data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=4)))
    t = tg.Tensor(a)
    np.testing.assert_array_equal(t.flip(axis).data, np.flip(a, axis))
    np.testing.assert_array_equal(tg.flip(t).data, np.flip(a))
    np.testing.assert_array_equal(t.roll(shift, axis).data, np.roll(a, shift, axis))
    np.testing.assert_array_equal(tg.roll(t, shift).data, np.roll(a, shift))
    np.testing.assert_array_equal(tg.tile(t, reps).data, np.tile(a, reps))


def test_tile_gradient_sums_the_copies():
    x = _t([1.0, 2.0], True)
    (tg.tile(x, (2, 3)) * tg.arange(12).reshape(2, 6).double()).sum().backward()
    # copies of x[0] sit at columns 0, 2, 4 of both rows
    np.testing.assert_array_equal(x.grad.data, [0 + 2 + 4 + 6 + 8 + 10, 1 + 3 + 5 + 7 + 9 + 11])


def test_repeat_is_pytorchs_tile():
    x = tg.tensor([[1, 2]])
    np.testing.assert_array_equal(x.repeat(2, 2).data, np.tile([[1, 2]], (2, 2)))
    assert x.repeat(3, 1, 1).shape == (3, 1, 2)
    with pytest.raises(ValueError, match="at least one size per dim"):
        x.repeat(2)


def test_roll_and_flip_errors():
    with pytest.raises(ValueError, match="2 shifts for 1 axes"):
        tg.zeros(3).roll((1, 2), axis=0)
    with pytest.raises(ValueError, match="repeated axis"):
        tg.zeros(3, 3).flip((0, 0))
