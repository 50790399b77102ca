"""Elementwise ops: z = f(x) or z = f(x, y), with numpy broadcasting for the binary ones.

Each class is one op: the math in the docstring, the forward calling a backend kernel, the
backward written in Tensor ops (so it can be differentiated again under create_graph).

Broadcasting: a binary op's inputs may have different shapes; the gradient reaching an input
must have that input's shape, so every binary backward passes its results through
``sum_to_shape``, which sums the gradient over the broadcast axes.

``kernel = "name"`` on a class says its forward is that backend kernel alone (plus what it
saves for backward); when no graph is recorded, ``Function.apply`` calls the kernel directly.
"""

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor, _lift
from .reduce import sum_to_shape


class Cast(Function):
    """z = x as another dtype    dz/dx = 1 (the gradient is cast back)"""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.data.dtype
        return x.data.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.in_dtype)


class Clone(Function):
    """z = copy of x    dz/dx = 1"""

    @staticmethod
    def forward(ctx, x):
        return x.data.copy()

    @staticmethod
    def backward(ctx, g):
        return g


# ---------------------------------------------------------------------------- unary


class Neg(Function):
    """z = -x    dz/dx = -1"""

    kernel = "neg"

    @staticmethod
    def forward(ctx, x):
        return backend.neg(x.data)

    @staticmethod
    def backward(ctx, g):
        return -g


class Exp(Function):
    """z = e^x    dz/dx = e^x = z"""

    kernel = "exp"

    @staticmethod
    def forward(ctx, x):
        ctx.save_output(out := backend.exp(x.data))
        return out

    @staticmethod
    def backward(ctx, g):
        return g * ctx.output


class Log(Function):
    """z = ln x    dz/dx = 1/x"""

    kernel = "log"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.log(x.data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class Sqrt(Function):
    """z = sqrt(x)    dz/dx = 1 / (2 sqrt(x)) = 1 / (2z)"""

    kernel = "sqrt"

    @staticmethod
    def forward(ctx, x):
        ctx.save_output(out := backend.sqrt(x.data))
        return out

    @staticmethod
    def backward(ctx, g):
        return g / (2 * ctx.output)


class Abs(Function):
    """z = |x|    dz/dx = sign(x)  (0 at x = 0, a kink)"""

    kernel = "abs"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.abs(x.data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x.sign()


class Sign(Function):
    """z = sign(x)    dz/dx = 0 almost everywhere"""

    kernel = "sign"

    @staticmethod
    def forward(ctx, x):
        return backend.sign(x.data)

    @staticmethod
    def backward(ctx, g):
        return g * 0


class Tanh(Function):
    """z = tanh x    dz/dx = 1 - z^2   (the backward is one fused kernel)"""

    kernel = "tanh"

    @staticmethod
    def forward(ctx, x):
        ctx.save_output(out := backend.tanh(x.data))
        return out

    @staticmethod
    def backward(ctx, g):
        return TanhBackward.apply(ctx.output, g)


class TanhBackward(Function):
    """r = g (1 - y^2)    dr/dg = 1 - y^2    dr/dy = -2 g y"""

    kernel = "tanh_backward"

    @staticmethod
    def forward(ctx, y, g):
        ctx.save_for_backward(y, g)
        return backend.tanh_backward(y.data, g.data)

    @staticmethod
    def backward(ctx, gg):
        y, g = ctx.saved_tensors
        return -2 * gg * g * y, TanhBackward.apply(y, gg)


class Sigmoid(Function):
    """z = 1 / (1 + e^-x)    dz/dx = z (1 - z)   (the backward is one fused kernel)"""

    kernel = "sigmoid"

    @staticmethod
    def forward(ctx, x):
        ctx.save_output(out := backend.sigmoid(x.data))
        return out

    @staticmethod
    def backward(ctx, g):
        return SigmoidBackward.apply(ctx.output, g)


class SigmoidBackward(Function):
    """r = g y (1 - y)    dr/dg = y (1 - y)    dr/dy = g (1 - 2y)"""

    kernel = "sigmoid_backward"

    @staticmethod
    def forward(ctx, y, g):
        ctx.save_for_backward(y, g)
        return backend.sigmoid_backward(y.data, g.data)

    @staticmethod
    def backward(ctx, gg):
        y, g = ctx.saved_tensors
        return gg * g * (1 - 2 * y), SigmoidBackward.apply(y, gg)


class Relu(Function):
    """z = max(x, 0)    dz/dx = 1 if x > 0 else 0   (kink at 0; we use 0 there)"""

    kernel = "relu"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.relu(x.data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ReluBackward.apply(x, g)


class ReluBackward(Function):
    """r = g * (x > 0)    dr/dg = (x > 0)    dr/dx = 0 almost everywhere"""

    kernel = "relu_backward"

    @staticmethod
    def forward(ctx, x, g):
        ctx.save_for_backward(x)
        return backend.relu_backward(x.data, g.data)

    @staticmethod
    def backward(ctx, gg):
        (x,) = ctx.saved_tensors
        return None, ReluBackward.apply(x, gg)


# ---------------------------------------------------------------------------- binary


class Add(Function):
    """z = x + y    dz/dx = 1    dz/dy = 1"""

    kernel = "add"

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (x.data.shape, y.data.shape)
        return backend.add(x.data, y.data)

    @staticmethod
    def backward(ctx, g):
        (sx, sy), (nx, ny) = ctx.shapes, ctx.needs_input_grad
        return sum_to_shape(g, sx) if nx else None, sum_to_shape(g, sy) if ny else None


class Sub(Function):
    """z = x - y    dz/dx = 1    dz/dy = -1"""

    kernel = "sub"

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (x.data.shape, y.data.shape)
        return backend.sub(x.data, y.data)

    @staticmethod
    def backward(ctx, g):
        (sx, sy), (nx, ny) = ctx.shapes, ctx.needs_input_grad
        return sum_to_shape(g, sx) if nx else None, sum_to_shape(-g, sy) if ny else None


class Mul(Function):
    """z = x * y    dz/dx = y    dz/dy = x"""

    kernel = "mul"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return backend.mul(x.data, y.data)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        return (sum_to_shape(g * y, x.data.shape) if nx else None,
                sum_to_shape(g * x, y.data.shape) if ny else None)


class Div(Function):
    """z = x / y    dz/dx = 1/y    dz/dy = -x / y^2"""

    kernel = "div"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return backend.div(x.data, y.data)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        return (sum_to_shape(g / y, x.shape) if nx else None,
                sum_to_shape(-g * x / (y * y), y.shape) if ny else None)


class Pow(Function):
    """z = x^y    dz/dx = y x^(y-1)    dz/dy = x^y ln x   (needs x > 0 for y's gradient)"""

    kernel = "pow"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return backend.pow(x.data, y.data)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        e = y - 1
        if nx and (y.data == 0).any():
            # NOTE (issue 7): where y == 0 the derivative is 0, but 0 * x^(0-1) is nan at x = 0
            # (third derivative of x**2 at 0). Use exponent 0 there: 0 * x^0 = 0.
            e = y - Tensor._wrap((y.data != 0).astype(y.dtype))
        gx = sum_to_shape(g * y * x**e, x.shape) if nx else None
        gy = sum_to_shape(g * x**y * x.log(), y.shape) if ny else None
        return gx, gy


class Maximum(Function):
    """z = max(x, y)    dz/dx = [x > y] + [x == y]/2    dz/dy = [y > x] + [x == y]/2

    At ties the gradient is split evenly between the two inputs (as PyTorch does)."""

    kernel = "maximum"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return backend.maximum(x.data, y.data)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return _minmax_backward(g, x.data, y.data, np.greater)


class Minimum(Function):
    """z = min(x, y)    dz/dx = [x < y] + [x == y]/2    dz/dy = [y < x] + [x == y]/2"""

    kernel = "minimum"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return backend.minimum(x.data, y.data)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return _minmax_backward(g, x.data, y.data, np.less)


def _minmax_backward(g, x, y, wins):
    dt = g.dtype
    tie = (x == y).astype(dt) * dt.type(0.5)
    wx = Tensor._wrap(wins(x, y).astype(dt) + tie)
    wy = Tensor._wrap(wins(y, x).astype(dt) + tie)
    return sum_to_shape(g * wx, x.shape), sum_to_shape(g * wy, y.shape)


# ---------------------------------------------------------------------------- comparisons

_COMPARE = {"eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge"}


def compare(op, a, b):
    """Elementwise comparison -> bool Tensor (not differentiable; records no graph)."""
    from ..tensor import result_dtype  # local: tensor.py imports this module

    if not isinstance(b, Tensor):
        b = _lift(b, a)
    da, db = a.data.dtype, b.data.dtype
    x, y = a.data, b.data
    if da != db:
        dt = result_dtype(da, db)
        x, y = x.astype(dt), y.astype(dt)
    return Tensor._wrap(getattr(backend, _COMPARE[op])(x, y))
