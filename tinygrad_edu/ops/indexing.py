"""Indexing: ``x[key]``, ``x[key] = v``, ``gather``/``take_along_axis`` and ``one_hot``.

``x[key]`` accepts what numpy accepts: ints, slices (any step, negative too), ``None``,
``...``, integer arrays / int64 tensors / lists (advanced indexing, a gather) and boolean masks.
Plain ints and slices give a *view* that shares memory with ``x`` (as in numpy and PyTorch);
integer arrays and masks give a copy.

The gradient of indexing puts ``g`` back where the elements came from and zeros elsewhere.
When an integer index repeats an element (``x[[0, 0, 1]]``) that element was read twice, so
its gradient is the *sum* of both reads: the backward scatter-adds, where a plain
assignment ``out[idx] = g`` would keep only the last one — a classic bug. Whole rows
(``x[idx]``, an embedding lookup) go through the backend kernel ``scatter_add_rows``; other
keys through ``np.add.at``.
"""

import numpy as np

from .. import autograd, backend
from ..autograd import Function
from ..tensor import Tensor, _check_dtype

# ---------------------------------------------------------------------------- key checking


def _index_item(k, op):
    """One entry of a key as numpy wants it: int, slice, None, Ellipsis or an int/bool array."""
    if isinstance(k, (slice, type(None), type(Ellipsis))):
        return k
    if isinstance(k, (bool, np.bool_)):
        return np.bool_(k)  # numpy's 0-d mask: x[True] adds an axis of length 1
    if isinstance(k, (int, np.integer)):
        return int(k)
    if isinstance(k, Tensor):
        k = k.data
    elif isinstance(k, (list, tuple)):
        k = np.asarray(k)
        if k.size == 0:
            k = k.astype(np.int64)  # x[[]] selects nothing (numpy would make it float)
    if isinstance(k, np.ndarray):
        if k.dtype.kind in "iu":
            return k.astype(np.int64, copy=False)
        if k.dtype.kind == "b":
            return k
        raise IndexError(f"{op}: index arrays must hold integers or booleans, got dtype "
                         f"{k.dtype}. Hint: convert with .long() (or compare to get a mask)")
    raise IndexError(f"{op}: unsupported index {k!r} of type {type(k).__name__}; use ints, "
                     "slices, None, ..., integer arrays/tensors or boolean masks")


def normalize_key(key, shape, op="getitem"):
    """Check ``key`` against ``shape`` and return it as a tuple numpy can use.

    Raises IndexError naming the index, the axis and its size for anything out of range, and
    naming both shapes for a boolean mask that does not fit.
    """
    key = key if isinstance(key, tuple) else (key,)
    items = [_index_item(k, op) for k in key]
    n_ell = sum(k is Ellipsis for k in items)
    if n_ell > 1:
        raise IndexError(f"{op}: an index can only have a single ellipsis ('...')")
    consumed = sum(k.ndim if isinstance(k, np.ndarray) and k.dtype == np.bool_ else
                   0 if k is None or k is Ellipsis else 1 for k in items)
    if consumed > len(shape):
        raise IndexError(f"{op}: too many indices for a tensor of shape {shape}: the key "
                         f"{_describe(items)} indexes {consumed} dims, the tensor has {len(shape)}")
    axis = 0
    for k in items:
        if k is None:
            continue
        if k is Ellipsis:
            axis += len(shape) - consumed
            continue
        if isinstance(k, slice):
            if k.step == 0:
                raise ValueError(f"{op}: slice step cannot be zero (axis {axis})")
            axis += 1
            continue
        if isinstance(k, int):
            _check_range(np.asarray(k), axis, shape[axis], op)
            axis += 1
            continue
        if k.dtype == np.bool_:
            part = shape[axis:axis + k.ndim]
            if k.shape != part:
                raise IndexError(f"{op}: boolean mask of shape {k.shape} does not match the "
                                 f"indexed dims {part} (axes {axis}..{axis + k.ndim - 1}) of a "
                                 f"tensor of shape {shape}")
            axis += k.ndim
            continue
        _check_range(k, axis, shape[axis], op)
        axis += 1
    return tuple(items)


def _check_range(idx, axis, size, op):
    if idx.size == 0:
        return
    lo, hi = idx.min(), idx.max()
    if lo < -size or hi >= size:
        bad = int(lo if lo < -size else hi)
        raise IndexError(f"{op}: index {bad} is out of range for axis {axis} with size {size} "
                         f"(valid: {-size}..{size - 1})")


def _describe(items):
    return "[" + ", ".join(f"<{k.dtype} array {k.shape}>" if isinstance(k, np.ndarray) else
                           "..." if k is Ellipsis else repr(k) for k in items) + "]"


def _rows_key(key):
    """True for (int array, :, :, ...): whole rows of axis 0 are selected."""
    k0 = key[0] if key else None
    return (isinstance(k0, np.ndarray) and k0.dtype == np.int64 and
            all(isinstance(k, slice) and k == slice(None) for k in key[1:]))


def _is_basic(key):
    """True when the key has no integer arrays (then no element is read twice)."""
    return not any(isinstance(k, np.ndarray) and k.dtype != np.bool_ for k in key)


# ---------------------------------------------------------------------------- getitem


class Index(Function):
    """z = x[key]    dz/dx = g scattered back to the positions read (summed where repeated)"""

    @staticmethod
    def forward(ctx, x, key):
        ctx.key, ctx.in_shape = key, x.shape
        out = x.data[key]
        return out if isinstance(out, np.ndarray) else np.asarray(out)

    @staticmethod
    def backward(ctx, g):
        return IndexBackward.apply(g, key=ctx.key, shape=ctx.in_shape)


class IndexBackward(Function):
    """r = zeros(shape) with r[key] += g    dr/dg = gg[key]  (so it is Index again)"""

    @staticmethod
    def forward(ctx, g, key, shape):
        ctx.key = key
        if _rows_key(key):  # x[idx] / x[idx, :, ...]: one kernel adds whole rows
            idx = key[0].reshape(-1)
            if idx.size and idx.min() < 0:
                idx = np.where(idx < 0, idx + shape[0], idx)
            rows = g.data.reshape((idx.size,) + tuple(shape[1:]))
            return backend.scatter_add_rows(idx, rows, shape[0])
        out = np.zeros(shape, dtype=g.data.dtype)
        if _is_basic(key):
            out[key] = g.data  # every position appears once: assignment is enough
        else:
            np.add.at(out, key, g.data)  # repeated indices accumulate
        return out

    @staticmethod
    def backward(ctx, gg):
        return Index.apply(gg, key=ctx.key)


def getitem(x, key):
    return Index.apply(x, key=normalize_key(key, x.shape, "getitem"))


# ---------------------------------------------------------------------------- setitem


def setitem(x, key, value):
    """``x[key] = value`` in place. Allowed on tensors that record no gradient and, as in
    PyTorch (and as the in-place ops of ops/inplace.py), on any tensor inside ``no_grad()``
    (e.g. initialising a parameter). Bumps ``x._version`` (shared with x's views) so a graph
    that saved ``x`` notices the change at backward."""
    if x.requires_grad and autograd._grad_enabled:
        where = f"the output of {x._ctx.name}" if x._ctx is not None else "a leaf"
        raise RuntimeError(
            f"setitem: cannot assign into a tensor of shape {x.shape} that requires grad "
            f"({where}): an in-place change would corrupt the recorded graph. Hint: build a "
            "new tensor out of place (torch-style), e.g. y = tg.where(mask, value, x) or "
            "tg.cat([...]); to change a parameter use `with tg.no_grad(): w[...] = ...`")
    if isinstance(value, Tensor):
        if value.requires_grad and autograd._grad_enabled:
            raise RuntimeError(
                f"setitem: the assigned value (shape {value.shape}) requires grad, but "
                "setitem records no graph, so its gradient would be lost. Hint: use "
                "tg.where(...) / tg.cat(...), or assign value.detach()")
        value = value.data
    if not x.data.flags.writeable:
        raise RuntimeError(f"setitem: the memory of this tensor (shape {x.shape}) is "
                           "read-only (a broadcast view, e.g. from expand); clone() it first")
    key = normalize_key(key, x.shape, "setitem")
    try:
        x.data[key] = value
    except ValueError as exc:
        vshape = np.shape(value)
        raise ValueError(f"setitem: a value of shape {vshape} cannot be assigned to the "
                         f"selection x[{_describe(key)[1:-1]}] of a tensor of shape {x.shape} "
                         f"({exc})") from None
    x._version += 1


# ---------------------------------------------------------------------------- gather


class Gather(Function):
    """z[..i..] = x[..index[..i..]..] along ``axis`` (numpy's take_along_axis)

    dz/dx: g scatter-added into zeros at the gathered positions (repeats accumulate)."""

    @staticmethod
    def forward(ctx, x, index, axis):
        ctx.key, ctx.in_shape = _along_axis_key(index, axis, x.ndim), x.shape
        out = x.data[ctx.key]
        return out

    @staticmethod
    def backward(ctx, g):
        return IndexBackward.apply(g, key=ctx.key, shape=ctx.in_shape)


def _along_axis_key(index, axis, ndim):
    """An advanced-index tuple that reads x[i0, .., index[i0, .., ik, ..], ..]."""
    key = []
    for d in range(ndim):
        if d == axis:
            key.append(index)
        else:
            shp = [1] * ndim
            shp[d] = index.shape[d]
            key.append(np.arange(index.shape[d]).reshape(shp))
    return tuple(key)


def gather(x, axis, index):
    """out[i][j][k] = x[index[i][j][k]][j][k] for axis 0 (and so on): PyTorch's gather.

    ``index`` is an int64 tensor/array with x's number of dims; along ``axis`` its values
    must lie in [0, x.shape[axis]) (negative values are rejected, as in PyTorch); every other
    dim of ``index`` must be at most x's size there (the result has index's shape).
    """
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must hold integers (int64), got dtype {idx.dtype}")
    idx = idx.astype(np.int64, copy=False)
    if not -x.ndim <= axis < max(x.ndim, 1):
        raise ValueError(f"gather: axis {axis} is out of range for a tensor of shape {x.shape}")
    axis %= max(x.ndim, 1)
    if idx.ndim != x.ndim:
        raise ValueError(f"gather: index must have as many dims as the input: index shape "
                         f"{idx.shape}, input shape {x.shape}")
    for d, (ni, nx) in enumerate(zip(idx.shape, x.shape)):
        if d != axis and ni > nx:
            raise ValueError(f"gather: index shape {idx.shape} is larger than input shape "
                             f"{x.shape} at axis {d} ({ni} > {nx})")
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[axis]):
        bad = int(idx.min() if idx.min() < 0 else idx.max())
        raise IndexError(f"gather: index {bad} is out of range for axis {axis} with size "
                         f"{x.shape[axis]} (valid: 0..{x.shape[axis] - 1})")
    return Gather.apply(x, axis=axis, index=idx)


def take_along_axis(x, index, axis):
    """numpy's argument order for ``gather(x, axis, index)``."""
    return gather(x, axis, index)


# ---------------------------------------------------------------------------- one_hot


def one_hot(labels, num_classes=None, dtype=np.int64):
    """Labels (int64, any shape) -> shape + (num_classes,), 1 at the label, 0 elsewhere.

    ``num_classes=None`` uses max(labels) + 1. The result is int64 like PyTorch's; pass
    ``dtype=tg.float32`` to get floats for a loss directly. No gradient (labels are ints).
    """
    lab = labels.data if isinstance(labels, Tensor) else np.asarray(labels)
    if lab.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers (int64), got dtype {lab.dtype}. "
                        "Hint: labels.long()")
    if num_classes is None:
        if lab.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from empty labels; pass it")
        num_classes = int(lab.max()) + 1
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be a positive int, got {num_classes!r}")
    if lab.size and (lab.min() < 0 or lab.max() >= num_classes):
        bad = int(lab.min() if lab.min() < 0 else lab.max())
        raise ValueError(f"one_hot: label {bad} is out of range for num_classes="
                         f"{num_classes} (labels must be in 0..{num_classes - 1})")
    out = np.zeros(lab.shape + (int(num_classes),), dtype=_check_dtype(dtype))
    np.put_along_axis(out, lab[..., None].astype(np.int64), 1, axis=-1)
    return Tensor._wrap(out)
