"""Softmax family and classification losses: softmax, log_softmax, cross_entropy, nll_loss.

softmax(x)_i = exp(x_i) / sum_j exp(x_j). Computed as exp(x_i - m) / sum_j exp(x_j - m) with
m = max_j x_j: the same number (the factor exp(-m) cancels) but every exp is of a number <= 0,
so logits like 1e4 do not overflow. log_softmax is (x - m) - log(sum_j exp(x_j - m)).

Each forward is one fused backend kernel; each backward is a Function too (SoftmaxBackward,
LogSoftmaxBackward, CrossEntropyBackward) whose own backward is written in Tensor ops, so
second derivatives (create_graph=True) work through all of them.
"""

import warnings

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor

_REDUCTIONS = ("none", "sum", "mean")


def _axis(x, axis, op):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    nd = max(x.ndim, 1)
    if not -nd <= axis < nd:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of shape {x.shape}")
    return int(axis) % nd


def _float(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: needs a float tensor, got {x.dtype} (shape {x.shape}); "
                        "convert with .float()")


# ---------------------------------------------------------------------------- softmax


class Softmax(Function):
    """y = softmax(x) along ``axis``    dx = y * (g - sum(g * y))   (fused kernels both ways)"""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        ctx.save_output(out := backend.softmax(x.data, axis))
        return out

    @staticmethod
    def backward(ctx, g):
        return SoftmaxBackward.apply(ctx.output, g, axis=ctx.axis)


class SoftmaxBackward(Function):
    """r = y * (g - s), s = sum(g * y) along the axis.
    dr/dg: gg -> y * (gg - sum(gg * y))  (the same map: SoftmaxBackward(y, gg))
    dr/dy: gg -> gg * (g - s) - g * sum(gg * y)"""

    @staticmethod
    def forward(ctx, y, g, axis):
        ctx.axis = axis
        ctx.save_for_backward(y, g)
        return backend.softmax_backward(y.data, g.data, axis)

    @staticmethod
    def backward(ctx, gg):
        y, g = ctx.saved_tensors
        a = ctx.axis
        ny, ng = ctx.needs_input_grad
        dy = gg * (g - (g * y).sum(axis=a, keepdims=True)) - g * (gg * y).sum(axis=a, keepdims=True) \
            if ny else None
        return dy, SoftmaxBackward.apply(y, gg, axis=a) if ng else None


class LogSoftmax(Function):
    """y = log_softmax(x) along ``axis``    dx = g - exp(y) * sum(g)"""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        ctx.save_output(out := backend.log_softmax(x.data, axis))
        return out

    @staticmethod
    def backward(ctx, g):
        return LogSoftmaxBackward.apply(ctx.output, g, axis=ctx.axis)


class LogSoftmaxBackward(Function):
    """r = g - exp(y) * S, S = sum(g) along the axis.
    dr/dg: gg -> gg - sum(gg * exp(y))    dr/dy: gg -> -gg * exp(y) * S"""

    @staticmethod
    def forward(ctx, y, g, axis):
        ctx.axis = axis
        ctx.save_for_backward(y, g)
        return backend.log_softmax_backward(y.data, g.data, axis)

    @staticmethod
    def backward(ctx, gg):
        y, g = ctx.saved_tensors
        a = ctx.axis
        ny, ng = ctx.needs_input_grad
        p = y.exp()
        dy = -gg * p * g.sum(axis=a, keepdims=True) if ny else None
        dg = gg - (gg * p).sum(axis=a, keepdims=True) if ng else None
        return dy, dg


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``: non-negative, sums to 1 along the axis.
    Stable for large inputs; a slice that is entirely -inf gives NaN (as in PyTorch)."""
    _float(x, "softmax")
    if x.ndim == 0:
        return Softmax.apply(x.reshape(1), axis=0).reshape(())
    return Softmax.apply(x, axis=_axis(x, axis, "softmax"))


def log_softmax(x, axis=-1):
    """log(softmax(x)) = x - logsumexp(x) along ``axis``, without forming softmax (stable)."""
    _float(x, "log_softmax")
    if x.ndim == 0:
        return LogSoftmax.apply(x.reshape(1), axis=0).reshape(())
    return LogSoftmax.apply(x, axis=_axis(x, axis, "log_softmax"))


# ---------------------------------------------------------------------------- cross-entropy


class CrossEntropy(Function):
    """Fused cross-entropy of logits x (N, C) and class indices t (N,) (see cross_entropy).

    loss_n = (1 - eps) w[t_n] (lse_n - x[n, t_n]) + eps / C sum_c w_c (lse_n - x[n, c])
    dloss_n/dx[n, c] = (1 - eps) w[t_n] (p_nc - [c = t_n]) + eps / C (W p_nc - w_c)
    with lse = logsumexp over the row, p = softmax(x_n), W = sum_c w_c; ignored rows give 0.
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, eps, reduction):
        loss, stats, wsum = backend.cross_entropy_forward(x.data, target, weight,
                                                          ignore_index, eps)
        ctx.save_for_backward(x)
        ctx.args = (stats, target, weight, ignore_index, eps, reduction, wsum)
        if reduction == "none":
            return loss
        total = np.sum(loss, dtype=np.float64)
        if reduction == "sum":
            return np.asarray(total, dtype=x.dtype)
        if wsum == 0:
            _warn_empty_mean("cross_entropy", x.shape)
            return np.asarray(np.nan, dtype=x.dtype)
        return np.asarray(total / wsum, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return CrossEntropyBackward.apply(x, g, args=ctx.args)


class CrossEntropyBackward(Function):
    """r = s * (A p - B): s the row scale (g, or g / wsum for "mean"), p = softmax(x_n),
    A_n = (1 - eps) w[t_n] + eps W / C, B_nc = (1 - eps) w[t_n] [c = t_n] + eps w_c / C.
    dr/dx: gg -> s A * softmax_backward(p, gg)    dr/ds: gg -> sum_c gg (A p - B)"""

    @staticmethod
    def forward(ctx, x, g, args):
        stats, target, weight, ignore_index, eps, reduction, wsum = args
        scale = g.data
        if reduction == "mean":  # nothing counted (wsum 0): the loss is NaN, the gradient 0
            scale = scale / wsum if wsum else scale * 0
        ctx.save_for_backward(x, g)
        ctx.args = args
        return backend.cross_entropy_backward(x.data, stats, target, weight, ignore_index, eps,
                                              scale)

    @staticmethod
    def backward(ctx, gg):
        x, g = ctx.saved_tensors
        _, target, weight, ignore_index, eps, reduction, wsum = ctx.args
        n, c = x.shape
        keep = target != ignore_index
        t = np.where(keep, target, 0)
        w = np.ones(c, x.dtype) if weight is None else weight
        wt = w[t] * keep
        a = ((1 - eps) * wt + eps / c * np.sum(w) * keep).astype(x.dtype)[:, None]
        s = g.reshape(n, 1) if reduction == "none" else g / wsum if reduction == "mean" else g
        p = Softmax.apply(x, axis=1)
        nx, ng = ctx.needs_input_grad
        dx = s * Tensor._wrap(a) * SoftmaxBackward.apply(p, gg, axis=1) if nx else None
        dg = None
        if ng:
            b = np.zeros((n, c), x.dtype)
            b[np.arange(n), t] = (1 - eps) * wt
            b += (eps / c) * keep[:, None] * w[None, :]
            ds = (gg * (p * Tensor._wrap(a) - Tensor._wrap(b))).sum(axis=1)
            dg = ds if reduction == "none" else ds.sum() / wsum if reduction == "mean" \
                else ds.sum()
        return dx, dg


def _warn_empty_mean(op, shape):
    warnings.warn(f"{op}: reduction='mean' over no counted targets (logits shape {shape}: an "
                  "empty batch, or every target equal to ignore_index, or zero total weight) "
                  "divides 0 by 0; the result is NaN (as in PyTorch). Use reduction='sum' to "
                  "get 0 instead.", RuntimeWarning, stacklevel=4)


def _class_indices(target, logits, op):
    """Check class-index targets: int dtype, shape (N, d1, ...) for logits (N, C, d1, ...)."""
    want = logits.shape[:1] + logits.shape[2:] if logits.ndim >= 2 else ()
    if target.shape != want:
        raise ValueError(f"{op}: target of shape {target.shape} does not fit logits of shape "
                         f"{logits.shape}; class indices need shape {want}, probabilities the "
                         f"logits' shape {logits.shape}")
    t = target.data
    if t.dtype != np.int64:
        t = t.astype(np.int64)
    return t


def _check_range(t, classes, ignore_index, op, shape):
    if t.size == 0:
        return
    lo, hi = t.min(), t.max()
    if lo >= 0 and hi < classes:
        return
    bad = (t != ignore_index) & ((t < 0) | (t >= classes))
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{op}: target value {int(t[pos])} at position {pos} is not a class "
                         f"index for logits of shape {shape} ({classes} classes: expected "
                         f"0 <= target < {classes}, or target == ignore_index = {ignore_index})")


def _weight_array(weight, classes, dtype, op):
    if weight is None:
        return None
    if isinstance(weight, Tensor):
        if weight.requires_grad:
            raise ValueError(f"{op}: weight requires grad, but class weights are treated as "
                             "constants here (no gradient flows to them); pass weight.detach()")
        weight = weight.data
    w = np.asarray(weight)
    if w.shape != (classes,) or w.dtype.kind not in "fiu":
        raise ValueError(f"{op}: weight must be a float tensor of shape ({classes},) (one "
                         f"entry per class), got {w.dtype} {w.shape}")
    return np.ascontiguousarray(w, dtype=dtype)


def _check_options(op, reduction, label_smoothing=0.0):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'none', 'sum' or 'mean', got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")


def cross_entropy(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0,
                  reduction="mean"):
    """Cross-entropy between logits and targets, as PyTorch's CrossEntropyLoss.

    logits: (N, C), (C,), or (N, C, d1, ...) — class scores, not probabilities.
    target: int class indices of shape (N,), () or (N, d1, ...); or float probabilities with
    the logits' shape. Per element, with p = softmax over the class axis and w = weight:
      indices:       l = -w[t] log p[t]  (0 where t == ignore_index)
      probabilities: l = -sum_c w_c y_c log p_c
    label_smoothing eps replaces the target by (1 - eps) * target + eps / C (uniform).
    reduction "mean" divides the sum by the total weight w[t] of the counted elements
    (indices) or by the number of elements (probabilities); "sum" sums; "none" keeps them.
    Class indices use one fused C kernel forward and backward; probabilities compose
    log_softmax with Tensor ops (so a probability target can itself get a gradient).
    """
    op = "cross_entropy"
    _float(logits, op)
    _check_options(op, reduction, label_smoothing)
    if logits.ndim == 0:
        raise ValueError(f"{op}: logits must have a class axis, got a 0-d tensor")
    if not isinstance(target, Tensor):
        target = Tensor(target)
    cax = 1 if logits.ndim >= 2 else 0
    classes = logits.shape[cax]
    w = _weight_array(weight, classes, logits.dtype, op)
    if target.dtype.kind == "f":
        if target.shape != logits.shape:
            raise TypeError(f"{op}: a float target of shape {target.shape} is read as class "
                            f"probabilities and must have the logits' shape {logits.shape}; "
                            "for class indices use an int64 target (target.long())")
        return _cross_entropy_probs(logits, target, w, label_smoothing, reduction, cax)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold int64 class indices or float probabilities, "
                        f"got {target.dtype} of shape {target.shape}")
    t = _class_indices(target, logits, op)
    _check_range(t, classes, ignore_index, op, logits.shape)
    if logits.ndim == 2:
        x2 = logits
    elif logits.ndim == 1:
        x2 = logits.reshape(1, classes)
    else:  # (N, C, d...) -> (N * d..., C): the class axis last, one row per element
        x2 = logits.permute((0,) + tuple(range(2, logits.ndim)) + (1,)).reshape(-1, classes)
    out = CrossEntropy.apply(x2, target=np.ascontiguousarray(t.reshape(-1)), weight=w,
                             ignore_index=int(ignore_index), eps=float(label_smoothing),
                             reduction=reduction)
    return out.reshape(target.shape) if reduction == "none" else out


def _cross_entropy_probs(logits, target, w, eps, reduction, cax):
    classes = logits.shape[cax]
    logp = log_softmax(logits, axis=cax)
    y = target if target.dtype == logits.dtype else target.astype(logits.dtype)
    if eps:
        y = y * (1.0 - eps) + eps / classes
    if w is not None:  # weight broadcast along the class axis
        y = y * Tensor._wrap(w.reshape((classes,) + (1,) * (logits.ndim - cax - 1)))
    loss = -(logp * y).sum(axis=cax)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if loss.size == 0:
        _warn_empty_mean("cross_entropy", logits.shape)
        return loss.sum() * float("nan")
    return loss.sum() / loss.size


class _NLL(Function):
    """loss_n = -w[t_n] x[n, t_n] (0 where ignored)    dloss_n/dx[n, c] = -w[t_n] [c = t_n]

    Linear in x: the backward is g times a constant matrix (Tensor ops), so it is
    differentiable in g and the second derivative in x is 0."""

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        n = x.shape[0]
        keep = target != ignore_index
        t = np.where(keep, target, 0)
        wt = (np.ones(n, x.dtype) if weight is None else weight[t]) * keep
        loss = -wt * x.data[np.arange(n), t]
        ctx.coef, ctx.wsum, ctx.reduction = (t, wt), float(np.sum(wt)), reduction
        ctx.shape = x.shape
        if reduction == "none":
            return loss.astype(x.dtype, copy=False)
        total = np.sum(loss, dtype=np.float64)
        if reduction == "mean":
            if ctx.wsum == 0:
                _warn_empty_mean("nll_loss", x.shape)
                return np.asarray(np.nan, dtype=x.dtype)
            total /= ctx.wsum
        return np.asarray(total, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        (t, wt), wsum = ctx.coef, ctx.wsum
        n, c = ctx.shape
        m = np.zeros((n, c), g.dtype)
        m[np.arange(n), t] = -wt
        if ctx.reduction == "none":
            return g.reshape(n, 1) * Tensor._wrap(m)
        if ctx.reduction == "mean":
            m = m / wsum if wsum else m * 0
        return g * Tensor._wrap(m.astype(g.dtype, copy=False))


def nll_loss(log_probs, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of class indices under log-probabilities, as PyTorch's NLLLoss:
    l = -w[t] * log_probs[t] (0 where t == ignore_index); "mean" divides by the sum of w[t]
    over counted elements. Shapes as in cross_entropy (class axis 1). cross_entropy(x, t) ==
    nll_loss(log_softmax(x, axis=1), t)."""
    op = "nll_loss"
    _float(log_probs, op)
    _check_options(op, reduction)
    if log_probs.ndim == 0:
        raise ValueError(f"{op}: log_probs must have a class axis, got a 0-d tensor")
    if not isinstance(target, Tensor):
        target = Tensor(target)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold int64 class indices, got {target.dtype} of "
                        f"shape {target.shape} (convert with target.long())")
    cax = 1 if log_probs.ndim >= 2 else 0
    classes = log_probs.shape[cax]
    w = _weight_array(weight, classes, log_probs.dtype, op)
    t = _class_indices(target, log_probs, op)
    _check_range(t, classes, ignore_index, op, log_probs.shape)
    if log_probs.ndim == 2:
        x2 = log_probs
    elif log_probs.ndim == 1:
        x2 = log_probs.reshape(1, classes)
    else:
        x2 = log_probs.permute((0,) + tuple(range(2, log_probs.ndim)) + (1,)).reshape(-1, classes)
    out = _NLL.apply(x2, target=t.reshape(-1), weight=w, ignore_index=int(ignore_index),
                     reduction=reduction)
    return out.reshape(target.shape) if reduction == "none" else out
