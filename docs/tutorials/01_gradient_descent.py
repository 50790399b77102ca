"""Tutorial 1: gradient descent, by hand and by autograd.

Gradient descent finds a minimum by repeating   x <- x - lr * dy/dx.
We do it three ways:
  1. y = 2x^2 with the derivative written by hand (dy/dx = 4x),
  2. the same with autograd computing dy/dx (and check both give the same numbers),
  3. f(x, y, z) = x^2 + y^2 + z^2, a function of three variables,
and finally look at what the learning rate does.

Run:  python docs/tutorials/01_gradient_descent.py      (TINYGRAD_EDU_FAST=1: fewer steps)
"""

import os

import numpy as np

import tinygrad_edu as tg

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"
STEPS = 30 if FAST else 60

# ----------------------------------------------------------------------------------------------
print("1. y = 2x^2 by hand: dy/dx = 4x")
x, lr = 3.0, 0.1
by_hand = [x]
for step in range(STEPS):
    grad = 4 * x  # the derivative, worked out on paper
    x = x - lr * grad
    by_hand.append(x)
    if step < 5 or step == STEPS - 1:
        print(f"   step {step + 1:3d}: x = {x:+.6g}   y = {2 * x * x:.6g}")
assert abs(x) < 1e-3, "with lr = 0.1, each step multiplies x by 1 - 4*0.1 = 0.6"

# ----------------------------------------------------------------------------------------------
print("\n2. The same with autograd: y.backward() fills x.grad with dy/dx")
x = tg.Tensor(np.array(3.0), requires_grad=True)  # float64 scalar
by_autograd = [x.item()]
for step in range(STEPS):
    y = 2 * x * x  # the forward pass records a small graph: Mul, Mul
    y.backward()  # the backward pass walks it: x.grad = dy/dx = 4x
    if step == 0:
        print(f"   at x = 3: autograd says dy/dx = {x.grad.item()}, by hand 4x = {4 * 3.0}")
    x.data -= lr * x.grad.data  # the update itself is not part of the model: plain numpy
    x.grad = None  # gradients accumulate: forget them before the next backward
    by_autograd.append(x.item())
np.testing.assert_allclose(by_autograd, by_hand, rtol=1e-12)
print(f"   after {STEPS} steps: x = {x.item():+.6g} (identical to the hand-written version)")

# ----------------------------------------------------------------------------------------------
print("\n3. f(x, y, z) = x^2 + y^2 + z^2: the gradient is (2x, 2y, 2z)")
start = np.array([1.0, -2.0, 3.0])
p = start.copy()
for _ in range(STEPS):
    p = p - lr * (2 * p)  # by hand
x, y, z = (tg.Tensor(np.array(v), requires_grad=True) for v in start)
for _ in range(STEPS):
    f = x * x + y * y + z * z
    f.backward()
    for t in (x, y, z):
        t.data -= lr * t.grad.data
        t.grad = None
auto = np.array([x.item(), y.item(), z.item()])
print(f"   by hand:     {np.round(p, 6)}")
print(f"   by autograd: {np.round(auto, 6)}   f = {float((auto ** 2).sum()):.2e}")
np.testing.assert_allclose(auto, p, rtol=1e-12)
assert float((auto ** 2).sum()) < 1e-3

# ----------------------------------------------------------------------------------------------
print("\n4. The learning rate on y = 2x^2: each step multiplies x by (1 - 4 lr)")
print("   lr      factor   x after 10 steps   what happens")
verdicts = {}
for lr in (0.01, 0.1, 0.25, 0.45, 0.55):
    x = 3.0
    for _ in range(10):
        x = x - lr * 4 * x
    factor = 1 - 4 * lr
    if abs(factor) > 1:
        verdict = "diverges: every step overshoots further"
    elif factor < 0:
        verdict = "oscillates around 0 while it converges"
    elif factor == 0:
        verdict = "jumps to the minimum in one step"
    elif factor > 0.9:
        verdict = "too small: slow"
    else:
        verdict = "converges smoothly"
    verdicts[lr] = verdict
    print(f"   {lr:<6}  {factor:+.2f}    {x:+14.6f}     {verdict}")
assert verdicts[0.55].startswith("diverges") and verdicts[0.01].startswith("too small")
print("\nTakeaway: too small a learning rate is slow, too large oscillates or diverges; for "
      "y = 2x^2 anything above 0.5 diverges.")
