"""Reductions and statistics: var/std, logsumexp, prod, cumsum, argmax/argmin, and max/min
along an axis that also return where the extreme was.

Gradient conventions at ties (equal values competing for a max or min):
- ``x.max(axis)`` / ``x.min(axis)`` (ops/reduce.py) split the gradient evenly among all tied
  elements, like PyTorch's ``amax``: a 2-way tie gives each element g / 2.
- ``max_with_indices`` / ``min_with_indices`` (here) send the whole gradient to the element
  whose index they return (the first of the tied ones), like PyTorch's ``max(dim)``; the
  values are literally ``gather(x, axis, indices)``.
"""

from collections import namedtuple

import numpy as np

from .. import autograd, backend
from ..autograd import Function
from ..tensor import Tensor
from .combine import Flip
from .indexing import gather
from .reduce import norm_axes

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = "The (values, indices) pair returned by max_with_indices / min_with_indices."


def _kept(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _count(shape, axes):
    return int(np.prod([shape[a] for a in axes])) if axes else 1


def _float(x):
    return x if x.dtype.kind == "f" else x.float()


# ---------------------------------------------------------------------------- var / std


class Var(Function):
    """v = sum (x - mean)^2 / (N - c)    dv/dx = 2 (x - mean) / (N - c)

    N counts the reduced elements; c is the correction (1 = unbiased, Bessel's)."""

    @staticmethod
    def forward(ctx, x, axes, correction, keepdims):
        ctx.save_for_backward(x)
        ctx.axes, ctx.kept = axes, _kept(x.shape, axes)
        ctx.denom = _count(x.shape, axes) - correction
        return np.asarray(np.var(x.data, axis=axes, ddof=correction, keepdims=keepdims),
                          dtype=x.data.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        centered = x - x.mean(axis=ctx.axes, keepdims=True)
        return g.reshape(ctx.kept) * centered * (2.0 / ctx.denom)


def var(x, axis=None, keepdims=False, unbiased=True, correction=None):
    """Variance over ``axis``. Default: unbiased (divides by N - 1, as PyTorch; numpy's
    default is N). ``unbiased=False`` divides by N; ``correction=c`` divides by N - c."""
    axes = norm_axes(axis, x.ndim, "var")
    c = (1 if unbiased else 0) if correction is None else correction
    n = _count(x.shape, axes)
    if n - c <= 0:
        raise ValueError(f"var: {n} element(s) along axes {axes} of shape {x.shape} with "
                         f"correction {c} leaves N - correction = {n - c} <= 0. Hint: "
                         "unbiased=False, or reduce over more elements")
    return Var.apply(_float(x), axes=axes, correction=c, keepdims=keepdims)


def std(x, axis=None, keepdims=False, unbiased=True, correction=None):
    """sqrt(var(...)). Its gradient is infinite where the variance is exactly 0."""
    return var(x, axis, keepdims, unbiased, correction).sqrt()


# ---------------------------------------------------------------------------- logsumexp


class LogSumExp(Function):
    """z = log sum exp(x) = m + log sum exp(x - m), m = max(x)    dz/dx = softmax(x)

    Subtracting the max first keeps exp from overflowing (x = 1e4 would give inf). The
    gradient is computed as exp(x - m) / sum exp(x - m), not as exp(x - z): in float32,
    z = 1e4 + log 2 is only known to 1e-3, which would put an error of 1e-4 on every gradient.
    m is a constant for the derivatives (softmax does not change when x is shifted)."""

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.save_for_backward(x)
        ctx.axes, ctx.kept = axes, _kept(x.shape, axes)
        m = backend.max(x.data, axes, True)
        ctx.shift = m = np.where(np.isfinite(m), m, 0).astype(x.data.dtype)  # -inf rows: no nan
        s = backend.sum(backend.exp(backend.sub(x.data, m)), axes, True)
        out = backend.add(backend.log(s), m)
        return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        e = (x - Tensor._wrap(ctx.shift)).exp()
        return g.reshape(ctx.kept) * (e / e.sum(axis=ctx.axes, keepdims=True))


def logsumexp(x, axis=None, keepdims=False):
    axes = norm_axes(axis, x.ndim, "logsumexp")
    if _count(x.shape, axes) == 0:
        raise ValueError(f"logsumexp: cannot reduce over an empty axis (shape {x.shape})")
    return LogSumExp.apply(_float(x), axes=axes, keepdims=keepdims)


# ---------------------------------------------------------------------------- prod


class Prod(Function):
    """z = prod of x over axes    dz/dx_i = product of the other elements (= z / x_i if x_i != 0)

    Zeros: the division z / x_i would give 0/0, so when x has zeros the product of the
    others is computed directly (prefix products times suffix products, no division). That
    path is a constant for a second derivative, so create_graph with zeros raises."""

    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.save_for_backward(x)
        ctx.axes, ctx.kept = axes, _kept(x.shape, axes)
        out = np.asarray(np.prod(x.data, axis=axes, keepdims=keepdims), dtype=x.data.dtype)
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        g = g.reshape(ctx.kept)
        if not (x.data == 0).any():
            return g * ctx.output.reshape(ctx.kept) / x
        if autograd._grad_enabled:
            raise RuntimeError("prod: a second derivative (create_graph=True) through a "
                               "product with zero elements is not supported")
        return g * Tensor._wrap(_product_of_others(x.data, ctx.axes))


def _product_of_others(x, axes):
    """For every element, the product of the other elements in its reduced group."""
    rest = [i for i in range(x.ndim) if i not in axes]
    moved = np.transpose(x, rest + list(axes))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.transpose((before * after).reshape(moved.shape), np.argsort(rest + list(axes)))


def prod(x, axis=None, keepdims=False):
    return Prod.apply(x, axes=norm_axes(axis, x.ndim, "prod"), keepdims=keepdims)


# ---------------------------------------------------------------------------- cumsum


class CumSum(Function):
    """z_i = x_0 + ... + x_i along axis    dz/dx_j = g_j + g_(j+1) + ... (reversed cumsum of g)"""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x.data, axis=axis, dtype=np.int64 if x.data.dtype == np.bool_ else None)

    @staticmethod
    def backward(ctx, g):
        axes = (ctx.axis,)
        return Flip.apply(CumSum.apply(Flip.apply(g, axes=axes), axis=ctx.axis), axes=axes)


def cumsum(x, axis=None):
    """Running sum along ``axis``; ``axis=None`` runs over the flattened tensor (numpy)."""
    if axis is None:
        x, axis = x.reshape(-1), 0
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"cumsum: axis must be an int or None, got {axis!r}")
    if x.ndim == 0:
        norm_axes(axis, 0, "cumsum")
        return CumSum.apply(x.reshape(1), axis=0).reshape(())
    (axis,) = norm_axes(axis, x.ndim, "cumsum")
    return CumSum.apply(x, axis=axis)


# ---------------------------------------------------------------------------- arg / with indices


def _arg(fn, x, axis, keepdims, op):
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int or None, got {axis!r}")
    if x.size == 0:
        raise ValueError(f"{op}: cannot take the {op[3:]} of an empty tensor (shape {x.shape})")
    if axis is not None:
        (axis,) = norm_axes(axis, x.ndim, op) or (None,)
    out = fn(x.data, axis=axis, keepdims=keepdims)
    return Tensor._wrap(np.asarray(out, dtype=np.int64))


def argmax(x, axis=None, keepdims=False):
    """Index of the largest value (flat index when axis is None); the first one at ties.
    int64, no gradient."""
    return _arg(np.argmax, x, axis, keepdims, "argmax")


def argmin(x, axis=None, keepdims=False):
    """Index of the smallest value (flat index when axis is None); the first one at ties."""
    return _arg(np.argmin, x, axis, keepdims, "argmin")


def _with_indices(fn, x, axis, keepdims, op):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if x.ndim == 0:
        raise ValueError(f"{op}: needs a tensor with at least 1 dim")
    (axis,) = norm_axes(axis, x.ndim, op)
    if x.shape[axis] == 0:
        raise ValueError(f"{op}: axis {axis} of shape {x.shape} is empty")
    idx = np.asarray(fn(x.data, axis=axis, keepdims=True), dtype=np.int64)
    values = gather(x, axis, idx)
    if not keepdims:
        values = values.squeeze(axis)
        idx = idx.squeeze(axis)
    return ValuesIndices(values, Tensor._wrap(idx))


def max_with_indices(x, axis, keepdims=False):
    """(values, indices) of the max along ``axis``. The values' gradient goes to the element
    at the returned index (the first one at ties), unlike ``x.max(axis)``, which splits it."""
    return _with_indices(np.argmax, x, axis, keepdims, "max_with_indices")


def min_with_indices(x, axis, keepdims=False):
    """(values, indices) of the min along ``axis``; gradient to the returned index."""
    return _with_indices(np.argmin, x, axis, keepdims, "min_with_indices")
