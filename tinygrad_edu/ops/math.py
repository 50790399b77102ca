"""More elementwise math: sin, cos, log1p, expm1, erf, reciprocal, square, rsqrt.

Each forward is one backend kernel; each backward is written in Tensor ops, so it can be
differentiated again. The module-level functions at the end (``tg.sin(x)``, ``tg.exp(x)``,
...) accept tensors or plain numbers.
"""

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Sin(Function):
    """z = sin x    dz/dx = cos x"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.sin(x.data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * Cos.apply(x)


class Cos(Function):
    """z = cos x    dz/dx = -sin x"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.cos(x.data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -g * Sin.apply(x)


class Log1p(Function):
    """z = ln(1 + x)  (accurate for tiny x)    dz/dx = 1 / (1 + x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.log1p(x.data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1 + x)


class Expm1(Function):
    """z = e^x - 1  (accurate for tiny x)    dz/dx = e^x = z + 1"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_output(out := backend.expm1(x.data))
        return out

    @staticmethod
    def backward(ctx, g):
        return g * (ctx.output + 1)


class Erf(Function):
    """z = erf x = 2/sqrt(pi) * integral_0^x e^(-t^2) dt    dz/dx = 2/sqrt(pi) e^(-x^2)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.erf(x.data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (-(x * x)).exp() * _TWO_OVER_SQRT_PI


class Reciprocal(Function):
    """z = 1 / x    dz/dx = -1 / x^2 = -z^2"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_output(out := backend.reciprocal(x.data))
        return out

    @staticmethod
    def backward(ctx, g):
        z = ctx.output
        return -g * z * z


class Square(Function):
    """z = x^2    dz/dx = 2x"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.square(x.data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x * 2


class Rsqrt(Function):
    """z = 1 / sqrt(x)    dz/dx = -1/2 x^(-3/2) = -z^3 / 2"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_output(out := backend.rsqrt(x.data))
        return out

    @staticmethod
    def backward(ctx, g):
        z = ctx.output
        return g * z * z * z * -0.5


def _float_op(fn, name):
    """A module-level function: lift numbers to tensors, ints to float32, then apply ``fn``."""

    def op(x):
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.dtype.kind != "f":
            x = x.float()
        return fn(x)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name} of a tensor (or number); ints become float32."
    return op


sin = _float_op(Sin.apply, "sin")
cos = _float_op(Cos.apply, "cos")
log1p = _float_op(Log1p.apply, "log1p")
expm1 = _float_op(Expm1.apply, "expm1")
erf = _float_op(Erf.apply, "erf")
reciprocal = _float_op(Reciprocal.apply, "reciprocal")

rsqrt = _float_op(Rsqrt.apply, "rsqrt")
exp = _float_op(lambda x: x.exp(), "exp")
log = _float_op(lambda x: x.log(), "log")
sqrt = _float_op(lambda x: x.sqrt(), "sqrt")
tanh = _float_op(lambda x: x.tanh(), "tanh")
sigmoid = _float_op(lambda x: x.sigmoid(), "sigmoid")


def square(x):
    """Elementwise x * x of a tensor (or number). Int tensors stay int64, as in PyTorch."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    return Square.apply(x.long() if x.dtype == np.bool_ else x)
