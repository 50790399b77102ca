"""Tutorial 10: train / validation / test splits, standardisation, and k-fold cross-validation.

Three parts of the data, three jobs:
  - training: the model's weights are fitted to it;
  - validation: you compare models and hyperparameters on it (and stop early by it), so your
    choices are fitted to it too;
  - test: looked at ONCE, at the very end, to report how the chosen model does on data that
    influenced nothing. Common ratios: 7:3 or 8:2 (train:test), 7:2:1 (train:val:test).
Stratified splits keep each class's share equal in every part (important with rare classes).
Preprocessing is part of the model: its statistics (a scaler's mean and std) come from the
training part only. Anything computed from validation or test data leaks them into training,
and the score you report becomes optimistic.
With little data, one validation split is a noisy judge. k-fold cross-validation splits the
data into k folds, trains k times (each fold validates once), and averages the k scores.

Run:  python docs/tutorials/10_splits_and_kfold.py      (TINYGRAD_EDU_FAST=1: fewer folds/epochs)
"""

import os

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import (
    DataLoader,
    KFold,
    StandardScaler,
    StratifiedKFold,
    TensorDataset,
    cross_validate,
    load_digits,
    train_val_test_split,
)
from tinygrad_edu.train import evaluate, fit

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"
X, y = load_digits()

# ------------------------------------------------------------------ 1. splits
print(f"1. Splitting the {len(X)} digits")
for ratios in [(0.7, 0.3), (0.8, 0.2), "7:2:1"]:
    parts = train_val_test_split(X, y, ratios=ratios, stratify=True, seed=0)
    sizes = [len(part[0]) for part in parts]
    print(f"   ratios {ratios!s:12s} -> sizes {sizes}")
    assert sum(sizes) == len(X)
(X_tr, y_tr), (X_va, y_va), (X_te, y_te) = train_val_test_split(X, y, ratios=(7, 2, 1),
                                                                stratify=True, seed=0)

print("\n   stratification on a small, imbalanced set: 100 examples, 10 of them class 1")
yi = np.array([1] * 10 + [0] * 90)
Xi = np.arange(100).reshape(-1, 1)
worst = {}
for strat in (False, True):
    counts = []
    for seed in range(50):  # 50 different random splits 7:2:1
        parts = train_val_test_split(Xi, yi, ratios="7:2:1", stratify=strat, seed=seed)
        counts.append([int(p[1].sum()) for p in parts])  # class-1 examples per part
    counts = np.array(counts)
    worst[strat] = counts[:, 2].min(), counts[:, 2].max()
    print(f"   stratify={strat!s:5s}: class-1 examples in (train, val, test) for 3 seeds: "
          f"{counts[:3].tolist()};  in the test part over 50 seeds: {worst[strat][0]}.."
          f"{worst[strat][1]}")
assert worst[True] == (1, 1) and worst[False][0] == 0
print("   without stratification some test parts get no class-1 example at all: a test score\n"
      "   that says nothing about the rare class. Stratified, every part gets its 10%.")

# ------------------------------------------------------------------ 2. standardisation
print("\n2. Standardisation with training statistics only")
good = StandardScaler().fit(X_tr)  # the right way
leaky = StandardScaler().fit(np.concatenate([X_tr, X_va, X_te]))  # the wrong way
for name, sc in (("train-only", good), ("all data", leaky)):
    col_means = sc.transform(X_te).mean(axis=0)  # per feature, on the test part
    print(f"   scaler fit on {name:10s}: test part, mean |feature mean| after scaling "
          f"{np.abs(col_means).mean():.4f}")
shift = float(np.abs(leaky.mean_ - good.mean_).max())
print(f"   the two scalers' feature means differ by up to {shift:.3f} (pixel values 0..16)")
print("   with train-only statistics the test part looks the way new data will: its features\n"
      "   are not exactly centred. Fitting the scaler on everything pulls it towards the test\n"
      "   part: the test set has shaped the preprocessing, and its score is no longer a fair\n"
      "   preview of unseen data. (With standardisation the effect is small; with steps that\n"
      "   look at the labels it is not:)")

print("\n   How much a leak can cost: 60 examples, 2000 features of pure noise, RANDOM labels.")
print("   Pick the 10 features most correlated with the labels, then 5-fold cross-validate a")
print("   linear classifier. Honest accuracy: 50%.")
rng = np.random.default_rng(0)
Xn = rng.standard_normal((60, 2000)).astype(np.float32)
yn = rng.integers(0, 2, 60)


def top_features(Xs, ys, k=10):
    """The k columns most correlated with the labels (uses the labels: part of training)."""
    Z = (Xs - Xs.mean(0)) / Xs.std(0)
    corr = np.abs(Z.T @ (ys - ys.mean())) / len(ys)
    return np.argsort(-corr)[:k]


def linear_accuracy(Xa, ya, Xb, yb, steps=60):
    tg.manual_seed(0)
    model = nn.Linear(Xa.shape[1], 2)
    opt = optim.Adam(model.parameters(), lr=0.05)
    Xt, yt = tg.Tensor(Xa), tg.Tensor(ya)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(Xt), yt).backward()
        opt.step()
    with tg.no_grad():
        return float((model(tg.Tensor(Xb)).data.argmax(1) == yb).mean())


chosen_on_all = top_features(Xn, yn)  # LEAK: the validation folds helped choose the features
leak = cross_validate(lambda a, b, c, d: linear_accuracy(a[:, chosen_on_all], b,
                                                         c[:, chosen_on_all], d),
                      Xn, yn, cv=5, stratify=True, seed=0)


def honest_fold(a, b, c, d):
    cols = top_features(a, b)  # chosen on this fold's training part only
    return linear_accuracy(a[:, cols], b, c[:, cols], d)


honest = cross_validate(honest_fold, Xn, yn, cv=5, stratify=True, seed=0)
print(f"   features chosen on all data:       accuracy {leak.mean:.2f} +- {leak.std:.2f}")
print(f"   features chosen inside each fold:  accuracy {honest.mean:.2f} +- {honest.std:.2f}")
assert leak.mean > 0.75 and honest.mean < 0.65
print("   the leaky pipeline 'predicts' coin flips: it found features that happen to match the\n"
      "   validation labels. Everything that looks at data - scaler, feature choice - goes\n"
      "   inside the training part.")

# ------------------------------------------------------------------ 3. k-fold to choose a model
K = 3 if FAST else 5
EPOCHS = 4 if FAST else 10
print(f"\n3. {K}-fold cross-validation to choose a model (on train + val; the test part waits)")
X_dev, y_dev = np.concatenate([X_tr, X_va]), np.concatenate([y_tr, y_va])
folds = list(StratifiedKFold(n_splits=K, shuffle=True, seed=0).split(X_dev, y_dev))
print("   StratifiedKFold: class counts in each validation fold")
for i, (_, va_idx) in enumerate(folds):
    print(f"   fold {i + 1}: {np.bincount(y_dev[va_idx], minlength=10).tolist()}")
per_fold = np.array([np.bincount(y_dev[v], minlength=10) for _, v in folds])
assert np.ptp(per_fold, axis=0).max() <= 1  # each class: fold counts differ by at most 1
assert sorted(np.concatenate([v for _, v in folds]).tolist()) == list(range(len(X_dev)))
plain = np.array([np.bincount(y_dev[v], minlength=10)
                  for _, v in KFold(n_splits=K, shuffle=True, seed=0).split(X_dev)])
print(f"   each class is spread evenly: its count differs by at most "
      f"{np.ptp(per_fold, axis=0).max()} between folds (plain KFold: up to "
      f"{np.ptp(plain, axis=0).max()})")

CANDIDATES = {
    "linear (softmax regression)": lambda: nn.Sequential(nn.Linear(64, 10)),
    "MLP, 8 hidden": lambda: nn.Sequential(nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 10)),
    "MLP, 64 hidden": lambda: nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)),
}


def train_model(build, X_a, y_a, X_b=None, y_b=None):
    """Fit the scaler and the model on (X_a, y_a); return them (and accuracy on X_b)."""
    scaler = StandardScaler().fit(X_a)  # inside the fold: train-only statistics
    tg.manual_seed(0)
    model = build()
    fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=3e-3),
        DataLoader(TensorDataset(scaler.transform(X_a), y_a), batch_size=64, shuffle=True,
                   seed=0), epochs=EPOCHS, verbose=0)
    if X_b is None:
        return scaler, model
    return evaluate(model, DataLoader(TensorDataset(scaler.transform(X_b), y_b),
                                      batch_size=512))["accuracy"]


cv = {}
for name, build in CANDIDATES.items():
    cv[name] = res = cross_validate(lambda a, b, c, d, build=build: train_model(build, a, b, c, d),
                                    X_dev, y_dev, cv=StratifiedKFold(K, shuffle=True, seed=0))
    print(f"   {name:28s} fold accuracies {np.round(res.scores, 3).tolist()}  mean "
          f"{res.mean:.3f} +- {res.std:.3f}")
best = max(cv, key=lambda k: cv[k].mean)
print(f"   chosen: {best}")
assert cv["MLP, 8 hidden"].mean < cv[best].mean and best != "MLP, 8 hidden"

# ------------------------------------------------------------------ 4. test once
scaler, model = train_model(CANDIDATES[best], X_dev, y_dev)  # retrain on all development data
test_acc = evaluate(model, DataLoader(TensorDataset(scaler.transform(X_te), y_te),
                                      batch_size=512))["accuracy"]
print(f"\n4. Retrained on all {len(X_dev)} development examples, tested ONCE on the "
      f"{len(X_te)} test examples: accuracy {test_acc:.3f}")
print(f"   (the cross-validation estimate was {cv[best].mean:.3f} +- {cv[best].std:.3f})")
assert test_acc > 0.9 and abs(test_acc - cv[best].mean) < 0.08
print("\nTakeaway: fit everything (weights, scaler, feature choices) on the training part; "
      "choose between models on validation data or, better with little data, by k-fold "
      "cross-validation; then test once.")
