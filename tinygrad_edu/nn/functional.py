"""nn.functional: the layers as plain functions (no parameters stored), PyTorch's names.

    import tinygrad_edu.nn.functional as F
    h = F.relu(F.linear(x, w, b))
    loss = F.cross_entropy(logits, labels)

The modules in ``nn`` hold the weights and call these. Convolution, pooling and the softmax
family live in ``tinygrad_edu/ops`` (C kernels); the activations in ``ops/activation.py``.
"""

import numpy as np

from .._rng import get_generator
from ..autograd import no_grad
from ..ops import activation as _act
from ..ops import conv as _conv
from ..ops import softmax as _sm
from ..ops.combine import pad as _pad
from ..ops.indexing import one_hot as _one_hot
from ..ops.matmul import MatMul
from ..tensor import Tensor
from .fused import EmbeddingLookup, Normalize
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    l1_penalty,
    l2_penalty,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)

__all__ = [
    "relu", "leaky_relu", "elu", "sigmoid", "tanh", "gelu", "silu", "softplus", "softmax",
    "log_softmax", "linear", "conv1d", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
    "dropout", "batch_norm", "layer_norm", "embedding", "one_hot", "mse_loss", "l1_loss",
    "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "l1_penalty", "l2_penalty",
]

# ---------------------------------------------------------------------------- activations
# ``inplace`` is accepted so PyTorch code ports unchanged; the result is always a new tensor
# (an in-place activation would overwrite values the graph still needs).


def relu(input, inplace=False):
    return input.relu()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _act.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    return _act.elu(input, alpha)


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def gelu(input, approximate="none"):
    return _act.gelu(input, approximate)


def silu(input, inplace=False):
    return _act.silu(input)


def softplus(input, beta=1.0, threshold=20.0):
    return _act.softplus(input, beta, threshold)


def _implicit_dim(ndim):
    # PyTorch's legacy rule when dim is not given (it warns too): 0 for 0/1/3-d, else 1.
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, dtype=None):
    if dtype is not None:
        input = input.astype(dtype)
    return _sm.softmax(input, axis=_implicit_dim(input.ndim) if dim is None else dim)


def log_softmax(input, dim=None, dtype=None):
    if dtype is not None:
        input = input.astype(dtype)
    return _sm.log_softmax(input, axis=_implicit_dim(input.ndim) if dim is None else dim)


# ---------------------------------------------------------------------------- linear


def linear(input, weight, bias=None):
    """y = x W^T + b, with W of shape (out_features, in_features) and x of shape (..., in).

    One GEMM over all leading dims (they are flattened into rows); W is used transposed by
    the kernel (``trans_b``), so W^T is never materialised.
    """
    x = input
    if x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: input of shape {x.shape} does not fit a weight of shape "
                         f"{weight.shape}: the last input dim must be {weight.shape[-1]}")
    if x.dtype != weight.dtype:
        dt = np.promote_types(x.dtype, weight.dtype) if x.dtype.kind == "f" else weight.dtype
        x, weight = x.astype(dt), weight.astype(dt)
    lead = x.shape[:-1]
    if x.ndim != 2:
        x = x.reshape(-1, x.shape[-1])
    out = MatMul.apply(x, weight, trans_b=True)
    if bias is not None:
        out = out + bias
    return out if len(lead) == 1 else out.reshape(lead + (weight.shape[0],))


# ---------------------------------------------------------------------------- conv, pooling


def _pair(v):
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


def _same_padding(input, weight, stride, dilation):
    """padding='same' as explicit amounts; returns (input, padding). Odd total padding puts
    the extra row/column at the end (bottom/right), as PyTorch does."""
    if any(s != 1 for s in _pair(stride)):
        raise ValueError("conv2d: padding='same' is not supported for strided convolutions")
    totals = [d * (k - 1) for d, k in zip(_pair(dilation), weight.shape[2:])]
    if all(t % 2 == 0 for t in totals):
        return input, tuple(t // 2 for t in totals)
    (th, tw) = totals
    input = _pad(input, (tw // 2, tw - tw // 2, th // 2, th - th // 2))
    return input, 0


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of (N, C_in, H, W) with (C_out, C_in/groups, kH, kW).
    ``padding`` may also be 'valid' (none) or 'same' (output size = input size, stride 1)."""
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            input, padding = _same_padding(input, weight, stride, dilation)
        else:
            raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got "
                             f"{padding!r}")
    return _conv.conv2d(input, weight, bias, stride=stride, padding=padding,
                        dilation=dilation, groups=groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of (N, C_in, L) (or (C_in, L)) with (C_out, C_in/groups, k): conv2d on
    a height-1 image with a (1, k) kernel. stride/padding/dilation: an int or a 1-tuple;
    ``padding`` may also be 'valid' or 'same' (stride 1; odd total padding goes right)."""
    def one(v, name):
        t = tuple(v) if isinstance(v, (tuple, list)) else (v,)
        if len(t) != 1 or not isinstance(t[0], (int, np.integer)) or isinstance(t[0], bool):
            raise TypeError(f"conv1d: {name} must be an int or a 1-tuple, got {v!r}")
        return int(t[0])
    stride, dilation = one(stride, "stride"), one(dilation, "dilation")
    if not isinstance(padding, str):
        padding = (0, one(padding, "padding"))
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        raise ValueError(f"conv1d: input must be a 3-d (N, C, L) or 2-d (C, L) tensor, got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    if not isinstance(weight, Tensor) or weight.ndim != 3:
        raise ValueError(f"conv1d: weight must be a 3-d tensor (C_out, C_in/groups, k), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(2), bias, (1, stride), padding,
                 (1, dilation), groups)
    return out.squeeze(-2)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _conv.max_pool2d(input, kernel_size, stride, padding, dilation=dilation,
                            ceil_mode=ceil_mode, return_indices=return_indices)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return _conv.avg_pool2d(input, kernel_size, stride, padding, ceil_mode=ceil_mode,
                            count_include_pad=count_include_pad,
                            divisor_override=divisor_override)


def adaptive_avg_pool2d(input, output_size):
    return _conv.adaptive_avg_pool2d(input, output_size)


# ---------------------------------------------------------------------------- dropout


def check_dropout_p(p, who="dropout"):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        # p = 1 would drop everything and scale by 1 / (1 - p) = inf
        raise ValueError(f"{who}: probability p must be in [0, 1), got {p!r}")
    return float(p)


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout: zero each element with probability p and scale the survivors by
    1 / (1 - p), so the expected value is unchanged and evaluation needs no rescaling.
    The mask comes from the package generator (``manual_seed`` makes it reproducible)."""
    p = check_dropout_p(p)
    if not training or p == 0.0:
        return input
    dt = input.dtype
    if dt.kind != "f":
        raise TypeError(f"dropout: expects a float tensor, got {dt}")
    u = get_generator().random(input.shape, dtype=dt.type)
    mask = np.where(u >= p, dt.type(1.0 / (1.0 - p)), dt.type(0))
    return input * Tensor._wrap(mask)


# ---------------------------------------------------------------------------- normalisation


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel (axis 1) of (N, C) or (N, C, *) input.

    training: with the batch's mean and (biased) variance over all axes but 1, and, when
    running_mean / running_var are given, update them in place:
        running = (1 - momentum) * running + momentum * batch_stat
    (the variance enters unbiased, n / (n - 1) times the batch variance, as in PyTorch).
    evaluation: with running_mean and running_var. Then scale by weight and shift by bias.
    """
    x = input
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C) or (N, C, ...), got "
                         f"{x.shape}")
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (c,):
            raise ValueError(f"batch_norm: {name} has shape {t.shape}, but the input "
                             f"{x.shape} has {c} channels (axis 1): expected ({c},)")
    shape = (1, c) + (1,) * (x.ndim - 2)  # per-channel values broadcast along axis 1
    if training:
        n = x.size // c if c else 0
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {x.shape}")
        axes = (0,) + tuple(range(2, x.ndim))
        update = running_mean is not None or running_var is not None
        stats = [] if update else None
        out = Normalize.apply(x, axes=axes, eps=eps, stats=stats)
        if update:
            unbiased_var = stats[1] * (n / (n - 1))
            with no_grad():
                for buf, stat in ((running_mean, stats[0]), (running_var, unbiased_var)):
                    if buf is not None:
                        buf.data *= 1 - momentum
                        buf.data += momentum * stat.reshape(c)
                        buf._version += 1
        if weight is not None:
            out = out * (weight if x.ndim == 2 else weight.reshape(shape))
        if bias is not None:
            out = out + (bias if x.ndim == 2 else bias.reshape(shape))
        return out
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when "
                         "training=False")
    # evaluation: y = x * scale + shift, scale = w / sqrt(rv + eps), shift = b - rm * scale
    inv = Tensor._wrap((1.0 / np.sqrt(running_var.data + eps)).astype(x.dtype))
    scale = inv if weight is None else weight * inv
    shift = -(Tensor._wrap(running_mean.data.astype(x.dtype)) * scale)
    if bias is not None:
        shift = shift + bias
    return x * scale.reshape(shape) + shift.reshape(shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing dims ``normalized_shape`` (each sample on its own), then
    scale and shift elementwise by weight and bias (of shape ``normalized_shape``)."""
    ns = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(normalized_shape)
    k = len(ns)
    if input.ndim < k or input.shape[input.ndim - k:] != ns:
        raise ValueError(f"layer_norm: expected input whose trailing shape is {ns}, got "
                         f"shape {input.shape}")
    out = Normalize.apply(input, axes=tuple(range(input.ndim - k, input.ndim)), eps=eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


# ---------------------------------------------------------------------------- embedding


def check_indices(idx, num, who):
    """Indices as an int64 Tensor, each in [0, num); else a TypeError / IndexError naming
    ``who`` (a string, or a module: its repr is only built for the message)."""
    if not isinstance(idx, Tensor):
        idx = Tensor(np.asarray(idx))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{who!s}: indices must be integers (int64), got dtype {idx.dtype}. "
                        "Hint: .long()")
    if idx.dtype != np.int64:
        idx = idx.astype(np.int64)
    if idx.size:
        lo, hi = int(idx.data.min()), int(idx.data.max())
        if lo < 0 or hi >= num:
            raise IndexError(f"{who!s}: index {lo if lo < 0 else hi} is out of range for a table "
                             f"of {num} rows (valid indices: 0..{num - 1})")
    return idx


def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` picked by the integer indices ``input``: output shape
    input.shape + (embedding_dim,). Row ``padding_idx`` receives no gradient."""
    num = weight.shape[0]
    idx = check_indices(input, num, "embedding")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx {padding_idx} out of range for {num} rows")
        padding_idx %= num
    return EmbeddingLookup.apply(weight, idx, padding_idx=padding_idx)


def one_hot(tensor, num_classes=-1):
    """Integer labels -> int64 one-hot vectors along a new last axis (PyTorch's signature:
    num_classes=-1 infers it from the largest label)."""
    return _one_hot(tensor, None if num_classes == -1 else num_classes)
