"""Datasets that need no network: the bundled handwritten digits and the course's generators.

**Digits** (``load_digits``): the UCI "Optical Recognition of Handwritten Digits" data set,
E. Alpaydin and C. Kaynak (1998), UCI Machine Learning Repository,
https://doi.org/10.24432/C50P49, licensed CC BY 4.0. The package ships its 1,797-sample test
part (as scikit-learn distributes it) in ``digits.npz`` beside this file; see
``DIGITS_LICENSE.txt`` there for the full attribution. Each sample is an 8x8 image of counts
0..16 (on pixels of a 4x4 block of a 32x32 bitmap) and a label 0..9.

**Generators** (every one takes ``seed=`` or ``generator=``; see ``split.py`` for the rule):

- ``make_quadratic``: y = w1 x^2 + w2 x + w3 + noise, the course's first model.
- ``make_linear_regression``: y = X @ w + b + noise with 13 features, returns the true w, b.
- ``make_moons``: two interleaving half circles, two classes.
- ``make_spirals``: ``n_classes`` arms of a spiral, a classic non-linear classification task.

Regression targets have shape ``(n, 1)``, like a ``Linear(..., 1)`` layer's output: a target of
shape ``(n,)`` against a prediction of shape ``(n, 1)`` would broadcast to an ``(n, n)`` loss,
a classic silent bug. Class labels are int64 of shape ``(n,)``. Features are float32 unless
``dtype=`` says otherwise.
"""

import math
from functools import lru_cache
from importlib import resources

import numpy as np

from .dataset import check_count, resolve_generator, to_tensor

DIGITS_SHAPE = (1797, 8, 8)


@lru_cache(maxsize=1)
def _digits_raw():
    """(images uint8 (1797, 8, 8), labels uint8 (1797,)), read once from the package.

    importlib.resources finds the file inside an installed wheel, a zip or a source tree."""
    ref = resources.files(__package__).joinpath("digits.npz")
    try:
        with ref.open("rb") as f, np.load(f, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise RuntimeError(f"load_digits: the bundled data file tinygrad_edu/data/digits.npz is "
                           f"missing or damaged ({exc}); reinstall the package") from exc
    if images.shape != DIGITS_SHAPE or labels.shape != DIGITS_SHAPE[:1]:
        raise RuntimeError(f"load_digits: the bundled digits.npz has shapes {images.shape} / "
                           f"{labels.shape}, expected {DIGITS_SHAPE} / {DIGITS_SHAPE[:1]}")
    images.flags.writeable = labels.flags.writeable = False  # the cache is shared
    return images, labels


def _finish(X, y, as_tensor):
    return (to_tensor(X), to_tensor(y)) if as_tensor else (X, y)


def load_digits(flatten=True, dtype=np.float32, as_tensor=False):
    """The 1,797 handwritten digits: ``(X, y)``.

    ``X``: ``(1797, 64)`` when ``flatten`` (one row of 64 pixel features per image), else
    ``(1797, 1, 8, 8)`` (one channel, for convolutions); values 0..16 as ``dtype`` (scale them
    with a scaler fit on the training split). ``y``: int64 labels 0..9, about 180 per class.
    numpy arrays, or Tensors with ``as_tensor=True``. Fresh copies on every call.
    """
    images, labels = _digits_raw()
    X = images.reshape(-1, 64) if flatten else images.reshape(-1, 1, 8, 8)
    return _finish(X.astype(dtype), labels.astype(np.int64), as_tensor)


def _check_noise(noise, who):
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)) \
            or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"{who}: noise must be a finite number >= 0, got {noise!r}")
    return float(noise)


def make_quadratic(n=100, w=(2.0, -3.0, 1.0), noise=0.5, x_range=(-2.0, 2.0), seed=None,
                   generator=None, dtype=np.float32, as_tensor=False):
    """Samples of ``y = w1 x^2 + w2 x + w3 + noise``: ``(x, y)``, both of shape ``(n, 1)``.

    x is uniform on ``x_range``; noise is Gaussian with standard deviation ``noise``. Fit
    w1, w2, w3 back by gradient descent and compare with ``w``.
    """
    who = "make_quadratic"
    n = check_count(n, "n", who)
    noise = _check_noise(noise, who)
    try:
        w1, w2, w3 = (float(v) for v in w)
        lo, hi = (float(v) for v in x_range)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: w must be three numbers and x_range two, got w={w!r}, "
                         f"x_range={x_range!r}") from None
    if not lo < hi:
        raise ValueError(f"{who}: x_range must be (low, high) with low < high, got {x_range}")
    gen = resolve_generator(generator, seed, who)
    x = gen.uniform(lo, hi, size=(n, 1))
    y = w1 * x**2 + w2 * x + w3 + noise * gen.standard_normal((n, 1))
    return _finish(x.astype(dtype), y.astype(dtype), as_tensor)


def make_linear_regression(n=200, n_features=13, noise=0.1, seed=None, generator=None,
                           dtype=np.float32, as_tensor=False):
    """``y = X @ w + b + noise``: returns ``(X, y, w, b)``.

    X ``(n, n_features)`` and the true weights w ``(n_features, 1)`` are standard normal, b is a
    float from N(0, 1), y is ``(n, 1)``; noise has standard deviation ``noise``. ``w`` and ``b``
    are the answer a fitted linear model should approach (always numpy / float).
    """
    who = "make_linear_regression"
    n = check_count(n, "n", who)
    n_features = check_count(n_features, "n_features", who)
    noise = _check_noise(noise, who)
    gen = resolve_generator(generator, seed, who)
    w = gen.standard_normal((n_features, 1))
    b = float(gen.standard_normal())
    X = gen.standard_normal((n, n_features))
    y = X @ w + b + noise * gen.standard_normal((n, 1))
    X, y = _finish(X.astype(dtype), y.astype(dtype), as_tensor)
    return X, y, w.astype(dtype), b


def make_moons(n=200, noise=0.1, seed=None, generator=None, dtype=np.float32,
               as_tensor=False):
    """Two interleaving half circles: ``(X (n, 2), y (n,) int64)`` with labels 0 and 1.

    Class 0 is the upper arc of the unit circle, class 1 the lower arc shifted by (1, 0.5);
    Gaussian noise of standard deviation ``noise`` is added to every point. Shuffled; class 0
    gets ``ceil(n / 2)`` points. No straight line separates them: a first use for a hidden layer.
    """
    who = "make_moons"
    n = check_count(n, "n", who, minimum=2)
    noise = _check_noise(noise, who)
    gen = resolve_generator(generator, seed, who)
    n0 = n - n // 2
    t0 = np.linspace(0.0, math.pi, n0)
    t1 = np.linspace(0.0, math.pi, n // 2)
    X = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], axis=1),
                        np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)])
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n // 2, np.int64)])
    X = X + noise * gen.standard_normal(X.shape)
    order = gen.permutation(n)
    return _finish(X[order].astype(dtype), y[order], as_tensor)


def make_spirals(n=300, n_classes=3, noise=0.2, turns=1.0, seed=None, generator=None,
                 dtype=np.float32, as_tensor=False):
    """``n_classes`` spiral arms around the origin: ``(X (n, 2), y (n,) int64)``.

    Arm k starts at the origin and winds outwards to radius 1 through ``turns`` turns, rotated
    by k/n_classes of a full turn; the angle of each point gets Gaussian noise of standard
    deviation ``noise`` (radians). The first ``n % n_classes`` arms get one point more.
    Shuffled. Needs a non-linear model (two hidden layers separate it well).
    """
    who = "make_spirals"
    n_classes = check_count(n_classes, "n_classes", who, minimum=2)
    n = check_count(n, "n", who, minimum=n_classes)
    noise = _check_noise(noise, who)
    if not isinstance(turns, (int, float)) or not math.isfinite(turns) or turns <= 0:
        raise ValueError(f"{who}: turns must be a positive number, got {turns!r}")
    gen = resolve_generator(generator, seed, who)
    sizes = np.full(n_classes, n // n_classes)
    sizes[: n % n_classes] += 1
    y = np.repeat(np.arange(n_classes, dtype=np.int64), sizes)
    r = np.concatenate([np.linspace(0.05, 1.0, m) for m in sizes])  # radius along each arm
    angle = 2 * math.pi * (turns * r + y / n_classes) + noise * gen.standard_normal(n)
    X = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    order = gen.permutation(n)
    return _finish(X[order].astype(dtype), y[order], as_tensor)
