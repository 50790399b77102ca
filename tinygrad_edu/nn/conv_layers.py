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


class Conv2d(Module):
    """2-D convolution: weight (out_channels, in_channels / groups, kH, kW), bias (out,).

    Default init (PyTorch's): weight ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in),
    1/sqrt(fan_in)) with fan_in = in_channels / groups * kH * kW; bias from the same range.
    ``padding``: int, pair, 'valid' (0) or 'same' (output keeps the input size; stride 1).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=None):
        super().__init__()
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("groups", groups)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"Conv2d: {name} must be a positive int, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f"Conv2d: only padding_mode='zeros' is supported, got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _pair(kernel_size, "Conv2d", "kernel_size", 1)
        self.stride = _pair(stride, "Conv2d", "stride", 1)
        self.dilation = _pair(dilation, "Conv2d", "dilation", 1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"Conv2d: padding must be an int, a pair, 'valid' or 'same', "
                                 f"got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
        else:
            self.padding = _pair(padding, "Conv2d", "padding", 0)
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

    def forward(self, input):
        if input.ndim in (3, 4) and input.shape[-3] != self.in_channels:
            raise ValueError(f"{self!r}: expected input with {self.in_channels} channels "
                             f"(shape (N, {self.in_channels}, H, W)), got shape {input.shape}")
        return _batched(self, input, lambda x: F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups))

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class MaxPool2d(Module):
    """The maximum over each kernel window (stride defaults to the kernel size)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        if dilation not in (1, (1, 1)) or return_indices or ceil_mode:
            raise NotImplementedError("MaxPool2d: dilation, return_indices and ceil_mode are "
                                      "not supported")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode

    def forward(self, input):
        return _batched(self, input, lambda x: F.max_pool2d(x, self.kernel_size, self.stride,
                                                            self.padding))

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean over each kernel window. ``count_include_pad``: padded zeros count in the
    divisor (PyTorch's default)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        if ceil_mode or divisor_override is not None:
            raise NotImplementedError("AvgPool2d: ceil_mode and divisor_override are not "
                                      "supported")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return _batched(self, input, lambda x: F.avg_pool2d(
            x, self.kernel_size, self.stride, self.padding,
            count_include_pad=self.count_include_pad))

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
