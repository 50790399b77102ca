"""The numpy reference backend: every array-level kernel written in plain numpy.

This is the specification the C backend is tested against. Conventions shared by every
function here and in ``c.py``:

- Inputs are numpy arrays. Floating kernels take float32 or float64; binary kernels take two
  arrays of the *same* dtype (the Tensor layer promotes before calling).
- Outputs are fresh arrays (never views of an input) of the input dtype, except comparisons,
  which return ``bool`` arrays.
- ``axes`` for reductions is a tuple of distinct non-negative ints, already normalised by the
  caller; ``()`` means "reduce nothing" (a copy).
- Functions never modify their inputs, except the optimizer steps, which update their
  parameter and state arguments in place, as their docstrings say.
"""

import math

import numpy as np

name = "numpy"

# ---------------------------------------------------------------- unary elementwise


def neg(x):
    return np.negative(x)


def exp(x):
    return np.exp(x)


def log(x):
    return np.log(x)


def sqrt(x):
    return np.sqrt(x)


def abs(x):  # noqa: A001 - the backend mirrors numpy's names
    return np.abs(x)


def sign(x):
    return np.sign(x)


def tanh(x):
    return np.tanh(x)


def sigmoid(x):
    # Stable for large |x|: exp is only taken of non-positive numbers.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def relu(x):
    return np.maximum(x, 0).astype(x.dtype, copy=False)


def sin(x):
    return np.sin(x)


def cos(x):
    return np.cos(x)


def log1p(x):
    return np.log1p(x)


def expm1(x):
    return np.expm1(x)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def erf(x):
    return _erf(x).astype(x.dtype, copy=False) if x.size else np.empty_like(x)


def reciprocal(x):
    return np.reciprocal(x)


def square(x):
    return np.square(x)


def rsqrt(x):
    return np.reciprocal(np.sqrt(x))


# ---------------------------------------------------------------- fused unary backward


def relu_backward(x, g):
    """g * (x > 0)"""
    return np.where(x > 0, g, 0).astype(g.dtype, copy=False)


def sigmoid_backward(y, g):
    """g * y * (1 - y), y = sigmoid(x)"""
    return g * y * (1 - y)


def tanh_backward(y, g):
    """g * (1 - y**2), y = tanh(x)"""
    return g * (1 - y * y)


# ---------------------------------------------------------------- binary, broadcasting


def add(a, b):
    return np.add(a, b)


def sub(a, b):
    return np.subtract(a, b)


def mul(a, b):
    return np.multiply(a, b)


def div(a, b):
    return np.divide(a, b)


def pow(a, b):  # noqa: A001
    return np.power(a, b)


def maximum(a, b):
    return np.maximum(a, b)


def minimum(a, b):
    return np.minimum(a, b)


def eq(a, b):
    return np.equal(a, b)


def ne(a, b):
    return np.not_equal(a, b)


def lt(a, b):
    return np.less(a, b)


def le(a, b):
    return np.less_equal(a, b)


def gt(a, b):
    return np.greater(a, b)


def ge(a, b):
    return np.greater_equal(a, b)


# ---------------------------------------------------------------- reductions


def sum(x, axes, keepdims=False):  # noqa: A001
    return np.asarray(np.sum(x, axis=axes, keepdims=keepdims), dtype=x.dtype)


def max(x, axes, keepdims=False):  # noqa: A001
    return np.asarray(np.max(x, axis=axes, keepdims=keepdims))


def min(x, axes, keepdims=False):  # noqa: A001
    return np.asarray(np.min(x, axis=axes, keepdims=keepdims))


# ---------------------------------------------------------------- matmul


def matmul(a, b, trans_a=False, trans_b=False):
    """(..., m, k) @ (..., k, n) -> (..., m, n); batch dims broadcast.

    ``trans_a`` means ``a`` is stored as (..., k, m) and is used transposed; likewise
    ``trans_b`` for (..., n, k). Both operands have ndim >= 2.
    """
    if trans_a:
        a = np.swapaxes(a, -1, -2)
    if trans_b:
        b = np.swapaxes(b, -1, -2)
    return np.matmul(a, b)
