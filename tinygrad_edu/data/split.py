"""Splitting data: train / validation / test, k folds, cross-validation.

The course's recipe: hold out a validation split to tune on and a test split to look at once
(7:3, 8:2 or 7:2:1), or rotate the validation part through k folds when data is scarce.
For classification, *stratified* splits keep each class's share the same in every part.

Ratios for ``train_val_test_split`` are either fractions that sum to 1 (``(0.7, 0.2, 0.1)``),
integer weights (``(7, 2, 1)``, read as 7:2:1) or the string ``"7:2:1"``. Sizes are rounded by
largest remainder, so every part is within one sample of ``n * ratio`` and the sizes add up
to ``n``. ``random_split`` follows PyTorch instead: ints there are exact lengths.

Randomness: every function takes ``seed=`` (same result on every call) or ``generator=`` (a
``numpy.random.Generator`` that advances); with neither, the package-wide generator
(``tinygrad_edu.manual_seed``) is used.
"""

import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from .dataset import Subset, as_array, check_count, is_tensor, resolve_generator, to_tensor

_EPS = 1e-9  # guards floor/ceil against 0.1 * 30 = 3.0000000000000004 style round-off


def parse_ratios(ratios, who="train_val_test_split"):
    """Fractions (float64 array summing to 1) from fractions, integer weights or "7:2:1"."""
    if isinstance(ratios, str):
        try:
            ratios = tuple(int(p) for p in ratios.split(":"))
        except ValueError:
            raise ValueError(f"{who}: cannot read ratios {ratios!r}; write them like "
                             "'7:2:1'") from None
    try:
        parts = list(ratios)
    except TypeError:
        raise TypeError(f"{who}: ratios must be a sequence like (0.7, 0.2, 0.1) or (7, 2, 1), "
                        f"got {ratios!r}") from None
    if len(parts) < 2 or any(isinstance(p, bool) or not isinstance(p, numbers.Real)
                             for p in parts):
        raise ValueError(f"{who}: ratios must be at least two numbers, got {ratios!r}")
    r = np.asarray(parts, dtype=np.float64)
    if not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ValueError(f"{who}: every ratio must be a positive number, got {tuple(parts)}")
    if all(isinstance(p, numbers.Integral) for p in parts):
        return r / r.sum()  # integer weights: (7, 2, 1) means 7:2:1
    if abs(r.sum() - 1.0) > 1e-6:
        raise ValueError(f"{who}: ratios {tuple(parts)} sum to {r.sum():.6g}, not 1; pass "
                         "fractions that sum to 1 like (0.7, 0.2, 0.1), or integer weights "
                         "like (7, 2, 1) or '7:2:1'")
    return r / r.sum()


def split_sizes(n, fractions):
    """Integer sizes adding up to ``n``, each floor or ceil of ``n * fraction`` (largest
    remainder: the leftover samples go to the parts with the largest fractional share)."""
    exact = n * np.asarray(fractions, dtype=np.float64)
    sizes = np.floor(exact + _EPS).astype(np.int64)
    rest = n - int(sizes.sum())
    order = np.argsort(-(exact - sizes), kind="stable")  # ties: the earlier part first
    sizes[order[:rest]] += 1
    return sizes


def _augment(c, cap, m, low, can, col, seen):
    """Place one more sample of class c, re-routing other classes if needed (a DFS for an
    augmenting path in the class -> split flow network)."""
    for k in range(m.shape[1]):
        if can[c, k] and m[c, k] == low[c, k] and not seen[k]:
            seen[k] = True
            if col[k] < cap[k]:
                m[c, k] += 1
                col[k] += 1
                return True
            for c2 in np.nonzero(m[:, k] > low[:, k])[0]:
                if _augment(c2, cap, m, low, can, col, seen):  # c2 moves its sample out of k
                    m[c2, k] -= 1
                    m[c, k] += 1
                    return True
    return False


def stratified_sizes(class_counts, fractions, order=None, targets=None):
    """``m[c, k]``: how many samples of class c go to part k.

    Every ``m[c, k]`` is floor or ceil of ``class_counts[c] * fractions[k]`` (class shares kept
    within one sample), rows add up to the class counts, and every column (part size) is floor
    or ceil of ``n * fractions[k]``. Such a rounding always exists (the exact fractional table
    satisfies every bound, and flows with integer bounds have integer solutions); it is found by
    placing the rounded-down table and then the leftover samples along augmenting paths, first
    up to each part's floor, then (when possible) up to ``targets`` (the unstratified sizes,
    so both kinds of split agree), then up to its ceil. ``order``: the order classes are served.
    """
    counts = np.asarray(class_counts, dtype=np.int64)
    exact = np.outer(counts, fractions)
    low = np.floor(exact + _EPS).astype(np.int64)
    can = exact - low > _EPS  # cells allowed one more sample (their ceil)
    m = low.copy()
    col = m.sum(axis=0)
    need = counts - low.sum(axis=1)
    total = exact.sum(axis=0)
    rows = range(len(counts)) if order is None else order
    caps = [np.floor(total + _EPS), np.ceil(total - _EPS)]
    if targets is not None:
        caps.insert(1, np.asarray(targets))  # between floor and ceil: every bound still holds
    for cap in caps:
        progress = True
        while progress:
            progress = False
            for c in rows:
                while need[c] > 0 and _augment(c, cap, m, low, can, col,
                                               np.zeros(m.shape[1], bool)):
                    need[c] -= 1
                    progress = True
    if need.any():  # cannot happen (see the docstring); kept so a bug is loud, not silent
        raise RuntimeError("stratified_sizes: no rounding found; please report this")
    return m


def split_indices(n, fractions, labels=None, shuffle=True, generator=None):
    """Index arrays of the parts; stratified by ``labels`` when given."""
    if labels is None:
        order = generator.permutation(n) if shuffle else np.arange(n)
        bounds = np.cumsum(split_sizes(n, fractions))[:-1]
        return np.split(order, bounds)
    classes, inverse = np.unique(labels, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(classes))
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    if shuffle:
        members = [generator.permutation(idx) for idx in members]
        served = generator.permutation(len(classes))
    else:
        served = None
    m = stratified_sizes(counts, fractions, served, split_sizes(n, fractions))
    parts = []
    for k in range(len(fractions)):
        starts = m[:, :k].sum(axis=1)
        idx = np.concatenate([members[c][starts[c]:starts[c] + m[c, k]]
                              for c in range(len(classes))])
        parts.append(generator.permutation(idx) if shuffle else np.sort(idx))
    return parts


def _take(arr, idx, was_tensor):
    part = arr[idx]
    return to_tensor(part) if was_tensor else part


def train_val_test_split(X, y=None, ratios=(0.7, 0.2, 0.1), stratify=False, shuffle=True,
                         seed=None, generator=None):
    """Split ``X`` (and ``y``) into parts in the given ratios.

    Returns one entry per ratio: ``(X_part, y_part)`` when ``y`` is given, else ``X_part``::

        (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = train_val_test_split(X, y, seed=0)
        (X_tr, y_tr), (X_va, y_va) = train_val_test_split(X, y, ratios=(0.8, 0.2))

    ``stratify=True`` keeps the class shares of ``y`` in every part (within one sample per
    class); ``stratify=labels`` stratifies by another label array. Parts keep the input's kind
    (numpy in, numpy out; Tensor in, Tensor out). Every part must get at least one sample.
    """
    who = "train_val_test_split"
    fractions = parse_ratios(ratios, who)
    Xa = as_array(X)
    if Xa.ndim == 0:
        raise ValueError(f"{who}: X must have a first dimension indexing samples, got a scalar")
    n = Xa.shape[0]
    ya = None if y is None else as_array(y)
    if ya is not None and (ya.ndim == 0 or ya.shape[0] != n):
        raise ValueError(f"{who}: X and y must have the same number of samples, got X shape "
                         f"{Xa.shape} and y shape {ya.shape}")
    sizes = split_sizes(n, fractions)
    shown = [round(float(f), 4) for f in fractions]
    if n == 0 or sizes.min() < 1:
        raise ValueError(f"{who}: {n} samples are too few for ratios {shown}"
                         f" (part sizes would be {sizes.tolist()}); every part needs a sample")
    labels = None
    if stratify is True:
        if ya is None:
            raise ValueError(f"{who}: stratify=True needs y (the class labels)")
        labels = ya
    elif stratify is not False and stratify is not None:
        labels = as_array(stratify)
    if labels is not None and labels.shape != (n,):
        raise ValueError(f"{who}: stratify labels must have shape ({n},), got {labels.shape}")
    gen = resolve_generator(generator, seed, who) if shuffle else None
    parts = split_indices(n, fractions, labels, shuffle, gen)
    if min(len(p) for p in parts) == 0:  # stratified rounding may leave a tiny part empty
        raise ValueError(f"{who}: {n} samples are too few for ratios {shown}"
                         f" (stratified part sizes {[len(p) for p in parts]}); every part "
                         "needs a sample")
    xt, yt = is_tensor(X), is_tensor(y)
    if ya is None:
        return tuple(_take(Xa, idx, xt) for idx in parts)
    return tuple((_take(Xa, idx, xt), _take(ya, idx, yt)) for idx in parts)


def random_split(dataset, lengths, generator=None, seed=None):
    """Randomly split a dataset into ``Subset``s.

    ``lengths``: exact sizes that add up to ``len(dataset)`` (``[800, 200]``), or fractions
    that sum to 1 (``[0.8, 0.2]``; sizes rounded by largest remainder).
    """
    n = len(dataset)
    parts = list(lengths)
    if parts and all(isinstance(p, numbers.Integral) and not isinstance(p, bool)
                     for p in parts):
        sizes = np.asarray(parts, dtype=np.int64)
        if sizes.min() < 0 or sizes.sum() != n:
            raise ValueError(f"random_split: lengths {parts} must be non-negative and add up "
                             f"to the dataset's {n} samples (or pass fractions like [0.8, 0.2])")
    else:
        sizes = split_sizes(n, parse_ratios(parts, "random_split"))
    order = resolve_generator(generator, seed, "random_split").permutation(n)
    return [Subset(dataset, idx) for idx in np.split(order, np.cumsum(sizes)[:-1])]


class KFold:
    """k-fold cross-validation indices: each sample is in the validation part exactly once.

    ``split(X)`` yields ``(train_idx, val_idx)`` k times; fold sizes differ by at most one.
    ``shuffle=True`` permutes the samples first (``seed`` for the same folds every call).
    """

    def __init__(self, n_splits=5, shuffle=False, seed=None, generator=None):
        self.n_splits = check_count(n_splits, "n_splits", type(self).__name__, minimum=2)
        if not shuffle and (seed is not None or generator is not None):
            raise ValueError(f"{type(self).__name__}: seed/generator only matter with "
                             "shuffle=True")
        if seed is not None or generator is not None:
            resolve_generator(generator, seed, type(self).__name__)  # validate early
        self.shuffle, self.seed, self.generator = bool(shuffle), seed, generator

    def get_n_splits(self, X=None, y=None):
        return self.n_splits

    def _n(self, X):
        n = len(X)
        if self.n_splits > n:
            raise ValueError(f"{type(self).__name__}: n_splits={self.n_splits} is more than the "
                             f"{n} samples; every fold needs a validation sample")
        return n

    def _gen(self):
        return resolve_generator(self.generator, self.seed, type(self).__name__)

    def _folds(self, X, y):
        """Fold number of every sample."""
        n = self._n(X)
        order = self._gen().permutation(n) if self.shuffle else np.arange(n)
        sizes = np.full(self.n_splits, n // self.n_splits)
        sizes[: n % self.n_splits] += 1  # the first n % k folds take one sample more
        fold = np.empty(n, dtype=np.int64)
        fold[order] = np.repeat(np.arange(self.n_splits), sizes)
        return fold

    def split(self, X, y=None):
        fold = self._folds(X, y)
        for f in range(self.n_splits):
            yield np.nonzero(fold != f)[0], np.nonzero(fold == f)[0]

    def __repr__(self):
        return f"{type(self).__name__}(n_splits={self.n_splits}, shuffle={self.shuffle})"


class StratifiedKFold(KFold):
    """k folds that keep the class shares of ``y``: each class's samples are spread over the
    folds so that every fold holds floor or ceil of ``n_class / k`` of them.

    How: line the samples up class after class and deal them out to folds 0, 1, ..., k-1, 0,
    1, ... like cards; any run of consecutive positions is then shared out evenly.
    """

    def _folds(self, X, y):
        if y is None:
            raise ValueError("StratifiedKFold: split(X, y) needs the class labels y")
        n = self._n(X)
        labels = as_array(y)
        if labels.shape != (n,):
            raise ValueError(f"StratifiedKFold: y must have shape ({n},) to match X, got "
                             f"{labels.shape}")
        classes, inverse = np.unique(labels, return_inverse=True)
        counts = np.bincount(inverse, minlength=len(classes))
        if counts.min() < self.n_splits:
            warnings.warn(f"StratifiedKFold: the smallest class has {counts.min()} samples, "
                          f"fewer than n_splits={self.n_splits}; some folds will miss it",
                          stacklevel=3)
        if self.shuffle:
            gen = self._gen()
            within = gen.permutation(n)  # random order inside each class ...
            rank = gen.permutation(len(classes))[inverse]  # ... and of the classes
            lineup = within[np.argsort(rank[within], kind="stable")]
        else:
            lineup = np.argsort(inverse, kind="stable")
        fold = np.empty(n, dtype=np.int64)
        fold[lineup] = np.arange(n) % self.n_splits
        return fold


@dataclass(frozen=True)
class CVResult:
    """Scores of a cross-validation: one per fold, their mean and (population) std."""

    scores: np.ndarray
    mean: float
    std: float
    folds: tuple  # (train_idx, val_idx) per fold

    def __repr__(self):
        return (f"CVResult(mean={self.mean:.4g}, std={self.std:.4g}, "
                f"scores={np.round(self.scores, 4).tolist()})")


def cross_validate(build_and_score_fn, X, y=None, cv=5, stratify=False, seed=None):
    """Score a model recipe on k folds.

    For each fold, ``build_and_score_fn(X_train, y_train, X_val, y_val)`` (or
    ``(X_train, X_val)`` when ``y`` is None) builds and trains a fresh model on the numpy
    arrays it is given and returns a number (higher or lower is better: your choice).
    ``cv`` is the number of folds (shuffled; ``stratify=True`` keeps the class shares of y) or
    a KFold / StratifiedKFold object.
    """
    Xa = as_array(X)
    ya = None if y is None else as_array(y)
    if ya is not None and (ya.ndim == 0 or Xa.ndim == 0 or ya.shape[0] != Xa.shape[0]):
        raise ValueError(f"cross_validate: X and y must have the same number of samples, got "
                         f"shapes {Xa.shape} and {ya.shape}")
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if stratify and ya is None:
            raise ValueError("cross_validate: stratify=True needs y")
        splitter = (StratifiedKFold if stratify else KFold)(int(cv), shuffle=True, seed=seed)
    elif hasattr(cv, "split"):
        splitter = cv
    else:
        raise TypeError(f"cross_validate: cv must be a number of folds or a KFold object, got "
                        f"{cv!r}")
    scores, folds = [], []
    for i, (tr, va) in enumerate(splitter.split(Xa, ya)):
        if ya is None:
            score = build_and_score_fn(Xa[tr], Xa[va])
        else:
            score = build_and_score_fn(Xa[tr], ya[tr], Xa[va], ya[va])
        try:
            scores.append(float(score))
        except (TypeError, ValueError):
            raise TypeError(f"cross_validate: fold {i}: build_and_score_fn must return a number,"
                            f" got {type(score).__name__}") from None
        folds.append((tr, va))
    s = np.asarray(scores)
    return CVResult(scores=s, mean=float(s.mean()), std=float(s.std()), folds=tuple(folds))
