"""tinygrad_edu: a small, readable, fast autograd engine (numpy storage, C kernels)."""

from . import backend
from ._rng import manual_seed
from .autograd import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (arange, empty, eye, from_numpy, full, full_like, linspace, ones,
                       ones_like, rand, rand_like, randint, randn, randn_like, tensor, zeros,
                       zeros_like)
from .gradcheck import gradcheck
from .ops.matmul import matmul
from .tensor import Tensor

float32 = "float32"
float64 = "float64"
int64 = "int64"

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "backend", "tensor", "from_numpy", "zeros", "ones", "empty", "full",
    "arange", "linspace", "eye", "rand", "randn", "randint", "zeros_like", "ones_like",
    "full_like", "rand_like", "randn_like", "manual_seed", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "gradcheck", "matmul", "float32", "float64", "int64",
]
