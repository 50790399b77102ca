"""Tutorial 2: fitting y = w1 x^2 + w2 x + w3 by gradient descent.

The training recipe, step by step, with nothing but tensors:
  1. model structure: y_pred = w1 x^2 + w2 x + w3
  2. random small initial parameters
  3. loss: mean squared error L = mean((y_pred - y)^2); by the chain rule
        dL/dw1 = mean(2 (y_pred - y) x^2),  dL/dw2 = mean(2 (y_pred - y) x),
        dL/dw3 = mean(2 (y_pred - y))
  4. optimiser: plain gradient descent, lr = 0.05
  5-6. loop: forward -> loss -> backward -> update -> zero the gradients
We check autograd's gradients against the chain-rule formulas above, then train and compare
the result with the exact least-squares answer.

Run:  python docs/tutorials/02_fit_quadratic.py      (TINYGRAD_EDU_FAST=1: fewer steps)
"""

import os

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.data import make_quadratic

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"
EPOCHS = 200 if FAST else 1000
TRUE_W = (2.0, -3.0, 1.0)

x_np, y_np = make_quadratic(n=100, w=TRUE_W, noise=0.3, seed=0, dtype=np.float64)
x, y = tg.Tensor(x_np), tg.Tensor(y_np)  # data: no gradients needed
print(f"data: {len(x_np)} points of y = {TRUE_W[0]} x^2 + {TRUE_W[1]} x + {TRUE_W[2]} + noise")

# 2. random small initial values (a seeded generator: the run is reproducible)
rng = np.random.default_rng(0)
w1, w2, w3 = (tg.Tensor(np.array(rng.normal(0, 0.1)), requires_grad=True) for _ in range(3))
params = [w1, w2, w3]


def predict(x):
    return w1 * x * x + w2 * x + w3  # 1. the model


def mse(pred, target):
    return ((pred - target) ** 2).mean()  # 3. the loss


# ---- autograd against the chain rule, at the initial point
loss = mse(predict(x), y)
loss.backward()
r = predict(x).data - y_np  # the residual y_pred - y (a plain array: no graph needed)
by_hand = [np.mean(2 * r * x_np**2), np.mean(2 * r * x_np), np.mean(2 * r)]
print("\ngradients at the start   autograd        chain rule by hand")
for name, p, h in zip(("dL/dw1", "dL/dw2", "dL/dw3"), params, by_hand):
    print(f"   {name}               {p.grad.item():+.8f}    {h:+.8f}")
    assert abs(p.grad.item() - h) < 1e-10
for p in params:
    p.grad = None

# ---- training
lr = 0.05
print(f"\ntraining with lr = {lr} for {EPOCHS} epochs (full batch)")
for epoch in range(EPOCHS):
    loss = mse(predict(x), y)  # forward pass and loss
    loss.backward()  # backward pass: fills p.grad
    for p in params:
        p.data -= lr * p.grad.data  # parameter update
        p.grad = None  # zero the gradients
    if epoch in (0, 9, 99) or epoch == EPOCHS - 1:
        print(f"   epoch {epoch + 1:5d}: loss {loss.item():.5f}   w = "
              f"({w1.item():+.3f}, {w2.item():+.3f}, {w3.item():+.3f})")

# ---- the exact answer: least squares on the features [x^2, x, 1]
A = np.hstack([x_np**2, x_np, np.ones_like(x_np)])
exact = np.linalg.lstsq(A, y_np, rcond=None)[0].ravel()
fitted = np.array([p.item() for p in params])
print(f"\nfitted by gradient descent: {np.round(fitted, 3)}")
print(f"exact least squares:        {np.round(exact, 3)}")
print(f"true weights:               {np.array(TRUE_W)}")
assert np.allclose(fitted, exact, atol=0.05 if FAST else 1e-3)
assert np.allclose(fitted, TRUE_W, atol=0.25)  # the noise keeps it from being exact
print("\nTakeaway: autograd computes the same derivatives as the chain rule, and the loop "
      "forward -> loss -> backward -> update -> zero grad reaches the least-squares fit.")
