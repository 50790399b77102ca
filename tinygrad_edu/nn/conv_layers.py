"""Convolution and pooling layers over (N, C, H, W) images (an unbatched (C, H, W) works too).

Output size along each spatial axis (PyTorch's formula):
    out = floor((in + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1
"""

import math

import numpy as np

from . import functional as F
from . import init
from .layers import new_param
from .module import Module


def _pair(v, who, name, minimum):
    t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 2 or not all(isinstance(a, (int, np.integer)) and a >= minimum for a in t):
        raise ValueError(f"{who}: {name} must be an int or a pair of ints >= {minimum}, got {v!r}")
    return tuple(int(a) for a in t)


def _batched(layer, input, call):
    """Run ``call`` on a 4-D input; a 3-D (C, H, W) input gets a batch axis added and removed."""
    if input.ndim == 4:
        return call(input)
    if input.ndim == 3:
        return call(input.unsqueeze(0)).squeeze(0)
    raise ValueError(f"{layer!r}: expected a 4-D input (N, C, H, W) or a 3-D one (C, H, W), "
                     f"got shape {input.shape}")


def _one(v, who, name, minimum):
    """An int or a 1-tuple of ints (PyTorch's 1-d convention) -> (int,)."""
    t = (v,) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 1 or not isinstance(t[0], (int, np.integer)) or t[0] < minimum:
        raise ValueError(f"{who}: {name} must be an int >= {minimum}, got {v!r}")
    return (int(t[0]),)


class _ConvNd(Module):
    """What Conv1d and Conv2d share: argument checks, parameters, init, repr."""

    _tuple = None  # (v, who, name, minimum) -> a tuple of the layer's dimensionality

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, dtype):
        super().__init__()
        who = type(self).__name__
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("groups", groups)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{who}: {name} must be a positive int, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{who}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f"{who}: only padding_mode='zeros' is supported, got "
                             f"{padding_mode!r}")
        tup = type(self)._tuple
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = tup(kernel_size, who, "kernel_size", 1)
        self.stride = tup(stride, who, "stride", 1)
        self.dilation = tup(dilation, who, "dilation", 1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{who}: padding must be an int, a tuple, 'valid' or 'same', "
                                 f"got {padding!r}")
            if padding == "same" and any(v != 1 for v in self.stride):
                raise ValueError(f"{who}: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
        else:
            self.padding = tup(padding, who, "padding", 0)
        self.padding_mode = padding_mode
        self.weight = new_param((out_channels, in_channels // groups) + self.kernel_size, dtype)
        if bias:
            self.bias = new_param((out_channels,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _check_channels(self, input, spatial):
        dims = "L" if spatial == 1 else "H, W"
        if input.ndim in (spatial + 1, spatial + 2) and input.shape[-spatial - 1] != \
                self.in_channels:
            raise ValueError(f"{self!r}: expected input with {self.in_channels} channels "
                             f"(shape (N, {self.in_channels}, {dims})), got shape {input.shape}")

    def extra_repr(self):
        one = (1,) * len(self.kernel_size)
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * len(one):
            s += f", padding={self.padding}"
        if self.dilation != one:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution: weight (out_channels, in_channels / groups, kH, kW), bias (out,).

    Default init (PyTorch's): weight ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in),
    1/sqrt(fan_in)) with fan_in = in_channels / groups * kH * kW; bias from the same range.
    ``padding``: int, pair, 'valid' (0) or 'same' (output keeps the input size; stride 1).
    """

    _tuple = staticmethod(_pair)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype)

    def forward(self, input):
        self._check_channels(input, 2)
        return _batched(self, input, lambda x: F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups))


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) (or unbatched (C, L)): weight (out_channels,
    in_channels / groups, k), bias (out,); out length floor((L + 2p - d (k - 1) - 1) / s) + 1.
    Init as Conv2d (fan_in = in_channels / groups * k). ``padding``: int, 'valid' or 'same'.
    """

    _tuple = staticmethod(_one)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype)

    def forward(self, input):
        self._check_channels(input, 1)
        if input.ndim not in (2, 3):
            raise ValueError(f"{self!r}: expected a 3-D input (N, C, L) or a 2-D one (C, L), "
                             f"got shape {input.shape}")
        pad = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(input, self.weight, self.bias, self.stride[0], pad, self.dilation[0],
                        self.groups)


class MaxPool2d(Module):
    """The maximum over each kernel window (stride defaults to the kernel size), with
    dilation, ceil_mode and return_indices as in PyTorch (see F.max_pool2d)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode
        self.return_indices = return_indices

    def forward(self, input):
        # F.max_pool2d takes (C, H, W) too, and gives (out, indices) with return_indices
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean over each kernel window. ``count_include_pad``: padded zeros count in the
    divisor (PyTorch's default); ceil_mode and divisor_override as in F.avg_pool2d."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average-pools to a fixed ``output_size`` whatever the input size; (1, 1) is global
    average pooling."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return _batched(self, input, lambda x: F.adaptive_avg_pool2d(x, self.output_size))

    def extra_repr(self):
        return f"output_size={self.output_size}"
