"""Tutorial 13: critical points and the Hessian.

Where the gradient is zero, gradient descent stops — at a minimum, a maximum, or a saddle.
The Hessian (the matrix of second derivatives) tells them apart:
  all eigenvalues > 0: minimum;  all < 0: maximum;  some of each: saddle.
Moving along an eigenvector of a negative eigenvalue lowers the loss: the escape direction.

  1. f(x, y) = x^2 - y^2: a saddle at the origin; gradient descent gets stuck on it only from
     exactly y = 0, and the Hessian shows the way out.
  2. A tiny network started with all-zero weights: the gradient is exactly zero, and the point
     is a saddle (this is why weights are initialised randomly: to break the symmetry).
  3. In high dimensions, most critical points are saddles.
Hessians here come from double backward (autograd.functional.hessian, Hessian-vector products);
for a real model only H v products are used (Lanczos), never the full matrix.

Run:  python docs/tutorials/13_critical_points_hessian.py   (TINYGRAD_EDU_FAST=1: fewer samples)
"""

import os

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.autograd.functional import hessian
from tinygrad_edu.teach import classify_critical_point, hessian_eigs

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"


def f(x, y):
    return x * x - y * y


# ---------------------------------------------------------------------------------- 1. saddle
print("1. f(x, y) = x^2 - y^2")
x0, y0 = tg.Tensor(np.array(0.0)), tg.Tensor(np.array(0.0))
H = hessian(f, (x0, y0))  # ((d2f/dx2, d2f/dxdy), (d2f/dydx, d2f/dy2))
Hm = np.array([[H[0][0].item(), H[0][1].item()], [H[1][0].item(), H[1][1].item()]])
print(f"   Hessian at (0, 0):\n{Hm}\n   eigenvalues: {np.linalg.eigvalsh(Hm)}")
r = classify_critical_point(f, [np.array(0.0), np.array(0.0)])
print(f"   {r}")
assert r.kind == "saddle"
escape = np.array([float(d) for d in r.escape_direction])
print(f"   escape direction: {escape} (the y axis)")


def descend(start, steps=40, lr=0.1):
    x = tg.Tensor(np.array(start[0]), requires_grad=True)
    y = tg.Tensor(np.array(start[1]), requires_grad=True)
    for _ in range(steps):
        f(x, y).backward()
        for t in (x, y):
            t.data -= lr * t.grad.data
            t.grad = None
    return x.item(), y.item()


stuck = descend((1.0, 0.0))
free = descend((1.0, 1e-6))
print(f"   gradient descent from (1, 0):    ends at ({stuck[0]:.2e}, {stuck[1]:.2e}) - stuck "
      "on the saddle")
print(f"   gradient descent from (1, 1e-6): ends at ({free[0]:.2e}, {free[1]:.2e}) - escapes "
      "along y")
assert abs(stuck[1]) == 0.0 and abs(free[1]) > 1e-3
t = 0.5
print(f"   a step of {t} along the escape direction: f = {float(f(*[tg.Tensor(v) for v in t * escape]).item()):+.3f} < 0")

print("\n   other critical points of simple functions:")
origin = [np.array(0.0), np.array(0.0)]
for name, fn in [("x^2 + y^2", lambda x, y: x * x + y * y),
                 ("-(x^2 + y^2)", lambda x, y: -(x * x + y * y)),
                 ("x^2 + y^4", lambda x, y: x * x + y**4)]:  # flat along y: inconclusive
    res = classify_critical_point(fn, origin)
    print(f"   {name:13s} at 0: {res.kind:10s} eigenvalues {np.round(res.eigenvalues, 3)}")

# ------------------------------------------------------------------- 2. a network at zero init
print("\n2. A 3-4-1 tanh network, all weights zero, output bias = mean(y): MSE loss")
rng = np.random.default_rng(0)
X = tg.Tensor(rng.standard_normal((40, 3)))
y = tg.Tensor(np.tanh(X.data @ np.array([1.0, -2.0, 0.5])))
W1 = tg.Tensor(np.zeros((3, 4)), requires_grad=True)
b1 = tg.Tensor(np.zeros(4), requires_grad=True)
W2 = tg.Tensor(np.zeros(4), requires_grad=True)
b2 = tg.Tensor(np.array(y.data.mean()), requires_grad=True)
params = [W1, b1, W2, b2]


def loss():
    return (((X @ W1 + b1).tanh() @ W2 + b2 - y) ** 2).mean()


grads = tg.autograd.grad(loss(), params)
gmax = max(float(np.abs(g.data).max()) for g in grads)
print(f"   largest gradient entry: {gmax:.1e} (hidden units output tanh(0) = 0, and W2 = 0 "
      "sends them no signal)")
res = classify_critical_point(loss, params=params)
print(f"   {res.kind}: {int((res.eigenvalues < -1e-9).sum())} negative, "
      f"{int((res.eigenvalues > 1e-9).sum())} positive, "
      f"{int((np.abs(res.eigenvalues) <= 1e-9).sum())} zero eigenvalues")
assert gmax < 1e-12 and res.kind == "saddle"
# a big model: the same answer from Hessian-vector products only (Lanczos)
eig = hessian_eigs(loss, params, num_iter=12)
print(f"   Lanczos with {eig.num_hvp} Hessian-vector products: smallest eigenvalue "
      f"{eig.min_value:.4f} (dense: {res.eigenvalues[0]:.4f}), largest {eig.max_value:.4f}")
base = loss().item()
for p, d in zip(params, res.escape_direction):
    p.data = p.data + 0.05 * d
print(f"   loss {base:.4f} -> {loss().item():.4f} after a step of 0.05 along the escape "
      "direction")
assert loss().item() < base

# ----------------------------------------------------------- 3. saddles dominate in high dims
print("\n3. Random symmetric 'Hessians': how often are all eigenvalues positive?")
trials = 300 if FAST else 2000
print("   dim   share that is a minimum   (the rest: saddles or maxima)")
shares = []
for n in (1, 2, 3, 5, 8):
    count = 0
    for _ in range(trials):
        A = rng.standard_normal((n, n))
        count += bool((np.linalg.eigvalsh((A + A.T) / 2) > 0).all())
    shares.append(count / trials)
    print(f"   {n:3d}   {count / trials:6.3f}")
assert shares[0] > 0.3 and shares[-1] < 0.02
print("\nTakeaway: a zero gradient is not a minimum. The Hessian's eigenvalues tell what it is, "
      "and in many dimensions a random critical point is almost always a saddle, which a "
      "step along a negative-curvature direction (or a little noise) escapes.")
