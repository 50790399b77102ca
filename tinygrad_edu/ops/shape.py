"""Shape ops: reshape, permute/transpose, expand (broadcast), squeeze/unsqueeze, flatten.

They move no numbers, so their gradients only move the gradient back into the input's shape:
reshape back, permute by the inverse permutation, and sum over what expand stretched.
"""

import numpy as np

from ..autograd import Function
from .reduce import sum_to_shape


class Reshape(Function):
    """z = x viewed with a new shape    dz/dx: reshape g back to x's shape"""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.data.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class Permute(Function):
    """z = x with its axes reordered    dz/dx: permute g by the inverse order"""

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.data.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return g.permute(tuple(np.argsort(ctx.axes)))


class Expand(Function):
    """z = x broadcast to a bigger shape    dz/dx = sum of g over the broadcast axes"""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return np.broadcast_to(x.data, shape)

    @staticmethod
    def backward(ctx, g):
        return sum_to_shape(g, ctx.in_shape)


def _shape_tuple(shape, op):
    try:
        return tuple(int(n) for n in shape)
    except TypeError:
        raise TypeError(f"{op}: shape must be a sequence of ints, got {shape!r}") from None


def reshape(x, shape):
    shape = _shape_tuple(shape, "reshape")
    if shape == x.shape:
        return x
    known = [n for n in shape if n != -1]
    if shape.count(-1) > 1 or any(n < -1 for n in shape):
        raise ValueError(f"reshape: invalid target shape {shape}")
    total = int(np.prod(known)) if known else 1
    if (-1 in shape and (total == 0 or x.size % total)) or (-1 not in shape and total != x.size):
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({x.size} elements) into shape {shape}")
    return Reshape.apply(x, shape=shape)


def permute(x, axes):
    axes = _shape_tuple(axes, "permute")
    ok = len(axes) == x.ndim and all(-x.ndim <= a < x.ndim for a in axes)
    if not ok or sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} axes of a "
                         f"tensor of shape {x.shape}")
    axes = tuple(a % x.ndim for a in axes)
    return x if axes == tuple(range(x.ndim)) else Permute.apply(x, axes=axes)


def transpose(x, dim0=-2, dim1=-1):
    if x.ndim < 2:
        return x
    for d in (dim0, dim1):
        if not -x.ndim <= d < x.ndim:
            raise ValueError(f"transpose: dim {d} out of range for shape {x.shape}")
    axes = list(range(x.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return permute(x, axes)


def expand(x, shape):
    shape = _shape_tuple(shape, "expand")
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: cannot expand shape {x.shape} to fewer dims {shape}")
    # -1 keeps the size of that axis, as in PyTorch
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
    for i, n in enumerate(x.shape):
        if n != 1 and n != shape[lead + i]:
            raise ValueError(f"expand: shape {x.shape} cannot be broadcast to {shape} "
                             f"(axis {i}: {n} vs {shape[lead + i]})")
    return x if shape == x.shape else Expand.apply(x, shape=shape)


def squeeze(x, axis=None):
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = {a % x.ndim for a in axes} if x.ndim else set()
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has size {x.shape[a]}, not 1 (shape {x.shape})")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def unsqueeze(x, axis):
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise ValueError(f"unsqueeze: axis {axis} out of range for shape {x.shape}")
    axis = axis % (x.ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = start_dim % x.ndim, end_dim % x.ndim
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(x, x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:])
