"""The C backend: thin wrappers that validate arguments and call the cffi kernels in ``_C``.

Same functions and conventions as the numpy reference (``backend/numpy.py``). Each wrapper:
- falls back to the numpy reference for dtypes the C core lacks (ints, bool, float16) and
  for arrays with more than ``TG_MAX_NDIM`` (16) dimensions;
- refuses mixed dtypes with a TypeError and impossible shapes with a ValueError, both
  naming the op (the kernels never see bad input: cffi would take a float32 buffer as
  ``double *`` without a word);
- allocates the output with ``np.empty`` and passes pointers plus element strides, so views
  (transposed, sliced, reversed, broadcast) are read in place, never copied.

Dispatch is lean because small models spend their time here: kernels are bound to module
globals once, per-dtype choices sit in dicts, and pointers come from ``ffi.from_buffer``
(about 0.2 us) instead of ``arr.ctypes`` (several us).
"""

import numpy as np

from . import numpy as _ref
from .._C import ffi as _ffi, lib as _lib

name = "c"

_MAX_NDIM = _lib.TG_MAX_NDIM
_ndarray = np.ndarray
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_BOOL = np.dtype(np.bool_)
_from_buffer = _ffi.from_buffer
_cast = _ffi.cast
_empty = np.empty
_NULL = _ffi.NULL

# cffi type names per dtype: an array type for from_buffer, a pointer type for cast.
_ARR = {_F32: "float[]", _F64: "double[]"}
_PTR = {_F32: "float *", _F64: "double *"}


def _ptr(arr, ctype):
    """Pointer to arr's first element (``ctype`` is "float[]" / "double[]" / "uint8_t[]").

    C-contiguous arrays go through from_buffer; other views (which the buffer protocol
    refuses) through their data address. The caller keeps ``arr`` alive during the call.
    """
    try:
        return _from_buffer(ctype, arr)
    except (ValueError, BufferError, TypeError):
        return _cast(ctype[:-2] + " *", arr.__array_interface__["data"][0])


def _elem_strides(arr):
    """Strides in elements, or None when one is not a whole number of elements.

    NOTE: numpy's `aligned` flag says the data pointer and strides are multiples of the
    dtype's alignment, which for float32/float64 equals the itemsize on 64-bit platforms.
    """
    if not arr.flags.aligned:
        return None
    isz = arr.itemsize
    return [s // isz for s in arr.strides]


def _check(err, opname):
    if err:
        raise RuntimeError(f"{opname}: C kernel failed: {_ffi.string(_lib.tg_strerror(err)).decode()}")


def _as_arrays(a, b):
    """Turn Python/numpy scalars into arrays; a bare scalar takes the other operand's dtype."""
    if type(a) is not _ndarray:
        a = np.asarray(a, dtype=b.dtype if type(b) is _ndarray and not isinstance(a, np.generic) else None)
    if type(b) is not _ndarray:
        b = np.asarray(b, dtype=a.dtype if not isinstance(b, np.generic) else None)
    return a, b


# ---------------------------------------------------------------- unary elementwise

_UN = {_F32: _lib.tg_unary_f32, _F64: _lib.tg_unary_f64}
_UN_CONTIG = {_F32: _lib.tg_unary_contig_f32, _F64: _lib.tg_unary_contig_f64}


def _unary(op, x, ref, opname):
    if type(x) is not _ndarray:
        x = np.asarray(x)
    dt = x.dtype
    ctype = _ARR.get(dt)
    if ctype is None or x.ndim > _MAX_NDIM:
        return ref(x)
    out = _empty(x.shape, dt)
    try:
        px = _from_buffer(ctype, x)
    except (ValueError, BufferError, TypeError):  # a non-contiguous view
        st = _elem_strides(x)
        if st is None:
            x = np.ascontiguousarray(x)
            st = _elem_strides(x)
        err = _UN[dt](op, x.ndim, x.shape, _ptr(x, ctype), st, _from_buffer(ctype, out))
    else:
        err = _UN_CONTIG[dt](op, x.size, px, _from_buffer(ctype, out))
    if err:
        _check(err, opname)
    return out


def neg(x):
    return _unary(_lib.TG_UN_NEG, x, _ref.neg, "neg")


def exp(x):
    return _unary(_lib.TG_UN_EXP, x, _ref.exp, "exp")


def log(x):
    return _unary(_lib.TG_UN_LOG, x, _ref.log, "log")


def sqrt(x):
    return _unary(_lib.TG_UN_SQRT, x, _ref.sqrt, "sqrt")


def abs(x):  # noqa: A001 - the backend mirrors numpy's names
    return _unary(_lib.TG_UN_ABS, x, _ref.abs, "abs")


def sign(x):
    return _unary(_lib.TG_UN_SIGN, x, _ref.sign, "sign")


def tanh(x):
    return _unary(_lib.TG_UN_TANH, x, _ref.tanh, "tanh")


def sigmoid(x):
    return _unary(_lib.TG_UN_SIGMOID, x, _ref.sigmoid, "sigmoid")


def relu(x):
    return _unary(_lib.TG_UN_RELU, x, _ref.relu, "relu")


def sin(x):
    return _unary(_lib.TG_UN_SIN, x, _ref.sin, "sin")


def cos(x):
    return _unary(_lib.TG_UN_COS, x, _ref.cos, "cos")


def log1p(x):
    return _unary(_lib.TG_UN_LOG1P, x, _ref.log1p, "log1p")


def expm1(x):
    return _unary(_lib.TG_UN_EXPM1, x, _ref.expm1, "expm1")


def erf(x):
    return _unary(_lib.TG_UN_ERF, x, _ref.erf, "erf")


def reciprocal(x):
    return _unary(_lib.TG_UN_RECIPROCAL, x, _ref.reciprocal, "reciprocal")


def square(x):
    return _unary(_lib.TG_UN_SQUARE, x, _ref.square, "square")


def rsqrt(x):
    return _unary(_lib.TG_UN_RSQRT, x, _ref.rsqrt, "rsqrt")


# ---------------------------------------------------------------- binary, broadcasting

_BIN = {_F32: _lib.tg_binary_f32, _F64: _lib.tg_binary_f64}
_BIN_CONTIG = {_F32: _lib.tg_binary_contig_f32, _F64: _lib.tg_binary_contig_f64}
_CMP = {_F32: _lib.tg_compare_f32, _F64: _lib.tg_compare_f64}


_BCAST_CACHE = {}


def _broadcast_shape(sa, sb, opname, what="operands"):
    """numpy's broadcasting rule, with an error that names the op and both shapes.

    Results are cached by shape pair: a model sees the same few pairs on every step.
    """
    out = _BCAST_CACHE.get((sa, sb))
    if out is not None:
        return out
    na, nb = len(sa), len(sb)
    pa = (1,) * (nb - na) + tuple(sa) if na < nb else tuple(sa)
    pb = (1,) * (na - nb) + tuple(sb) if nb < na else tuple(sb)
    res = []
    for x, y in zip(pa, pb):
        if x == y or y == 1:
            res.append(x)
        elif x == 1:
            res.append(y)
        else:
            raise ValueError(f"{opname}: {what} with shapes {tuple(sa)} and {tuple(sb)} "
                             "cannot be broadcast together")
    out = tuple(res)
    if len(_BCAST_CACHE) > 4096:  # bound the memory an unusual workload can pin
        _BCAST_CACHE.clear()
    _BCAST_CACHE[(sa, sb)] = out
    return out


def _bcast_strides(arr, shape):
    """Element strides of arr read as `shape` (0 along broadcast dims), or None when a
    stride is not a whole number of elements."""
    if not arr.flags.aligned:  # aligned implies every stride is a multiple of the itemsize
        return None
    isz = arr.itemsize
    st = [0 if n == 1 else s // isz for n, s in zip(arr.shape, arr.strides)]
    lead = len(shape) - len(st)
    return [0] * lead + st if lead else st


_ONE = (1,)


def _binary(op, a, b, table, ref, opname, out_dtype=None):
    if type(a) is not _ndarray or type(b) is not _ndarray:
        a, b = _as_arrays(a, b)
    dt = a.dtype
    if dt is not b.dtype and dt != b.dtype:
        raise TypeError(f"{opname}: operands must have the same dtype, got {dt} and {b.dtype} "
                        "(convert one with astype first)")
    ctype = _ARR.get(dt)
    if ctype is None or a.ndim > _MAX_NDIM or b.ndim > _MAX_NDIM:
        return ref(a, b)
    shape = a.shape
    if shape == b.shape:
        out = _empty(shape, out_dtype or dt)
        octype = "uint8_t[]" if out_dtype is not None else ctype
        try:  # both C-contiguous: one flat loop
            pa, pb = _from_buffer(ctype, a), _from_buffer(ctype, b)
        except (ValueError, BufferError, TypeError):
            pass
        else:
            if out_dtype is None:
                err = _BIN_CONTIG[dt](op, a.size, pa, pb, _from_buffer(ctype, out))
            else:
                err = table[dt](op, 1, (a.size,), pa, _ONE, pb, _ONE, _from_buffer(octype, out))
            return _finish(err, out, opname)
    else:
        shape = _broadcast_shape(shape, b.shape, opname)
        out = _empty(shape, out_dtype or dt)
        octype = "uint8_t[]" if out_dtype is not None else ctype
    if len(shape) > _MAX_NDIM:
        return ref(a, b)
    sa = _bcast_strides(a, shape)
    if sa is None:
        a = np.ascontiguousarray(a)
        sa = _bcast_strides(a, shape)
    sb = _bcast_strides(b, shape)
    if sb is None:
        b = np.ascontiguousarray(b)
        sb = _bcast_strides(b, shape)
    err = table[dt](op, len(shape), shape, _ptr(a, ctype), sa, _ptr(b, ctype), sb,
                    _from_buffer(octype, out))
    return _finish(err, out, opname)


def _finish(err, out, opname):
    if err:
        _check(err, opname)
    return out


def add(a, b):
    return _binary(_lib.TG_BIN_ADD, a, b, _BIN, _ref.add, "add")


def sub(a, b):
    return _binary(_lib.TG_BIN_SUB, a, b, _BIN, _ref.sub, "sub")


def mul(a, b):
    return _binary(_lib.TG_BIN_MUL, a, b, _BIN, _ref.mul, "mul")


def div(a, b):
    return _binary(_lib.TG_BIN_DIV, a, b, _BIN, _ref.div, "div")


def pow(a, b):  # noqa: A001
    return _binary(_lib.TG_BIN_POW, a, b, _BIN, _ref.pow, "pow")


def maximum(a, b):
    return _binary(_lib.TG_BIN_MAXIMUM, a, b, _BIN, _ref.maximum, "maximum")


def minimum(a, b):
    return _binary(_lib.TG_BIN_MINIMUM, a, b, _BIN, _ref.minimum, "minimum")


def relu_backward(x, g):
    """g * (x > 0)"""
    return _binary(_lib.TG_BIN_RELU_BACKWARD, x, g, _BIN, _ref.relu_backward, "relu_backward")


def sigmoid_backward(y, g):
    """g * y * (1 - y), y = sigmoid(x)"""
    return _binary(_lib.TG_BIN_SIGMOID_BACKWARD, y, g, _BIN, _ref.sigmoid_backward,
                   "sigmoid_backward")


def tanh_backward(y, g):
    """g * (1 - y**2), y = tanh(x)"""
    return _binary(_lib.TG_BIN_TANH_BACKWARD, y, g, _BIN, _ref.tanh_backward, "tanh_backward")


def eq(a, b):
    return _binary(_lib.TG_CMP_EQ, a, b, _CMP, _ref.eq, "eq", _BOOL)


def ne(a, b):
    return _binary(_lib.TG_CMP_NE, a, b, _CMP, _ref.ne, "ne", _BOOL)


def lt(a, b):
    return _binary(_lib.TG_CMP_LT, a, b, _CMP, _ref.lt, "lt", _BOOL)


def le(a, b):
    return _binary(_lib.TG_CMP_LE, a, b, _CMP, _ref.le, "le", _BOOL)


def gt(a, b):
    return _binary(_lib.TG_CMP_GT, a, b, _CMP, _ref.gt, "gt", _BOOL)


def ge(a, b):
    return _binary(_lib.TG_CMP_GE, a, b, _CMP, _ref.ge, "ge", _BOOL)


# ---------------------------------------------------------------- reductions

_RED = {_F32: _lib.tg_reduce_f32, _F64: _lib.tg_reduce_f64}
_NP_NAME = {"sum": "add", "max": "maximum", "min": "minimum"}
_SUM = _lib.TG_RED_SUM


_RED_PLANS = {}


def _reduce_plan(shape, axes, opname):
    """(axes, perm, permuted shape, out shape, keepdims shape, nkeep, empty) for a reduction.

    Cached by (shape, axes): the validation and index bookkeeping run once per pattern.
    """
    key = (shape, axes)
    plan = _RED_PLANS.get(key)
    if plan is not None:
        return plan
    nd = len(shape)
    if axes is None:
        axes = tuple(range(nd))
    elif type(axes) is int:
        axes = (axes,)
    for ax in axes:
        if not -nd <= ax < nd:
            raise ValueError(f"{opname}: axis {ax} is out of bounds for an array of "
                             f"dimension {nd}")
    axes = tuple(ax % nd for ax in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{opname}: repeated axis in {axes}")
    keep = [d for d in range(nd) if d not in axes]
    perm = keep + list(axes)
    plan = (axes, perm, [shape[d] for d in perm], tuple(shape[d] for d in keep),
            tuple(1 if d in axes else shape[d] for d in range(nd)), len(keep),
            any(shape[ax] == 0 for ax in axes))
    if len(_RED_PLANS) > 4096:
        _RED_PLANS.clear()
    _RED_PLANS[key] = plan
    return plan


def _reduce(op, x, axes, keepdims, ref, opname):
    if type(x) is not _ndarray:
        x = np.asarray(x)
    if type(axes) is list:
        axes = tuple(axes)
    axes, perm, pshape, oshape, kshape, nkeep, empty = _reduce_plan(x.shape, axes, opname)
    dt = x.dtype
    f = _RED.get(dt)
    if f is None or x.ndim > _MAX_NDIM:
        return ref(x, axes, keepdims)
    if not axes:
        return x.copy()
    if empty and op != _SUM:
        raise ValueError(f"{opname}: zero-size array to reduction operation {_NP_NAME[opname]} "
                         f"which has no identity (reducing axes {axes} of shape {x.shape})")
    st = _elem_strides(x)
    if st is None:
        x = np.ascontiguousarray(x)
        st = _elem_strides(x)
    out = _empty(oshape, dt)
    ctype = _ARR[dt]
    err = f(op, len(perm), nkeep, pshape, _ptr(x, ctype), [st[d] for d in perm],
            _from_buffer(ctype, out))
    if err:
        _check(err, opname)
    return out.reshape(kshape) if keepdims else out


def sum(x, axes, keepdims=False):  # noqa: A001
    return _reduce(_lib.TG_RED_SUM, x, axes, keepdims, _ref.sum, "sum")


def max(x, axes, keepdims=False):  # noqa: A001
    return _reduce(_lib.TG_RED_MAX, x, axes, keepdims, _ref.max, "max")


def min(x, axes, keepdims=False):  # noqa: A001
    return _reduce(_lib.TG_RED_MIN, x, axes, keepdims, _ref.min, "min")


# ---------------------------------------------------------------- matmul

_MM = {_F32: _lib.tg_matmul_f32, _F64: _lib.tg_matmul_f64}


def _matrix_layout(arr, trans):
    """(array, trans flag, leading dim) with the last two dims readable by the GEMM.

    A row-major matrix (column stride 1) is passed as is; a column-major one (a transposed
    view) flips the trans flag instead of being copied; anything else is copied.
    """
    rows, cols = arr.shape[-2:]
    st = _elem_strides(arr)
    if st is not None:
        sr, sc = st[-2:]
        if (sc == 1 or cols == 1) and (rows == 1 or sr >= cols >= 1 or (cols == 0 and sr >= 1)):
            return arr, trans, sr if rows > 1 else (cols if cols > 0 else 1)
        if (sr == 1 or rows == 1) and (cols == 1 or sc >= rows >= 1 or (rows == 0 and sc >= 1)):
            return arr, not trans, sc if cols > 1 else (rows if rows > 0 else 1)
    arr = np.ascontiguousarray(arr)
    return arr, trans, cols if cols > 0 else 1


def matmul(a, b, trans_a=False, trans_b=False):
    """(..., m, k) @ (..., k, n) -> (..., m, n); batch dims broadcast.

    ``trans_a`` means ``a`` is stored as (..., k, m) and is used transposed; likewise
    ``trans_b`` for (..., n, k). Both operands have ndim >= 2.
    """
    if type(a) is not _ndarray or type(b) is not _ndarray:
        a, b = np.asarray(a), np.asarray(b)
    dt = a.dtype
    if dt is not b.dtype and dt != b.dtype:
        raise TypeError(f"matmul: operands must have the same dtype, got {dt} and {b.dtype} "
                        "(convert one with astype first)")
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul: both operands need at least 2 dimensions, got shapes "
                         f"{a.shape} and {b.shape}")
    m, k = a.shape[-2:][::-1] if trans_a else a.shape[-2:]
    k2, n = b.shape[-2:][::-1] if trans_b else b.shape[-2:]
    if k != k2:
        how = ""
        if trans_a or trans_b:
            how = " (with " + " and ".join(
                f"{w} transposed" for w, t in (("a", trans_a), ("b", trans_b)) if t) + ")"
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape}{how} cannot be multiplied: "
                         f"{k} != {k2}")
    f = _MM.get(dt)
    if f is None:
        return _ref.matmul(a, b, trans_a, trans_b)
    a, ta, lda = _matrix_layout(a, bool(trans_a))
    b, tb, ldb = _matrix_layout(b, bool(trans_b))
    if a.ndim == 2 and b.ndim == 2:  # the common case: no batch to walk
        batch, sa, sb = (), _NULL, _NULL
    else:
        batch = _broadcast_shape(a.shape[:-2], b.shape[:-2], "matmul", "batch dimensions")
        if len(batch) > _MAX_NDIM:
            return _ref.matmul(a, b, trans_a, trans_b)
        sa = _bcast_strides(a, batch + a.shape[-2:])[:-2]
        sb = _bcast_strides(b, batch + b.shape[-2:])[:-2]
    out = _empty(batch + (m, n), dt)
    ctype = _ARR[dt]
    err = f(ta, tb, len(batch), batch, m, n, k, _ptr(a, ctype), sa, lda, _ptr(b, ctype), sb,
            ldb, _from_buffer(ctype, out))
    if err:
        _check(err, "matmul")
    return out


# ---------------------------------------------------------------- runtime


def set_num_threads(n):
    """Threads the C kernels may use (default: OMP_NUM_THREADS, else the core count)."""
    if type(n) is not int or n < 1:
        raise ValueError(f"set_num_threads: need a positive int, got {n!r}")
    _lib.tg_set_num_threads(n)


def get_num_threads():
    return _lib.tg_get_num_threads()


def build_info():
    """Compiler, flags and OpenMP status of the compiled C core."""
    return _ffi.string(_lib.tg_build_info()).decode()


def simd_level():
    """0: generic C paths; 2: AVX2+FMA paths chosen at run time."""
    return _lib.tg_simd_level()


# ---------------------------------------------------------------- optimizer steps (issue 4, optim)
# One fused C call per parameter (csrc/optim.c). The reference's _optim_arrays checks dtype,
# shape, contiguity and writability first, so C only ever sees valid buffers; it returns the
# gradient made contiguous if it was a view.

_SGD = {_F32: _lib.tg_sgd_step_f32, _F64: _lib.tg_sgd_step_f64}
_ADAGRAD = {_F32: _lib.tg_adagrad_step_f32, _F64: _lib.tg_adagrad_step_f64}
_RMSPROP = {_F32: _lib.tg_rmsprop_step_f32, _F64: _lib.tg_rmsprop_step_f64}
_ADAM = {_F32: _lib.tg_adam_step_f32, _F64: _lib.tg_adam_step_f64}
_NULL = _ffi.NULL
_optim_arrays = _ref._optim_arrays


def _state_ptr(arr, ctype):
    return _NULL if arr is None else _from_buffer(ctype, arr)


def sgd_step(param, grad, momentum_buf, lr, momentum, dampening, nesterov, weight_decay,
             maximize, first_step):
    grad = _optim_arrays("sgd_step", param, grad, momentum_buf)
    if momentum != 0 and momentum_buf is None:
        raise ValueError("sgd_step: momentum != 0 needs a momentum buffer")
    ctype = _ARR[param.dtype]
    err = _SGD[param.dtype](_from_buffer(ctype, param), _from_buffer(ctype, grad),
                            _state_ptr(momentum_buf, ctype), param.size, lr, momentum,
                            dampening, bool(nesterov), weight_decay, bool(maximize),
                            bool(first_step))
    if err:
        _check(err, "sgd_step")


def adagrad_step(param, grad, state_sum, step, lr, lr_decay, weight_decay, eps, maximize):
    grad = _optim_arrays("adagrad_step", param, grad, state_sum)
    if state_sum is None or step < 1:
        raise ValueError("adagrad_step: needs the state sum and a step count >= 1")
    ctype = _ARR[param.dtype]
    err = _ADAGRAD[param.dtype](_from_buffer(ctype, param), _from_buffer(ctype, grad),
                                _from_buffer(ctype, state_sum), param.size, step, lr, lr_decay,
                                weight_decay, eps, bool(maximize))
    if err:
        _check(err, "adagrad_step")


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buf, lr, alpha, eps, weight_decay,
                 momentum, centered, maximize):
    grad = _optim_arrays("rmsprop_step", param, grad, square_avg, grad_avg, momentum_buf)
    if square_avg is None or (centered and grad_avg is None) or (
            momentum > 0 and momentum_buf is None):
        raise ValueError("rmsprop_step: a state array the options need is missing")
    ctype = _ARR[param.dtype]
    err = _RMSPROP[param.dtype](_from_buffer(ctype, param), _from_buffer(ctype, grad),
                                _from_buffer(ctype, square_avg), _state_ptr(grad_avg, ctype),
                                _state_ptr(momentum_buf, ctype), param.size, lr, alpha, eps,
                                weight_decay, momentum, bool(centered), bool(maximize))
    if err:
        _check(err, "rmsprop_step")


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
              weight_decay, amsgrad, maximize, decoupled):
    grad = _optim_arrays("adam_step", param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq)
    if exp_avg is None or exp_avg_sq is None or (amsgrad and max_exp_avg_sq is None) or step < 1:
        raise ValueError("adam_step: a state array the options need is missing, or step < 1")
    ctype = _ARR[param.dtype]
    err = _ADAM[param.dtype](_from_buffer(ctype, param), _from_buffer(ctype, grad),
                             _from_buffer(ctype, exp_avg), _from_buffer(ctype, exp_avg_sq),
                             _state_ptr(max_exp_avg_sq, ctype), param.size, step, lr, beta1,
                             beta2, eps, weight_decay, bool(amsgrad), bool(maximize),
                             bool(decoupled))
    if err:
        _check(err, "adam_step")
