"""The ops nn adds to the engine, each one fused Function: normalisation (BatchNorm and
LayerNorm share it), embedding lookup, and the two binary cross-entropies.

Fusing saves graph nodes (a BatchNorm built from mean/sub/mul/sqrt/div ops is ten nodes; here it
is one) and, for the cross-entropies, gives a numerically safe forward. The backwards are
written in Tensor ops, so they can be differentiated again (create_graph).
"""

import numpy as np

from .. import autograd
from ..autograd import Function
from ..tensor import Tensor


class Normalize(Function):
    """xhat = (x - mean) / sqrt(var + eps), mean and biased var taken over ``axes``.

    With m = the number of elements averaged and means <.> over ``axes``:
        dx = (1 / sqrt(var + eps)) * (g - <g> - xhat * <g * xhat>)
    (the two subtracted terms are the gradient flowing through the mean and the variance).
    ``stats``: an optional list that forward fills with the (mean, var) arrays, keepdims, so
    BatchNorm can update its running averages without a second pass over x.
    """

    @staticmethod
    def forward(ctx, x, axes, eps, stats=None):
        xd = x.data
        mean = xd.mean(axis=axes, keepdims=True)
        xc = xd - mean
        var = np.mean(xc * xc, axis=axes, keepdims=True)
        invstd = 1.0 / np.sqrt(var + eps)
        out = xc * invstd
        if stats is not None:
            stats.extend((mean, var))
        ctx.save_for_backward(x)
        ctx.save_output(out)
        ctx.axes, ctx.eps, ctx.invstd = axes, eps, invstd
        return out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xhat, axes = ctx.output, ctx.axes
        if autograd._grad_enabled:
            # NOTE: create_graph: the scale must be a function of x for second derivatives.
            xc = x - x.mean(axis=axes, keepdims=True)
            invstd = ((xc * xc).mean(axis=axes, keepdims=True) + ctx.eps) ** -0.5
        else:
            invstd = Tensor._wrap(ctx.invstd)
        return invstd * (g - g.mean(axis=axes, keepdims=True)
                         - xhat * (g * xhat).mean(axis=axes, keepdims=True))


# ------------------------------------------------------------------------------ embedding


class EmbeddingLookup(Function):
    """out[..., :] = W[idx[...], :]    dW[r] = sum of g over the positions where idx == r
    (row ``padding_idx`` gets no gradient)."""

    @staticmethod
    def forward(ctx, weight, idx, padding_idx=None):
        ctx.idx, ctx.num, ctx.padding_idx = idx, weight.shape[0], padding_idx
        return weight.data[idx.data]

    @staticmethod
    def backward(ctx, g):
        return EmbeddingScatter.apply(g, ctx.idx, num=ctx.num, padding_idx=ctx.padding_idx), None


class EmbeddingScatter(Function):
    """W_grad = zeros(num, D); W_grad[idx[i]] += g[i] for every position i (a scatter-add:
    a row used twice gets both gradients), then row ``padding_idx`` zeroed.
    Its own gradient is a lookup of the incoming gradient (padding row zeroed)."""

    @staticmethod
    def forward(ctx, g, idx, num, padding_idx=None):
        ctx.idx, ctx.padding_idx = idx, padding_idx
        gd = g.data
        out = np.zeros((num,) + gd.shape[idx.ndim:], dtype=gd.dtype)
        np.add.at(out, idx.data.reshape(-1), gd.reshape((-1,) + out.shape[1:]))
        if padding_idx is not None:
            out[padding_idx] = 0
        return out

    @staticmethod
    def backward(ctx, gg):
        p = ctx.padding_idx
        if p is not None:
            keep = np.ones((gg.shape[0],) + (1,) * (gg.ndim - 1), dtype=gg.dtype)
            keep[p] = 0
            gg = gg * Tensor._wrap(keep)
        return EmbeddingLookup.apply(gg, ctx.idx, padding_idx=p), None


# ------------------------------------------------------------------------------ binary CE

_LOG_FLOOR = -100.0  # logs are clamped here (as PyTorch does) so p = 0 or 1 stays finite


class BinaryCrossEntropy(Function):
    """L = -(y log p + (1 - y) log(1 - p)), each log clamped at -100.

    dL/dp = (p - y) / (p (1 - p))   (denominator kept >= 1e-12)
    dL/dy = log(1 - p) - log p      (clamped logs)
    """

    @staticmethod
    def forward(ctx, p, y):
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(p.data), _LOG_FLOOR)
            l1p = np.maximum(np.log1p(-p.data), _LOG_FLOOR)
        ctx.save_for_backward(p, y)
        return -(y.data * lp + (1 - y.data) * l1p)

    @staticmethod
    def backward(ctx, g):
        p, y = ctx.saved_tensors
        np_, ny = ctx.needs_input_grad
        gp = g * (p - y) / (p * (1 - p)).maximum(1e-12) if np_ else None
        gy = None
        if ny:
            with np.errstate(divide="ignore"):
                gy = g * ((1 - p).log().maximum(_LOG_FLOOR) - p.log().maximum(_LOG_FLOOR))
        return gp, gy


def _softplus(z):
    """log(1 + e^z), stable: max(z, 0) + log(1 + e^-|z|)."""
    return z.relu() + (1 + (-z.abs()).exp()).log()


class BCEWithLogits(Function):
    """L = (1 - y) x + w_y (log(1 + e^-|x|) + max(-x, 0)),  w_y = 1 + (pos_weight - 1) y.

    This is -(pos_weight y log s(x) + (1 - y) log(1 - s(x))) with s the sigmoid, written so
    that exp is only ever taken of a non-positive number (no overflow for x = +-1e4).
        dL/dx = s(x) (1 + (pos_weight - 1) y) - pos_weight y       (s(x) - y without it)
        dL/dy = (pos_weight - 1) softplus(-x) - x                   (-x without it)
    ``pos_weight`` (an array broadcastable to x, or None) gets no gradient.
    """

    @staticmethod
    def forward(ctx, x, y, pos_weight=None):
        xd, yd = x.data, y.data
        tail = np.log1p(np.exp(-np.abs(xd))) + np.maximum(-xd, 0)
        ctx.save_for_backward(x, y)
        ctx.pos_weight = pos_weight
        if pos_weight is None:
            return (1 - yd) * xd + tail
        return ((1 - yd) * xd + (1 + (pos_weight - 1) * yd) * tail).astype(xd.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        pw = ctx.pos_weight
        gx = gy = None
        if pw is None:
            if nx:
                gx = g * (x.sigmoid() - y)
            if ny:
                gy = g * -x
        else:
            w = Tensor._wrap(np.asarray(pw, dtype=x.dtype))
            if nx:
                gx = g * (x.sigmoid() * (1 + (w - 1) * y) - w * y)
            if ny:
                gy = g * ((w - 1) * _softplus(-x) - x)
        return gx, gy
