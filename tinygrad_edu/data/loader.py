"""DataLoader: cut a dataset into (shuffled) mini-batches.

One epoch = one pass over the data in batches of ``batch_size``. With ``shuffle=True`` the
order is a fresh permutation every epoch, drawn from the loader's generator: a seeded loader
gives the same sequence of epochs on every run, yet each epoch differs from the last (that is
what makes mini-batch SGD stochastic).

Samples are stacked into batches by a collate function. ``default_collate`` returns Tensors,
``numpy_collate`` numpy arrays; both follow the structure of a sample (tuple -> tuple of
batches, dict -> dict of batches). For a ``TensorDataset`` (or a ``Subset`` of one) the loader
skips the per-sample Python loop and gathers each batch with one numpy indexing call per
array; the result is identical to the slow path.
"""

import numbers
import warnings
from collections.abc import Mapping

import numpy as np

from .dataset import array_view, is_tensor, resolve_generator, to_tensor


def _batch_array(arr):
    """Give a stacked batch a Tensor-friendly dtype: ints -> int64, small floats -> float32,
    float32/float64/bool kept (the same rules as ``Tensor(array)``)."""
    kind = arr.dtype.kind
    if kind in "iu" and arr.dtype != np.int64:
        return arr.astype(np.int64)
    if kind == "f" and arr.dtype not in (np.float32, np.float64):
        return arr.astype(np.float32 if arr.dtype.itemsize < 8 else np.float64)
    if kind not in "iufb":
        raise TypeError(f"collate: cannot batch samples of dtype {arr.dtype} "
                        "(supported: floats, ints, bool)")
    return arr


def _stack(items):
    """np.stack with a clear message when the samples differ in shape."""
    try:
        return np.stack(items)
    except ValueError:
        shapes = sorted({np.shape(x) for x in items})
        raise ValueError(f"collate: samples in one batch must have the same shape, got shapes "
                         f"{shapes[:4]}; pad them or pass your own collate_fn") from None


def _collate(batch, wrap):
    elem = batch[0]
    if is_tensor(elem):
        return wrap(_batch_array(_stack([b.data for b in batch])))
    if isinstance(elem, (np.ndarray, np.generic)):
        return wrap(_batch_array(_stack(batch)))
    if isinstance(elem, (bool, np.bool_)):
        return wrap(np.array(batch, dtype=bool))
    if isinstance(elem, numbers.Integral):
        return wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return wrap(np.array(batch, dtype=np.float32))  # Python floats -> float32, as Tensor()
    if isinstance(elem, str):
        return list(batch)  # names, file paths: kept as a list
    if isinstance(elem, Mapping):
        keys = list(elem)
        for b in batch:
            if not isinstance(b, Mapping) or set(b) != set(keys):
                raise ValueError(f"collate: every dict sample must have the keys {keys}, "
                                 f"got {sorted(b) if isinstance(b, Mapping) else type(b)}")
        return {k: _collate([b[k] for b in batch], wrap) for k in keys}
    if isinstance(elem, (tuple, list)):
        n = len(elem)
        if any(len(b) != n for b in batch):
            raise ValueError(f"collate: every tuple sample must have {n} fields, got "
                             f"{sorted({len(b) for b in batch})}")
        fields = [_collate([b[i] for b in batch], wrap) for i in range(n)]
        return list(fields) if isinstance(elem, list) else tuple(fields)
    raise TypeError(f"collate: don't know how to batch a sample of type {type(elem).__name__}; "
                    "samples may be arrays, Tensors, numbers, str, or tuples/dicts of those "
                    "(or pass collate_fn=)")


def default_collate(batch):
    """Stack a list of samples into Tensors, following the sample's structure.

    ``[(x0, y0), (x1, y1)]`` -> ``(Tensor[x0, x1], Tensor[y0, y1])``;
    ``[{"x": x0}, {"x": x1}]`` -> ``{"x": Tensor[x0, x1]}``. Integer labels become int64,
    float arrays keep float32/float64, Python floats become float32; strings stay a list.
    """
    return _collate(batch, to_tensor)


def numpy_collate(batch):
    """Like ``default_collate`` but the batches are numpy arrays (same dtypes)."""
    return _collate(batch, _identity)


def _identity(x):
    return x


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a Dataset (anything with ``len`` and integer ``[]``).
        batch_size: samples per batch (the last batch may be smaller).
        shuffle: a new random order every epoch.
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator / seed: where the shuffling randomness comes from; ``seed`` makes a
            private generator once, so the epochs are reproducible run to run. With neither,
            the package-wide generator (``tinygrad_edu.manual_seed``) is used.
        collate_fn: turns a list of samples into a batch; default ``default_collate``.

    ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None,
                 seed=None, collate_fn=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        if len(dataset) == 0:
            raise ValueError("DataLoader: the dataset is empty (0 samples); check the split "
                             "ratios or the data source")
        if drop_last and len(dataset) < batch_size:  # every epoch would be empty (issue 8)
            warnings.warn(f"DataLoader: drop_last=True with batch_size {batch_size} and only "
                          f"{len(dataset)} samples gives no batch at all: a training loop over "
                          "it does nothing. Use a smaller batch_size or drop_last=False",
                          RuntimeWarning, stacklevel=2)
        if generator is not None or seed is not None:
            generator = resolve_generator(generator, seed, "DataLoader")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator  # None: the package-wide one, looked up each epoch
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        # the fast path only replaces collates whose result it reproduces exactly
        known = {default_collate: to_tensor, numpy_collate: _identity}
        self._fast_wrap = known.get(self.collate_fn)

    def __len__(self):
        n, bs = len(self.dataset), self.batch_size
        return n // bs if self.drop_last else -(-n // bs)

    def __iter__(self):
        n, bs = len(self.dataset), self.batch_size
        if self.shuffle:
            gen = self.generator if self.generator is not None else resolve_generator()
            order = gen.permutation(n)
        else:
            order = None
        stop = n - n % bs if self.drop_last else n
        view = array_view(self.dataset) if self._fast_wrap is not None else None
        if view is not None:
            arrays, index_map = view
            wrap = self._fast_wrap
            for start in range(0, stop, bs):
                end = min(start + bs, n)
                idx = np.arange(start, end) if order is None else order[start:end]
                if index_map is not None:
                    idx = index_map[idx]
                # fancy indexing copies, so a batch never aliases the dataset
                yield tuple(wrap(_batch_array(a[idx])) for a in arrays)
            return
        dataset, collate = self.dataset, self.collate_fn
        for start in range(0, stop, bs):
            end = min(start + bs, n)
            idx = range(start, end) if order is None else order[start:end].tolist()
            yield collate([dataset[i] for i in idx])

    def __repr__(self):
        return (f"DataLoader({len(self.dataset)} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, {len(self)} batches)")
