"""Tutorial 5: activations and losses.

Activations bend a network (tutorial 4); their *slopes* decide how well gradients flow back.
  sigmoid(x) = 1 / (1 + e^-x)       slope s (1 - s): at most 0.25, ~0 for |x| large (saturated)
  tanh(x)                           slope 1 - tanh^2: at most 1, ~0 for |x| large
  ReLU(x) = max(x, 0)               slope 1 for x > 0, 0 for x < 0: never saturates upwards
  GELU(x) = x Phi(x)                a smooth ReLU (Phi: the standard normal CDF)
  softmax(z)_i = e^z_i / sum_j e^z_j   turns scores into probabilities that sum to 1
With two classes softmax is the sigmoid in disguise: softmax(z1, z2)_2 = sigmoid(z2 - z1).

A loss says what "wrong" costs:
  MSE         mean (y_pred - y)^2                       regression
  cross-entropy  -mean log p(true class)                classification; minimising it is
                                                        maximum likelihood
  NLL         the same, given log-probabilities (log_softmax output)
  Huber       quadratic for small errors, linear for large ones: robust to outliers
Finally: why MSE on a sigmoid output can stall, while cross-entropy does not.

Run:  python docs/tutorials/05_activations_and_losses.py  (TINYGRAD_EDU_FAST=1: fewer steps)
"""

import math
import os

import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"

# ------------------------------------------------------------------ 1. activations and slopes
print("1. Activations and their slopes (slopes computed by autograd, checked by formula)")
xs = np.array([-4.0, -1.0, -0.5, 0.5, 1.0, 4.0])  # NOTE: no 0: ReLU has a kink there
phi = np.exp(-xs**2 / 2) / math.sqrt(2 * math.pi)  # standard normal density
Phi = 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in xs]))  # its CDF
s, t = 1 / (1 + np.exp(-xs)), np.tanh(xs)
acts = {  # name: (function on Tensors, value by formula, slope by formula)
    "sigmoid": (F.sigmoid, s, s * (1 - s)),
    "tanh": (F.tanh, t, 1 - t**2),
    "ReLU": (F.relu, np.maximum(xs, 0), (xs > 0).astype(float)),
    "GELU": (F.gelu, xs * Phi, Phi + xs * phi),
}
print("   x:        " + "".join(f"{v:>8g}" for v in xs))
for name, (fn, value, slope) in acts.items():
    x = tg.Tensor(xs, requires_grad=True)
    y = fn(x)
    y.sum().backward()  # d(sum y)/dx_i = dy_i/dx_i: every slope at once
    np.testing.assert_allclose(y.data, value, atol=1e-10)
    np.testing.assert_allclose(x.grad.data, slope, atol=1e-10)
    print(f"   {name:8s}  " + "".join(f"{v:8.3f}" for v in y.data))
    print(f"   {'  slope':8s}  " + "".join(f"{v:8.3f}" for v in x.grad.data))
print("   look at x = +-4: sigmoid and tanh are flat there (slope ~0.02 / ~0.001): a saturated\n"
      "   unit passes almost no gradient back. ReLU keeps slope 1 for every positive input.")

# ------------------------------------------------------------------ 2. softmax, two classes
print("\n2. Softmax: probabilities that sum to 1; two classes = sigmoid")
rng = np.random.default_rng(0)
z = tg.Tensor(rng.normal(0, 3, (5, 2)))  # 5 examples, scores for 2 classes
p = F.softmax(z, dim=1)
sig = F.sigmoid(z[:, 1] - z[:, 0])
for i in range(3):
    print(f"   scores {np.round(z.data[i], 3)} -> softmax {np.round(p.data[i], 4)}   "
          f"sigmoid(z2 - z1) = {sig.data[i]:.4f}")
gap = float(np.abs(p.data[:, 1] - sig.data).max())
print(f"   largest |softmax_2 - sigmoid(z2 - z1)| over 5 examples: {gap:.1e}")
assert gap < 1e-12 and np.allclose(p.data.sum(axis=1), 1)
shifted = F.softmax(z + 100.0, dim=1)  # adding a constant to every score changes nothing
assert np.allclose(shifted.data, p.data)
# ... so the two-class cross-entropy equals binary cross-entropy on the score difference
labels = np.array([1, 0, 1, 1, 0])
ce2 = F.cross_entropy(z, tg.Tensor(labels)).item()
bce = F.binary_cross_entropy_with_logits(z[:, 1] - z[:, 0], tg.Tensor(labels.astype(float)))
print(f"   2-class cross-entropy {ce2:.6f} = binary cross-entropy on z2 - z1 {bce.item():.6f}")
assert abs(ce2 - bce.item()) < 1e-10

# ------------------------------------------------------------------ 3. cross-entropy = ML
print("\n3. Cross-entropy is the negative log-likelihood (maximum likelihood)")
logits = tg.Tensor(rng.normal(0, 2, (6, 4)))  # 6 examples, 4 classes
target = np.array([0, 3, 1, 1, 2, 0])
probs = F.softmax(logits, dim=1).data
p_true = probs[np.arange(6), target]  # the probability the model gives the true class
ce = F.cross_entropy(logits, tg.Tensor(target)).item()
nll = F.nll_loss(F.log_softmax(logits, dim=1), tg.Tensor(target)).item()
by_hand = float(-np.log(p_true).mean())
likelihood = float(np.prod(p_true))  # the probability of all six labels together
print(f"   p(true class) per example: {np.round(p_true, 3)}")
print(f"   cross_entropy(logits)          = {ce:.6f}")
print(f"   nll_loss(log_softmax(logits))  = {nll:.6f}")
print(f"   -mean log p(true class)        = {by_hand:.6f}")
print(f"   likelihood prod p = {likelihood:.3e} = exp(-6 * CE) = {math.exp(-6 * ce):.3e}: "
      "lowering CE raises the likelihood")
assert abs(ce - nll) < 1e-10 and abs(ce - by_hand) < 1e-10
assert abs(likelihood - math.exp(-6 * ce)) < 1e-10 * max(likelihood, 1e-300)

# ------------------------------------------------------------------ 4. MSE vs Huber
print("\n4. MSE vs Huber: fitting a line to data with outliers")
xd = np.linspace(-2, 2, 40).reshape(-1, 1)
yd = 1.5 * xd + 0.5 + 0.1 * rng.standard_normal((40, 1))
yd[::8] += 8.0  # five points far off the line
r = tg.Tensor(np.array([0.1, 1.0, 3.0, 10.0]), requires_grad=True)
F.huber_loss(r, tg.zeros(4, dtype="float64"), reduction="sum").backward()
print(f"   residual:        {r.data}")
print(f"   MSE gradient:    {2 * r.data}   (grows with the error)")
print(f"   Huber gradient:  {r.grad.data}   (capped at delta = 1)")
assert np.allclose(r.grad.data, np.clip(r.data, -1, 1))


def fit_line(loss_fn, steps=400 if FAST else 1500, lr=0.1):
    w = tg.Tensor(np.zeros((1, 1)), requires_grad=True)
    b = tg.Tensor(np.zeros(1), requires_grad=True)
    X, Y = tg.Tensor(xd), tg.Tensor(yd)
    for _ in range(steps):
        loss_fn(X @ w + b, Y).backward()
        for q in (w, b):
            q.data -= lr * q.grad.data
            q.grad = None
    return w.item(), b.item()


fits = {"MSE": fit_line(F.mse_loss), "Huber": fit_line(F.huber_loss)}
print("   true line: slope 1.500, intercept 0.500")
for name, (w, b) in fits.items():
    print(f"   {name:5s} fit:  slope {w:.3f}, intercept {b:.3f}")
assert abs(fits["Huber"][1] - 0.5) < 0.35 < abs(fits["MSE"][1] - 0.5)

# ------------------------------------------------------------------ 5. MSE on classification
print("\n5. Why MSE on a sigmoid output stalls, and cross-entropy does not")
print("   one example with label 1; the model's score z gives p = sigmoid(z)")
print("        z        p     dMSE/dz   dCE/dz")
for zv in (-8.0, -4.0, -1.0, 0.0, 2.0):
    zt = tg.Tensor(np.array([zv]), requires_grad=True)
    F.mse_loss(F.sigmoid(zt), tg.Tensor(np.array([1.0]))).backward()
    g_mse = zt.grad.item()
    zt.grad = None
    F.binary_cross_entropy_with_logits(zt, tg.Tensor(np.array([1.0]))).backward()
    g_ce = zt.grad.item()
    pv = 1 / (1 + math.exp(-zv))
    assert abs(g_mse - 2 * (pv - 1) * pv * (1 - pv)) < 1e-12 and abs(g_ce - (pv - 1)) < 1e-12
    print(f"   {zv:6.1f}  {pv:7.4f}  {g_mse:9.2e}  {g_ce:7.3f}")
print("   dMSE/dz = 2 (p - y) p (1 - p): the sigmoid's slope p (1 - p) multiplies it, so a\n"
      "   confidently WRONG prediction (z = -8) gets almost no gradient. dCE/dz = p - y: the\n"
      "   log in the cross-entropy cancels that slope, and the worst mistakes pull hardest.")

# training: logistic regression on two blobs, started confidently wrong
n = 200
Xb = np.concatenate([rng.normal(-1.5, 0.7, (n // 2, 2)), rng.normal(1.5, 0.7, (n // 2, 2))])
yb = np.concatenate([np.zeros(n // 2), np.ones(n // 2)]).reshape(-1, 1)
steps = 150 if FAST else 500
results = {}
for name in ("MSE", "cross-entropy"):
    tg.manual_seed(0)
    model = nn.Linear(2, 1, dtype="float64")
    model.weight.data[...] = -4.0  # pointing the wrong way: almost every example saturated
    model.bias.data[...] = 0.0
    X, Y = tg.Tensor(Xb), tg.Tensor(yb)
    curve, start_grad = [], None
    for step in range(steps):
        out = model(X)
        loss = (F.mse_loss(F.sigmoid(out), Y) if name == "MSE"
                else F.binary_cross_entropy_with_logits(out, Y))
        model.zero_grad()
        loss.backward()
        if start_grad is None:
            start_grad = math.sqrt(sum(float((q.grad.data**2).sum()) for q in model.parameters()))
        for q in model.parameters():
            q.data -= 0.5 * q.grad.data  # the same plain gradient descent for both
        with tg.no_grad():
            curve.append(float(((model(X).data > 0) == (yb > 0.5)).mean()))
    results[name] = curve
    print(f"   {name:13s}: gradient norm at the start {start_grad:.1e};  accuracy after step 1 "
          f"{curve[0]:.2f}, step 25 {curve[24]:.2f}, step {steps} {curve[-1]:.2f}")
assert results["MSE"][-1] < 0.5 and results["cross-entropy"][-1] > 0.95
print("   MSE sits on a plateau: the loss is near its worst, yet the gradient is nearly zero.")
print("\nTakeaway: sigmoid and tanh saturate and pass little gradient; ReLU/GELU do not. "
      "Softmax turns scores into probabilities (sigmoid for two classes); cross-entropy is "
      "maximum likelihood and keeps a strong gradient on confident mistakes, where MSE on a "
      "sigmoid stalls. Huber caps the pull of outliers.")
