"""Tutorial 12: hyperparameter search — manual, grid, random, Bayesian.

Hyperparameters are the choices training does not learn: learning rate, hidden size, batch
size, regularisation, ... Each setting is judged by training a fresh model and scoring it on
validation data (never the test data). Four ways to pick the settings to try:
  - manual: change one thing, look, think, repeat. Start with the LEARNING RATE: it matters
    most, and its good range is narrow; try it on a log scale (1e-4, 1e-3, 1e-2, ...).
  - grid search: every combination of a few values per hyperparameter. Simple, but the cost
    multiplies with each hyperparameter, and most trials vary the ones that do not matter.
  - random search: draw each trial's settings at random (learning rates log-uniformly: every
    decade equally likely). The same budget tries many more distinct values of each.
  - Bayesian optimisation: a model of "score as a function of the settings", built from the
    trials so far, proposes the next trial where a good score is likely (Optuna's TPE here).
tinygrad_edu.tune runs them all: grid_search, random_search, bayesian_search (needs Optuna;
skipped cleanly without it), each with one validation split or k-fold cross-validation.

Run:  python docs/tutorials/12_hyperparameter_search.py   (TINYGRAD_EDU_FAST=1: fewer trials)
"""

import math
import os

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, tune
from tinygrad_edu.data import (
    DataLoader,
    StandardScaler,
    TensorDataset,
    cross_validate,
    load_digits,
    train_val_test_split,
)
from tinygrad_edu.models import make_optimizer, mlp
from tinygrad_edu.train import evaluate, fit

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"
EPOCHS = 3 if FAST else 6
N_TRIALS = 8 if FAST else 20

X, y = load_digits()
# the test part is set aside now and looked at once, at the end
(X_dev, y_dev), (X_te, y_te) = train_val_test_split(X, y, ratios=(0.85, 0.15), stratify=True,
                                                    seed=0)
# an objective trains mlp(hidden=..., dropout=...) with the config's lr / batch size / ... and
# returns the validation accuracy; the scaler is fit on each training part only
objective = tune.classifier_objective(mlp, epochs=EPOCHS, batch_size=64, optimizer="adam")

# ------------------------------------------------------------------ 1. manual, lr first
print(f"1. By hand, one split of the development data ({EPOCHS} epochs per trial)")
(X_a, y_a), (X_b, y_b) = train_val_test_split(X_dev, y_dev, ratios=(0.8, 0.2), stratify=True,
                                              seed=0)


def score(**config):
    tg.manual_seed(0)  # same start for every trial: differences come from the settings
    return objective(config, X_a, y_a, X_b, y_b)


lr_scores = {lr: score(lr=lr, hidden=32) for lr in (1e-4, 1e-3, 1e-2, 1e-1, 1.0)}
hid_scores = {h: score(lr=1e-2, hidden=h) for h in (8, 32, 128)}
print("   learning rate (hidden 32): " + "  ".join(f"{k:g} -> {v:.3f}" for k, v in
                                                    lr_scores.items()))
print("   hidden size (lr 1e-2):     " + "  ".join(f"{k} -> {v:.3f}" for k, v in
                                                    hid_scores.items()))
lr_range = max(lr_scores.values()) - min(lr_scores.values())
hid_range = max(hid_scores.values()) - min(hid_scores.values())
print(f"   spread of scores: over the lrs {lr_range:.3f}, over the hidden sizes {hid_range:.3f}"
      "\n   -> the learning rate matters most: tune it first, then the rest around it.")
assert lr_range > 3 * hid_range and max(lr_scores, key=lr_scores.get) in (1e-2, 1e-1)

# ------------------------------------------------------------------ 2. grid search
print("\n2. Grid search, 3-fold cross-validation for every point of the grid")
grid = {"lr": [3e-3, 1e-2, 3e-2], "hidden": [32, 128]}
res_grid = tune.grid_search(objective, grid, X_dev, y_dev, cv=3, seed=0)
print("   " + res_grid.table().replace("\n", "\n   "))
print(f"   {len(res_grid)} trials = 3 lrs x 2 sizes, each trained 3 times (once per fold)")
assert len(res_grid) == 6 and res_grid.best_score > 0.9

# ------------------------------------------------------------------ 3. random search
print(f"\n3. Random search, {N_TRIALS} trials: lr ~ log-uniform(1e-4, 1), hidden ~ 8..128, "
      "dropout in {0, 0.2}")
space = {"lr": tune.loguniform(1e-4, 1.0), "hidden": tune.randint(8, 128),
         "dropout": [0.0, 0.2]}
res_rand = tune.random_search(objective, space, X_dev, y_dev, n_trials=N_TRIALS, seed=0)
print("   " + res_rand.table().replace("\n", "\n   "))
lrs = np.array([r["config"]["lr"] for r in res_rand.results])
decades = np.floor(np.log10(lrs)).astype(int)
print("   trials per decade of lr: " + ", ".join(f"1e{d}: {int((decades == d).sum())}"
                                               for d in range(-4, 0)))
print(f"   {N_TRIALS} trials tried {len(set(lrs))} different learning rates; a grid with the "
      f"same budget and 2 hidden sizes tries {N_TRIALS // 2}.")
assert lrs.min() >= 1e-4 and lrs.max() <= 1.0 and len(set(decades)) >= 3
assert res_rand.best_score > 0.9

# ------------------------------------------------------------------ 4. Bayesian
print("\n4. Bayesian optimisation (Optuna's TPE sampler)")
try:
    import optuna  # noqa: F401  (only to know whether it is there)
except ImportError:
    res_bayes = None
    print(f"   skipped: {tune.OPTUNA_HINT}")
else:
    res_bayes = tune.bayesian_search(objective, space, X_dev, y_dev, n_trials=N_TRIALS + 4,
                                     seed=0)
    print("   " + res_bayes.table().replace("\n", "\n   "))
    print("   TPE's first trials are random; after them it proposes settings where the good\n"
          "   scores so far cluster, so with a larger budget it wastes fewer trials than random\n"
          "   search on hopeless learning rates.")
    assert res_bayes.best_score > 0.9

# ------------------------------------------------------------------ 5. finalists, test once
print("\n5. The winners of the searches, compared on equal terms (3-fold cross-validation)")
print("   (grid scores came from 3 folds, random/Bayesian scores from one split: not comparable)")
finalists = {r.method: dict(r.best_config) for r in
             [res_grid, res_rand] + ([res_bayes] if res_bayes is not None else [])}
cv_scores = {}
for method, config in finalists.items():

    def fold_score(a, b, c, d, config=config):
        tg.manual_seed(0)
        return objective(config, a, b, c, d)

    cv_scores[method] = res = cross_validate(fold_score, X_dev, y_dev, cv=3, stratify=True,
                                             seed=0)
    shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in config.items())
    print(f"   {method:8s} {shown:40s} {res.mean:.3f} +- {res.std:.3f}")
method = max(cv_scores, key=lambda m: cv_scores[m].mean)
config = finalists[method]
scaler = StandardScaler().fit(X_dev)
tg.manual_seed(0)
model = mlp(hidden=int(config["hidden"]), dropout=float(config.get("dropout", 0.0)))
fit(model, nn.CrossEntropyLoss(), make_optimizer("adam", model.parameters(), config["lr"]),
    DataLoader(TensorDataset(scaler.transform(X_dev), y_dev), batch_size=64, shuffle=True,
               seed=0), epochs=EPOCHS, verbose=0)
test = evaluate(model, DataLoader(TensorDataset(scaler.transform(X_te), y_te),
                                  batch_size=512))["accuracy"]
print(f"   chosen: the {method} winner; retrained on all {len(X_dev)} development examples,\n"
      f"   test accuracy (looked at once): {test:.3f}")
assert test > 0.9 and math.isfinite(test)
print("\nTakeaway: search the learning rate first and on a log scale; prefer random search "
      "to a grid when there are several hyperparameters; let a Bayesian optimiser spend a "
      "larger budget well; score on validation data or by cross-validation, and test once.")
