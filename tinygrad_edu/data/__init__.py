"""Data for training: datasets, loaders, splits, scalers, bundled and synthetic data sets.

A typical pipeline (the course's step 5)::

    from tinygrad_edu.data import (load_digits, train_val_test_split, StandardScaler,
                                   TensorDataset, DataLoader)

    X, y = load_digits()
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = train_val_test_split(
        X, y, ratios=(0.7, 0.2, 0.1), stratify=True, seed=0)
    scaler = StandardScaler().fit(X_tr)          # statistics from the training split only
    X_tr, X_va, X_te = scaler.transform(X_tr), scaler.transform(X_va), scaler.transform(X_te)
    train_loader = DataLoader(TensorDataset(X_tr, y_tr), batch_size=64, shuffle=True, seed=0)
    for xb, yb in train_loader:                  # Tensors: (64, 64) float32, (64,) int64
        ...

The bundled digits are the UCI "Optical Recognition of Handwritten Digits" data (Alpaydin and
Kaynak, 1998, CC BY 4.0); see ``datasets.py`` and ``DIGITS_LICENSE.txt``.
"""

from .dataset import Dataset, Subset, TensorDataset
from .datasets import (load_digits, make_linear_regression, make_moons, make_quadratic,
                       make_spirals)
from .idx import load_mnist, read_idx
from .loader import DataLoader, default_collate, numpy_collate
from .scale import MinMaxScaler, NotFittedError, StandardScaler
from .split import (CVResult, KFold, StratifiedKFold, cross_validate, random_split,
                    train_val_test_split)

__all__ = [
    "Dataset", "TensorDataset", "Subset",
    "DataLoader", "default_collate", "numpy_collate",
    "random_split", "train_val_test_split", "KFold", "StratifiedKFold", "cross_validate",
    "CVResult",
    "StandardScaler", "MinMaxScaler", "NotFittedError",
    "load_digits", "make_quadratic", "make_linear_regression", "make_moons", "make_spirals",
    "read_idx", "load_mnist",
]
