"""Step-through backward: order of the steps, local gradients, and the sums at fan-outs."""

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import autograd
from tinygrad_edu.teach import trace_backward


def test_fan_out_contributions_are_recorded_and_sum_to_the_grad():
    # loss = sum(x*x + x): x is used three times; dL/dx = 2x + 1 arrives as x + x + 1
    x = tg.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    loss = (x * x + x).sum()
    with trace_backward(params={"x": x}) as tr:
        loss.backward()
    fans = {f.target: f for f in tr.fanouts}
    assert set(fans) == {"x.grad"}
    f = fans["x.grad"]
    assert len(f.contributions) == 3
    assert sorted(src for src, _, _ in f.contributions) == ["Add#2", "Mul#3", "Mul#3"]
    np.testing.assert_allclose(f.total_value, 2 * x.data + 1)
    np.testing.assert_allclose(f.total_value, x.grad.data)


def test_steps_run_from_the_loss_to_the_leaves_with_local_gradients():
    x = tg.Tensor(np.array([0.5, 1.5]), requires_grad=True)
    w = tg.Tensor(np.array(2.0), requires_grad=True)
    y = (x * w).exp()
    loss = y.sum()
    with trace_backward(params={"x": x, "w": w}) as tr:
        loss.backward()
    assert [s.op for s in tr.steps] == ["Sum", "Exp", "Mul"]
    exp_step = tr.step_for("Exp")
    np.testing.assert_allclose(exp_step.local_grads[0].value, np.exp(x.data * 2.0))
    mul = tr.step_for("Mul")
    targets = {lg.to: lg for lg in mul.local_grads}
    assert set(targets) == {"x.grad", "w.grad"}
    assert targets["w.grad"].shape == ()  # summed over the broadcast (sum_to_shape)
    np.testing.assert_allclose(targets["x.grad"].value, x.grad.data)
    np.testing.assert_allclose(targets["w.grad"].value, w.grad.data)
    assert not tr.fanouts  # w is broadcast, not used twice
    with pytest.raises(KeyError, match="no step for op"):
        tr.step_for("Tanh")


def test_fan_out_at_an_inner_node_and_the_table_text():
    x = tg.Tensor(np.array([0.3, -0.7]), requires_grad=True)
    h = x.tanh()
    loss = (h * 3.0 + h.exp()).sum()  # h feeds two ops
    with trace_backward(params={"x": x}) as tr:
        loss.backward()
    (fan,) = tr.fanouts
    assert fan.target.startswith("Tanh#")
    hv = np.tanh(x.data)
    np.testing.assert_allclose(fan.total_value, 3.0 + np.exp(hv))
    text = str(tr)
    assert "Gradients summed at a fan-out" in text and fan.target in text
    assert text.splitlines()[0].split()[:2] == ["step", "node"]
    assert len([ln for ln in text.splitlines() if ln.strip().startswith("+")]) == 2


def test_observer_is_removed_even_after_an_error():
    x = tg.Tensor(np.ones(2), requires_grad=True)
    before = list(autograd._observers)
    with pytest.raises(RuntimeError):
        with trace_backward():
            (x * 2).backward()  # not a scalar: the engine raises
    assert autograd._observers == before
    with trace_backward() as tr:
        pass
    assert tr.steps == [] and autograd._observers == before


def test_large_arrays_are_summarised_not_copied():
    x = tg.Tensor(np.ones((50, 50)), requires_grad=True)
    with trace_backward(keep_values=16) as tr:
        (x * 2.0).sum().backward()
    lg = tr.step_for("Mul").local_grads[0]
    assert lg.value is None and "|g|=" in lg.summary
