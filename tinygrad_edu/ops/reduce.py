"""Reductions: sum, mean, max, min over any set of axes, and ``sum_to_shape``.

The backward of a reduction *expands* the gradient back over the reduced axes; the backward
of a broadcast *sums* over the broadcast axes. ``sum_to_shape`` is that second rule, used by
every binary op.
"""

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor


def norm_axes(axis, ndim, op):
    """``None`` / int / sequence -> a sorted tuple of distinct non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dims")
        a = int(a) % ndim if ndim else 0
        if a in out:
            raise ValueError(f"{op}: axis {a} appears twice in {axis!r}")
        out.append(a)
    return tuple(sorted(out)) if ndim else ()


_KEPT = {}  # (shape, axes) -> kept shape: a model reduces the same few patterns every step


def _kept_shape(shape, axes):
    """``shape`` with the reduced ``axes`` set to 1 (what keepdims=True gives)."""
    kept = _KEPT.get((shape, axes))
    if kept is None:
        kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
        if len(_KEPT) > 4096:  # bound what an unusual workload can pin
            _KEPT.clear()
        _KEPT[(shape, axes)] = kept
    return kept


class Sum(Function):
    """z = sum of x over ``axes``    dz/dx = 1 for every summed element (expand g back)"""

    @staticmethod
    def forward(ctx, x, axes, keepdims=False):
        ctx.in_shape = shape = x.data.shape
        ctx.kept = _kept_shape(shape, axes)
        return backend.sum(x.data, axes, keepdims)

    @staticmethod
    def backward(ctx, g):
        return SpreadBack.apply(g, kept=ctx.kept, shape=ctx.in_shape)


class SpreadBack(Function):
    """z = g copied over the summed axes (Sum's backward)    dz/dg = sum over those axes

    ``kept`` is the summed shape with size-1 axes kept; ``shape`` the input's shape."""

    @staticmethod
    def forward(ctx, g, kept, shape):
        ctx.g_shape, ctx.kept = g.shape, kept
        out = np.empty(shape, g.data.dtype)
        out[...] = g.data.reshape(kept)  # NOTE: materialised, so a leaf's .grad owns memory
        return out

    @staticmethod
    def backward(ctx, gg):
        return sum_to_shape(gg, ctx.kept).reshape(ctx.g_shape)


class Max(Function):
    """z = max of x over ``axes``    dz/dx = 1 where x equals the max, else 0.

    Ties: the gradient is split evenly among all elements equal to the max (PyTorch's amax
    does the same), so the gradients still sum to g."""

    @staticmethod
    def forward(ctx, x, axes, keepdims=False):
        out = backend.max(x.data, axes, keepdims)
        ctx.save_for_backward(x)
        ctx.axes, ctx.kept = axes, _kept_shape(x.shape, axes)
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return _extreme_backward(ctx, g)


class Min(Function):
    """z = min of x over ``axes``    dz/dx = 1 where x equals the min (ties split evenly)"""

    @staticmethod
    def forward(ctx, x, axes, keepdims=False):
        out = backend.min(x.data, axes, keepdims)
        ctx.save_for_backward(x)
        ctx.axes, ctx.kept = axes, _kept_shape(x.shape, axes)
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return _extreme_backward(ctx, g)


def _extreme_backward(ctx, g):
    (x,) = ctx.saved_tensors
    hit = x.data == ctx.out_data.reshape(ctx.kept)
    share = hit / np.sum(hit, axis=ctx.axes, keepdims=True)  # 1/count at ties
    return g.reshape(ctx.kept) * Tensor._wrap(share.astype(x.dtype))


def mean(x, axis=None, keepdims=False):
    """mean = sum / count (built on Sum, so its gradient is g / count)."""
    axes = norm_axes(axis, x.ndim, "mean")
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    if count == 0:
        raise ValueError(f"mean: cannot take the mean over an empty axis (shape {x.shape})")
    s = Sum.apply(x, axes=axes, keepdims=keepdims)
    if x.dtype.kind != "f":
        s = s.float()
    return s / count


def sum_to_shape(g, shape):
    """Sum ``g`` down to ``shape``, undoing numpy broadcasting.

    Broadcasting first prepends size-1 axes, then stretches size-1 axes. So: sum over the
    leading axes ``g`` has in excess, then (keeping dims) over axes where ``shape`` has 1.
    """
    gshape = g.data.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    out = Sum.apply(g, axes=axes, keepdims=True) if axes else g
    return out.reshape(shape)
