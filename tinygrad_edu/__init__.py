"""tinygrad_edu: a small, readable, fast autograd engine (numpy storage, C kernels)."""

from . import backend
from ._rng import manual_seed
from .autograd import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (arange, empty, eye, from_numpy, full, full_like, linspace, ones,
                       ones_like, rand, rand_like, randint, randn, randn_like, tensor, zeros,
                       zeros_like)
from .gradcheck import gradcheck
from .ops.matmul import matmul
# ---- issue 3: indexing, shape algebra, statistics, math
from .ops.combine import (cat, chunk, clamp, clip, concatenate, flip, maximum, minimum, pad,
                          repeat, roll, split, stack, tile, where)
from .ops.indexing import gather, one_hot, take_along_axis
from .ops.math import (cos, erf, exp, expm1, log, log1p, reciprocal, rsqrt, sigmoid, sin, sqrt,
                       square, tanh)
from .ops.stats import (argmax, argmin, cumsum, logsumexp, max_with_indices, min_with_indices,
                        prod, std, var)
# ---- end issue 3
from .tensor import Tensor
# ---- issue 4: checkpoints, optimizers
from . import optim
from .serialization import load, save
from . import nn  # noqa: E402  (nn.Module, layers, losses: issue 4)
# ---- end issue 4
# ---- issue 7: teaching tools (tinygrad_edu.teach; autograd.functional lives in autograd)
from .teach.gradgradcheck import gradgradcheck  # noqa: E402
from . import teach  # noqa: E402
# ---- end issue 7
# ---- issue 6: threads of the C kernels (docs/threads.md)
from ._threads import get_num_threads, set_num_threads  # noqa: E402
# ---- end issue 6

float32 = "float32"
float64 = "float64"
int64 = "int64"

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "backend", "tensor", "from_numpy", "zeros", "ones", "empty", "full",
    "arange", "linspace", "eye", "rand", "randn", "randint", "zeros_like", "ones_like",
    "full_like", "rand_like", "randn_like", "manual_seed", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "gradcheck", "matmul", "float32", "float64", "int64",
    # issue 3
    "cat", "concatenate", "stack", "split", "chunk", "pad", "where", "clip", "clamp", "flip",
    "roll", "tile", "repeat", "maximum", "minimum", "gather", "take_along_axis", "one_hot",
    "var", "std", "logsumexp", "argmax", "argmin", "prod", "cumsum", "max_with_indices",
    "min_with_indices", "sin", "cos", "log1p", "expm1", "erf", "reciprocal", "square", "rsqrt",
    "exp", "log", "sqrt", "tanh", "sigmoid",
    # issue 4
    "save", "load", "optim", "nn",
    # issue 7
    "gradgradcheck", "teach",
    # issue 6
    "set_num_threads", "get_num_threads",
]
