"""PyTorch-named Tensor methods (ops/methods.py) and in-place ops (ops/inplace.py).

Values against numpy, gradients against float64 finite differences, the in-place rules
(same memory, dtype kept, broadcasting, version bump caught at backward, refusals), and
optional parity with PyTorch (skipped when torch is absent).
"""

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.testing import arrays, broadcastable_shapes, shapes

NEW = ["pow", "add", "sub", "mul", "div", "neg", "t", "norm", "any", "all", "dot", "outer",
       "where", "masked_fill", "to", "type", "contiguous", "ravel", "lt", "gt", "eq", "ne", "le",
       "ge", "retain_grad", "cpu", "zero_", "fill_", "copy_", "add_", "sub_", "mul_", "div_",
       "clamp_"]


def _t(a, grad=False, dtype=np.float64):
    return tg.Tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


def test_every_method_exists():
    x = tg.tensor([1.0])
    assert [n for n in NEW if not hasattr(x, n)] == []


# ------------------------------------------------------------------------------ aliases


def test_arithmetic_aliases_match_operators(each_backend):
    a, b = _t([[1.5, -2.0, 3.0]]), _t([[2.0], [4.0]])  # integer powers of a negative base
    for meth, ref in [("pow", a ** b), ("add", a + b), ("sub", a - b), ("mul", a * b),
                      ("div", a / b)]:
        np.testing.assert_array_equal(getattr(a, meth)(b).data, ref.data)
    np.testing.assert_array_equal(a.neg().data, -a.data)
    np.testing.assert_array_equal(a.add(b, alpha=3).data, a.data + 3 * b.data)
    np.testing.assert_array_equal(a.sub(2.0, alpha=0.5).data, a.data - 1.0)
    assert a.float().add(1.0, alpha=2).dtype == np.float32


def test_alpha_gradient():
    a, b = _t([1.0, -2.0, 0.5], True), _t([[3.0, 1.0, 2.0]], True)
    assert tg.gradcheck(lambda x, y: x.add(y, alpha=-1.5) * x.sub(y, alpha=2.5), [a, b])


def test_alpha_rules():
    i = tg.tensor([1, 2])
    with pytest.raises(TypeError, match=r"add: alpha=0.5.*integer"):
        i.add(i, alpha=0.5)
    assert i.add(i, alpha=2).tolist() == [3, 6] and i.add(i, alpha=2).dtype == np.int64
    assert i.add(_t([1.0, 1.0]), alpha=0.5).dtype == np.float64  # float operand: allowed
    with pytest.raises(NotImplementedError, match="rounding_mode"):
        i.div(2, rounding_mode="floor")


def test_comparison_methods():
    a, b = _t([1.0, 2.0, 3.0]), _t([2.0, 2.0, 2.0])
    for meth, ref in [("lt", a < b), ("le", a <= b), ("gt", a > b), ("ge", a >= b),
                      ("eq", a == b), ("ne", a != b)]:
        out = getattr(a, meth)(b)
        assert out.dtype == np.bool_ and out.tolist() == ref.tolist()
    assert a.gt(1.5).tolist() == [False, True, True]


def test_t_transposes_matrices_only():
    x = _t(np.arange(6.0).reshape(2, 3), True)
    np.testing.assert_array_equal(x.t().data, x.data.T)
    v, s = _t([1.0, 2.0]), _t(3.0)
    assert v.t() is v and s.t() is s  # as PyTorch: 0-d and 1-D come back unchanged
    with pytest.raises(ValueError, match=r"t: expects a tensor with at most 2 dims.*\(1, 2, 3\)"):
        _t(np.zeros((1, 2, 3))).t()
    assert tg.gradcheck(lambda a: a.t() * _t([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), [x])


# ------------------------------------------------------------------------------ norm

_PS = [2, "fro", 1, np.inf, -np.inf, 0, 3, 0.5, -1.5]


def _ref_norm(a, p, axes, keepdim):
    if p == "fro":
        p = 2
    a = np.abs(a)
    if p == np.inf:
        return a.max(axis=axes, keepdims=keepdim)
    if p == -np.inf:
        return a.min(axis=axes, keepdims=keepdim)
    if p == 0:
        return (a != 0).sum(axis=axes, keepdims=keepdim).astype(a.dtype)
    with np.errstate(divide="ignore"):
        return (a ** p).sum(axis=axes, keepdims=keepdim) ** (1.0 / p)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_norm_matches_numpy(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3), label="shape")
    a = data.draw(arrays(shape, away_from=0), label="a")  # no zeros: p < 0 stays finite
    p = data.draw(st.sampled_from(_PS), label="p")
    dim = data.draw(st.sampled_from([None, 0, -1, tuple(range(len(shape)))]), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    axes = None if dim is None else dim
    out = _t(a).norm(p, dim=dim, keepdim=keepdim)
    np.testing.assert_allclose(out.data, _ref_norm(a, p, axes, keepdim), rtol=1e-12)


def test_norm_default_is_2_and_axis_spelling(each_backend):
    a = np.array([[3.0, -4.0], [1.0, 2.0]])
    assert _t(a).norm().item() == pytest.approx(np.sqrt(30.0))
    np.testing.assert_allclose(_t(a).norm(axis=1, keepdims=True).data, [[5.0], [np.sqrt(5)]])
    np.testing.assert_allclose(_t(a).float().norm(dim=0).data, np.linalg.norm(a, axis=0),
                               rtol=1e-6)
    assert _t(a).float().norm().dtype == np.float32
    assert tg.tensor([3, 4]).norm(dtype=np.float64).item() == 5.0


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 0.5, -1.5])
def test_norm_gradient(p):
    # values kept away from 0 (|x| is a kink there; it has its own tests below)
    x = _t([[0.7, -1.3, 2.1], [-0.4, 0.9, 1.6]], True)
    assert tg.gradcheck(lambda a: a.norm(p), [x])
    assert tg.gradcheck(lambda a: a.norm(p, dim=1, keepdim=True), [x])


@pytest.mark.parametrize("p", [np.inf, -np.inf])
def test_norm_inf_gradient(p):
    # distinct absolute values: no ties for max / min
    x = _t([[0.7, -1.3, 2.1], [-0.4, 0.9, 1.6]], True)
    assert tg.gradcheck(lambda a: a.norm(p, dim=0), [x])


def test_norm_inf_ties_share_the_gradient():
    x = _t([2.0, -2.0, 1.0], True)
    x.norm(np.inf).backward()
    np.testing.assert_array_equal(x.grad.data, [0.5, -0.5, 0.0])  # PyTorch gives the same


def test_norm_second_derivative():
    x = _t([0.7, -1.3, 2.1], True)
    assert tg.gradgradcheck(lambda a: a.norm(), [x])
    assert tg.gradgradcheck(lambda a: a.norm(3), [x])


@pytest.mark.parametrize("p", [2, 3, 1, 0.5, np.inf])
def test_norm_gradient_at_zero_is_zero_not_nan(p):
    # ||x|| has no derivative at x = 0 (|x| is a cone); PyTorch returns 0 there and so do we.
    x = _t(np.zeros(4), True)
    n = x.norm(p)
    n.backward()
    assert n.item() == 0.0
    np.testing.assert_array_equal(x.grad.data, np.zeros(4))


def test_norm_gradient_with_a_zero_element():
    x = _t([0.0, 3.0, -4.0], True)
    x.norm().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.6, -0.8])
    y = _t([0.0, 1.0, 2.0], True)
    y.norm(0.5).backward()  # d/dx |x|^0.5 is infinite at 0: masked to 0 like PyTorch
    assert np.isfinite(y.grad.data).all() and y.grad.data[0] == 0.0
    z = _t([0.0, 1.0, 2.0], True)
    out = z.norm(-1)  # a zero element makes a negative-p norm 0
    out.backward()
    assert out.item() == 0.0 and np.array_equal(z.grad.data, np.zeros(3))


def test_norm_p0_counts_and_has_zero_gradient():
    x = _t([0.0, 1.5, -2.0, 0.0], True)
    n = x.norm(0)
    n.backward()
    assert n.item() == 2.0 and np.array_equal(x.grad.data, np.zeros(4))


def test_norm_errors():
    with pytest.raises(ValueError, match="nuc"):
        _t(np.ones((2, 2))).norm("nuc")
    with pytest.raises(ValueError, match="unknown p='max'"):
        _t([1.0]).norm("max")
    with pytest.raises(TypeError, match=r"norm: needs a float tensor, got int64.*float\(\)"):
        tg.tensor([3, 4]).norm()
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        _t([1.0, 2.0]).norm(dim=2)


# ------------------------------------------------------------------------------ any / all


@settings(max_examples=20, deadline=None)
@given(shapes(min_dims=1, max_dims=3), st.integers(0, 2**31), st.booleans())
def test_any_all_match_numpy(shape, seed, keepdim):
    a = np.random.default_rng(seed).integers(0, 3, shape) == 0
    x = tg.Tensor(a)
    for dim in (None, 0, -1):
        assert np.array_equal(x.any(dim, keepdim).data, np.any(a, axis=dim, keepdims=keepdim))
        assert np.array_equal(x.all(dim, keepdim).data, np.all(a, axis=dim, keepdims=keepdim))


def test_any_all_on_numbers_and_numpy_functions():
    x = _t([[0.0, 2.0], [0.0, 0.0]])
    assert x.any().item() is True and x.all().item() is False
    assert x.any(dim=1).tolist() == [True, False] and x.any(1).dtype == np.bool_
    assert bool(np.any(x)) and not bool(np.all(x))  # numpy calls tensor.any(axis=, out=)


# ------------------------------------------------------------------------------ dot / outer


def test_dot_and_outer(each_backend):
    a, b = _t([1.0, -2.0, 3.0], True), _t([0.5, 4.0, -1.0], True)
    assert a.dot(b).item() == pytest.approx(np.dot(a.data, b.data)) and a.dot(b).ndim == 0
    np.testing.assert_array_equal(a.outer(b).data, np.outer(a.data, b.data))
    assert tg.gradcheck(lambda x, y: x.dot(y), [a, b])
    assert tg.gradcheck(lambda x, y: x.outer(y[:2]), [a, b])


def test_dot_outer_errors():
    with pytest.raises(ValueError, match=r"dot: expects 1-D tensors.*second has shape \(2, 2\)"):
        _t([1.0, 2.0]).dot(_t(np.ones((2, 2))))
    with pytest.raises(ValueError, match="dot: the vectors have different lengths: 2 and 3"):
        _t([1.0, 2.0]).dot(_t([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"outer: expects 1-D.*first has shape \(\)"):
        _t(1.0).outer(_t([1.0]))


# ------------------------------------------------------------------------------ where / masked_fill


def test_where_method_is_torch_order():
    x, y = _t([1.0, 2.0, 3.0], True), _t([-1.0, -2.0, -3.0], True)
    cond = tg.tensor([True, False, True])
    assert x.where(cond, y).tolist() == [1.0, -2.0, 3.0]
    assert x.where(cond, 0.0).tolist() == [1.0, 0.0, 3.0]
    assert tg.gradcheck(lambda a, b: a.where(cond, b) * a, [x, y])


def test_masked_fill():
    x = _t([[1.0, -2.0], [3.0, -4.0]], True)
    out = x.masked_fill(x < 0, 0.0)
    assert out.tolist() == [[1.0, 0.0], [3.0, 0.0]] and out.dtype == np.float64
    assert tg.gradcheck(lambda a: a.masked_fill(tg.tensor([True, False]), -1.5), [x])
    v = _t(2.5, True)  # a 0-d tensor value gets the gradient of the filled places
    (x.masked_fill(tg.tensor([[True], [False]]), v) * _t([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert v.grad.item() == 3.0 and x.grad.tolist() == [[0.0, 0.0], [3.0, 4.0]]
    assert tg.tensor([1, 2]).masked_fill(tg.tensor([True, False]), 7).tolist() == [7, 2]
    with pytest.raises(TypeError, match="masked_fill: the mask must be a bool tensor"):
        x.masked_fill(tg.tensor([1, 0]), 0.0)
    with pytest.raises(ValueError, match=r"masked_fill: the value must be a number or a 0-d"):
        x.masked_fill(x > 0, _t([1.0, 2.0]))


# ------------------------------------------------------------------------------ to / type / misc


def test_to_dtype_and_device():
    x = _t([1.5, -2.0], True)
    assert x.to("cpu") is x and x.cpu() is x and x.to(np.float64) is x
    assert x.to(np.float32).dtype == np.float32 and x.to("float").dtype == np.float32
    assert x.to("cpu", tg.float32).dtype == np.float32
    assert x.to(dtype="long").tolist() == [1, -2] and x.to(device="cpu:0") is x
    assert x.to(tg.tensor([1, 2])).dtype == np.int64  # like another tensor
    y = x.to(float, copy=True)  # float is Python's double, as in PyTorch
    assert y is not x and y.dtype == np.float64 and y.data is not x.data
    x.to(np.float32).sum().backward()  # the gradient is cast back to the input's dtype
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match=r"to: device 'cuda:0' is not available.*CPU only"):
        x.to("cuda:0")
    with pytest.raises(RuntimeError, match="'mps' is not available"):
        x.to(device="mps")
    with pytest.raises(ValueError, match=r"'flot32' is neither a dtype.*nor a device"):
        x.to("flot32")
    with pytest.raises(TypeError, match="not supported"):
        x.to(np.int32)


def test_type():
    x = _t([1.5, 2.0]).float()
    assert x.type() == "tinygrad_edu.FloatTensor"
    assert x.double().type() == "tinygrad_edu.DoubleTensor"
    assert tg.tensor([1]).type() == "tinygrad_edu.LongTensor"
    assert (x > 1).type() == "tinygrad_edu.BoolTensor"
    assert x.type("torch.DoubleTensor").dtype == np.float64
    assert x.type("tinygrad_edu.LongTensor").tolist() == [1, 2]
    assert x.type(np.float32) is x and x.type("bool").dtype == np.bool_
    with pytest.raises(TypeError, match="type: unknown type 'torch.HalfTensor'"):
        x.type("torch.HalfTensor")


def test_contiguous_and_ravel():
    base = _t(np.arange(6.0).reshape(2, 3), True)
    tr = base.t()
    assert not tr.data.flags.c_contiguous
    c = tr.contiguous()
    assert c.data.flags.c_contiguous and np.array_equal(c.data, base.data.T)
    assert c.contiguous() is c
    assert tg.gradcheck(lambda a: a.t().contiguous() * _t(np.arange(6.0).reshape(3, 2)), [base])
    np.testing.assert_array_equal(tr.ravel().data, base.data.T.ravel())
    assert _t(3.0).ravel().shape == (1,)
    assert tg.gradcheck(lambda a: a.t().ravel() * _t(np.arange(6.0)), [base])


# ------------------------------------------------------------------------------ retain_grad


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = _t([1.0, 2.0], True)
    y = x * 3
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.grad.data, 2 * y.data)  # d/dy sum(y^2) = 2y
    np.testing.assert_array_equal(x.grad.data, 18 * x.data)
    assert y.grad._ctx is None and y.grad.data.flags.writeable
    z = x * 2
    (z * z).sum().backward()
    assert z.grad is None  # without retain_grad a non-leaf keeps nothing


def test_retain_grad_accumulates_twice_and_once_per_call():
    x = _t([1.0, 2.0], True)
    y = x * 1
    y.retain_grad()
    y.retain_grad()  # a second call registers nothing more
    loss = (y * y).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(y.grad.data, 4 * y.data)  # accumulated, as a leaf's .grad


def test_retain_grad_sees_the_gradient_after_every_hook():
    x = _t([1.0, 2.0], True)
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g * 10)  # registered later, still runs first (as PyTorch)
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.grad.data, 20 * y.data)
    np.testing.assert_array_equal(x.grad.data, 40 * y.data)
    z = x * 3  # a hook before retain_grad and one after: .grad sees both
    z.register_hook(lambda g: g + 1)
    z.retain_grad()
    z.register_hook(lambda g: g * 2)
    x.grad = None
    z.sum().backward()
    np.testing.assert_array_equal(z.grad.data, [4.0, 4.0])
    np.testing.assert_array_equal(x.grad.data, [12.0, 12.0])


def test_retain_grad_with_create_graph_keeps_the_graph():
    x = _t([1.0, 2.0], True)
    y = x * x
    y.retain_grad()
    (y * y).sum().backward(create_graph=True)
    assert y.grad.requires_grad  # 2y, a function of x
    x.grad = None
    y.grad.sum().backward()
    np.testing.assert_array_equal(x.grad.data, 4 * x.data)  # d/dx sum(2 x^2)


def test_retain_grad_rules_and_no_cycle():
    leaf = _t([1.0], True)
    leaf.retain_grad()  # a leaf keeps its gradient anyway: nothing to do
    assert leaf._hooks is None and not leaf.retains_grad
    with pytest.raises(RuntimeError, match="retain_grad: this tensor.*does not require grad"):
        _t([1.0]).retain_grad()
    y = leaf * 2
    y.retain_grad()
    ref = weakref.ref(y)
    del y
    gc.disable()
    try:
        assert ref() is None  # the hook holds y weakly: no tensor -> node -> hook cycle
    finally:
        gc.enable()


# ------------------------------------------------------------------------------ in place: basics

_INPLACE = [("add_", np.add), ("sub_", np.subtract), ("mul_", np.multiply),
            ("div_", np.true_divide)]


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_inplace_arithmetic_matches_numpy_and_broadcasts(data):
    (sa, sb) = data.draw(broadcastable_shapes(max_dims=3))
    sa = np.broadcast_shapes(sa, sb)  # the target must already have the broadcast shape
    a = data.draw(arrays(sa, dtype=np.float32))
    b = data.draw(arrays(sb, away_from=0))
    name, ufunc = data.draw(st.sampled_from(_INPLACE))
    x = tg.Tensor(a.copy())
    mem = x.data
    out = getattr(x, name)(tg.Tensor(b))  # float64 operand into a float32 tensor
    assert out is x and x.data is mem and x.dtype == np.float32
    np.testing.assert_allclose(x.data, ufunc(a, b).astype(np.float32), rtol=1e-6)
    assert x._version == 1


def test_inplace_alpha_scalars_and_return_value():
    x = _t([1.0, 2.0, 3.0])
    assert x.add_(_t([1.0, 1.0, 1.0]), alpha=2) is x and x.tolist() == [3.0, 4.0, 5.0]
    x.sub_(1.0, alpha=3).mul_(2).div_(_t([2.0]))
    assert x.tolist() == [0.0, 1.0, 2.0] and x._version == 4
    i = tg.tensor([1, 2])
    i.add_(3).mul_(tg.tensor([2, 1])).sub_(1, alpha=2)
    assert i.tolist() == [6, 3] and i.dtype == np.int64


def test_inplace_writes_through_views():
    base = _t(np.arange(6.0).reshape(2, 3))
    row, tr = base[1], base.t()
    row.add_(10)  # a view: the base sees it
    assert base.data[1].tolist() == [13.0, 14.0, 15.0]
    tr.mul_(2)  # a transposed view: every element doubles in the base
    assert base.data.tolist() == [[0.0, 2.0, 4.0], [26.0, 28.0, 30.0]]
    arr = np.zeros(3)
    tg.from_numpy(arr).fill_(7.0)  # from_numpy shares memory too
    assert arr.tolist() == [7.0, 7.0, 7.0]
    assert base._version == row._version == tr._version == 2  # one counter for all


def test_zero_fill_copy():
    x = _t([[1.0, 2.0], [3.0, 4.0]])
    mem = x.data
    assert x.zero_() is x and x.data is mem and not x.data.any()
    x.fill_(2.5)
    assert x.tolist() == [[2.5, 2.5], [2.5, 2.5]]
    x.fill_(_t(-1.0))
    assert x.data.sum() == -4.0
    x.copy_(_t([1.0, 2.0]))  # broadcast over the rows
    assert x.tolist() == [[1.0, 2.0], [1.0, 2.0]] and x._version == 4
    x.copy_([[5, 6], [7, 8]])
    assert x.tolist() == [[5.0, 6.0], [7.0, 8.0]] and x.dtype == np.float64 and x.data is mem
    v = _t([1.0, 2.0, 3.0])
    v.copy_(v.flip(0))  # source and target overlap: numpy copies through a buffer
    assert v.tolist() == [3.0, 2.0, 1.0]


def test_clamp_():
    x = _t([-2.0, 0.5, 3.0])
    assert x.clamp_(-1.0, 1.0) is x and x.tolist() == [-1.0, 0.5, 1.0]
    y = _t([-2.0, 0.5, 3.0])
    y.clamp_(min=_t([0.0, 1.0, 0.0]))
    assert y.tolist() == [0.0, 1.0, 3.0]
    y.clamp_(max=2)
    assert y.tolist() == [0.0, 1.0, 2.0] and y._version == 2
    with pytest.raises(ValueError, match=r"clamp_: min \(2\) is greater than max \(1\)"):
        y.clamp_(2, 1)
    with pytest.raises(ValueError, match="clamp_: at least one"):
        y.clamp_()


# ------------------------------------------------------------------------------ in place: dtypes


def test_inplace_dtype_rules():
    i = tg.tensor([1, 2, 3])
    for call in (lambda: i.add_(2.5), lambda: i.mul_(_t(0.5)), lambda: i.div_(2)):
        with pytest.raises(TypeError, match=r"the result has dtype float\d\d, which cannot be "
                                            r"stored in place in this int64 tensor"):
            call()
    assert i.tolist() == [1, 2, 3] and i._version == 0  # a refused op changes nothing
    with pytest.raises(TypeError, match="alpha=0.5 is a float"):
        i.add_(1, alpha=0.5)
    i.fill_(2.7)  # fill_ and copy_ convert like an assignment (PyTorch too)
    assert i.tolist() == [2, 2, 2]
    i.copy_(_t([1.9, -1.9, 0.2]))
    assert i.tolist() == [1, -1, 0] and i.dtype == np.int64
    with pytest.raises(ValueError, match="copy_: cannot store nan or inf in a int64 tensor"):
        i.copy_(_t([1.0, np.nan, 0.0]))
    b = tg.tensor([True, False])
    b.copy_(tg.tensor([0.0, 2.0]))
    assert b.tolist() == [False, True] and b.dtype == np.bool_
    f = _t([1.0]).float()
    f.add_(_t([1e-9]))  # computed in float64, stored in float32
    assert f.dtype == np.float32


def test_inplace_shape_rules():
    x = _t(np.zeros(3))
    with pytest.raises(ValueError, match=r"add_: an operand of shape \(2, 3\) cannot be "
                                         r"broadcast to this tensor's shape \(3,\)"):
        x.add_(_t(np.ones((2, 3))))
    with pytest.raises(ValueError, match=r"copy_: an operand of shape \(2,\)"):
        x.copy_(_t([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="read-only.*clone"):
        _t([1.0, 2.0]).expand(3, 2).fill_(0.0)
    with pytest.raises(ValueError, match="fill_: the value must be a number or a 0-d"):
        x.fill_(_t([1.0, 2.0, 3.0]))


# ------------------------------------------------------------------------------ in place: autograd


def test_inplace_refused_on_a_leaf_that_requires_grad():
    w = _t([1.0, 2.0], True)
    for call in (w.zero_, lambda: w.fill_(0.0), lambda: w.add_(1.0), lambda: w.copy_([0, 0]),
                 lambda: w.clamp_(0.0, 1.0), lambda: w.div_(2.0)):
        with pytest.raises(RuntimeError, match=r"a leaf tensor that requires grad \(shape "
                                               r"\(2,\)\) cannot be changed in place.*no_grad"):
            call()
    assert w.tolist() == [1.0, 2.0] and w._version == 0
    with tg.no_grad():  # initialising / updating a parameter is allowed
        w.mul_(3.0).sub_(1.0)
    assert w.tolist() == [2.0, 5.0] and w._version == 2 and w.requires_grad


def test_inplace_refused_on_a_non_leaf_in_a_graph():
    w = _t([1.0, 2.0], True)
    y = w * 2
    with pytest.raises(RuntimeError, match=r"add_: this tensor \(shape \(2,\)\) is the output "
                                           r"of Mul.*x = x \+ 1 instead of x.add_\(1\)"):
        y.add_(1.0)
    with tg.no_grad():
        y.add_(1.0)  # allowed (as PyTorch); the version bump guards the graph
    assert y.tolist() == [3.0, 5.0]


def test_inplace_refused_when_the_other_operand_requires_grad():
    w = _t([1.0, 2.0], True)
    buf = _t([0.0, 0.0])
    with pytest.raises(RuntimeError, match=r"copy_: the other operand \(shape \(2,\)\) requires "
                                           r"grad.*detach\(\)"):
        buf.copy_(w)
    buf.copy_(w.detach())
    with tg.no_grad():
        buf.add_(w)
    assert buf.tolist() == [2.0, 4.0]


def test_inplace_change_of_a_saved_tensor_is_caught_at_backward():
    w = _t([1.0, 2.0], True)
    a = _t([3.0, 4.0])
    loss = (w * a).sum()  # Mul saved a
    a.add_(1.0)
    with pytest.raises(RuntimeError, match=r"Mul.backward: a tensor of shape \(2,\) saved for "
                                           r"backward was modified in place.*version 0 -> 1"):
        loss.backward()


def test_inplace_change_through_a_view_is_caught_at_backward():
    w = _t([[1.0, 2.0], [3.0, 4.0]], True)
    a = _t([[1.0, 1.0], [1.0, 1.0]])
    loss = (w * a).sum()  # saved the base ...
    a[0].mul_(2.0)  # ... changed through a view
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()
    b = _t([[1.0, 1.0], [1.0, 1.0]])
    loss2 = (w * b.t()).sum()  # saved a view ...
    b.zero_()  # ... changed through the base
    with pytest.raises(RuntimeError, match="modified in place"):
        loss2.backward()


def test_parameter_update_under_no_grad_is_caught_by_the_old_graph():
    w = _t([1.0, 2.0], True)
    loss = (w * w).sum()  # Mul saved w
    with tg.no_grad():
        w.sub_(0.1)
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_unrelated_inplace_change_does_not_break_backward():
    w = _t([1.0, 2.0], True)
    loss = (w * 3.0).sum()
    other = _t([1.0, 2.0])
    other.add_(1.0)
    loss.backward()
    assert w.grad.tolist() == [3.0, 3.0]


# ------------------------------------------------------------------------------ PyTorch parity


def test_parity_with_torch():
    torch = pytest.importorskip("torch")
    a = np.array([[0.0, 1.5, -2.0], [3.0, 0.0, -0.5]])
    for p in (2, 1, 3, 0.5, float("inf"), 0):
        x, tx = _t(a, True), torch.tensor(a, requires_grad=True)
        n, tn = x.norm(p, dim=1), tx.norm(p, dim=1)
        np.testing.assert_allclose(n.data, tn.detach().numpy(), rtol=1e-12)
        n.sum().backward()
        tn.sum().backward()
        tgrad = np.zeros_like(a) if tx.grad is None else tx.grad.numpy()  # p=0: None there
        np.testing.assert_allclose(x.grad.data, tgrad, rtol=1e-12, err_msg=f"p={p}")
    x, tx = _t(a), torch.tensor(a)
    x.add_(_t([1.0, 2.0, 3.0]), alpha=-2).clamp_(-3.0, 1.0).mul_(1.5).div_(4.0)
    tx.add_(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), alpha=-2).clamp_(-3.0, 1.0)
    tx.mul_(1.5).div_(4.0)
    np.testing.assert_array_equal(x.data, tx.numpy())
    i, ti = tg.tensor([1, 2]), torch.tensor([1, 2])
    assert i.fill_(2.7).tolist() == ti.fill_(2.7).tolist()
    y, ty = _t([1.0, 2.0], True), torch.tensor([1.0, 2.0], requires_grad=True)
    z, tz = y * 2, ty * 2
    z.retain_grad()
    tz.retain_grad()
    (z ** 3).sum().backward()
    (tz ** 3).sum().backward()
    np.testing.assert_allclose(z.grad.data, tz.grad.numpy())
    assert y.t().shape == tuple(ty.t().shape) and y.ravel().shape == tuple(ty.ravel().shape)
