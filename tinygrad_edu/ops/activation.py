"""Activations with fused kernels: leaky_relu, elu, gelu (exact and tanh), silu, softplus.

Each activation is two Functions. The forward op calls one backend kernel; its backward calls
a second, *fused* kernel that computes g * f'(x) in one pass over memory (numpy would need
several). That backward kernel is itself a Function, whose own backward is written in Tensor
ops, so second derivatives (create_graph=True) are right:

    r = B(x, g) = g * f'(x)        dr/dg = f'(x)  (B again)        dr/dx = g * f''(x)

At a kink (leaky_relu and elu at x = 0, softplus at beta*x = threshold) the derivative of
the left side is used, as in PyTorch: the test is ``x > 0`` (``beta*x > threshold``), false
at the point itself.
"""

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


def _float(x, op):
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expects a float tensor, got {x.dtype}; convert with .float()")
    return x


def _const(mask_array, like):
    return Tensor._wrap(mask_array.astype(like.dtype, copy=False))


# ---------------------------------------------------------------------------- leaky_relu


class LeakyRelu(Function):
    """z = x if x > 0 else a x    dz/dx = 1 if x > 0 else a"""

    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return backend.leaky_relu(x.data, negative_slope)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return LeakyReluBackward.apply(x, g, negative_slope=ctx.slope)


class LeakyReluBackward(Function):
    """r = g * (1 if x > 0 else a)    dr/dg = the same factor    dr/dx = 0 (piecewise linear)"""

    @staticmethod
    def forward(ctx, x, g, negative_slope):
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return backend.leaky_relu_backward(x.data, g.data, negative_slope)

    @staticmethod
    def backward(ctx, gg):
        (x,) = ctx.saved_tensors
        return None, LeakyReluBackward.apply(x, gg, negative_slope=ctx.slope)


def leaky_relu(x, negative_slope=0.01):
    return LeakyRelu.apply(_float(x, "leaky_relu"), negative_slope=float(negative_slope))


# ---------------------------------------------------------------------------- elu


class Elu(Function):
    """z = x if x > 0 else alpha (e^x - 1)    dz/dx = 1 if x > 0 else alpha e^x"""

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return backend.elu(x.data, alpha)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return EluBackward.apply(x, g, alpha=ctx.alpha)


class EluBackward(Function):
    """r = g * f'(x)    dr/dg = f'(x)    dr/dx = g * f''(x), f'' = 0 if x > 0 else alpha e^x"""

    @staticmethod
    def forward(ctx, x, g, alpha):
        ctx.save_for_backward(x, g)
        ctx.alpha = alpha
        return backend.elu_backward(x.data, g.data, alpha)

    @staticmethod
    def backward(ctx, gg):
        x, g = ctx.saved_tensors
        neg = _const(x.data <= 0, x)
        # x is clamped at 0 so exp never overflows on the positive side (masked out anyway)
        d2 = neg * x.minimum(Tensor._wrap(np.zeros((), x.dtype))).exp() * ctx.alpha
        return gg * g * d2, EluBackward.apply(x, gg, alpha=ctx.alpha)


def elu(x, alpha=1.0):
    return Elu.apply(_float(x, "elu"), alpha=float(alpha))


# ---------------------------------------------------------------------------- gelu


class Gelu(Function):
    """exact:  z = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2    dz/dx = Phi(x) + x phi(x)
    tanh:   z = x (1 + tanh u) / 2, u = c (x + k x^3)   dz/dx = (1 + t)/2 + x (1 - t^2) u' / 2
    with phi the normal density, c = sqrt(2/pi), k = 0.044715, t = tanh u, u' = c (1 + 3k x^2)."""

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.tanh = approximate == "tanh"
        return backend.gelu_tanh(x.data) if ctx.tanh else backend.gelu(x.data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return GeluBackward.apply(x, g, tanh=ctx.tanh)


class GeluBackward(Function):
    """r = g * f'(x)    dr/dg = f'(x)    dr/dx = g * f''(x) with
    exact: f'' = phi(x) (2 - x^2)        tanh: f'' = (1 - t^2) (u' + x (u'' - 2 t u'^2) / 2)"""

    @staticmethod
    def forward(ctx, x, g, tanh):
        ctx.save_for_backward(x, g)
        ctx.tanh = tanh
        fn = backend.gelu_tanh_backward if tanh else backend.gelu_backward
        return fn(x.data, g.data)

    @staticmethod
    def backward(ctx, gg):
        x, g = ctx.saved_tensors
        x2 = x * x
        if ctx.tanh:
            t = ((x + x2 * x * _GELU_K) * _GELU_C).tanh()
            du = (x2 * (3 * _GELU_K) + 1) * _GELU_C
            d2u = x * (6 * _GELU_C * _GELU_K)
            d2 = (1 - t * t) * (du + x * (d2u - 2 * t * du * du) * 0.5)
        else:
            d2 = (x2 * -0.5).exp() * _INV_SQRT_2PI * (2 - x2)
        return gg * g * d2, GeluBackward.apply(x, gg, tanh=ctx.tanh)


def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(_float(x, "gelu"), approximate=approximate)


# ---------------------------------------------------------------------------- silu


class Silu(Function):
    """z = x sigmoid(x)    dz/dx = s (1 + x (1 - s)), s = sigmoid(x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.silu(x.data)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return SiluBackward.apply(x, g)


class SiluBackward(Function):
    """r = g * f'(x)    dr/dg = f'(x)    dr/dx = g * f''(x), f'' = s (1 - s) (2 + x (1 - 2s))"""

    @staticmethod
    def forward(ctx, x, g):
        ctx.save_for_backward(x, g)
        return backend.silu_backward(x.data, g.data)

    @staticmethod
    def backward(ctx, gg):
        x, g = ctx.saved_tensors
        s = x.sigmoid()
        d2 = s * (1 - s) * (2 + x * (1 - 2 * s))
        return gg * g * d2, SiluBackward.apply(x, gg)


def silu(x):
    return Silu.apply(_float(x, "silu"))


# ---------------------------------------------------------------------------- softplus


class Softplus(Function):
    """z = log(1 + e^(b x)) / b, and z = x where b x > threshold (to avoid overflow)
    dz/dx = sigmoid(b x)  (1 beyond the threshold)"""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.params = (beta, threshold)
        return backend.softplus(x.data, beta, threshold)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        beta, threshold = ctx.params
        return SoftplusBackward.apply(x, g, beta=beta, threshold=threshold)


class SoftplusBackward(Function):
    """r = g sigmoid(b x)    dr/dg = sigmoid(b x)    dr/dx = g b s (1 - s)  (0 beyond threshold)"""

    @staticmethod
    def forward(ctx, x, g, beta, threshold):
        ctx.save_for_backward(x, g)
        ctx.params = (beta, threshold)
        return backend.softplus_backward(x.data, g.data, beta, threshold)

    @staticmethod
    def backward(ctx, gg):
        x, g = ctx.saved_tensors
        beta, threshold = ctx.params
        s = (x * beta).sigmoid()
        inside = _const(x.data * beta <= threshold, x)
        return (gg * g * s * (1 - s) * inside * beta,
                SoftplusBackward.apply(x, gg, beta=beta, threshold=threshold))


def softplus(x, beta=1.0, threshold=20.0):
    if beta <= 0:
        raise ValueError(f"softplus: beta must be positive, got {beta}")
    return Softplus.apply(_float(x, "softplus"), beta=float(beta), threshold=float(threshold))
