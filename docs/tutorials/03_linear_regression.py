"""Tutorial 3: linear regression y = X @ w + b with 13 features.

The full recipe on a regression problem the size of the classic housing data (13 features):
  - split the data 7:3 into training and test parts,
  - standardise the features with statistics of the *training* part only,
  - initialise w (13 x 1) with small random values and b with 0,
  - gradient descent on the mean squared error, in mini-batches of 32, shuffled each epoch,
  - evaluate on the test part once at the end, and compare with the exact least-squares fit.

Run:  python docs/tutorials/03_linear_regression.py      (TINYGRAD_EDU_FAST=1: fewer epochs)
"""

import os

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.data import StandardScaler, make_linear_regression, train_val_test_split

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"
EPOCHS = 30 if FAST else 100
BATCH, LR, NOISE = 32, 0.05, 0.5

X, y, w_true, b_true = make_linear_regression(n=500, n_features=13, noise=NOISE, seed=0,
                                              dtype=np.float64)
(X_tr, y_tr), (X_te, y_te) = train_val_test_split(X, y, ratios=(0.7, 0.3), seed=0)
scaler = StandardScaler().fit(X_tr)  # mean and std of the training split only
X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
print(f"train {X_tr.shape}, test {X_te.shape}; features standardised with training statistics")

rng = np.random.default_rng(0)
w = tg.Tensor(rng.normal(0, 0.01, (13, 1)), requires_grad=True)
b = tg.Tensor(np.zeros(1), requires_grad=True)


def predict(X):
    return X @ w + b  # (n, 13) @ (13, 1) + (1,) -> (n, 1); b is broadcast over the rows


def mse(pred, target):
    return ((pred - target) ** 2).mean()


Xt_tr, yt_tr = tg.Tensor(X_tr), tg.Tensor(y_tr)
for epoch in range(EPOCHS):
    order = rng.permutation(len(X_tr))  # shuffle every epoch
    for start in range(0, len(order), BATCH):
        idx = order[start:start + BATCH]
        loss = mse(predict(tg.Tensor(X_tr[idx])), tg.Tensor(y_tr[idx]))
        loss.backward()
        # NOTE: b's gradient has shape (1,) although b was added to every row: the engine
        # summed the broadcast gradient back to b's shape (sum_to_shape)
        for p in (w, b):
            p.data -= LR * p.grad.data
            p.grad = None
    if epoch in (0, 4) or epoch == EPOCHS - 1:
        with tg.no_grad():  # evaluation records no graph
            print(f"   epoch {epoch + 1:3d}: training MSE {mse(predict(Xt_tr), yt_tr).item():.4f}")

with tg.no_grad():
    test_mse = mse(predict(tg.Tensor(X_te)), tg.Tensor(y_te)).item()
A = np.hstack([X_tr, np.ones((len(X_tr), 1))])
exact = np.linalg.lstsq(A, y_tr, rcond=None)[0]
exact_test = float(np.mean((np.hstack([X_te, np.ones((len(X_te), 1))]) @ exact - y_te) ** 2))
print(f"\ntest MSE, gradient descent: {test_mse:.4f}")
print(f"test MSE, exact least squares: {exact_test:.4f}")
print(f"noise variance (the best any model can do): {NOISE ** 2:.4f}")
# the weights found by descent agree with the exact fit (on standardised features)
print("largest weight difference to least squares:",
      f"{float(np.abs(w.data - exact[:13]).max()):.4f}")
assert abs(test_mse - exact_test) < 0.05 * exact_test
assert test_mse < 2 * NOISE ** 2
print("\nTakeaway: the same loop fits 13 weights and a bias; mini-batches add noise to each "
      "step but reach the least-squares answer; the test split is used once, at the end.")
