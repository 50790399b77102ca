"""Tutorial 8: exploding and vanishing gradients — activations, initialisation, clipping.

Backpropagation multiplies: the gradient reaching layer 1 of a deep network is a product of one
factor per layer above it, each roughly (the layer's weights) x (the activation's slope).
  - factors below 1 -> the product shrinks exponentially with depth: VANISHING gradients. The
    sigmoid's slope is at most 0.25, so a deep sigmoid stack starves its first layers.
  - factors above 1 -> the product grows exponentially: EXPLODING gradients (large initial
    weights); one huge step throws the weights far away and the loss becomes NaN.
The cures the course lists, all shown below:
  - ReLU/GELU instead of sigmoid/tanh in hidden layers (slope 1 where active);
  - an initialisation that keeps the signal's scale from layer to layer: Xavier/Glorot
    (Var w = 2 / (fan_in + fan_out), for tanh) and Kaiming/He (Var w = 2 / fan_in, for ReLU);
  - gradient clipping: if the gradient's norm exceeds a limit, scale it down (same direction).
teach.GradientMonitor measures the per-layer gradient norms and names the problem.

Run:  python docs/tutorials/08_exploding_vanishing_gradients.py  (TINYGRAD_EDU_FAST=1: faster)
"""

import os

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import (
    DataLoader,
    StandardScaler,
    TensorDataset,
    load_digits,
    train_val_test_split,
)
from tinygrad_edu.teach import GradientMonitor
from tinygrad_edu.train import NonFiniteLossError, fit

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"
EPOCHS = 3 if FAST else 6
DEPTH, WIDTH = 10, 64

X, y = load_digits()
(X_tr, y_tr), (X_va, y_va) = train_val_test_split(X, y, ratios=(0.8, 0.2), stratify=True,
                                                  seed=0)
scaler = StandardScaler().fit(X_tr)
X_tr, X_va = scaler.transform(X_tr), scaler.transform(X_va)
ACTS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def deep_net(act, init):
    """DEPTH hidden layers of WIDTH units with activation ``act``, then 10 class scores.

    init: "default" (Linear's own: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), std ~0.07 here),
    "xavier", "kaiming", or a number: weights from N(0, number^2)."""
    tg.manual_seed(0)
    layers, width = [], 64
    for _ in range(DEPTH):
        lin = nn.Linear(width, WIDTH)
        if init == "xavier":
            nn.init.xavier_uniform_(lin.weight, gain=nn.init.calculate_gain(act))
        elif init == "kaiming":
            nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        elif not isinstance(init, str):
            nn.init.normal_(lin.weight, 0.0, init)
        if init != "default":
            nn.init.zeros_(lin.bias)
        layers += [lin, ACTS[act]()]
        width = WIDTH
    layers.append(nn.Linear(WIDTH, 10))
    return nn.Sequential(*layers)


# ------------------------------------------------------------------ 1. gradient norms by layer
print(f"1. Gradient norm of each layer's weights, {DEPTH} hidden layers of {WIDTH}, one batch")
print("   of 256 digits (layer 1 is next to the input; 'out' is the output layer)")
CONFIGS = [("sigmoid", "default"), ("sigmoid", "xavier"), ("tanh", "default"),
           ("tanh", "xavier"), ("relu", "default"), ("relu", "kaiming"), ("relu", 0.25)]
print(f"   {'activation, init':20s}" + "".join(f"{i:>6d}" for i in range(1, DEPTH + 1))
      + "   out  first/out")
ratios, first_norm = {}, {}
for act, init in CONFIGS:
    model = deep_net(act, init)
    mon = GradientMonitor(model, warn=False)
    loss = nn.CrossEntropyLoss()(model(tg.Tensor(X_tr[:256])), tg.Tensor(y_tr[:256]))
    loss.backward()
    norms = list(mon.record_gradients().values())  # per layer, input side first
    name = f"{act}, {init if isinstance(init, str) else f'N(0, {init}^2)'}"
    ratios[act, init], first_norm[act, init] = norms[0] / norms[-1], norms[0]
    print(f"   {name:20s}" + "".join(f"{v:6.0e}" for v in norms) + f"  {ratios[act, init]:8.1e}")
assert ratios["sigmoid", "default"] < 1e-6 and ratios["sigmoid", "xavier"] < 1e-4
assert 0.1 < ratios["relu", "kaiming"] < 10 and 0.1 < ratios["tanh", "xavier"] < 10
assert first_norm["relu", 0.25] > 10 * first_norm["relu", "kaiming"]
print("   sigmoid: every layer divides the gradient by ~4 or more, so layer 1 gets ~1e-8 of the\n"
      "   output layer's gradient, whatever the init. tanh (slope up to 1) and ReLU keep it\n"
      "   when the init is right: Xavier for tanh, Kaiming for ReLU. Weights a little too\n"
      "   large (std 0.25 instead of Kaiming's sqrt(2/64) = 0.18) make it explode instead.")

# why: the signal's scale through the layers, forward
print("\n   the same story forward: the std of each hidden layer's output on that batch")
for act, init in [("relu", "default"), ("relu", "kaiming"), ("relu", 0.25)]:
    model = deep_net(act, init)
    h, stds = tg.Tensor(X_tr[:256]), []
    with tg.no_grad():
        for layer in list(model)[:-1]:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                stds.append(float(h.data.std()))
    name = f"relu, {init if isinstance(init, str) else f'N(0, {init}^2)'}"
    print(f"   {name:20s}" + "".join(f"{v:8.1e}" for v in stds))
    if init == "kaiming":
        assert 0.2 < stds[-1] / stds[0] < 5  # Kaiming keeps the scale
print("   each ReLU layer multiplies the scale by about sqrt(fan_in * Var(w) / 2): < 1 shrinks,\n"
      "   = 1 (Kaiming: Var(w) = 2 / fan_in) keeps it, > 1 grows it, layer after layer.")

# ------------------------------------------------------------------ 2. does it train?
print(f"\n2. Training {EPOCHS} epochs (SGD, lr 0.02, momentum 0.9, batches of 32), with the")
print("   GradientMonitor as a fit() callback")


def train_loader():  # a fresh loader per run: every run sees the same batches
    return DataLoader(TensorDataset(X_tr, y_tr), batch_size=32, shuffle=True, seed=0)


val = DataLoader(TensorDataset(X_va, y_va), batch_size=512)
results = {}
for act, init in [("sigmoid", "default"), ("relu", "kaiming")]:
    model = deep_net(act, init)
    mon = GradientMonitor(model, warn=False)
    hist = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.02,
                                                       momentum=0.9),
               train_loader(), val, epochs=EPOCHS, callbacks=[mon], verbose=0)
    results[act] = hist["val_accuracy"][-1]
    kinds = sorted({i.kind for i in mon.issues})
    print(f"   {act}, {init}: val accuracy {results[act]:.3f}; monitor issues: {kinds or 'none'}")
    for issue in mon.issues[:1]:
        print(f"      {issue}")
    if act == "sigmoid":
        assert "vanishing" in kinds
    else:
        assert "vanishing" not in kinds and "exploding" not in kinds
assert results["sigmoid"] < 0.2 and results["relu"] > 0.7
print("   (layer '0' is the Sequential's first Linear.) The sigmoid stack predicts one class\n"
      "   (~10%): its first layers never learn; the ReLU network learns from the first epoch.")

# ------------------------------------------------------------------ 3. exploding: clipping
print("\n3. Exploding gradients (ReLU, weights N(0, 0.25^2)) and gradient clipping (SGD, lr 0.05,")
print("   momentum 0.9)")
model = deep_net("relu", 0.25)
try:
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the point here
        fit(model, nn.CrossEntropyLoss(),
            optim.SGD(model.parameters(), lr=0.05, momentum=0.9), train_loader(), val,
            epochs=EPOCHS, verbose=0)
    raise AssertionError("expected the unclipped run to blow up")
except NonFiniteLossError as err:
    print(f"   without clipping: the loss became {err.loss} at epoch {err.epoch}, batch "
          f"{err.batch}")
    print(f"   fit() says: ...{str(err).split('. ')[-1]}")

# clipping keeps the direction and caps the length
g = [tg.Tensor(np.array([3.0, 4.0])), tg.Tensor(np.array([12.0]))]  # joint norm 13
params = [tg.Tensor(np.zeros(2), requires_grad=True), tg.Tensor(np.zeros(1),
                                                                requires_grad=True)]
for p, gi in zip(params, g):
    p.grad = gi
total = nn.utils.clip_grad_norm_(params, max_norm=1.0)
clipped = np.concatenate([p.grad.data for p in params])
print(f"   clip_grad_norm_: norm {total.item():.1f} -> {np.linalg.norm(clipped):.4f}, gradient "
      f"(3, 4, 12) -> {np.round(clipped, 4)} (same direction)")
assert abs(np.linalg.norm(clipped) - 1.0) < 1e-5

model = deep_net("relu", 0.25)
hist = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
           train_loader(), val, epochs=EPOCHS, clip_grad_norm=1.0, verbose=0)
print("   with clip_grad_norm=1.0:")
for e in range(EPOCHS):
    print(f"      epoch {e + 1}: largest gradient norm before clipping {hist['grad_norm'][e]:8.1f}"
          f"   loss {hist['loss'][e]:.3f}   val accuracy {hist['val_accuracy'][e]:.3f}")
assert hist["val_accuracy"][-1] > 0.75 and hist["loss"][-1] < hist["loss"][0]
print("   clipping caps every step, so the huge early gradients cannot throw the weights away;\n"
      "   as the loss falls the gradients shrink. A better init (Kaiming) avoids the problem\n"
      "   from the start.")
print("\nTakeaway: look at per-layer gradient norms. Tiny in the first layers: vanishing — use "
      "ReLU/GELU and Xavier/Kaiming init. Huge or NaN: exploding — fix the init, lower the "
      "lr, and clip the gradient norm.")
