"""Tutorial 9: over-fitting and under-fitting, and what to do about each.

Over-fitting: the model learns the training examples, noise included, instead of the pattern.
Training loss keeps falling, validation loss rises. Cures (each tried below on the same task):
  - less capacity (a smaller network),
  - more data,
  - early stopping (stop where the validation loss was lowest, keep those weights),
  - L2 regularisation: add lam * sum w^2 to the loss (= weight decay: every step shrinks the
    weights a little), which prefers small, smooth solutions,
  - L1 regularisation: add lam * sum |w| (drives many weights to exactly ~0: sparse),
  - dropout: during training, zero each hidden unit with probability p (20-50%), so no unit
    can rely on particular others; at evaluation nothing is dropped.
Under-fitting: the model is too simple for the pattern; training AND validation loss are high.
Cures: more features (e.g. polynomial features x^2, x^3, ...), more capacity, less
regularisation.

Part 1 over-fits a big MLP on 50 noisy moons and applies every cure. Part 2 under-fits a curve
with a straight line and fixes it with polynomial features; too much L2 under-fits again.

Run:  python docs/tutorials/09_overfitting_regularisation.py   (TINYGRAD_EDU_FAST=1: faster)
"""

import os

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import DataLoader, StandardScaler, TensorDataset, make_moons
from tinygrad_edu.train import EarlyStopping, evaluate, fit

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"
EPOCHS = 200 if FAST else 300

# ------------------------------------------------------------------ 1. over-fitting
print("1. Over-fitting: an MLP 2-128-128-2 (about 17,000 parameters) on 50 noisy moons")
X, y = make_moons(n=2000, noise=0.3, seed=0)
X_pool, y_pool = X[:1000], y[:1000]  # training examples are taken from here
X_va, y_va = X[1000:], y[1000:]  # 1000 validation examples, never trained on
val = DataLoader(TensorDataset(X_va, y_va), batch_size=1000)
ce = nn.CrossEntropyLoss()


def build(hidden=128, dropout=0.0):
    tg.manual_seed(0)  # the same initial weights for every variant
    layers = [nn.Linear(2, hidden), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(hidden, hidden), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(hidden, 2))


def run(name, n=50, hidden=128, dropout=0.0, l2=0.0, l1=0.0, early=False, epochs=EPOCHS):
    model = build(hidden, dropout)
    weights = [p for pname, p in model.named_parameters() if pname.endswith("weight")]

    def loss_fn(out, target):  # the data term plus the penalties (biases are not penalised)
        loss = ce(out, target)
        if l2:
            loss = loss + l2 * nn.l2_penalty(weights)
        if l1:
            loss = loss + l1 * nn.l1_penalty(weights)
        return loss

    train = DataLoader(TensorDataset(X_pool[:n], y_pool[:n]), batch_size=64, shuffle=True,
                       seed=0)
    stop = EarlyStopping(monitor="val_loss", patience=20, verbose=False)
    hist = fit(model, loss_fn, optim.Adam(model.parameters(), lr=3e-3), train,
               val if early else None, epochs=epochs, verbose=0,
               callbacks=[stop] if early else [])
    # judge everyone by the plain cross-entropy (no penalty), in eval mode (no dropout)
    tr = evaluate(model, DataLoader(TensorDataset(X_pool[:n], y_pool[:n]), batch_size=1000), ce)
    va = evaluate(model, val, ce)
    w = np.concatenate([p.data.ravel() for p in weights])
    row = {"epochs": len(hist), "train": tr["loss"], "val": va["loss"],
           "train_acc": tr["accuracy"], "val_acc": va["accuracy"],
           "tiny": float(np.mean(np.abs(w) < 1e-3)), "norm": float(np.linalg.norm(w))}
    print(f"   {name:28s} {row['epochs']:6d} {row['train']:7.3f} {row['val']:7.3f} "
          f"{row['train_acc']:7.3f} {row['val_acc']:7.3f} {row['norm']:7.1f} {row['tiny']:7.2f}")
    return row


print(f"   {'':28s} {'epochs':>6s} {'train':>7s} {'val':>7s} {'train':>7s} {'val':>7s} "
      f"{'||w||':>7s} {'|w|<1e-3':>8s}")
print(f"   {'':28s} {'':6s} {'loss':>7s} {'loss':>7s} {'acc':>7s} {'acc':>7s}")
R = {
    "plain": run("no regularisation"),
    "small": run("less capacity (8 hidden)", hidden=8),
    "data": run("20x more data (1000)", n=1000, epochs=max(EPOCHS // 10, 20)),
    "early": run("early stopping (patience 20)", early=True),
    "l2": run("L2, lam = 1e-2", l2=1e-2),
    "l1": run("L1, lam = 1e-3", l1=1e-3),
    "dropout": run("dropout p = 0.5", dropout=0.5),
}
plain = R["plain"]
print("   no regularisation: training loss near 0, validation loss several times larger: the\n"
      "   network has memorised the 50 points. Every cure narrows that gap. (Early stopping\n"
      "   chose its epoch by the validation loss, so its validation score is a little\n"
      "   optimistic: a test set, looked at once, gives the honest number; tutorial 10.)")
assert plain["train"] < 0.1 and plain["val"] > 5 * plain["train"]
for key in ("small", "data", "early", "l2", "l1", "dropout"):
    assert R[key]["val"] < 0.7 * plain["val"], (key, R[key]["val"], plain["val"])
assert R["early"]["epochs"] < EPOCHS
assert R["l2"]["norm"] < 0.5 * plain["norm"]  # L2 keeps the weights small
assert R["l1"]["tiny"] > 0.5 > 10 * plain["tiny"]  # L1 switches most weights off
print(f"   early stopping ended after {R['early']['epochs']} epochs and restored the best "
      f"weights;\n   L2 shrank ||w|| from {plain['norm']:.0f} to {R['l2']['norm']:.0f}; L1 set "
      f"{R['l1']['tiny']:.0%} of the weights to ~0.")

# L2 as a penalty in the loss and as the optimizer's weight_decay are the same thing
print("\n   L2 in the loss == weight_decay in the optimizer (one SGD step, lam = 0.05):")
w0 = np.array([[1.0, -2.0], [0.5, 3.0]])
xb = tg.Tensor(np.array([[1.0, 2.0]]))
a = tg.Tensor(w0.copy(), requires_grad=True)
b = tg.Tensor(w0.copy(), requires_grad=True)
opt_a, opt_b = optim.SGD([a], lr=0.1), optim.SGD([b], lr=0.1, weight_decay=2 * 0.05)
((xb @ a).sum() + 0.05 * nn.l2_penalty([a])).backward()  # d/dw lam * w^2 = 2 lam w
(xb @ b).sum().backward()
opt_a.step()
opt_b.step()
print(f"   penalty in the loss: {a.data.ravel()}\n   weight_decay=2 lam:  {b.data.ravel()}")
np.testing.assert_allclose(a.data, b.data, rtol=1e-12)

# ------------------------------------------------------------------ 2. under-fitting
print("\n2. Under-fitting: 30 noisy samples of y = sin(3x), fitted by Adam on the MSE")
rng = np.random.default_rng(0)
x_tr, x_va = rng.uniform(-1, 1, (30, 1)), rng.uniform(-1, 1, (300, 1))
y_tr = np.sin(3 * x_tr) + 0.2 * rng.standard_normal(x_tr.shape)
y_va = np.sin(3 * x_va) + 0.2 * rng.standard_normal(x_va.shape)


def poly(x, degree):
    """Polynomial features [x, x^2, ..., x^degree]: a linear model on them is a polynomial."""
    return np.hstack([x**k for k in range(1, degree + 1)])


STEPS = 500 if FAST else 1500
fits = {}
print("   model                          train MSE   val MSE")
for name, degree, lam in [("straight line (degree 1)", 1, 0.0), ("polynomial, degree 5", 5, 0.0),
                          ("degree 5, L2 lam = 1", 5, 1.0), ("degree 5, L2 lam = 1e-3", 5, 1e-3)]:
    scaler = StandardScaler().fit(poly(x_tr, degree))  # statistics of the training part only
    F_tr, F_va = scaler.transform(poly(x_tr, degree)), scaler.transform(poly(x_va, degree))
    tg.manual_seed(0)
    model = nn.Linear(degree, 1, dtype="float64")
    opt = optim.Adam(model.parameters(), lr=0.05)
    Ft, yt = tg.Tensor(F_tr), tg.Tensor(y_tr)
    for _ in range(STEPS):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(Ft), yt) + lam * nn.l2_penalty([model.weight])
        loss.backward()
        opt.step()
    with tg.no_grad():
        tr = float(np.mean((model(Ft).data - y_tr) ** 2))
        va = float(np.mean((model(tg.Tensor(F_va)).data - y_va) ** 2))
    fits[degree, lam] = (tr, va)
    print(f"   {name:30s} {tr:9.4f} {va:9.4f}")
line, cubic, strong, weak = fits[1, 0.0], fits[5, 0.0], fits[5, 1.0], fits[5, 1e-3]
assert line[0] > 3 * cubic[0] and line[1] > 3 * cubic[1]  # both errors high: under-fitting
assert strong[0] > 3 * cubic[0] and weak[1] < 1.2 * cubic[1]
print("   the straight line is wrong on the training data too (under-fitting); x^2..x^5 as\n"
      "   extra features fix it. Too strong a penalty (lam = 1) flattens the curve and\n"
      "   under-fits again; a small one (1e-3) costs nothing here.")
print("\nTakeaway: compare training and validation loss. Both high: under-fitting — add "
      "features or capacity, regularise less. Training low, validation high: over-fitting — "
      "more data, less capacity, early stopping, L2/L1, dropout.")
