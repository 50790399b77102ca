"""Tutorial 7: learning rate, batch size, shuffling and epochs.

Four knobs of every training run, each shown on a real model:
  1. The learning rate. Too small: the loss barely moves. Too large: the steps overshoot and
     oscillate. Larger still: every step overshoots more than the last, and training diverges.
     For a quadratic loss the limit is exact: gradient descent is stable for lr < 2 / lambda_max,
     where lambda_max is the largest eigenvalue of the Hessian (the steepest curvature).
  2. The batch size. A mini-batch gradient is a noisy estimate of the full gradient; its noise
     shrinks like 1 / sqrt(batch size). Small batches: many cheap, noisy updates per epoch.
     Large batches: few accurate ones (and more memory per step).
  3. Shuffling. If the data arrive sorted (all the 0s, then all the 1s, ...), each mini-batch
     pulls the model towards one class and the last batches win. Shuffle every epoch.
  4. Epochs. Too few: under-fitting (training and validation loss both high). Too many: the
     model memorises the training set (training loss -> 0) while the validation loss rises
     again: over-fitting. Watch the validation curve; stop at its minimum (tutorial 9).

Run:  python docs/tutorials/07_lr_batch_size_epochs.py   (TINYGRAD_EDU_FAST=1: fewer epochs)
"""

import os
import time

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import (
    DataLoader,
    StandardScaler,
    TensorDataset,
    load_digits,
    make_linear_regression,
    make_moons,
    train_val_test_split,
)
from tinygrad_edu.metrics import confusion_matrix
from tinygrad_edu.train import evaluate, fit

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"

# ------------------------------------------------------------------ 1. the learning rate
print("1. Learning rate: full-batch gradient descent on linear regression (13 features)")
X, y, _, _ = make_linear_regression(n=300, n_features=13, noise=0.5, seed=0, dtype=np.float64)
X = StandardScaler().fit_transform(X)
A = np.hstack([X, np.ones((len(X), 1))])  # the bias is a weight on a constant feature
H = 2 * A.T @ A / len(A)  # the Hessian of the MSE: constant, since the loss is quadratic
eigvals, eigvecs = np.linalg.eigh(H)
lam_max, v_max = float(eigvals[-1]), eigvecs[:, -1]  # the steepest direction
lr_max = 2 / lam_max
theta_best = np.linalg.lstsq(A, y, rcond=None)[0].ravel()
best_mse = float(np.mean((A @ theta_best[:, None] - y) ** 2))
print(f"   largest Hessian eigenvalue {lam_max:.3f}, so stable for lr < 2 / {lam_max:.3f} = "
      f"{lr_max:.3f}\n   best possible MSE {best_mse:.4f}")
print("   along the steepest direction each step multiplies the error by (1 - lr * lambda_max):")
print("   between 0 and 1 it shrinks smoothly, below 0 it flips sign (oscillates), below -1 it")
print("   grows (diverges).")
STEPS = 60
print(f"   {'':28s}{'':16s}  loss at step 1, 3, 10 and {STEPS}")
curves, flips = {}, {}
for label, lr in [("too small", 0.003), ("good", 0.3), ("oscillating", 0.95 * lr_max),
                  ("diverging", 1.05 * lr_max)]:
    tg.manual_seed(0)
    model = nn.Linear(13, 1, dtype="float64")
    opt = optim.SGD(model.parameters(), lr=lr)
    Xt, yt = tg.Tensor(X), tg.Tensor(y)
    losses, errs = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(Xt), yt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        theta = np.concatenate([model.weight.data.ravel(), model.bias.data])
        errs.append(float(v_max @ (theta - theta_best)))  # the error along the steepest axis
    curves[label] = c = np.array(losses)
    flips[label] = int(np.sum(np.diff(np.sign(errs)) != 0))
    print(f"   lr {lr:5.3f} {label:11s} factor {1 - lr * lam_max:+.2f}  sign flips "
          f"{flips[label]:2d}  loss " + " ".join(f"{c[i]:8.4g}" for i in (0, 2, 9, STEPS - 1)))
c = curves
assert c["too small"][-1] > 20 * best_mse  # 60 steps and still far from the end
assert c["good"][-1] < best_mse * 1.01 and flips["good"] == 0
assert flips["oscillating"] >= STEPS - 5 and c["oscillating"][-1] < 1.01 * best_mse
assert c["diverging"][-1] > 10 * c["diverging"][0]
print("   just below the limit the weights bounce from side to side but settle; just above it\n"
      "   the loss grows for ever (fit() would stop with NonFiniteLossError and suggest a lower\n"
      "   lr).")

# ------------------------------------------------------------------ 2. the batch size
print("\n2. Batch size: the digits, an MLP 64-64-10, SGD with momentum")
Xd, yd = load_digits()
(X_tr, y_tr), (X_va, y_va) = train_val_test_split(Xd, yd, ratios=(0.8, 0.2), stratify=True,
                                                  seed=0)
scaler = StandardScaler().fit(X_tr)
X_tr, X_va = scaler.transform(X_tr), scaler.transform(X_va)
val = DataLoader(TensorDataset(X_va, y_va), batch_size=512)


def new_model():
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


# gradient noise: how far is a mini-batch gradient from the full-data gradient?
model = new_model()
loss_fn = nn.CrossEntropyLoss()


def grad_vector(xb, yb):
    model.zero_grad()
    loss_fn(model(tg.Tensor(xb)), tg.Tensor(yb)).backward()
    return np.concatenate([p.grad.data.ravel() for p in model.parameters()])


g_full = grad_vector(X_tr, y_tr)
rng = np.random.default_rng(0)
noise = {}
print("   batch  ||g_batch - g_full||  relative to batch 8  1 / sqrt(batch / 8)")
print("          (mean of 20 batches)")
for bs in (8, 32, 128, 512):
    d = [np.linalg.norm(grad_vector(X_tr[i], y_tr[i]) - g_full)
         for i in (rng.choice(len(X_tr), bs, replace=False) for _ in range(20))]
    noise[bs] = float(np.mean(d))
    print(f"   {bs:5d}  {noise[bs]:20.4f}  {noise[bs] / noise[8]:19.2f}  {np.sqrt(8 / bs):19.2f}")
assert 2.5 < noise[8] / noise[128] < 6  # ~ sqrt(128 / 8) = 4
EPOCHS = 3 if FAST else 8
print(f"\n   training {EPOCHS} epochs with each batch size")
print("   batch  updates  seconds  val accuracy")
acc = {}
for bs in (8, 32, 128, len(X_tr)):
    model = new_model()
    train = DataLoader(TensorDataset(X_tr, y_tr), batch_size=bs, shuffle=True, seed=0)
    start = time.perf_counter()
    fit(model, loss_fn, optim.SGD(model.parameters(), lr=0.02, momentum=0.9), train,
        epochs=EPOCHS, verbose=0)
    secs = time.perf_counter() - start
    acc[bs] = evaluate(model, val)["accuracy"]
    print(f"   {bs:5d}  {EPOCHS * len(train):7d}  {secs:7.2f}  {acc[bs]:12.3f}")
assert acc[32] > acc[len(X_tr)] + 0.2
print("   per epoch, small batches take longer (more Python work per sample) but make many\n"
      "   more updates; the full batch makes one update per epoch and learns little. The\n"
      "   noise of small batches also helps escape sharp minima; very large batches usually\n"
      "   need a larger lr (and warm-up) to keep up.")

# ------------------------------------------------------------------ 3. shuffling
print("\n3. Shuffling: the same data sorted by label, batches taken in order vs shuffled "
      "(3 epochs)")
order = np.argsort(y_tr, kind="stable")  # all the 0s first, then the 1s, ...
Xs, ys = X_tr[order], y_tr[order]
shuf, acc_sorted = {}, {}
for shuffle in (False, True):
    model = new_model()
    train = DataLoader(TensorDataset(Xs, ys), batch_size=32, shuffle=shuffle, seed=0)
    fit(model, loss_fn, optim.SGD(model.parameters(), lr=0.02, momentum=0.9), train,
        epochs=3, verbose=0)
    pred = tg.train.predict(model, X_va).argmax(axis=1)
    cm = confusion_matrix(y_va, pred, num_classes=10)
    shuf[shuffle] = recall = np.diag(cm) / cm.sum(axis=1)  # per class: share found
    acc_sorted[shuffle] = np.trace(cm) / cm.sum()
    print(f"   shuffle={shuffle!s:5s}: val accuracy {acc_sorted[shuffle]:.3f}; recall per "
          f"class 0..9: {' '.join(f'{r:.2f}' for r in recall)}")
assert acc_sorted[True] > acc_sorted[False] + 0.1
assert shuf[False].min() < 0.5 and shuf[True].min() > 0.85
print("   unshuffled, every epoch starts with the 0s and 1s and ends with the 9s: by the end of\n"
      "   the epoch the model has forgotten the classes it saw first.")

# ------------------------------------------------------------------ 4. epochs
print("\n4. Epochs: a big MLP on 50 noisy moons, validated on 450 more")
Xm, ym = make_moons(n=500, noise=0.3, seed=0)
(Xm_tr, ym_tr), (Xm_va, ym_va) = train_val_test_split(Xm, ym, ratios=(0.1, 0.9),
                                                      stratify=True, seed=0)
tg.manual_seed(0)
big = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                    nn.Linear(128, 2))
hist = fit(big, nn.CrossEntropyLoss(), optim.Adam(big.parameters(), lr=0.003),
           DataLoader(TensorDataset(Xm_tr, ym_tr), batch_size=64),
           DataLoader(TensorDataset(Xm_va, ym_va), batch_size=1000), epochs=200, verbose=0)
best_epoch, best_val = hist.best("val_loss")
print("   epoch  train loss  val loss  train acc  val acc")
for e in sorted({1, 5, best_epoch, 50, 100, 200}):
    i = e - 1
    mark = "   <- lowest validation loss" if e == best_epoch else ""
    print(f"   {e:5d}  {hist['loss'][i]:10.3f}  {hist['val_loss'][i]:8.3f}  "
          f"{hist['accuracy'][i]:9.2f}  {hist['val_accuracy'][i]:7.3f}{mark}")
assert best_epoch < 50
assert hist["val_loss"][-1] > 1.4 * best_val and hist["loss"][-1] < 0.1 * hist["loss"][0]
print("   early on both losses are high (under-fitting); after the best epoch the training\n"
      "   loss keeps falling towards 0 while the validation loss climbs (over-fitting).")
print("\nTakeaway: pick the lr from the loss curve (falling smoothly, not crawling, not "
      "bouncing); mini-batches of 32-128 trade noise for many updates; always shuffle; and "
      "train until the validation loss stops improving, not longer.")
