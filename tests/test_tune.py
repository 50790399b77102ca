"""Hyperparameter search: grid, random (log-uniform), Bayesian (Optuna, optional)."""

import math
import sys

import numpy as np
import pytest

from tinygrad_edu.data import load_digits
from tinygrad_edu.models import build_model
from tinygrad_edu.train import NonFiniteLossError
from tinygrad_edu.tune import (
    OPTUNA_HINT,
    SearchResult,
    bayesian_search,
    classifier_objective,
    grid_search,
    loguniform,
    randint,
    random_search,
    uniform,
)

X = np.arange(200, dtype=np.float32).reshape(100, 2)
Y = np.arange(100) % 4  # 4 classes, 25 each


def peaked(config, X_train, y_train, X_val, y_val):
    """A score with a known best: lr = 1e-2 and hidden = 64 (no training needed)."""
    return -(math.log10(config["lr"]) + 2) ** 2 - ((config.get("hidden", 64) - 64) / 64) ** 2


def test_grid_search_tries_every_combination_and_sorts():
    grid = {"lr": [1e-3, 1e-2, 1e-1], "hidden": [32, 64]}
    res = grid_search(peaked, grid, X, Y)
    assert isinstance(res, SearchResult) and len(res) == 6
    assert {(r["config"]["lr"], r["config"]["hidden"]) for r in res.results} == \
        {(a, b) for a in grid["lr"] for b in grid["hidden"]}
    scores = [r["score"] for r in res.results]
    assert scores == sorted(scores, reverse=True)
    assert res.best_config == {"lr": 1e-2, "hidden": 64} and res.best_score == 0.0
    text = res.table()
    assert text.splitlines()[0].split()[:4] == ["rank", "trial", "hidden", "lr"]
    assert len(text.splitlines()) == 7
    # the best (lr 1e-2, hidden 64) ran 4th: rank 1, trial 4
    assert text.splitlines()[1].split()[:4] == ["1", "4", "64", "0.01"]


def test_search_result_keeps_trials_in_the_order_run():
    grid = {"lr": [1e-1, 1e-3, 1e-2]}
    res = grid_search(peaked, grid, X, Y)
    assert [r["config"]["lr"] for r in res.trials] == [1e-1, 1e-3, 1e-2]  # run order
    assert [r["trial"] for r in res.trials] == [1, 2, 3]
    assert [r["trial"] for r in res.results] == [3, 1, 2]  # best first (1e-1 and 1e-3 tie:
    # equal scores keep the run order)
    assert all(a is b for a, b in zip(sorted(res.results, key=lambda r: r["trial"]),
                                      res.trials))
    run = res.table(order="run").splitlines()
    assert [line.split()[:2] for line in run[1:]] == [["2", "1"], ["3", "2"], ["1", "3"]]
    space = {"lr": loguniform(1e-4, 1e-1)}
    a = random_search(peaked, space, X, Y, n_trials=6, seed=1)
    gen = np.random.default_rng(1)  # the draws, in order, as random_search makes them
    drawn = [loguniform(1e-4, 1e-1).sample(gen) for _ in range(6)]
    assert [r["config"]["lr"] for r in a.trials] == drawn
    with pytest.raises(ValueError, match="order must be 'rank' or 'run'"):
        res.table(order="score")


def test_mode_min_sorts_ascending():
    res = grid_search(lambda c, *a: c["x"] ** 2, {"x": [-2, 1, 3, 0]}, X, Y, mode="min")
    assert [r["config"]["x"] for r in res.results] == [0, 1, -2, 3]


def test_random_search_samples_inside_the_space_and_is_reproducible():
    space = {"lr": loguniform(1e-4, 1e-1), "hidden": [32, 64, 128], "p": uniform(0.0, 0.5),
             "layers": randint(1, 3)}
    a = random_search(peaked, space, X, Y, n_trials=12, seed=3)
    b = random_search(peaked, space, X, Y, n_trials=12, seed=3)
    assert [r["config"] for r in a.results] == [r["config"] for r in b.results]
    for r in a.results:
        c = r["config"]
        assert 1e-4 <= c["lr"] <= 1e-1 and c["hidden"] in (32, 64, 128)
        assert 0.0 <= c["p"] <= 0.5 and c["layers"] in (1, 2, 3)
        assert type(c["hidden"]) is int and type(c["layers"]) is int
    scores = [r["score"] for r in a.results]
    assert scores == sorted(scores, reverse=True)


def test_loguniform_gives_every_decade_the_same_chance():
    gen = np.random.default_rng(0)
    d = loguniform(1e-4, 1e-1)
    decades = np.floor(np.log10([d.sample(gen) for _ in range(3000)]))
    counts = np.array([(decades == k).sum() for k in (-4, -3, -2)])
    assert counts.sum() == 3000
    np.testing.assert_allclose(counts / 3000, 1 / 3, atol=0.04)  # uniform would put 90% in -2


def test_objective_gets_a_stratified_validation_split():
    seen = []

    def spy(config, X_train, y_train, X_val, y_val):
        seen.append((len(X_train), len(X_val), np.bincount(y_val)))
        return 0.0

    grid_search(spy, {"a": [1, 2]}, X, Y, val_fraction=0.2)
    assert [s[:2] for s in seen] == [(80, 20), (80, 20)]
    np.testing.assert_array_equal(seen[0][2], [5, 5, 5, 5])  # 25 per class -> 5 each


def test_k_fold_scores_are_mean_and_std_over_folds():
    calls = []

    def by_fold(config, X_train, y_train, X_val, y_val):
        calls.append(len(X_val))
        return float(len(calls) % 2)  # folds alternate 1, 0, 1, 0 within a config

    res = grid_search(by_fold, {"a": [1]}, X, Y, cv=4)
    assert calls == [25, 25, 25, 25]
    assert res.best_score == 0.5 and res.results[0]["std"] == 0.5


def test_diverging_config_scores_nan_and_ranks_last():
    def objective(config, *parts):
        if config["lr"] > 1:
            raise NonFiniteLossError("boom", 1, 1, math.nan, None)
        return config["lr"]

    res = grid_search(objective, {"lr": [0.5, 10.0, 0.1]}, X, Y)
    assert [r["config"]["lr"] for r in res.results] == [0.5, 0.1, 10.0]
    assert math.isnan(res.results[-1]["score"])


def test_bad_spaces_are_clear():
    with pytest.raises(TypeError, match="a grid needs a list"):
        grid_search(peaked, {"lr": loguniform(1e-3, 1e-1)}, X, Y)
    with pytest.raises(ValueError, match="non-empty list"):
        random_search(peaked, {"lr": []}, X, Y)
    with pytest.raises(ValueError, match="0 < low < high"):
        loguniform(0.0, 1.0)
    with pytest.raises(ValueError, match="n_trials"):
        random_search(peaked, {"lr": [0.1]}, X, Y, n_trials=0)
    with pytest.raises(ValueError, match="mode"):
        grid_search(peaked, {"lr": [0.1]}, X, Y, mode="best")
    with pytest.raises(ValueError, match="same number of samples"):
        grid_search(peaked, {"lr": [0.1]}, X, Y[:10])
    with pytest.raises(ValueError, match="cv must be"):
        grid_search(peaked, {"lr": [0.1]}, X, Y, cv=1)


def test_classifier_objective_trains_a_real_model():
    Xd, yd = load_digits()
    objective = classifier_objective(lambda **kw: build_model("mlp", **kw), epochs=3)
    res = grid_search(objective, {"lr": [1e-4, 1e-2], "hidden": [32]}, Xd[:600], yd[:600])
    assert res.best_config["lr"] == 1e-2  # 3 epochs at 1e-4 barely move
    assert 0.8 < res.best_score <= 1.0 and res.results[-1]["score"] < res.best_score


def test_bayesian_search_with_optuna():
    pytest.importorskip("optuna")
    space = {"lr": loguniform(1e-4, 1e-1), "hidden": [32, 64, 128]}
    res = bayesian_search(peaked, space, X, Y, n_trials=12, seed=0)
    assert len(res) == 12 and res.method == "bayesian"
    scores = [r["score"] for r in res.results]
    assert scores == sorted(scores, reverse=True)
    assert 1e-4 <= res.best_config["lr"] <= 1e-1 and res.best_config["hidden"] in (32, 64, 128)
    assert res.best_score > -1.0  # within a decade of the peak after 12 trials


def test_bayesian_search_without_optuna_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now raises ImportError
    with pytest.raises(ImportError) as info:
        bayesian_search(peaked, {"lr": [0.1]}, X, Y, n_trials=2)
    assert str(info.value) == OPTUNA_HINT
    assert "pip install 'tinygrad-edu[tune]'" in OPTUNA_HINT
    assert len(random_search(peaked, {"lr": [0.1]}, X, Y, n_trials=2)) == 2  # still works
