"""PyTorch-named Tensor methods built from existing ops: norm, dot, outer, any/all, t, where,
masked_fill, add/sub with ``alpha``, dtype and device conversion (to, type), and retain_grad.

Nothing here needs a kernel of its own: each method composes ops whose forward and backward
live elsewhere, so their gradients (and second derivatives) come for free.
"""

import re
import weakref

import numpy as np

from ..tensor import Tensor, _check_dtype
from .combine import where as _where
from .matmul import matmul as _matmul
from .reduce import norm_axes


def _axes(dim, axis, ndim, op):
    """PyTorch's ``dim`` or this package's ``axis`` (either spelling is accepted)."""
    if dim is not None and axis is not None:
        raise TypeError(f"{op}: give dim or axis, not both")
    return norm_axes(dim if axis is None else axis, ndim, op)


# ---------------------------------------------------------------------------- norm


def norm(x, p="fro", dim=None, keepdim=False, dtype=None, axis=None, keepdims=None):
    """Vector p-norm over ``dim`` (all elements by default): (sum |x|^p)^(1/p).

    p = 2 or 'fro' (default): sqrt(sum x^2); 1: sum |x|; inf: max |x|; -inf: min |x|;
    0: the number of non-zeros (gradient 0); any other p by the formula (p < 0 gives 0 when
    a reduced slice holds a zero).

    Gradient: d||x||_p/dx = sign(x) |x|^(p-1) / ||x||_p^(p-1). At a zero norm this is 0/0:
    like PyTorch we return 0 there (and 0 at zero elements for p < 1) instead of nan. The
    trick is the "double where": the root is taken of where(s == 0, 1, s), so the branch
    that is thrown away never sees the 0 whose derivative is infinite, and no inf * 0 = nan
    reaches the gradient.
    """
    keepdim = keepdim if keepdims is None else keepdims
    if dtype is not None:
        x = x.astype(dtype)
    if x.dtype.kind != "f":
        raise TypeError(f"norm: needs a float tensor, got {x.dtype}. Hint: x.float().norm()")
    axes = _axes(dim, axis, x.ndim, "norm")
    if isinstance(p, str):
        if p == "nuc":
            raise ValueError("norm: p='nuc' (the nuclear norm) needs a singular value "
                             "decomposition, which tinygrad_edu does not have")
        if p != "fro":
            raise ValueError(f"norm: unknown p={p!r}; use a number, inf, -inf or 'fro'")
        p = 2
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"norm: p must be a number or 'fro', got {p!r}")
    p = float(p)
    if p == 2:
        return _safe_root((x * x).sum(axes, keepdim), 2)
    a = x.abs()
    if p == 1:
        return a.sum(axes, keepdim)
    if p == np.inf:
        return a.max(axes, keepdim)  # NOTE: ties share the gradient evenly (as PyTorch)
    if p == -np.inf:
        return a.min(axes, keepdim)
    if p == 0:  # count of non-zeros; the where(False, x, 0) term keeps x in the graph with
        nonzero = Tensor._wrap((x.data != 0).astype(x.dtype))  # gradient exactly 0
        nothing = Tensor._wrap(np.zeros(x.shape, dtype=bool))
        return (nonzero + _where(nothing, x, 0.0)).sum(axes, keepdim)
    zero = a == 0
    terms = _where(zero, 0.0 if p > 0 else np.inf, _where(zero, 1.0, a) ** p)
    s = terms.sum(axes, keepdim)
    return _safe_root(s, p) if p > 0 else s ** (1.0 / p)


def _safe_root(s, p):
    """s^(1/p) with gradient 0 (not nan) where s == 0."""
    zero = s == 0
    base = _where(zero, 1.0, s)
    root = base.sqrt() if p == 2 else base ** (1.0 / p)
    return _where(zero, 0.0, root)


# ---------------------------------------------------------------------------- products


def _vector(v, op, which):
    v = v if isinstance(v, Tensor) else Tensor(v)
    if v.ndim != 1:
        raise ValueError(f"{op}: expects 1-D tensors, but the {which} has shape {v.shape}. "
                         "Hint: matmul (@) multiplies matrices; flatten() makes a vector")
    return v


def dot(a, b):
    """sum_i a_i b_i of two 1-D tensors of the same length (a 0-d tensor)."""
    a, b = _vector(a, "dot", "first"), _vector(b, "dot", "second")
    if a.shape != b.shape:
        raise ValueError(f"dot: the vectors have different lengths: {a.shape[0]} and "
                         f"{b.shape[0]}")
    return _matmul(a, b)


def outer(a, b):
    """z_ij = a_i b_j of two 1-D tensors (an (n, m) tensor)."""
    a, b = _vector(a, "outer", "first"), _vector(b, "outer", "second")
    return a.reshape((a.shape[0], 1)) * b.reshape((1, b.shape[0]))


# ---------------------------------------------------------------------------- misc


def any_(x, dim=None, keepdim=False, axis=None, keepdims=None, out=None):
    """True where any element over ``dim`` is non-zero (bool tensor, no graph)."""
    axes = _axes(dim, axis, x.ndim, "any")
    if out is not None:
        raise TypeError("any: out= is not supported")
    return Tensor._wrap(np.any(x.data, axis=axes, keepdims=keepdim if keepdims is None
                               else keepdims))


def all_(x, dim=None, keepdim=False, axis=None, keepdims=None, out=None):
    """True where every element over ``dim`` is non-zero (bool tensor, no graph)."""
    axes = _axes(dim, axis, x.ndim, "all")
    if out is not None:
        raise TypeError("all: out= is not supported")
    return Tensor._wrap(np.all(x.data, axis=axes, keepdims=keepdim if keepdims is None
                               else keepdims))


def t(x):
    """Transpose a matrix; a 0-d or 1-D tensor comes back as it is (as PyTorch)."""
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor with at most 2 dims, got shape {x.shape}. "
                         "Hint: transpose(dim0, dim1) or permute(...) for more dims")
    return x if x.ndim < 2 else x.transpose(0, 1)


def masked_fill(x, mask, value):
    """x with ``value`` wherever the bool ``mask`` (broadcast with x) is True. A 0-d tensor
    value that requires grad gets the gradient of the filled places."""
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_fill: the mask must be a bool tensor, got dtype {m.dtype}. "
                        "Hint: compare first, e.g. x.masked_fill(x < 0, 0.0)")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"masked_fill: the value must be a number or a 0-d tensor, got "
                             f"shape {value.shape}. Hint: where(mask, other, x) takes a tensor")
        value = value.astype(x.dtype)
    else:
        value = Tensor._wrap(np.asarray(value).astype(x.dtype))
    return _where(Tensor._wrap(m), value, x)


def add(x, other, alpha=1, op="add"):
    """x + alpha * other (``sub``: x - alpha * other)"""
    if alpha != 1:
        o_int = not isinstance(other, float) and (not isinstance(other, Tensor)
                                                  or other.dtype.kind != "f")
        if x.dtype.kind != "f" and o_int and isinstance(alpha, (float, np.floating)):
            raise TypeError(f"{op}: alpha={alpha} is a float but both operands are integers; "
                            "give an integer alpha or convert with .float()")
        other = (other if isinstance(other, Tensor) else Tensor(other)) * alpha
    return x - other if op == "sub" else x + other


# ---------------------------------------------------------------------------- dtype, device

# PyTorch spellings: "float" is float32 there (numpy would read float64)
_DTYPE_NAMES = {"float": np.float32, "float32": np.float32, "double": np.float64,
                "float64": np.float64, "long": np.int64, "int64": np.int64, "bool": np.bool_}
_TYPE_NAMES = {"FloatTensor": np.float32, "DoubleTensor": np.float64, "LongTensor": np.int64,
               "BoolTensor": np.bool_}
_OTHER_DEVICES = ("cuda", "mps", "xpu", "hip", "xla", "meta", "vulkan", "opengl", "opencl",
                  "ipu", "hpu", "mtia", "lazy", "ve", "fpga", "privateuseone")


def _as_dtype(v):
    """A dtype, a dtype name or a Python type -> numpy dtype, or None if it is none of those."""
    if isinstance(v, str):
        return np.dtype(_DTYPE_NAMES[v]) if v in _DTYPE_NAMES else None
    if isinstance(v, (np.dtype, type)):  # float, int, bool, np.float32, ...
        try:
            return np.dtype(v)
        except TypeError:
            return None
    return None


def _check_device(device, op):
    name = str(device)
    if re.fullmatch(r"cpu(:0)?", name):
        return
    if name.split(":")[0] in _OTHER_DEVICES:
        raise RuntimeError(f"{op}: device {name!r} is not available: tinygrad_edu computes on "
                           "the CPU only (numpy storage, C kernels). Hint: drop the .to(device) "
                           "call, or pass 'cpu'")
    raise ValueError(f"{op}: {device!r} is neither a dtype (float32, float64, int64, bool) nor "
                     "a device (only 'cpu')")


def to(x, *args, dtype=None, device=None, copy=False, non_blocking=False):
    """``x.to(dtype)``, ``x.to('cpu')``, ``x.to('cpu', dtype)``, ``x.to(other_tensor)``.

    Returns x itself when nothing changes (as PyTorch), a converted copy otherwise; with
    ``copy=True`` always a new tensor. Conversion is differentiable (float to float)."""
    if len(args) > 2:
        raise TypeError(f"to: takes at most 2 positional arguments, got {len(args)}")
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif _as_dtype(a) is not None:
            dtype = a
        else:
            _check_device(a, "to")
    if device is not None:
        _check_device(device, "to")
    out = x
    if dtype is not None:
        dt = _as_dtype(dtype)
        if dt is None:
            raise TypeError(f"to: {dtype!r} is not a dtype (float32, float64, int64, bool)")
        out = x.astype(_check_dtype(dt))
    return out.clone() if copy and out is x else out


def type_(x, dtype=None):
    """No argument: the type name ('tinygrad_edu.FloatTensor', ...). With a dtype or such a
    name ('torch.' prefixes accepted too): the converted tensor (x itself if unchanged)."""
    if dtype is None:
        name = {v: k for k, v in _TYPE_NAMES.items()}[x.dtype.type]
        return f"tinygrad_edu.{name}"
    dt = _as_dtype(dtype)
    if dt is None and isinstance(dtype, str):
        short = re.sub(r"^(tinygrad_edu|torch)\.", "", dtype)
        dt = np.dtype(_TYPE_NAMES[short]) if short in _TYPE_NAMES else None
    if dt is None:
        raise TypeError(f"type: unknown type {dtype!r}; use a dtype (float32, float64, int64, "
                        "bool) or a name such as 'tinygrad_edu.FloatTensor'")
    return x.astype(_check_dtype(dt))


def contiguous(x):
    """x if its memory is C-contiguous, else a contiguous (differentiable) copy."""
    return x if x.data.flags.c_contiguous else x.clone()


# ---------------------------------------------------------------------------- retain_grad


def retain_grad(x):
    """Keep the gradient of a non-leaf in ``x.grad`` after backward (leaves keep it anyway).

    The node that made ``x`` holds ``x`` weakly (tensor -> node -> tensor must not be a
    cycle); the backward walk stores the gradient there after running every hook."""
    if not x.requires_grad:
        raise RuntimeError(f"retain_grad: this tensor (shape {x.shape}) does not require grad, "
                           "so it gets no gradient to keep")
    if x._ctx is not None:
        x._ctx.retained = weakref.ref(x)


def retains_grad(x):
    node = x._ctx
    return node is not None and node.retained is not None and node.retained() is x
