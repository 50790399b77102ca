"""Weight initialisation, in place (the trailing ``_``), drawing from the package generator.

Why it matters: with n inputs per unit, the variance of a unit's pre-activation is
n * Var(w) * Var(x). Choosing Var(w) ~ 1/n keeps signals (and gradients) at the same scale
through many layers:

- Xavier/Glorot (tanh, sigmoid, linear):   Var(w) = gain^2 * 2 / (fan_in + fan_out)
- Kaiming/He (ReLU family):                Var(w) = gain^2 / fan          (fan_in or fan_out)

where ``gain`` (``calculate_gain``) corrects for what the activation does to the variance
(ReLU zeroes half its inputs: gain sqrt(2)). A uniform U(-b, b) has variance b^2 / 3, so the
uniform variants use b = sqrt(3) * std.

For a weight of shape (out, in, k1, k2, ...): fan_in = in * k1 * k2 * ..., fan_out = out *
k1 * k2 * .... Every function here works on a Tensor or Parameter in place under no_grad,
bumps its version counter and returns it; ``generator`` defaults to the package generator
(``tinygrad_edu.manual_seed`` makes initialisation reproducible).
"""

import math

import numpy as np

from .._rng import get_generator
from ..autograd import no_grad
from ..tensor import Tensor

_GAINS = {"linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "conv_transpose1d": 1.0,
          "conv_transpose2d": 1.0, "conv_transpose3d": 1.0, "sigmoid": 1.0, "identity": 1.0,
          "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 3.0 / 4}


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for ``nonlinearity``; ``param`` is leaky_relu's negative slope
    (default 0.01): gain = sqrt(2 / (1 + slope^2))."""
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity in _GAINS:
        return _GAINS[nonlinearity]
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; choose from "
                     f"{sorted(_GAINS) + ['leaky_relu']}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out can not be computed for a tensor with fewer than "
                         f"2 dimensions (shape {tensor.shape})")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} not supported, please use one of 'fan_in', 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, values, who):
    """Write ``values`` (broadcastable) into ``tensor`` in place; the common tail of every init."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{who}: expected a Tensor or Parameter, got {type(tensor).__name__}")
    with no_grad():
        if tensor.data.flags.writeable:
            np.copyto(tensor.data, values, casting="unsafe")
        else:
            tensor.data = np.broadcast_to(np.asarray(values), tensor.shape).astype(tensor.dtype)
        tensor._version += 1
    return tensor


def _gen(generator):
    return get_generator() if generator is None else generator


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b)."""
    if a > b:
        raise ValueError(f"uniform_: lower bound a={a} is greater than upper bound b={b}")
    return _fill(tensor, _gen(generator).uniform(a, b, tensor.shape), "uniform_")


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std^2)."""
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill(tensor, _gen(generator).normal(mean, std, tensor.shape), "normal_")


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) restricted to [a, b] (redraw the samples that fall outside)."""
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    gen = _gen(generator)
    out = gen.normal(mean, std, tensor.shape)
    for _ in range(100):  # each round redraws only the rejected samples
        bad = (out < a) | (out > b)
        if not bad.any():
            break
        out[bad] = gen.normal(mean, std, int(bad.sum()))
    return _fill(tensor, np.clip(out, a, b), "trunc_normal_")


def constant_(tensor, val):
    return _fill(tensor, val, "constant_")


def zeros_(tensor):
    return _fill(tensor, 0, "zeros_")


def ones_(tensor):
    return _fill(tensor, 1, "ones_")


def eye_(tensor):
    """The identity matrix (2-D tensors only)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape), "eye_")


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))  (Glorot and Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if fan_in + fan_out == 0:
        return tensor
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, _gen(generator).uniform(-bound, bound, tensor.shape), "xavier_uniform_")


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if fan_in + fan_out == 0:
        return tensor
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, _gen(generator).normal(0.0, std, tensor.shape), "xavier_normal_")


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    if fan == 0:
        return None  # a zero-element weight: nothing to initialise
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-b, b) with b = sqrt(3) * gain / sqrt(fan)  (He et al., 2015). ``a`` is the negative
    slope used by the leaky_relu gain (a=0: plain ReLU, gain sqrt(2))."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return _fill(tensor, _gen(generator).uniform(-bound, bound, tensor.shape), "kaiming_uniform_")


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std^2) with std = gain / sqrt(fan)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return _fill(tensor, _gen(generator).normal(0.0, std, tensor.shape), "kaiming_normal_")
