"""Datasets: anything with ``len(ds)`` and ``ds[i]``.

``Dataset`` is the contract (subclass it and write ``__len__`` and ``__getitem__``);
``TensorDataset`` holds equally long arrays (features, labels, ...) and returns one row of
each; ``Subset`` is a view of another dataset through a list of indices (what
``random_split`` returns).

The helpers at the bottom are shared by the loader, the splits and the generators:
``resolve_generator`` is the single place where "generator or seed or the package-wide
generator" is decided, and ``to_tensor`` imports Tensor lazily so the numpy-level tools work
on their own.
"""

import numpy as np


class Dataset:
    """The dataset contract: ``len(ds)`` samples, ``ds[i]`` the i-th one (0 <= i < len).

    A sample can be an array, a number, a tuple or a dict of those; the ``DataLoader``
    stacks samples into batches (see ``default_collate``).
    """

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Rows of equally long arrays: ``ds[i] == (a[i], b[i], ...)``.

    Accepts numpy arrays, Tensors (their data is used, not their graph) and nested lists.
    ``ds[i]`` returns numpy rows; an integer array or a slice as index returns whole blocks,
    which is what the DataLoader's fast path uses to gather a batch in one numpy call.
    """

    __slots__ = ("arrays",)

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: needs at least one array, e.g. TensorDataset(X, y)")
        arrs = tuple(as_array(a) for a in arrays)
        for i, a in enumerate(arrs):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is a 0-d array (a scalar); every "
                                 "argument needs a first dimension that indexes the samples")
        lengths = [a.shape[0] for a in arrs]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: all arrays must have the same length along the "
                             f"first dimension, got lengths {lengths} (shapes "
                             f"{[a.shape for a in arrs]}); did features and labels come from "
                             "different splits?")
        self.arrays = arrs

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def __repr__(self):
        shapes = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"TensorDataset({len(self)} samples: {shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    __slots__ = ("dataset", "indices")

    def __init__(self, dataset, indices):
        idx = np.asarray(indices)
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise TypeError(f"Subset: indices must be a 1-d sequence of ints, got shape "
                            f"{idx.shape} dtype {idx.dtype}")
        n = len(dataset)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise IndexError(f"Subset: indices must lie in [0, {n}) for a dataset of {n} "
                             f"samples, got min {idx.min()} max {idx.max()}")
        self.dataset = dataset
        self.indices = idx.astype(np.int64, copy=False)

    def __len__(self):
        return self.indices.shape[0]

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.dataset[int(self.indices[index])]
        return self.dataset[self.indices[index]]  # a slice or index array: mapped at once

    def __repr__(self):
        return f"Subset({len(self)} of {len(self.dataset)} samples of {self.dataset!r})"


def array_view(dataset):
    """``(arrays, index_map)`` when ``dataset`` is a TensorDataset or a chain of Subsets of
    one, else None. ``index_map`` (or None for the identity) turns the dataset's own indices
    into row indices of ``arrays``; the loader's fast path gathers batches with it."""
    index_map = None
    while isinstance(dataset, Subset):
        index_map = dataset.indices if index_map is None else dataset.indices[index_map]
        dataset = dataset.dataset
    if type(dataset) is TensorDataset:  # NOTE: a subclass may override __getitem__
        return dataset.arrays, index_map
    return None


# ---------------------------------------------------------------- shared helpers


def as_array(x):
    """numpy view of an array-like; a Tensor gives its data (never its graph)."""
    if isinstance(x, np.ndarray):
        return x
    if is_tensor(x):
        return x.data
    return np.asarray(x)


def is_tensor(x):
    """isinstance(x, Tensor), importing Tensor only when needed."""
    from ..tensor import Tensor

    return isinstance(x, Tensor)


def resolve_generator(generator=None, seed=None, who="random"):
    """The ``numpy.random.Generator`` a random function should draw from.

    ``generator`` is used as is (its state advances, so repeated calls differ); ``seed`` makes
    a fresh generator (repeated calls with the same seed give the same result); with neither,
    the package-wide generator that ``tinygrad_edu.manual_seed`` reseeds.
    """
    if generator is not None and seed is not None:
        raise ValueError(f"{who}: pass either generator= or seed=, not both")
    if generator is not None:
        if not isinstance(generator, np.random.Generator):
            raise TypeError(f"{who}: generator must be a numpy.random.Generator (e.g. "
                            f"np.random.default_rng(0)), got {type(generator).__name__}")
        return generator
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"{who}: seed must be a non-negative int, got {seed!r}")
        return np.random.default_rng(int(seed))
    from .. import _rng  # looked up on every call: manual_seed replaces the generator

    return _rng.get_generator()


def check_count(value, name, who, minimum=1):
    """``value`` as an int >= minimum, or a ValueError naming ``who`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{who}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def to_tensor(arr):
    """Wrap a numpy array in a Tensor (imported lazily: the data tools work without it)."""
    from ..tensor import Tensor

    return Tensor(arr)
