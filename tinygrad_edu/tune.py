"""Hyperparameter search: grid, random (log-uniform learning rates) and Bayesian (Optuna).

The course's advice: tune the learning rate first, on a log scale, and judge every setting on
data the model did not train on. Each search here takes

- ``objective(config, X_train, y_train, X_val, y_val) -> score``: trains a fresh model with
  the hyperparameters in the dict ``config`` and returns its score on the validation part
  (``classifier_objective`` builds one for classifiers);
- the search space; the data ``X, y``;
- ``cv=None`` with ``val_fraction`` (one validation split, stratified for class labels) or
  ``cv=k`` (k-fold cross-validation: the score is the mean over folds, its spread the std);
- ``mode="max"`` (accuracy) or ``"min"`` (a loss).

and returns a ``SearchResult``: ``.results`` (one dict per trial, best first), ``.trials``
(the same, in the order they ran), ``.best_config``, ``.best_score`` and ``.table()`` for
printing. Every trial starts from
``tinygrad_edu.manual_seed(seed)``, so a search is reproducible and settings are compared on
equal footing (same initial weights, same batches).

Search spaces: ``grid_search`` takes lists (every combination is tried). ``random_search``
and ``bayesian_search`` take lists (a choice) or the distributions ``loguniform(a, b)`` (equal
chance for every decade: right for learning rates and weight decay), ``uniform(a, b)`` and
``randint(a, b)`` (inclusive). ``bayesian_search`` lets Optuna's TPE sampler pick each next
trial from the scores so far; it needs ``pip install 'tinygrad-edu[tune]'``.
"""

import itertools
import math
import time

import numpy as np

from . import _rng
from .data import (
    DataLoader,
    StandardScaler,
    TensorDataset,
    cross_validate,
    train_val_test_split,
)

__all__ = [
    "OPTUNA_HINT",
    "SearchResult",
    "bayesian_search",
    "classifier_objective",
    "grid_search",
    "loguniform",
    "randint",
    "random_search",
    "uniform",
]

OPTUNA_HINT = ("bayesian_search needs Optuna, which is not installed: pip install "
               "'tinygrad-edu[tune]' (or pip install optuna); grid_search and random_search "
               "work without it")


class _Dist:
    __slots__ = ("high", "kind", "low")

    def __init__(self, kind, low, high):
        if kind == "int":
            ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                     for v in (low, high))
        else:
            ok = all(isinstance(v, (int, float)) and math.isfinite(v) for v in (low, high))
        if not ok or not low < high or (kind == "log" and low <= 0):
            need = "0 < low < high" if kind == "log" else "low < high"
            raise ValueError(f"{kind}uniform: need {need}, got ({low!r}, {high!r})")
        self.kind, self.low, self.high = kind, low, high

    def sample(self, gen):
        if self.kind == "log":  # uniform in log space: each decade equally likely
            return float(math.exp(gen.uniform(math.log(self.low), math.log(self.high))))
        if self.kind == "int":
            return int(gen.integers(self.low, self.high + 1))
        return float(gen.uniform(self.low, self.high))

    def __repr__(self):
        name = {"log": "loguniform", "int": "randint", "": "uniform"}[self.kind]
        return f"{name}({self.low}, {self.high})"


def loguniform(low, high):
    """Values between ``low`` and ``high`` with ``log(value)`` uniform (0 < low < high)."""
    return _Dist("log", low, high)


def uniform(low, high):
    return _Dist("", low, high)


def randint(low, high):
    """An integer in ``[low, high]``, both ends included."""
    return _Dist("int", low, high)


class SearchResult:
    """The trials of a search, kept two ways (the same dicts):

    - ``.trials``: in the order they ran, each with its run number ``"trial"`` (1, 2, ...):
      the history of the search (e.g. how Bayesian search homes in);
    - ``.results``: best first (NaN scores last; equal scores keep the run order).
    """

    def __init__(self, results, mode, method):
        sign = -1.0 if mode == "max" else 1.0
        self.trials = [dict(r, trial=i) for i, r in enumerate(results, 1)]
        self.results = sorted(self.trials, key=lambda r: (math.isnan(r["score"]),
                                                          sign * np.nan_to_num(r["score"])))
        self.mode, self.method = mode, method
        best = self.results[0]
        self.best_config = dict(best["config"])
        self.best_score = best["score"]

    def table(self, digits=4, order="rank"):
        """The results as text, one row per trial: best first (``order="rank"``) or in the
        order they ran (``order="run"``); both show the rank and the run number."""
        if order not in ("rank", "run"):
            raise ValueError(f"SearchResult.table: order must be 'rank' or 'run', got {order!r}")
        rank = {r["trial"]: i for i, r in enumerate(self.results, 1)}
        keys = sorted({k for r in self.results for k in r["config"]})
        header = ["rank", "trial", *keys, "score", "std", "seconds"]
        rows = []
        for r in self.results if order == "rank" else self.trials:
            cells = [str(rank[r["trial"]]), str(r["trial"])]
            for k in keys:
                v = r["config"].get(k, "")
                cells.append(f"{v:.{digits}g}" if isinstance(v, float) else str(v))
            std = r.get("std")
            cells += [f"{r['score']:.{digits}f}", "" if std is None else f"{std:.{digits}f}",
                      f"{r['seconds']:.1f}"]
            rows.append(cells)
        widths = [max(len(h), *(len(c[j]) for c in rows)) for j, h in enumerate(header)]
        lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(cells, widths)) for cells in rows]
        return "\n".join(lines)

    def __len__(self):
        return len(self.results)

    def __repr__(self):
        return (f"SearchResult({self.method}, {len(self)} trials, best_score="
                f"{self.best_score:.4g}, best_config={self.best_config})")


# ---------------------------------------------------------------- scoring


class _Scorer:
    """Scores one config: on a fixed validation split, or by k-fold cross-validation."""

    def __init__(self, objective, X, y, cv, val_fraction, stratify, seed, who):
        if not callable(objective):
            raise TypeError(f"{who}: objective must be a function "
                            "objective(config, X_train, y_train, X_val, y_val) -> score")
        Xa, ya = np.asarray(getattr(X, "data", X)), np.asarray(getattr(y, "data", y))
        if ya.ndim == 0 or Xa.ndim == 0 or len(Xa) != len(ya):
            raise ValueError(f"{who}: X and y must have the same number of samples, got shapes "
                             f"{Xa.shape} and {ya.shape}")
        if stratify == "auto":
            stratify = ya.ndim == 1 and ya.dtype.kind in "iu"  # class labels
        self.objective, self.X, self.y, self.cv = objective, Xa, ya, cv
        self.stratify, self.seed, self.who = bool(stratify), seed, who
        if cv is None:
            if not (isinstance(val_fraction, float) and 0.0 < val_fraction < 1.0):
                raise ValueError(f"{who}: val_fraction must be a float in (0, 1), got "
                                 f"{val_fraction!r}")
            self.parts = train_val_test_split(Xa, ya, (1.0 - val_fraction, val_fraction),
                                              stratify=self.stratify, seed=seed)
        elif isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
            raise ValueError(f"{who}: cv must be None (one validation split) or a number of "
                             f"folds >= 2, got {cv!r}")

    def _call(self, config, Xtr, ytr, Xva, yva):
        _rng.manual_seed(self.seed)  # same initial weights and batches for every config
        try:
            score = self.objective(dict(config), Xtr, ytr, Xva, yva)
        except FloatingPointError:  # NonFiniteLossError: this config diverged
            return math.nan  # scored NaN, ranked last; the search goes on
        try:
            return float(score)
        except (TypeError, ValueError):
            raise TypeError(f"{self.who}: the objective must return a number, got "
                            f"{type(score).__name__}") from None

    def __call__(self, config):
        start = time.perf_counter()
        if self.cv is None:
            (Xtr, ytr), (Xva, yva) = self.parts
            score, std = self._call(config, Xtr, ytr, Xva, yva), None
        else:
            res = cross_validate(lambda *parts: self._call(config, *parts), self.X, self.y,
                                 cv=self.cv, stratify=self.stratify, seed=self.seed)
            score, std = res.mean, res.std
        return {"config": dict(config), "score": score, "std": std,
                "seconds": time.perf_counter() - start}


def _check_mode(mode, who):
    if mode not in ("max", "min"):
        raise ValueError(f"{who}: mode must be 'max' (e.g. accuracy) or 'min' (a loss), got "
                         f"{mode!r}")
    return mode


def _check_trials(n, who):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{who}: n_trials must be a positive int, got {n!r}")
    return n


def _check_space(space, who, grid):
    if not isinstance(space, dict) or not space:
        raise ValueError(f"{who}: the search space must be a non-empty dict name -> values")
    for name, values in space.items():
        if isinstance(values, _Dist):
            if grid:
                raise TypeError(f"{who}: {name!r} is a distribution ({values!r}); a grid needs "
                                "a list of values (use random_search for distributions)")
        elif not isinstance(values, (list, tuple)) or len(values) == 0:
            raise ValueError(f"{who}: {name!r} must be a non-empty list of values"
                             + ("" if grid else " or a distribution like loguniform(1e-4, 1e-1)")
                             + f", got {values!r}")
    return space


def _log(verbose, i, n, row):
    if verbose:
        cfg = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in row["config"].items())
        print(f"trial {i}/{n}: {cfg}  score {row['score']:.4f}  ({row['seconds']:.1f}s)",
              flush=True)


# ---------------------------------------------------------------- the searches


def grid_search(objective, param_grid, X, y, cv=None, val_fraction=0.2, mode="max",
                stratify="auto", seed=0, verbose=False):
    """Try every combination of the lists in ``param_grid`` (in order); see the module doc."""
    who = "grid_search"
    _check_space(param_grid, who, grid=True)
    mode = _check_mode(mode, who)
    scorer = _Scorer(objective, X, y, cv, val_fraction, stratify, seed, who)
    names = list(param_grid)
    combos = list(itertools.product(*(param_grid[k] for k in names)))
    results = []
    for i, values in enumerate(combos, 1):
        results.append(scorer(dict(zip(names, values))))
        _log(verbose, i, len(combos), results[-1])
    return SearchResult(results, mode, "grid")


def random_search(objective, space, X, y, n_trials=10, cv=None, val_fraction=0.2, mode="max",
                  stratify="auto", seed=0, verbose=False):
    """``n_trials`` configs drawn independently from ``space`` (lists: uniform choice;
    ``loguniform``/``uniform``/``randint``: sampled). Draws come from a generator seeded with
    ``seed``, separate from the one the trials use."""
    who = "random_search"
    _check_space(space, who, grid=False)
    mode = _check_mode(mode, who)
    n_trials = _check_trials(n_trials, who)
    scorer = _Scorer(objective, X, y, cv, val_fraction, stratify, seed, who)
    gen = np.random.default_rng(seed)
    configs = []
    for _ in range(n_trials):  # all drawn first: the trials cannot disturb the draws
        configs.append({k: v.sample(gen) if isinstance(v, _Dist)
                        else _plain(v[int(gen.integers(len(v)))]) for k, v in space.items()})
    results = []
    for i, config in enumerate(configs, 1):
        results.append(scorer(config))
        _log(verbose, i, n_trials, results[-1])
    return SearchResult(results, mode, "random")


def _plain(v):
    """numpy scalars from a choice become Python numbers (clean tables, JSON)."""
    return v.item() if isinstance(v, np.generic) else v


def bayesian_search(objective, space, X, y, n_trials=20, cv=None, val_fraction=0.2, mode="max",
                    stratify="auto", seed=0, verbose=False):
    """Bayesian optimisation with Optuna's TPE sampler: after a few random trials, each new
    config is drawn where good configs were found so far. Needs Optuna (``OPTUNA_HINT``)."""
    who = "bayesian_search"
    try:
        import optuna
    except ImportError:
        raise ImportError(OPTUNA_HINT) from None
    _check_space(space, who, grid=False)
    mode = _check_mode(mode, who)
    n_trials = _check_trials(n_trials, who)
    scorer = _Scorer(objective, X, y, cv, val_fraction, stratify, seed, who)
    results = []

    def suggest(trial, name, v):
        if isinstance(v, _Dist):
            if v.kind == "int":
                return trial.suggest_int(name, v.low, v.high)
            return trial.suggest_float(name, v.low, v.high, log=v.kind == "log")
        return _plain(v[trial.suggest_categorical(name, list(range(len(v))))])

    def run(trial):
        config = {k: suggest(trial, k, v) for k, v in space.items()}
        results.append(scorer(config))
        _log(verbose, len(results), n_trials, results[-1])
        score = results[-1]["score"]
        return score if math.isfinite(score) else (-math.inf if mode == "max" else math.inf)

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is ours
    try:
        study = optuna.create_study(direction="maximize" if mode == "max" else "minimize",
                                    sampler=optuna.samplers.TPESampler(seed=seed))
        study.optimize(run, n_trials=n_trials)
    finally:
        optuna.logging.set_verbosity(level)
    return SearchResult(results, mode, "bayesian")


# ---------------------------------------------------------------- a ready objective


def classifier_objective(build_model, epochs=10, batch_size=64, optimizer="adam", lr=1e-3,
                         weight_decay=None, scale=True):
    """An objective that trains a classifier and returns its validation accuracy.

    ``build_model(**rest)`` gets the config's entries other than the training ones (``lr``,
    ``epochs``, ``batch_size``, ``optimizer``, ``weight_decay``, which default to the
    arguments here). With ``scale`` a StandardScaler is fit on the training part only: fitting
    it on all the data would leak the validation set into training.
    """
    from . import nn
    from .models import make_optimizer
    from .train import evaluate, fit

    defaults = {"lr": lr, "epochs": epochs, "batch_size": batch_size, "optimizer": optimizer,
                "weight_decay": weight_decay}

    def objective(config, X_train, y_train, X_val, y_val):
        cfg = dict(config)
        opts = {k: cfg.pop(k, v) for k, v in defaults.items()}
        if scale:
            scaler = StandardScaler().fit(X_train)
            X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
        model = build_model(**cfg)
        opt = make_optimizer(opts["optimizer"], model.parameters(), opts["lr"],
                             opts["weight_decay"])
        train = DataLoader(TensorDataset(X_train, y_train), batch_size=int(opts["batch_size"]),
                           shuffle=True)
        val = DataLoader(TensorDataset(X_val, y_val), batch_size=512)
        loss_fn = nn.CrossEntropyLoss()
        fit(model, loss_fn, opt, train, epochs=int(opts["epochs"]), verbose=0)
        return evaluate(model, val, loss_fn)["accuracy"]

    return objective
