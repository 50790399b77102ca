"""Tensor.register_hook: on leaves and non-leaves, observing and replacing the gradient, and
removing the hook through its handle."""

import numpy as np
import pytest

import tinygrad_edu as tg


def test_leaf_hook_sees_and_can_replace_the_gradient():
    x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    seen = []
    h1 = x.register_hook(lambda g: seen.append(g.data.copy()))
    h2 = x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()
    np.testing.assert_allclose(seen[0], 2 * x.data)  # the hook saw the unmodified gradient
    np.testing.assert_allclose(x.grad.data, 20 * x.data)
    h2.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)
    assert len(seen) == 2
    h1.remove()
    h1.remove()  # removing twice is harmless
    x.grad = None
    (x * x).sum().backward()
    assert len(seen) == 2


def test_non_leaf_hook_changes_what_flows_further_back():
    x = tg.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = x * 3.0
    seen = []
    y.register_hook(lambda g: seen.append(g.data.copy()))
    y.register_hook(lambda g: g * 0.0 + 1.0)  # replace dL/dy by ones
    (y * y).sum().backward()
    np.testing.assert_allclose(seen[0], 2 * y.data)
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])  # 1 * dy/dx
    assert y.grad is None  # non-leaves do not keep .grad


def test_hook_fires_once_with_the_summed_gradient_at_a_fan_out():
    x = tg.Tensor(np.array([2.0]), requires_grad=True)
    y = x * 1.0
    seen = []
    y.register_hook(lambda g: seen.append(float(g.data[0])))
    (y * y + y).sum().backward()  # dL/dy = 2y + 1 = 5, delivered once
    assert seen == [5.0]


def test_register_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.Tensor(np.ones(2)).register_hook(lambda g: g)
