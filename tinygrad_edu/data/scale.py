"""Feature scaling, fit on the training split only.

Gradient descent converges faster when features share one scale. The statistics (mean and
standard deviation, or minimum and maximum) must come from the **training split only**: a
scaler fit on all the data lets the validation and test sets leak into training, and the
scores they give become optimistic. So: ``scaler.fit(X_train)``, then ``transform`` every
split with those same statistics (``fit_transform`` does both for the training split).

Statistics are taken over axis 0 (the samples), separately for every other position: one per
feature for ``(n, features)`` data, one per pixel for ``(n, 1, 8, 8)`` images. A feature that
never varies (zero standard deviation or range) is left unscaled instead of dividing by zero.

Outputs keep the input's kind (numpy in, numpy out; Tensor in, Tensor out) and its float
dtype; integer inputs (like the digits' 0..16 pixels) become float32, the package's default.
"""

import numpy as np

from .dataset import as_array, is_tensor, to_tensor


class NotFittedError(RuntimeError):
    """A scaler was used before ``fit``."""


class _Scaler:
    _stats = ()  # names of the fitted arrays, for state_dict and the fitted check

    def _check_fitted(self, who):
        if getattr(self, self._stats[0], None) is None:
            raise NotFittedError(f"{type(self).__name__}.{who}: the scaler is not fitted yet; "
                                 "call fit(X_train) first (statistics come from the training "
                                 "split only)")

    def _input(self, X, who, fitting=False):
        arr = as_array(X)
        if arr.ndim == 0 or arr.shape[0] == 0:
            raise ValueError(f"{type(self).__name__}.{who}: X needs at least one sample along "
                             f"axis 0, got shape {arr.shape}")
        if arr.dtype.kind not in "iufb":
            raise TypeError(f"{type(self).__name__}.{who}: X must be numeric, got dtype "
                            f"{arr.dtype}")
        if not fitting:
            self._check_fitted(who)
            expected = self.n_features_shape_
            if arr.shape[1:] != expected:
                raise ValueError(f"{type(self).__name__}.{who}: X has per-sample shape "
                                 f"{arr.shape[1:]} but the scaler was fit on {expected}")
        if fitting and not np.all(np.isfinite(arr)):
            raise ValueError(f"{type(self).__name__}.fit: X contains NaN or inf; clean the data "
                             "first (statistics would be NaN)")
        return arr

    @staticmethod
    def _output(result, X, arr):
        dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float32
        out = result.astype(dtype, copy=False)
        return to_tensor(out) if is_tensor(X) else out

    def fit_transform(self, X):
        """``fit(X)`` then ``transform(X)``: use on the training split only."""
        return self.fit(X).transform(X)

    def state_dict(self):
        """The fitted statistics (copies), e.g. to save next to a model."""
        self._check_fitted("state_dict")
        return {name: getattr(self, name).copy() for name in self._stats}

    def load_state_dict(self, state):
        missing = [name for name in self._stats if name not in state]
        if missing:
            raise KeyError(f"{type(self).__name__}.load_state_dict: missing {missing}")
        for name in self._stats:
            setattr(self, name, np.asarray(state[name], dtype=np.float64).copy())
        self.n_features_shape_ = getattr(self, self._stats[0]).shape
        return self


class StandardScaler(_Scaler):
    """``z = (x - mean) / std`` per feature, with mean and std of the training split.

    Attributes after ``fit``: ``mean_``, ``std_`` (population std), ``scale_`` (the divisor:
    std, or 1 where std is 0). ``with_mean=False`` / ``with_std=False`` skip a step.
    """

    _stats = ("mean_", "scale_", "std_")

    def __init__(self, with_mean=True, with_std=True):
        self.with_mean, self.with_std = bool(with_mean), bool(with_std)
        self.mean_ = self.scale_ = self.std_ = self.n_features_shape_ = None

    def fit(self, X):
        arr = self._input(X, "fit", fitting=True).astype(np.float64)
        mean = arr.mean(axis=0)
        std = arr.std(axis=0)
        self.mean_ = mean if self.with_mean else np.zeros_like(mean)
        self.std_ = std
        # NOTE: a constant feature has std 0; dividing by 1 leaves it at 0 after centring
        const = std <= 1e-12 * np.maximum(1.0, np.abs(mean))
        self.scale_ = np.where(const | (not self.with_std), 1.0, std)
        self.n_features_shape_ = mean.shape
        return self

    def transform(self, X):
        arr = self._input(X, "transform")
        return self._output((arr - self.mean_) / self.scale_, X, arr)

    def inverse_transform(self, Z):
        arr = self._input(Z, "inverse_transform")
        return self._output(arr * self.scale_ + self.mean_, Z, arr)

    def __repr__(self):
        fitted = "fitted" if self.mean_ is not None else "not fitted"
        return f"StandardScaler({fitted})"


class MinMaxScaler(_Scaler):
    """``x' = a + (x - min) * (b - a) / (max - min)`` per feature, mapping the training
    split's range onto ``feature_range=(a, b)`` (default (0, 1)). Values of later splits may
    fall outside (a, b): that is expected, not clipped."""

    _stats = ("data_min_", "data_max_", "scale_")

    def __init__(self, feature_range=(0.0, 1.0)):
        try:
            a, b = (float(v) for v in feature_range)
        except (TypeError, ValueError):
            raise ValueError(f"MinMaxScaler: feature_range must be two numbers (a, b), got "
                             f"{feature_range!r}") from None
        if not (np.isfinite(a) and np.isfinite(b) and a < b):
            raise ValueError(f"MinMaxScaler: feature_range must have a < b, got ({a}, {b})")
        self.feature_range = (a, b)
        self.data_min_ = self.data_max_ = self.scale_ = self.n_features_shape_ = None

    def fit(self, X):
        arr = self._input(X, "fit", fitting=True).astype(np.float64)
        lo, hi = arr.min(axis=0), arr.max(axis=0)
        span = hi - lo
        a, b = self.feature_range
        # NOTE: a constant feature has range 0; it maps to a instead of dividing by zero
        self.scale_ = (b - a) / np.where(span > 0, span, 1.0)
        self.data_min_, self.data_max_ = lo, hi
        self.n_features_shape_ = lo.shape
        return self

    def transform(self, X):
        arr = self._input(X, "transform")
        return self._output(self.feature_range[0] + (arr - self.data_min_) * self.scale_,
                            X, arr)

    def inverse_transform(self, Z):
        arr = self._input(Z, "inverse_transform")
        return self._output((arr - self.feature_range[0]) / self.scale_ + self.data_min_,
                            Z, arr)

    def __repr__(self):
        fitted = "fitted" if self.data_min_ is not None else "not fitted"
        return f"MinMaxScaler(feature_range={self.feature_range}, {fitted})"
