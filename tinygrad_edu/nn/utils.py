"""Gradient clipping: the usual cure for exploding gradients.

Call between ``loss.backward()`` and ``optimizer.step()``::

    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()

Both functions change ``p.grad`` in place (the trailing underscore says so) and record no
graph.
"""

import math

import numpy as np

from ..tensor import Tensor


def _grads(parameters, who):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: parameters must be Tensors, item {i} is a "
                            f"{type(p).__name__}")
        if p.grad is not None:
            grads.append(p.grad)
    return grads


def _writable(g):
    """The gradient's array, made writable and owned if it is a read-only view."""
    if not g.data.flags.writeable:
        g.data = np.array(g.data)
    return g.data


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    total = (sum over every gradient element of |g|^p)^(1/p)  (p = norm_type; "inf" or
    math.inf: the largest |g|). If total > max_norm every gradient is multiplied by
    max_norm / (total + 1e-6) (the 1e-6 guards against division by zero, as in PyTorch),
    which keeps the update's direction and only shortens it.

    Returns the total norm before clipping as a 0-d Tensor (float32 unless every gradient is
    float64). A NaN or infinite total raises with ``error_if_nonfinite=True``; otherwise the
    gradients are scaled by it anyway (and become NaN), as PyTorch does.
    """
    who = "clip_grad_norm_"
    if isinstance(norm_type, str) and norm_type.lower() == "inf":
        norm_type = math.inf
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"{who}: norm_type must be > 0 or inf, got {norm_type!r}")
    max_norm = float(max_norm)
    if not max_norm >= 0:
        raise ValueError(f"{who}: max_norm must be >= 0, got {max_norm!r}")
    grads = _grads(parameters, who)
    dtype = np.float64 if grads and all(g.dtype == np.float64 for g in grads) else np.float32
    if not grads:
        return Tensor._wrap(np.zeros((), dtype))
    # Per-gradient norms in their own dtype (fast BLAS paths), combined in float64.
    if norm_type == math.inf:
        norms = [float(np.max(np.abs(g.data))) if g.data.size else 0.0 for g in grads]
        total = max(norms)
    elif norm_type == 2.0:
        total = math.sqrt(math.fsum(_sum_squares(g.data) for g in grads))
    else:
        total = math.fsum(float(np.sum(np.abs(g.data.astype(np.float64)) ** norm_type))
                          for g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"{who}: the total norm of order {norm_type} of the gradients is "
                           f"{total}, so they cannot be clipped. Set error_if_nonfinite=False "
                           "to scale them by the non-finite norm anyway.")
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:  # also true for a NaN total: the gradients become NaN, visibly
        for g in grads:
            arr = _writable(g)
            arr *= coef
            g._version += 1
    return Tensor._wrap(np.asarray(total, dtype=dtype))


def _sum_squares(a):
    f = a.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        s = float(np.dot(f, f))
    if not math.isfinite(s) and a.dtype != np.float64:
        # float32 squares overflow above ~1.8e19, exactly when clipping is needed: redo the
        # sum in float64 (inf or NaN stays so only when the gradient itself holds one).
        f = f.astype(np.float64)
        s = float(np.dot(f, f))
    return s


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into [-clip_value, clip_value] (in place)."""
    who = "clip_grad_value_"
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"{who}: clip_value must be >= 0, got {clip_value!r}")
    for g in _grads(parameters, who):
        arr = _writable(g)
        np.clip(arr, -clip_value, clip_value, out=arr)
        g._version += 1
