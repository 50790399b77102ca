"""The engine: accumulation, fan-out, retain_graph, no_grad, deep chains, errors, memory."""

import gc
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import autograd


def test_fanout_accumulates():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x + x  # x used three times
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 1)


def test_grad_accumulates_across_backward_calls_and_zero_grad():
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None


def test_broadcast_gradient_is_summed_back():
    w = tg.ones(3, requires_grad=True)
    b = tg.tensor(0.5, requires_grad=True)
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    ((x * w) + b).sum().backward()
    np.testing.assert_allclose(w.grad.data, x.data.sum(0))
    assert b.grad.shape == () and b.grad.item() == 6.0


def test_second_backward_without_retain_graph_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_second_backward_raises_even_for_ops_that_save_nothing():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 1).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 4 * x.data)


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.tensor([1.0]).sum().backward()


def test_backward_on_non_scalar_needs_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar output.*shape \(2,\)"):
        (x * 2).backward()
    (x * 2).backward(gradient=tg.tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.data, [2.0, 20.0])
    with pytest.raises(RuntimeError, match="gradient has shape"):
        (x * 2).backward(gradient=tg.tensor([1.0]))


def test_no_grad_context_and_decorator():
    x = tg.tensor([1.0], requires_grad=True)
    with tg.no_grad():
        y = x * 2
        with tg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None

    @tg.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad
    assert tg.is_grad_enabled()


def test_detach_and_is_leaf():
    x = tg.tensor([1.0], requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and np.shares_memory(d.data, y.data)


def test_deep_chain_does_not_hit_recursion_limit():
    x = tg.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_grad_function_and_create_graph_second_derivative():
    x = tg.tensor([0.3, -1.2], dtype="float64", requires_grad=True)
    y = (x**3).sum()
    (g,) = autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data**2)
    (h,) = autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)
    assert x.grad is None  # autograd.grad does not touch .grad


@pytest.mark.parametrize("op", ["exp", "tanh", "sigmoid", "sqrt"])
def test_ops_that_save_their_output_differentiate_twice(op):
    x = tg.tensor([0.4, 1.3], dtype="float64", requires_grad=True)
    f = getattr(tg.Tensor, op)
    (g,) = autograd.grad(f(x).sum(), x, create_graph=True)
    (h,) = autograd.grad(g.sum(), x)
    eps = 1e-5  # elementwise op: the Hessian is diagonal, so perturb all at once
    xp = tg.tensor(x.data + eps, requires_grad=True)
    xm = tg.tensor(x.data - eps, requires_grad=True)
    (gp,) = autograd.grad(f(xp).sum(), xp)
    (gm,) = autograd.grad(f(xm).sum(), xm)
    np.testing.assert_allclose(h.data, (gp.data - gm.data) / (2 * eps), rtol=1e-5)


def test_grad_allow_unused():
    x = tg.tensor([1.0], requires_grad=True)
    z = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="not used"):
        autograd.grad((x * 2).sum(), [x, z])
    gx, gz = autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and gx.item() == 2.0


def test_in_place_change_of_saved_tensor_is_caught():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    z = (y * y).sum()
    y.data += 1  # raw data edits are invisible; bump the version as in-place ops do
    y._version += 1
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_graph_is_freed_after_backward_without_cycle_collector():
    gc.disable()
    try:
        x = tg.tensor(np.ones(4), requires_grad=True)
        y = x.exp()
        z = (y * 2).sigmoid().sum()
        node = weakref.ref(z.grad_fn)
        out_node = weakref.ref(y.grad_fn)
        z.backward()
        del z, y
        assert node() is None and out_node() is None
    finally:
        gc.enable()


def test_saved_values_released_after_backward():
    x = tg.tensor(np.ones(4), requires_grad=True)
    y = x.exp()
    s = y.sum()
    node = y.grad_fn
    s.backward()
    assert node.saved is None and node.out_data is None


def test_leaf_grads_own_their_memory():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    (x + w).sum().backward()
    assert x.grad is not w.grad
    assert x.grad.data.flags.writeable and w.grad.data.flags.writeable
    x.grad.data[0] = 100
    assert w.grad.data[0] == 1


def test_hooks_on_leaf_and_non_leaf():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    y = x * 3
    h = y.register_hook(lambda g: seen.append(g.data.copy()))
    x.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(x.grad.data, [30.0, 30.0])
    h.remove()


def test_custom_function():
    class Cube(tg.Function):
        """z = x^3    dz/dx = 3 x^2"""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.data**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x

    x = tg.tensor(np.array([0.5, -1.5]), requires_grad=True)
    assert tg.gradcheck(lambda t: Cube.apply(t), [x])


def test_wrong_gradient_shape_from_a_custom_backward_is_named():
    class Bad(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum()

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Bad.backward: gradient of shape \(\) .*sum_to_shape"):
        Bad.apply(x).sum().backward()


def test_gradcheck_reports_the_bad_element():
    class Wrong(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.data**2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2x

    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(AssertionError, match=r"input 0 .*numeric 2 vs analytic 1"):
        tg.gradcheck(lambda t: Wrong.apply(t), [x])
    with pytest.raises(ValueError, match="float64"):
        tg.gradcheck(lambda t: t * 2, [tg.tensor([1.0], requires_grad=True)])


# --------------------------------------------------------------- views share a version counter


@pytest.mark.parametrize("make_view", [
    lambda w: w[0], lambda w: w.T, lambda w: w.reshape(6), lambda w: w[0:1].expand(3, 3),
    lambda w: w.unsqueeze(0), lambda w: w.detach().requires_grad_()], ids=["index", "T", "reshape", "expand",
                                                           "unsqueeze", "detach"])
def test_write_through_base_is_seen_by_a_saved_view(make_view):
    w = tg.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    v = make_view(w)
    loss = (v * v).sum()  # Mul saves v
    with tg.no_grad():
        w[1, 2] = 50.0  # an in-place change of the base
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_write_through_a_view_is_seen_by_the_saved_base():
    w = tg.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    loss = (w * w).sum()  # Mul saves w
    with tg.no_grad():
        v = w[1]
        v[0] = 3.0  # writes w's memory through the view
    assert w._version == v._version == 1
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_optimizer_step_is_seen_through_a_transposed_weight():
    from tinygrad_edu import nn, optim
    lin = nn.Linear(3, 2)
    x = tg.randn(4, 3)
    wt = lin.weight.T  # a view of the parameter
    loss = ((x @ wt) ** 2).sum()  # matmul saves the view
    lin.weight.grad = tg.ones_like(lin.weight)
    optim.SGD(lin.parameters(), lr=0.1).step()  # updates the parameter in place
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_results_that_copy_do_not_share_the_counter():
    w = tg.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    copies = [w * 2, w[[0, 1]], w.clone(), w + 0.0]
    for c in copies:
        assert c._vc is not w._vc
    loss = sum((c * c).sum() for c in copies)
    with tg.no_grad():
        w[0, 0] = 9.0
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()  # Mul(w, 2) saved w itself: caught
    w2 = tg.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    c = w2[[1, 0]]  # a copy (fancy indexing): gather saves indices, not w2
    loss2 = (c * c).sum()
    with tg.no_grad():
        w2[0, 0] = 9.0
    loss2.backward()  # nothing that was saved changed
    np.testing.assert_allclose(w2.grad.numpy(), 2 * np.arange(1.0, 7.0).reshape(2, 3)[[0, 1]])
