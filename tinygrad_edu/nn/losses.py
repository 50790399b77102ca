"""Loss functions (``F.mse_loss(...)``) and loss modules (``nn.MSELoss()``), PyTorch semantics.

``reduction``: 'mean' (the default: average over all elements), 'sum', or 'none' (the
per-element losses). Unlike PyTorch, a shape mismatch between input and target is an error,
not a warning: broadcasting (N, 1) predictions against (N,) targets silently compares every
prediction with every target — a classic regression bug that trains but learns nothing.

Regularisation helpers: ``l1_penalty(params) = sum |w|`` and ``l2_penalty(params) = sum w^2``;
add ``lam * l2_penalty(model.parameters())`` to the loss.
"""

import numpy as np

from ..ops import softmax as _sm
from ..tensor import Tensor
from .fused import BCEWithLogits, BinaryCrossEntropy
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, who):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{who}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss, reduction, who="loss"):
    if reduction == "mean":
        if loss.size == 0:  # 0 / 0: name the loss and the likely cause (issue 8)
            raise ValueError(f"{who}: reduction='mean' of an empty batch (loss shape "
                             f"{loss.shape}) is 0/0. Hint: an empty batch usually means an "
                             "empty split or a filter that kept nothing; skip it, or use "
                             "reduction='sum'")
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _pair(input, target, who):
    """Check input/target shapes match exactly and give both the same float dtype."""
    if not isinstance(input, Tensor):
        input = Tensor(input)
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target))
    if input.shape != target.shape:
        hint = ""
        if input.shape[:-1] == target.shape and input.shape[-1:] == (1,):
            hint = (" Hint: the input has a trailing axis of size 1; use input.squeeze(-1) or "
                    "target.reshape(input.shape).")
        elif target.shape[:-1] == input.shape and target.shape[-1:] == (1,):
            hint = " Hint: use target.squeeze(-1) or input.reshape(target.shape)."
        raise ValueError(f"{who}: input shape {input.shape} and target shape {target.shape} "
                         "differ; they must be equal (broadcasting them would compare every "
                         f"prediction with every target).{hint}")
    if input.dtype.kind != "f":
        raise TypeError(f"{who}: input must be a float tensor, got {input.dtype}")
    if target.dtype != input.dtype:
        target = target.astype(input.dtype)
    return input, target


# ---------------------------------------------------------------------------- regression


def mse_loss(input, target, reduction="mean"):
    """(x - y)^2    d/dx = 2 (x - y)"""
    _check_reduction(reduction, "mse_loss")
    input, target = _pair(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """|x - y|    d/dx = sign(x - y)  (0 at x = y, a kink)"""
    _check_reduction(reduction, "l1_loss")
    input, target = _pair(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta), d = x - y: quadratic near 0,
    linear (robust to outliers) beyond delta.

    Written with c = clip(d, -delta, delta) as 0.5 c^2 + delta (|d| - |c|), which equals both
    branches and needs no `where`; its gradient is d near 0 and delta * sign(d) beyond, and
    its second derivative is 1 near 0 (also at d = 0, where |d| alone would give 0).
    """
    _check_reduction(reduction, "huber_loss")
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _pair(input, target, "huber_loss")
    d = input - target
    c = d.clip(-delta, delta)
    return _reduce(c * c * 0.5 + (d.abs() - c.abs()) * delta, reduction, "huber_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta  (= huber_loss with delta=beta,
    divided by beta; beta = 0 is the L1 loss)."""
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    input, target = _pair(input, target, "smooth_l1_loss")
    d = input - target
    c = d.clip(-beta, beta)  # as in huber_loss: smooth second derivative at d = 0
    return _reduce(c * c * (0.5 / beta) + (d.abs() - c.abs()), reduction, "smooth_l1_loss")


# ---------------------------------------------------------------------------- classification


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy of logits (N, C) or (N, C, *) against class indices (N, *) or
    class probabilities (same shape as input); one fused, numerically stable kernel."""
    _check_reduction(reduction, "cross_entropy")
    return _sm.cross_entropy(input, target, weight=weight, ignore_index=ignore_index,
                             label_smoothing=label_smoothing, reduction=reduction)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-input[n, target[n]] for log-probabilities ``input`` (after log_softmax)."""
    _check_reduction(reduction, "nll_loss")
    return _sm.nll_loss(input, target, weight=weight, ignore_index=ignore_index,
                        reduction=reduction)


def _weighted(loss, weight, who):
    if weight is None:
        return loss
    w = weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight))
    try:
        if np.broadcast_shapes(w.shape, loss.shape) != loss.shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"{who}: weight of shape {w.shape} does not broadcast to the loss "
                         f"shape {loss.shape}") from None
    return loss * w.astype(loss.dtype)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1] (logs clamped at -100).
    Prefer ``binary_cross_entropy_with_logits`` on raw scores: it is stable."""
    _check_reduction(reduction, "binary_cross_entropy")
    input, target = _pair(input, target, "binary_cross_entropy")
    p = input.data
    if p.size and not (p.min() >= 0 and p.max() <= 1):  # also catches NaN
        raise ValueError(f"binary_cross_entropy: all input values must be probabilities in "
                         f"[0, 1], got min {p.min()} and max {p.max()}. Hint: apply sigmoid "
                         "first, or use binary_cross_entropy_with_logits / BCEWithLogitsLoss "
                         "on the raw scores.")
    loss = BinaryCrossEntropy.apply(input, target)
    return _reduce(_weighted(loss, weight, "binary_cross_entropy"), reduction,
                   "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable op, for raw scores (logits) x:
    max(x, 0) - x y + log(1 + e^-|x|). ``pos_weight`` (broadcast along the last axis, one value
    per class) multiplies the loss of positive targets: > 1 favours recall."""
    who = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, who)
    input, target = _pair(input, target, who)
    pw = None
    if pos_weight is not None:
        pw = np.asarray(pos_weight.data if isinstance(pos_weight, Tensor) else pos_weight,
                        dtype=input.dtype)
        try:
            if np.broadcast_shapes(pw.shape, input.shape) != input.shape:
                raise ValueError
        except ValueError:
            raise ValueError(f"{who}: pos_weight of shape {pw.shape} does not broadcast to the "
                             f"input shape {input.shape}") from None
    loss = BCEWithLogits.apply(input, target, pos_weight=pw)
    return _reduce(_weighted(loss, weight, who), reduction, who)


# ---------------------------------------------------------------------------- penalties


def _params(params):
    if isinstance(params, Module):
        return list(params.parameters())
    if isinstance(params, Tensor):
        return [params]
    return list(params)


def l1_penalty(params):
    """sum over all parameters of sum |w| (encourages sparse weights). Accepts a Module, a
    tensor or an iterable of tensors (``model.parameters()``)."""
    total = None
    for p in _params(params):
        t = p.abs().sum()
        total = t if total is None else total + t
    return Tensor(0.0) if total is None else total


def l2_penalty(params):
    """sum over all parameters of sum w^2 (weight decay; no factor 1/2)."""
    total = None
    for p in _params(params):
        t = (p * p).sum()
        total = t if total is None else total + t
    return Tensor(0.0) if total is None else total


# ---------------------------------------------------------------------------- modules


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        _check_reduction(reduction, type(self).__name__)
        self.reduction = reduction


class MSELoss(_Loss):
    def forward(self, input, target):
        return mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    def forward(self, input, target):
        return l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.delta = delta

    def forward(self, input, target):
        return huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be non-negative, got {beta}")
        self.beta = beta

    def forward(self, input, target):
        return smooth_l1_loss(input, target, self.reduction, self.beta)


def _buffer(value):
    if value is None or isinstance(value, Tensor):
        return value
    return Tensor(np.asarray(value, dtype=np.float32))


class CrossEntropyLoss(_Loss):
    """Logits (N, C) and class indices (N,) (or probabilities (N, C)). ``weight``: one
    rescaling factor per class; ``ignore_index``: targets with this value add nothing;
    ``label_smoothing``: mix the target with the uniform distribution."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing}")
        self.register_buffer("weight", _buffer(weight))
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                             self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (apply LogSoftmax first)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer(weight))
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (apply Sigmoid first; or use BCEWithLogitsLoss)."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer(weight))

    def forward(self, input, target):
        return binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, numerically stable, on raw scores."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer(weight))
        self.register_buffer("pos_weight", _buffer(pos_weight))

    def forward(self, input, target):
        return binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                self.pos_weight)
