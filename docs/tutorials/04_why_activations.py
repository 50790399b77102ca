"""Tutorial 4: why activations — stacked linear layers stay linear.

A fully connected layer computes y = x W^T + b. Put two of them in a row and you get
    (x W1^T + b1) W2^T + b2  =  x (W2 W1)^T + (W2 b1 + b2),
which is again ONE linear layer, with weight W2 W1 and bias W2 b1 + b2. However many linear
layers you stack, and however wide they are, the network can only draw straight decision
boundaries. A nonlinearity between the layers (tanh, ReLU, ...) is what lets hidden layers bend
the boundary.

  1. We build a 5-layer linear stack, multiply its matrices out, and check that one Linear with
     the composed weight gives exactly the same outputs.
  2. We train a linear model, a deep linear stack and an MLP with activations on XOR (four
     clusters: no straight line separates them) and on two interleaving moons.
  3. We draw the learned decision regions as text, so the straight line is visible.

Run:  python docs/tutorials/04_why_activations.py      (TINYGRAD_EDU_FAST=1: fewer steps)
Set TINYGRAD_EDU_PLOTS=some/folder to also save the decision regions as a PNG (matplotlib).
"""

import os

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import make_moons

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"
STEPS = 250 if FAST else 800
PLOTS = os.environ.get("TINYGRAD_EDU_PLOTS")

# ------------------------------------------------------------ 1. composing linear layers
print("1. Five linear layers 2 -> 64 -> 64 -> 64 -> 64 -> 2, no activation in between")
tg.manual_seed(0)
sizes = [2, 64, 64, 64, 64, 2]
stack = nn.Sequential(*[nn.Linear(a, b, dtype="float64") for a, b in zip(sizes, sizes[1:])])
print(f"   parameters in the stack: {stack.num_parameters()}")

# multiply the layers out: start from the identity map and fold each layer in
W, b = np.eye(2), np.zeros(2)
for layer in stack:
    Wl, bl = layer.weight.data, layer.bias.data  # Wl: (out, in), as in y = x Wl^T + bl
    W, b = Wl @ W, Wl @ b + bl  # new map: x -> Wl (W x + b) + bl
one = nn.Linear(2, 2, dtype="float64")
one.weight.data[...] = W
one.bias.data[...] = b
print(f"   composed weight (2 x 2):\n{np.round(W, 4)}\n   composed bias: {np.round(b, 4)}")
print(f"   parameters in the single equivalent layer: {one.num_parameters()}")

x = tg.Tensor(np.random.default_rng(1).standard_normal((1000, 2)))
with tg.no_grad():
    diff = float(np.abs(stack(x).data - one(x).data).max())
print(f"   largest difference between the 5-layer stack and the single layer on 1000 random "
      f"inputs: {diff:.1e}")
assert diff < 1e-10, "a stack of linear layers is one linear layer"

# with a tanh between the layers the same check fails: the network is no longer linear
bent = nn.Sequential(*[m for layer in stack for m in (layer, nn.Tanh())][:-1])
u, v = tg.Tensor(np.array([[1.0, 0.0]])), tg.Tensor(np.array([[0.0, 1.0]]))
with tg.no_grad():
    def gap(f):  # an affine map satisfies f(u + v) = f(u) + f(v) - f(0)
        return float(np.abs(f(u + v).data - (f(u).data + f(v).data - f(u * 0).data)).max())
    lin_gap, bent_gap = gap(stack), gap(bent)
print(f"   f(u + v) - (f(u) + f(v) - f(0)):  linear stack {lin_gap:.1e},  with tanh "
      f"{bent_gap:.2f}")
assert lin_gap < 1e-10 and bent_gap > 1e-3

# ------------------------------------------------------------ 2. what that means for learning


def make_xor(n, noise=0.15, seed=0):
    """Four clusters at (+-1, +-1); the class is 1 when the signs differ (XOR)."""
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(n, 2))
    X = (2.0 * corners - 1) + noise * rng.standard_normal((n, 2))
    return X.astype(np.float32), (corners[:, 0] ^ corners[:, 1]).astype(np.int64)


def build(kind):
    if kind == "linear model":
        return nn.Linear(2, 2)
    if kind == "4 linear layers":  # deep and wide, but no activation
        return nn.Sequential(nn.Linear(2, 32), nn.Linear(32, 32), nn.Linear(32, 32),
                             nn.Linear(32, 2))
    act = nn.Tanh if kind == "MLP with tanh" else nn.ReLU
    return nn.Sequential(nn.Linear(2, 32), act(), nn.Linear(32, 32), act(), nn.Linear(32, 2))


def train(model, X, y):
    """Full-batch Adam on the cross-entropy; returns the training accuracy."""
    opt = optim.Adam(model.parameters(), lr=0.02)
    Xt, yt = tg.Tensor(X), tg.Tensor(y)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(STEPS):
        opt.zero_grad()
        loss_fn(model(Xt), yt).backward()
        opt.step()
    with tg.no_grad():
        return float((model(Xt).data.argmax(axis=1) == y).mean())


KINDS = ["linear model", "4 linear layers", "MLP with tanh", "MLP with ReLU"]
datasets = {"XOR": make_xor(400), "moons": make_moons(n=400, noise=0.15, seed=0)}
acc, models = {}, {}
print(f"\n2. Training accuracy after {STEPS} full-batch Adam steps")
print("   model              " + "".join(f"{name:>10s}" for name in datasets))
for kind in KINDS:
    row = []
    for name, (X, y) in datasets.items():
        tg.manual_seed(0)
        models[kind, name] = model = build(kind)
        acc[kind, name] = train(model, X, y)
        row.append(f"{acc[kind, name]:10.3f}")
    print(f"   {kind:18s} " + "".join(row))

# the claims, checked: no linear model, deep or not, can do better than the best straight line
# (on XOR that is 3 of the 4 clusters: 75%); with an activation the MLP separates both sets
for name in datasets:
    for kind in ("linear model", "4 linear layers"):
        assert acc[kind, name] < (0.80 if name == "XOR" else 0.90), (kind, name, acc[kind, name])
    for kind in ("MLP with tanh", "MLP with ReLU"):
        assert acc[kind, name] > 0.97, (kind, name, acc[kind, name])

# ------------------------------------------------------------ 3. look at the decision regions


def regions(model, X, rows=13, cols=44):
    """The predicted class on a grid over the data, as text ('.' class 0, '#' class 1)."""
    lo, hi = X.min(axis=0) - 0.3, X.max(axis=0) + 0.3
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], cols), np.linspace(hi[1], lo[1], rows))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    with tg.no_grad():
        pred = model(tg.Tensor(grid)).data.argmax(axis=1).reshape(rows, cols)
    return ["".join(".#"[c] for c in row) for row in pred], (gx, gy, pred)


X, y = datasets["moons"]
print("\n3. Decision regions on the moons ('.' = class 0, '#' = class 1)")
left, _ = regions(models["4 linear layers", "moons"], X)
right, _ = regions(models["MLP with ReLU", "moons"], X)
print(f"   {'4 linear layers: a straight line':44s}   MLP with ReLU: a curve")
for a, c in zip(left, right):
    print(f"   {a}   {c}")

if PLOTS:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
        print("   (matplotlib is not installed: no figure saved)")
    if plt is not None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ax, kind in zip(axes, ("4 linear layers", "MLP with ReLU")):
            _, (gx, gy, pred) = regions(models[kind, "moons"], X, 120, 160)
            ax.contourf(gx, gy, pred, alpha=0.3, cmap="coolwarm")
            ax.scatter(X[:, 0], X[:, 1], c=y, s=8, cmap="coolwarm")
            ax.set_title(f"{kind}: accuracy {acc[kind, 'moons']:.2f}")
        os.makedirs(PLOTS, exist_ok=True)
        path = os.path.join(PLOTS, "04_decision_regions.png")
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        print(f"   figure saved: {path}")

print("\nTakeaway: without an activation, depth adds parameters but no power: the whole "
      "network is one matrix and draws one straight line. A nonlinearity between the layers "
      "is what lets an MLP bend its decision boundary around XOR and the moons.")
