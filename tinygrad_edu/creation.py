"""Ways to make tensors. Random ones draw from the package's single generator
(``manual_seed`` reseeds it), so one seed makes a whole run reproducible."""

import numpy as np

from ._rng import get_generator
from .tensor import Tensor, _check_dtype

_F32 = np.dtype(np.float32)


def _dt(dtype, default=_F32):
    return default if dtype is None else _check_dtype(dtype)


def _shape(shape, op):
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = tuple(shape[0])
    for n in shape:
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{op}: sizes must be non-negative ints, got {shape}")
    return tuple(int(n) for n in shape)


def tensor(data, dtype=None, requires_grad=False):
    """A new tensor from a list, scalar or array (copied). Python floats -> float32,
    ints -> int64; numpy arrays keep their float dtype."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(array):
    """A tensor that shares memory with ``array`` (float32/float64/int64/bool)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    _check_dtype(array.dtype)
    return Tensor._wrap(array)


def zeros(*shape, dtype=None, requires_grad=False):
    return Tensor._wrap(np.zeros(_shape(shape, "zeros"), _dt(dtype))).requires_grad_(requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    return Tensor._wrap(np.ones(_shape(shape, "ones"), _dt(dtype))).requires_grad_(requires_grad)


def empty(*shape, dtype=None):
    return Tensor._wrap(np.empty(_shape(shape, "empty"), _dt(dtype)))


def full(shape, fill_value, dtype=None, requires_grad=False):
    shape = _shape((shape,) if isinstance(shape, (int, np.integer)) else (tuple(shape),), "full")
    if dtype is None and isinstance(fill_value, (bool, np.bool_)):
        dtype = np.bool_
    elif dtype is None and isinstance(fill_value, (int, np.integer)):
        dtype = np.int64
    return Tensor._wrap(np.full(shape, fill_value, _dt(dtype))).requires_grad_(requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("arange: step must not be 0")
    ints = all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
    dt = _dt(dtype, np.dtype(np.int64) if ints else _F32)
    return Tensor._wrap(np.arange(start, stop, step).astype(dt)).requires_grad_(requires_grad)


def linspace(start, stop, num, dtype=None, requires_grad=False):
    return Tensor._wrap(np.linspace(start, stop, num).astype(_dt(dtype))).requires_grad_(requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    return Tensor._wrap(np.eye(n, m, dtype=_dt(dtype))).requires_grad_(requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform on [0, 1)."""
    data = get_generator().random(_shape(shape, "rand"), dtype=np.float64).astype(_dt(dtype))
    return Tensor._wrap(data).requires_grad_(requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal."""
    data = get_generator().standard_normal(_shape(shape, "randn")).astype(_dt(dtype))
    return Tensor._wrap(data).requires_grad_(requires_grad)


def randint(low, high=None, size=(), dtype=None):
    if high is None:
        low, high = 0, low
    if low >= high:
        raise ValueError(f"randint: need low < high (integers in [low, high)), got low={low}, "
                         f"high={high}")
    data = get_generator().integers(low, high, size=size).astype(_dt(dtype, np.dtype(np.int64)))
    return Tensor._wrap(data)


def zeros_like(t, dtype=None, requires_grad=False):
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randn_like(t, dtype=None, requires_grad=False):
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)
