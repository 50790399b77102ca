"""Shape algebra: cat/stack, split/chunk, pad, where, clip, flip, tile/repeat, roll.

These ops move or select numbers without arithmetic, so each backward moves the gradient
back: cat's backward slices ``g`` into pieces, pad's slices the padding off, flip's flips,
roll's rolls back, tile's sums the copies, where's routes ``g`` to the branch that was taken.
"""

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, _lift, result_dtype
from .indexing import Index
from .reduce import sum_to_shape


def _axis(axis, ndim, op):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for {ndim}-dim tensors")
    return int(axis) % ndim


def _slice_key(axis, start, stop):
    return (slice(None),) * axis + (slice(start, stop),)


def _same_dtype(tensors):
    """Promote a list of tensors to one dtype (float32 + float64 -> float64, int + float -> float)."""
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = result_dtype(dt, t.dtype) if t.dtype != dt else dt
    return [t if t.dtype == dt else t.astype(dt) for t in tensors]


def _tensor_list(tensors, op):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    return _same_dtype([t if isinstance(t, Tensor) else Tensor(t) for t in tensors])


# ---------------------------------------------------------------------------- cat / stack


class Cat(Function):
    """z = [x1 | x2 | ...] along ``axis``    dz/dxi = the slice of g where xi was placed"""

    @staticmethod
    def forward(ctx, *xs, axis):
        ctx.axis = axis
        ctx.bounds = np.cumsum([0] + [x.shape[axis] for x in xs]).tolist()
        return np.concatenate([x.data for x in xs], axis=axis)

    @staticmethod
    def backward(ctx, g):
        b, a = ctx.bounds, ctx.axis
        return tuple(Index.apply(g, key=_slice_key(a, b[i], b[i + 1])) if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


def cat(tensors, axis=0):
    """Join tensors along an existing axis; all other sizes must match."""
    ts = _tensor_list(tensors, "cat")
    if any(t.ndim == 0 for t in ts):
        raise ValueError(f"cat: zero-dimensional tensors cannot be concatenated (shapes "
                         f"{[t.shape for t in ts]}); use stack")
    nd = ts[0].ndim
    if any(t.ndim != nd for t in ts):
        raise ValueError(f"cat: all tensors need the same number of dims; shapes "
                         f"{[t.shape for t in ts]}")
    axis = _axis(axis, nd, "cat")
    ref = ts[0].shape[:axis] + ts[0].shape[axis + 1:]
    if any(t.shape[:axis] + t.shape[axis + 1:] != ref for t in ts):
        raise ValueError(f"cat: along axis {axis} all other dims must match; shapes "
                         f"{[t.shape for t in ts]}")
    return Cat.apply(*ts, axis=axis)


def concatenate(tensors, axis=0):
    """numpy's name for ``cat``."""
    return cat(tensors, axis)


class Stack(Function):
    """z[.., i, ..] = xi (a new axis)    dz/dxi = g[.., i, ..]"""

    @staticmethod
    def forward(ctx, *xs, axis):
        ctx.axis = axis
        return np.stack([x.data for x in xs], axis=axis)

    @staticmethod
    def backward(ctx, g):
        pre = (slice(None),) * ctx.axis
        return tuple(Index.apply(g, key=pre + (i,)) if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


def stack(tensors, axis=0):
    """Join equally shaped tensors along a new axis."""
    ts = _tensor_list(tensors, "stack")
    if any(t.shape != ts[0].shape for t in ts):
        raise ValueError(f"stack: all tensors must have the same shape; shapes "
                         f"{[t.shape for t in ts]}")
    return Stack.apply(*ts, axis=_axis(axis, ts[0].ndim + 1, "stack"))


# ---------------------------------------------------------------------------- split / chunk


def split(x, split_size_or_sections, axis=0):
    """Cut ``x`` along ``axis`` into pieces (PyTorch's convention, not numpy's):

    - an int n: pieces of size n each (the last one smaller if the size does not divide);
    - a list of ints: the size of each piece; they must add up to x.shape[axis].
    Returns a tuple of views; each piece's gradient flows back into its place.
    """
    axis = _axis(axis, x.ndim, "split")
    n = x.shape[axis]
    s = split_size_or_sections
    if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
        if s <= 0:
            raise ValueError(f"split: split size must be positive, got {s}")
        sizes = [min(s, n - i) for i in range(0, n, s)] or [0]
    else:
        sizes = [int(v) for v in s]
        if any(v < 0 for v in sizes) or sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} must be non-negative and add up to {n} "
                             f"(axis {axis} of shape {x.shape})")
    bounds = np.cumsum([0] + sizes).tolist()
    return tuple(Index.apply(x, key=_slice_key(axis, bounds[i], bounds[i + 1]))
                 for i in range(len(sizes)))


def chunk(x, chunks, axis=0):
    """Cut into ``chunks`` pieces of size ceil(n / chunks) (fewer pieces if n is small)."""
    if not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    axis = _axis(axis, x.ndim, "chunk")
    n = x.shape[axis]
    return split(x, max(-(-n // int(chunks)), 1), axis)


# ---------------------------------------------------------------------------- pad


class Pad(Function):
    """z = x surrounded by ``value``    dz/dx = the inner part of g (padding gets no gradient)"""

    @staticmethod
    def forward(ctx, x, pairs, value):
        shape = tuple(n + a + b for n, (a, b) in zip(x.shape, pairs))
        ctx.inner = tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, pairs))
        out = np.full(shape, value, dtype=x.data.dtype)
        out[ctx.inner] = x.data
        return out

    @staticmethod
    def backward(ctx, g):
        return Index.apply(g, key=ctx.inner)


def pad(x, pad, value=0.0):
    """Constant padding. ``pad`` is accepted in either of two spellings:

    - a flat sequence of ints, PyTorch's order, starting from the LAST dim:
      ``(left, right)`` pads the last dim, ``(left, right, top, bottom)`` the last two, ...
    - a sequence of (before, after) pairs, numpy's ``pad_width``, one pair per dim from the
      FIRST dim: ``((0, 0), (0, 0), (1, 1), (2, 2))`` for an (N, C, H, W) tensor.
    The spelling is told apart by whether the entries are ints or pairs. Negative padding is
    not supported.
    """
    entries = list(pad)
    if entries and all(isinstance(e, (int, np.integer)) for e in entries):
        if len(entries) % 2 or len(entries) // 2 > x.ndim:
            raise ValueError(f"pad: a flat (PyTorch-order) pad needs an even number of ints, "
                             f"at most 2 * ndim = {2 * x.ndim}; got {tuple(entries)} for shape "
                             f"{x.shape}")
        pairs = [(0, 0)] * x.ndim
        for i in range(len(entries) // 2):
            pairs[x.ndim - 1 - i] = (int(entries[2 * i]), int(entries[2 * i + 1]))
    else:
        try:
            pairs = [(int(a), int(b)) for a, b in entries]
        except (TypeError, ValueError):
            raise ValueError(f"pad: expected a flat tuple of ints (PyTorch order) or one "
                             f"(before, after) pair per dim (numpy order), got {pad!r}") from None
        if len(pairs) != x.ndim:
            raise ValueError(f"pad: numpy-style pad_width needs one (before, after) pair per "
                             f"dim: {x.ndim} for shape {x.shape}, got {len(pairs)}")
    if any(a < 0 or b < 0 for a, b in pairs):
        raise ValueError(f"pad: negative padding is not supported, got {pad!r}")
    return Pad.apply(x, pairs=tuple(pairs), value=value)


# ---------------------------------------------------------------------------- where


class Where(Function):
    """z = a where cond else b    dz/da = g where cond (else 0)    dz/db = g where not cond"""

    @staticmethod
    def forward(ctx, a, b, cond):
        ctx.cond, ctx.shapes = cond, (a.shape, b.shape)
        return np.where(cond, a.data, b.data)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        zero = Tensor._wrap(np.zeros((), dtype=g.dtype))
        return (sum_to_shape(Where.apply(g, zero, cond=ctx.cond), ctx.shapes[0]) if na else None,
                sum_to_shape(Where.apply(zero, g, cond=ctx.cond), ctx.shapes[1]) if nb else None)


def where(cond, a, b):
    """Elementwise ``a if cond else b``; cond, a and b broadcast together. ``cond`` is a bool
    tensor (or array); a and b may be tensors or Python scalars."""
    c = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    if c.dtype != np.bool_:
        raise TypeError(f"where: cond must be a bool tensor, got dtype {c.dtype}. Hint: "
                        "compare first, e.g. where(x > 0, x, 0.0)")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(a)
    a = a if isinstance(a, Tensor) else _lift(a, b)
    b = b if isinstance(b, Tensor) else _lift(b, a)
    try:
        np.broadcast_shapes(c.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: shapes cannot be broadcast together: cond {c.shape}, "
                         f"a {a.shape}, b {b.shape}") from None
    a, b = _same_dtype([a, b])
    return Where.apply(a, b, cond=c)


# ---------------------------------------------------------------------------- clip


class Clip(Function):
    """z = min(max(x, lo), hi)    dz/dx = 1 where lo <= x <= hi, else 0

    At exactly x == lo or x == hi the gradient is 1 (as PyTorch's clamp); it is a kink."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(x.data, lo, hi).astype(x.data.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        inside = np.ones(x.shape, dtype=bool)
        if ctx.lo is not None:
            inside &= x.data >= ctx.lo
        if ctx.hi is not None:
            inside &= x.data <= ctx.hi
        return g * Tensor._wrap(inside.astype(g.dtype))


def clip(x, min=None, max=None):  # PyTorch's and numpy's keyword names
    """Limit values to [min, max]; either bound may be None. Tensor bounds use
    maximum/minimum (gradient to the bound tensor too, split evenly at ties)."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x if min is None else x.maximum(min)
        return out if max is None else out.minimum(max)
    if min is not None and max is not None and min > max:
        raise ValueError(f"clip: min ({min}) is greater than max ({max})")
    if x.dtype.kind != "f" and any(isinstance(v, (float, np.floating)) for v in (min, max)):
        x = x.float()  # int tensor clipped to float bounds -> float32, as in PyTorch
    return Clip.apply(x, lo=min, hi=max)


clamp = clip


# ---------------------------------------------------------------------------- flip / roll / tile


def _axes(axis, ndim, op):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = tuple(_axis(a, ndim, op) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return out


class Flip(Function):
    """z = x reversed along ``axes``    dz/dx = g reversed along the same axes"""

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return np.flip(x.data, axes)

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, axes=ctx.axes)


def flip(x, axis=None):
    """Reverse the order along ``axis`` (int or tuple; None = every axis). A view."""
    return Flip.apply(x, axes=_axes(axis, x.ndim, "flip"))


class Roll(Function):
    """z = x shifted cyclically by ``shifts``    dz/dx = g shifted back by -shifts"""

    @staticmethod
    def forward(ctx, x, shifts, axes):
        ctx.shifts, ctx.axes = shifts, axes
        return np.roll(x.data, shifts, axes)

    @staticmethod
    def backward(ctx, g):
        back = -ctx.shifts if ctx.axes is None else tuple(-s for s in ctx.shifts)
        return Roll.apply(g, shifts=back, axes=ctx.axes)


def roll(x, shifts, axis=None):
    """Shift elements cyclically; ``axis=None`` rolls the flattened tensor (like numpy)."""
    if axis is None:
        if not isinstance(shifts, (int, np.integer)):
            raise ValueError("roll: with axis=None, shifts must be a single int")
        return Roll.apply(x, shifts=int(shifts), axes=None)
    single = isinstance(axis, (int, np.integer))
    axes = (_axis(axis, x.ndim, "roll"),) if single else tuple(_axis(a, x.ndim, "roll") for a in axis)
    sh = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if len(sh) != len(axes):
        raise ValueError(f"roll: {len(sh)} shifts for {len(axes)} axes")
    return Roll.apply(x, shifts=tuple(int(s) for s in sh), axes=axes)


class Tile(Function):
    """z = x repeated ``reps[i]`` times along axis i (numpy's tile)

    dz/dx = the sum of the gradients of all copies: view g as (r0, n0, r1, n1, ...) and sum
    over the r axes."""

    @staticmethod
    def forward(ctx, x, reps):
        ctx.in_shape = x.shape
        ctx.reps = reps
        return np.tile(x.data, reps)

    @staticmethod
    def backward(ctx, g):
        reps = ctx.reps
        shape = (1,) * (len(reps) - len(ctx.in_shape)) + ctx.in_shape
        split = tuple(v for r, n in zip(reps, shape) for v in (r, n))
        return g.reshape(split).sum(axis=tuple(range(0, 2 * len(reps), 2))).reshape(ctx.in_shape)


def tile(x, reps):
    """numpy's tile: repeat the whole tensor ``reps[i]`` times along axis i. ``reps`` longer
    than x.ndim adds leading axes; shorter is padded with 1s on the left."""
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    if any(not isinstance(r, (int, np.integer)) or r < 0 for r in reps):
        raise ValueError(f"tile: repetitions must be non-negative ints, got {reps}")
    reps = (1,) * (x.ndim - len(reps)) + tuple(int(r) for r in reps)
    return Tile.apply(x, reps=reps)


def repeat(x, *sizes):
    """PyTorch's ``Tensor.repeat(*sizes)``: the same as numpy's ``tile`` (NOT numpy's
    ``repeat``, which repeats each element); needs len(sizes) >= x.ndim."""
    if len(sizes) == 1 and not isinstance(sizes[0], (int, np.integer)):
        sizes = tuple(sizes[0])
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: needs at least one size per dim ({x.ndim} for shape "
                         f"{x.shape}), got {sizes}")
    return tile(x, sizes)


# ---------------------------------------------------------------------------- maximum / minimum


def maximum(a, b):
    """Elementwise max of two tensors (or a tensor and a scalar); ties split the gradient."""
    if not isinstance(a, Tensor):
        a = _lift(a, b) if isinstance(b, Tensor) else Tensor(a)
    return a.maximum(b)


def minimum(a, b):
    """Elementwise min of two tensors (or a tensor and a scalar); ties split the gradient."""
    if not isinstance(a, Tensor):
        a = _lift(a, b) if isinstance(b, Tensor) else Tensor(a)
    return a.minimum(b)
