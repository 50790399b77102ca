"""Convolution and pooling on NCHW tensors: conv2d, conv1d, max_pool2d, avg_pool2d,
adaptive_avg_pool2d, global_avg_pool2d. Shapes follow PyTorch's formulas:

    H_out = floor((H + 2 padding - dilation (kernel - 1) - 1) / stride) + 1   (same for W)

(pooling with ceil_mode=True rounds up instead, but never starts a window in the padding).

conv2d is im2col + GEMM: every kernel-sized patch of the input becomes a column, and the
weight (C_out, C_in/groups * kH * kW) times those columns is the output. Its input gradient
is the transposed product folded back by col2im, its weight gradient g @ columns^T. (The C
backend computes the same products at stride 1 without building the columns: its kernels
read each patch from a padded copy of the image; see csrc/conv.c.)

Second derivatives: every backward here is itself a Function whose backward is one of the
forward ops again (the adjoint of an adjoint is the op itself), so create_graph=True works:
    Conv2d              -> Conv2dBackwardInput (dx), Conv2dBackwardWeight (dw), sum (db)
    Conv2dBackwardInput -> Conv2d (d/dg), Conv2dBackwardWeight (d/dw)
    Conv2dBackwardWeight-> Conv2dBackwardInput (d/dx), Conv2d (d/dg)
    MaxPool2d -> MaxPool2dBackward (scatter to the argmax) <-> _MaxPoolGather
    AvgPool2d <-> AvgPool2dBackward
"""

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor, result_dtype

# ---------------------------------------------------------------------------- arguments


def _pair(v, name, op, low):
    """An int or a pair of ints -> (h, w), each >= low."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        v = (int(v), int(v))
    else:
        try:
            v = tuple(v)
        except TypeError:
            raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {v!r}") from None
        if len(v) != 2 or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                  for a in v):
            raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")
        v = (int(v[0]), int(v[1]))
    if min(v) < low:
        raise ValueError(f"{op}: {name} must be >= {low}, got {v}")
    return v


def _out_size(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _image(x, op, what="input"):
    """Float tensor of 4 dims (a 3-d one is one unbatched image): (tensor, was_unbatched)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {what} must be a float tensor, got {x.dtype}")
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: {what} must be 4-d (N, C, H, W) or 3-d (C, H, W), got shape "
                         f"{x.shape}")
    if 0 in x.shape[-3:]:
        raise ValueError(f"{op}: {what} of shape {x.shape} has an empty channel or spatial "
                         "dimension (only the batch may be empty)")
    return (x.unsqueeze(0), True) if x.ndim == 3 else (x, False)


def _same_dtype(*ts):
    dt = ts[0].dtype
    for t in ts[1:]:
        if t is not None and t.dtype != dt:
            dt = result_dtype(dt, t.dtype)
    return tuple(t if t is None or t.dtype == dt else t.astype(dt) for t in ts)


# ---------------------------------------------------------------------------- conv2d


class Conv2d(Function):
    """out[n, o] = sum_{c, i, j} w[o, c, i, j] x[n, c, oh s + i d - p, ...] (+ b[o]), per group.
    dx = Conv2dBackwardInput(g, w)   dw = Conv2dBackwardWeight(x, g)   db = sum of g over n, h, w"""

    @staticmethod
    def forward(ctx, x, w, b=None, geom=None):
        ctx.save_for_backward(x, w)
        ctx.geom = geom
        return backend.conv2d_forward(x.data, w.data, None if b is None else b.data, *geom)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        dx = Conv2dBackwardInput.apply(g, w, x_shape=x.shape, geom=ctx.geom) if need[0] else None
        dw = Conv2dBackwardWeight.apply(x, g, w_shape=w.shape, geom=ctx.geom) if need[1] else None
        if len(need) == 2:
            return dx, dw
        return dx, dw, g.sum(axis=(0, 2, 3)) if need[2] else None


class Conv2dBackwardInput(Function):
    """r = col2im(w^T @ g): the adjoint of conv2d in x (a transposed convolution of g).
    <gg, r> = <conv2d(gg, w), g>, so  dr/dg: gg -> conv2d(gg, w),
    dr/dw: gg -> Conv2dBackwardWeight(gg, g)."""

    @staticmethod
    def forward(ctx, g, w, x_shape, geom):
        ctx.save_for_backward(g, w)
        ctx.geom = geom
        return backend.conv2d_backward_input(g.data, w.data, x_shape, *geom)

    @staticmethod
    def backward(ctx, gg):
        g, w = ctx.saved_tensors
        ng, nw = ctx.needs_input_grad
        return (Conv2d.apply(gg, w, geom=ctx.geom) if ng else None,
                Conv2dBackwardWeight.apply(gg, g, w_shape=w.shape, geom=ctx.geom) if nw else None)


class Conv2dBackwardWeight(Function):
    """r = sum_n g[n] @ im2col(x[n])^T: conv2d's gradient in w.
    <gg, r> = <conv2d(x, gg), g>, so  dr/dx: gg -> Conv2dBackwardInput(g, gg),
    dr/dg: gg -> conv2d(x, gg)."""

    @staticmethod
    def forward(ctx, x, g, w_shape, geom):
        ctx.save_for_backward(x, g)
        ctx.geom = geom
        return backend.conv2d_backward_weight(x.data, g.data, w_shape, *geom)

    @staticmethod
    def backward(ctx, gg):
        x, g = ctx.saved_tensors
        nx, ng = ctx.needs_input_grad
        return (Conv2dBackwardInput.apply(g, gg, x_shape=x.shape, geom=ctx.geom) if nx else None,
                Conv2d.apply(x, gg, geom=ctx.geom) if ng else None)


def _conv_padding(padding, kernel, dilation, stride, op):
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0)
        if padding == "same":
            span = [d * (k - 1) for k, d in zip(kernel, dilation)]
            if stride != (1, 1) or any(s % 2 for s in span):
                raise ValueError(f"{op}: padding='same' needs stride 1 and an odd effective "
                                 f"kernel (kernel {kernel}, dilation {dilation}, stride "
                                 f"{stride}); pad explicitly instead")
            return (span[0] // 2, span[1] // 2)
        raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', got "
                         f"{padding!r}")
    return _pair(padding, "padding", op, 0)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d cross-correlation (what deep learning calls convolution), as PyTorch's conv2d.

    x: (N, C_in, H, W) or (C_in, H, W); weight: (C_out, C_in / groups, kH, kW); bias: (C_out,)
    or None. stride, padding (zeros), dilation: int or (h, w) pair; padding may also be
    'valid' or 'same'. groups splits the channels into independent convolutions.
    Returns (N, C_out, H_out, W_out)."""
    op = "conv2d"
    x, unbatched = _image(x, op)
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        raise ValueError(f"{op}: weight must be a 4-d tensor (C_out, C_in/groups, kH, kW), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    co, cg, kh, kw = weight.shape
    stride = _pair(stride, "stride", op, 1)
    dilation = _pair(dilation, "dilation", op, 1)
    padding = _conv_padding(padding, (kh, kw), dilation, stride, op)
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    c, h, w = x.shape[1:]
    if c % groups or co % groups or co == 0:
        raise ValueError(f"{op}: in-channels {c} and out-channels {co} must both be divisible "
                         f"by groups={groups} (input {x.shape}, weight {weight.shape})")
    if cg * groups != c:
        raise ValueError(f"{op}: weight {weight.shape} expects {cg * groups} input channels "
                         f"(C_in/groups = {cg}, groups = {groups}), but the input {x.shape} has "
                         f"{c}")
    if 0 in weight.shape:
        raise ValueError(f"{op}: weight of shape {weight.shape} is empty")
    eff = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    if h + 2 * padding[0] < eff[0] or w + 2 * padding[1] < eff[1]:
        raise ValueError(f"{op}: kernel {eff[0]}x{eff[1]} (with dilation {dilation}) is larger "
                         f"than the padded input {h + 2 * padding[0]}x{w + 2 * padding[1]} "
                         f"(input {x.shape}, padding {padding})")
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != (co,)):
        raise ValueError(f"{op}: bias must be a tensor of shape ({co},), got "
                         f"{getattr(bias, 'shape', type(bias).__name__)}")
    geom = (stride, padding, dilation, int(groups))
    if bias is None:
        x, weight = _same_dtype(x, weight)
        out = Conv2d.apply(x, weight, geom=geom)
    else:
        x, weight, bias = _same_dtype(x, weight, bias)
        out = Conv2d.apply(x, weight, bias, geom=geom)
    return out.squeeze(0) if unbatched else out


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution over (N, C_in, L) with weight (C_out, C_in / groups, k): conv2d on
    (N, C_in, 1, L) with a (1, k) kernel. Ints only for stride/padding/dilation (or
    'valid' / 'same' padding)."""
    op = "conv1d"
    for name, v in (("stride", stride), ("dilation", dilation), ("padding", padding)):
        if not isinstance(v, (int, np.integer, str)) or isinstance(v, bool):
            raise TypeError(f"{op}: {name} must be an int, got {v!r}")
    if not isinstance(x, Tensor) or x.ndim not in (2, 3):
        raise ValueError(f"{op}: input must be a 3-d (N, C, L) or 2-d (C, L) tensor, got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    if not isinstance(weight, Tensor) or weight.ndim != 3:
        raise ValueError(f"{op}: weight must be a 3-d tensor (C_out, C_in/groups, k), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    pad = padding if isinstance(padding, str) else (0, padding)
    out = conv2d(x.unsqueeze(-2), weight.unsqueeze(2), bias, stride=(1, stride), padding=pad,
                 dilation=(1, dilation), groups=groups)
    return out.squeeze(-2)


# ---------------------------------------------------------------------------- pooling


def _pool_out(size, k, s, p, d, ceil_mode):
    """Output length; ceil_mode rounds up but never starts a window in the right padding."""
    if not ceil_mode:
        return _out_size(size, k, s, p, d)
    o = -(-(size + 2 * p - d * (k - 1) - 1) // s) + 1
    return o - 1 if (o - 1) * s >= size + p else o


def _window_misses(size, k, s, p, d, out):
    """The first output whose dilated window has no tap inside [0, size), or None."""
    for o in range(out):
        start = o * s - p
        first = -(start // d) if start < 0 else 0  # first tap at or after 0
        if first >= k or start + first * d >= size:
            return o
    return None


def _pool_args(x, kernel_size, stride, padding, op, dilation=1, ceil_mode=False):
    x, unbatched = _image(x, op)
    kernel = _pair(kernel_size, "kernel_size", op, 1)
    stride = kernel if stride is None else _pair(stride, "stride", op, 1)
    padding = _pair(padding, "padding", op, 0)
    dilation = _pair(dilation, "dilation", op, 1)
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel} "
                         "(as in PyTorch)")
    h, w = x.shape[2:]
    eff = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    if h + 2 * padding[0] < eff[0] or w + 2 * padding[1] < eff[1]:
        dil = f" with dilation {dilation}" if dilation != (1, 1) else ""
        raise ValueError(f"{op}: kernel {kernel}{dil} is larger than the padded input "
                         f"{h + 2 * padding[0]}x{w + 2 * padding[1]} (input {x.shape}, "
                         f"padding {padding})")
    if dilation != (1, 1):  # only dilation can make a window skip every real pixel
        for axis, size in ((0, h), (1, w)):
            args = (size, kernel[axis], stride[axis], padding[axis], dilation[axis])
            o = _window_misses(*args, _pool_out(*args, ceil_mode))
            if o is not None:
                raise ValueError(f"{op}: with kernel {kernel}, stride {stride}, padding "
                                 f"{padding}, dilation {dilation} the window of output "
                                 f"{'row' if axis == 0 else 'column'} {o} covers only padding "
                                 f"(input {x.shape}); use less padding or dilation")
    return x, unbatched, kernel, stride, padding, dilation


class MaxPool2d(Function):
    """out = max over each window    dx = g routed to each window's argmax (first max at ties)"""

    @staticmethod
    def forward(ctx, x, geom, keep=None):
        out, idx = backend.max_pool2d_forward(x.data, *geom)
        ctx.idx, ctx.x_shape = idx, x.shape
        if keep is not None:  # return_indices: hand the argmax positions to the caller
            keep.append(idx)
        return out

    @staticmethod
    def backward(ctx, g):
        return MaxPool2dBackward.apply(g, idx=ctx.idx, x_shape=ctx.x_shape)


class MaxPool2dBackward(Function):
    """r = scatter-add of g to the recorded argmax positions (linear in g)
    dr/dg: gg -> gather gg at those positions"""

    @staticmethod
    def forward(ctx, g, idx, x_shape):
        ctx.idx = idx
        return backend.max_pool2d_backward(g.data, idx, x_shape)

    @staticmethod
    def backward(ctx, gg):
        return _MaxPoolGather.apply(gg, idx=ctx.idx)


class _MaxPoolGather(Function):
    """r = x at the recorded argmax positions    dr/dx: gg -> scatter-add gg back there"""

    @staticmethod
    def forward(ctx, x, idx):
        ctx.idx, ctx.x_shape = idx, x.shape
        return backend.max_pool2d_gather(x.data, idx)

    @staticmethod
    def backward(ctx, g):
        return MaxPool2dBackward.apply(g, idx=ctx.idx, x_shape=ctx.x_shape)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over kernel_size windows moved by stride (default: kernel_size); padding adds
    -inf borders (at most half the kernel); dilation spaces the window's taps apart.
    Output size floor((H + 2p - d (k - 1) - 1) / s) + 1, rounded up instead with ceil_mode
    (windows may then run past the padding; a window that would start in the right padding
    is dropped, as in PyTorch). The gradient goes to the first maximum of each window in
    row-major order (as PyTorch): at ties the others get 0. return_indices=True also returns
    the argmax positions as an int64 tensor: flat indices h * W + w into each (N, C) plane,
    PyTorch's convention. A window of only -inf pixels points at its first real pixel."""
    x, unbatched, kernel, stride, padding, dilation = _pool_args(
        x, kernel_size, stride, padding, "max_pool2d", dilation, ceil_mode)
    keep = [] if return_indices else None  # forward appends the index array to it
    out = MaxPool2d.apply(x, geom=(kernel, stride, padding, dilation, bool(ceil_mode)),
                          keep=keep)
    if not return_indices:
        return out.squeeze(0) if unbatched else out
    idx = Tensor._wrap(keep[0].copy())  # the node keeps its own: editing idx cannot change dx
    return (out.squeeze(0), idx.squeeze(0)) if unbatched else (out, idx)


class AvgPool2d(Function):
    """out = mean over each window    dx = each g / divisor spread back over its window"""

    @staticmethod
    def forward(ctx, x, args):
        ctx.args, ctx.x_shape = args, x.shape
        return backend.avg_pool2d_forward(x.data, *args)

    @staticmethod
    def backward(ctx, g):
        return AvgPool2dBackward.apply(g, x_shape=ctx.x_shape, args=ctx.args)


class AvgPool2dBackward(Function):
    """r = the adjoint of avg_pool2d applied to g    dr/dg: gg -> avg_pool2d(gg)"""

    @staticmethod
    def forward(ctx, g, x_shape, args):
        ctx.args = args
        return backend.avg_pool2d_backward(g.data, x_shape, *args)

    @staticmethod
    def backward(ctx, gg):
        return AvgPool2d.apply(gg, args=ctx.args)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over kernel_size windows moved by stride (default: kernel_size); zero padding of
    at most half the kernel; ceil_mode as in max_pool2d. The divisor: with count_include_pad
    the window's pixels inside the padded input (kH*kW, fewer only where ceil_mode runs past
    the padding), else only its real pixels; divisor_override (a nonzero int) replaces it."""
    op = "avg_pool2d"
    x, unbatched, kernel, stride, padding, _ = _pool_args(x, kernel_size, stride, padding, op,
                                                          1, ceil_mode)
    cip = bool(count_include_pad) or divisor_override is not None
    out = AvgPool2d.apply(x, args=(kernel, stride, padding, cip, bool(ceil_mode)))
    if divisor_override is not None:
        if (not isinstance(divisor_override, (int, np.integer)) or
                isinstance(divisor_override, bool) or divisor_override == 0):
            raise ValueError(f"{op}: divisor_override must be a nonzero int, got "
                             f"{divisor_override!r}")
        # out holds sum / count (count = padded-window pixels): rescale to sum / override
        ho, wo = out.shape[2:]
        count = np.outer(*[np.minimum(np.arange(n) * s - p + k, size + p) - (np.arange(n) * s - p)
                           for n, s, p, k, size in zip((ho, wo), stride, padding, kernel,
                                                       x.shape[2:])])
        out = out * Tensor._wrap((count / divisor_override).astype(out.dtype))
    return out.squeeze(0) if unbatched else out


def _adaptive_matrix(size, out, dtype):
    """(out, size) averaging matrix: row i averages input [floor(i size/out), ceil((i+1) size/out))."""
    m = np.zeros((out, size), dtype)
    for i in range(out):
        a, b = (i * size) // out, -((-(i + 1) * size) // out)
        m[i, a:b] = 1.0 / (b - a)
    return m


def adaptive_avg_pool2d(x, output_size):
    """Average pooling to a fixed output size (H_out, W_out) (int or pair; None keeps that
    input size). Output cell i averages input rows floor(i H / H_out) .. ceil((i+1) H / H_out)
    (PyTorch's formula; windows may overlap). Since each window is a product of a row range
    and a column range, out = P_h @ x @ P_w^T with two averaging matrices."""
    op = "adaptive_avg_pool2d"
    x, unbatched = _image(x, op)
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    if len(tuple(output_size)) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    h, w = x.shape[2:]
    ho, wo = (h if output_size[0] is None else output_size[0],
              w if output_size[1] is None else output_size[1])
    ho, wo = _pair((ho, wo), "output_size", op, 1)
    if (ho, wo) == (1, 1):
        out = x.mean(axis=(2, 3), keepdims=True)
    elif h % ho == 0 and w % wo == 0:  # equal, non-overlapping windows: plain avg_pool2d
        k = (h // ho, w // wo)
        out = AvgPool2d.apply(x, args=(k, k, (0, 0), True, False))
    else:
        ph = Tensor._wrap(_adaptive_matrix(h, ho, x.dtype))
        pw = Tensor._wrap(np.ascontiguousarray(_adaptive_matrix(w, wo, x.dtype).T))
        out = ph @ (x @ pw)
    return out.squeeze(0) if unbatched else out


def global_avg_pool2d(x, keepdims=False):
    """Mean over all of H and W: (N, C, H, W) -> (N, C), or (N, C, 1, 1) with keepdims
    (the same as adaptive_avg_pool2d(x, 1))."""
    x, unbatched = _image(x, "global_avg_pool2d")
    out = x.mean(axis=(2, 3), keepdims=keepdims)
    return out.squeeze(0) if unbatched else out
