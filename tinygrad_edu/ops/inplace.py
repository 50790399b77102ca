"""In-place ops: zero_, fill_, copy_, add_, sub_, mul_, div_, clamp_ (PyTorch's trailing _).

An in-place op writes into the tensor's existing numpy array, so every view of that memory
sees the change, and returns the tensor itself. It records no graph. Three rules keep
autograd honest:

1. Refused while grad mode is on if the tensor requires grad. On a leaf (a parameter)
   autograd could not tell the new values from the ones the graph was built with; on a
   non-leaf the op would overwrite a value some backward may still need. Under
   ``no_grad()`` it is allowed (that is how parameters are initialised and optimizers step).
2. Refused while grad mode is on if the *other* operand requires grad: no graph is recorded,
   so its gradient would be lost without a word.
3. Every write bumps ``_version`` (shared by a tensor and its views): a graph that saved the
   tensor, or a view of it, before the change raises at backward instead of using stale
   values.

The other operand is broadcast to the tensor's shape (it may not make the tensor grow) and
the result is stored in the tensor's dtype. Arithmetic refuses a result that would have to
be truncated to fit (an int64 tensor cannot ``mul_(0.5)``, as in PyTorch); ``copy_`` and
``fill_`` convert like an assignment (2.7 -> 2 in an int64 tensor).
"""

import numpy as np

from .. import autograd
from ..tensor import Tensor, _lift, _to_array, result_dtype


# what to write instead, out of place
_INSTEAD = {"zero_": "tg.zeros_like(x)", "fill_": "tg.full_like(x, value)",
            "copy_": "src.clone()", "add_": "x.add(other)", "sub_": "x.sub(other)",
            "mul_": "x.mul(other)", "div_": "x.div(other)", "clamp_": "x.clamp(min, max)"}


def _check_target(t, op, other=None):
    """Rules 1 and 2 above, plus memory that cannot (or must not) be written."""
    if autograd._grad_enabled:
        if t.requires_grad and t._ctx is None:
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad (shape {t.shape}) cannot be changed in "
                "place while grad mode is on: autograd could not tell the new values from the "
                "ones the graph was built with. Hint: to initialise or update a parameter, do "
                "it under `with tinygrad_edu.no_grad():` (as an optimizer step does); to compute "
                f"a new value, use the out-of-place form: {_INSTEAD[op]}")
        if t.requires_grad:
            raise RuntimeError(
                f"{op}: this tensor (shape {t.shape}) is the output of {t._ctx.name} in a graph "
                "that records gradients; changing it in place would overwrite values that "
                "backward may still need, and in-place ops record no graph. Hint: write the "
                f"out-of-place form and rebind the name, x = {_INSTEAD[op]} (e.g. x = x + 1 "
                "instead of x.add_(1)); use detach() if no gradient should flow through it")
        if isinstance(other, Tensor) and other.requires_grad:
            raise RuntimeError(
                f"{op}: the other operand (shape {other.shape}) requires grad, but an in-place "
                "op records no graph, so its gradient would be lost. Hint: write the "
                f"out-of-place form, x = {_INSTEAD[op]}, or pass other.detach() if no "
                "gradient should flow, or do it under no_grad()")
    data = t.data
    if not data.flags.writeable:
        raise RuntimeError(f"{op}: the memory of this tensor (shape {t.shape}) is read-only (a "
                           "broadcast view, e.g. from expand(), or a constant); clone() it first")
    if any(s == 0 and n > 1 for s, n in zip(data.strides, data.shape)):
        raise RuntimeError(f"{op}: several elements of this tensor (shape {t.shape}) share one "
                           "memory location (a broadcast view); clone() it first")


def _operand(t, other, op):
    """``other`` as an array that broadcasts to ``t``'s shape without growing it."""
    if isinstance(other, Tensor):
        arr = other.data
    elif isinstance(other, (bool, int, float, np.number)):
        arr = _lift(other, t).data  # a Python float stays float32 for a float32 tensor
    else:
        arr = _to_array(other)
    try:
        grown = np.broadcast_shapes(t.shape, arr.shape) != t.shape
    except ValueError:
        grown = True
    if grown:
        raise ValueError(
            f"{op}: an operand of shape {arr.shape} cannot be broadcast to this tensor's shape "
            f"{t.shape} (an in-place op cannot change the shape of the tensor it writes into). "
            "Hint: use the out-of-place form, which broadcasts both operands")
    return arr


def _check_result(t, arr, op, true_div=False):
    """Refuse a result dtype that cannot be stored in ``t`` without truncation."""
    dt = t.data.dtype
    rd = result_dtype(dt, arr.dtype)
    if true_div and rd.kind != "f":
        rd = np.dtype(np.float32)  # int / int is a float, as in PyTorch
    if not np.can_cast(rd, dt, "same_kind"):
        raise TypeError(
            f"{op}: the result has dtype {rd}, which cannot be stored in place in this {dt} "
            "tensor without truncating it. Hint: convert first (x = x.float()) or use the "
            f"out-of-place {_INSTEAD[op]}")


def _done(t):
    t._version += 1  # NOTE: the counter is shared with views: graphs that saved any notice
    return t


def _arith(t, other, op, ufunc, alpha=1, true_div=False):
    _check_target(t, op, other)
    arr = _operand(t, other, op)
    if alpha != 1:
        if t.data.dtype.kind != "f" and isinstance(alpha, (float, np.floating)):
            raise TypeError(f"{op}: alpha={alpha} is a float but the tensor is "
                            f"{t.data.dtype}; an integer tensor needs an integer alpha")
        arr = arr * np.asarray(alpha, dtype=arr.dtype if arr.dtype.kind == "f" else None)
    _check_result(t, arr, op, true_div)
    ufunc(t.data, arr, out=t.data, casting="same_kind")
    return _done(t)


def add_(t, other, alpha=1):
    """t <- t + alpha * other"""
    return _arith(t, other, "add_", np.add, alpha)


def sub_(t, other, alpha=1):
    """t <- t - alpha * other"""
    return _arith(t, other, "sub_", np.subtract, alpha)


def mul_(t, other):
    """t <- t * other"""
    return _arith(t, other, "mul_", np.multiply)


def div_(t, other):
    """t <- t / other (true division: float tensors only)"""
    return _arith(t, other, "div_", np.true_divide, true_div=True)


def clamp_(t, min=None, max=None):  # PyTorch's keyword names
    """t <- min(max(t, min), max); either bound may be None, a number or a tensor"""
    if min is None and max is None:
        raise ValueError("clamp_: at least one of min and max must be given")
    _check_target(t, "clamp_", min)
    _check_target(t, "clamp_", max)
    lo = None if min is None else _operand(t, min, "clamp_")
    hi = None if max is None else _operand(t, max, "clamp_")
    for b in (lo, hi):
        if b is not None:
            _check_result(t, b, "clamp_")
    if lo is not None and hi is not None and lo.ndim == 0 and hi.ndim == 0 and lo > hi:
        raise ValueError(f"clamp_: min ({min}) is greater than max ({max})")
    np.clip(t.data, lo, hi, out=t.data, casting="same_kind")
    return _done(t)


def fill_(t, value):
    """t <- value everywhere (a number or a 0-d tensor), converted to t's dtype"""
    _check_target(t, "fill_", value)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"fill_: the value must be a number or a 0-d tensor, got a tensor "
                             f"of shape {value.shape}. Hint: copy_(other) copies a tensor")
        value = value.data
    elif not isinstance(value, (bool, int, float, np.number)):
        raise TypeError(f"fill_: the value must be a number or a 0-d tensor, got "
                        f"{type(value).__name__}")
    _store(t, np.asarray(value), "fill_")
    return _done(t)


def zero_(t):
    """t <- 0"""
    _check_target(t, "zero_")
    t.data[...] = 0
    return _done(t)


def copy_(t, src):
    """t <- src (broadcast to t's shape, converted to t's dtype); returns t"""
    _check_target(t, "copy_", src)
    _store(t, _operand(t, src, "copy_"), "copy_")
    return _done(t)


def _store(t, arr, op):
    if t.data.dtype.kind != "f" and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{op}: cannot store nan or inf in a {t.data.dtype} tensor")
    # NOTE: numpy copies through a buffer when source and target memory overlap
    # (x.copy_(x.flip(0)) is right)
    np.copyto(t.data, arr, casting="unsafe")
