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

import builtins as _builtins
import operator as _operator
import os as _os

import numpy as np

from . import numpy as _ref

# NOTE: GNU libgomp reads its wait policy once, when it is loaded (here, as a dependency of
# _C). Its default keeps every idle worker spinning for milliseconds after each parallel
# region; on a machine with more runnable threads than cores those spinners take the CPU
# from the threads a region waits for, and a training step became 25x slower (measured:
# docs/threads.md). Sleeping workers cost ~4 us more per region on an idle machine, which
# the thresholds in csrc/internal.h make negligible. A user's own setting always wins, and
# the environment is restored right after the import (children and other libraries see
# what the user set).
def _libgomp_loaded():
    """True when some library already loaded libgomp (then its settings stand; Linux only)."""
    try:
        with open("/proc/self/maps") as f:
            return "libgomp" in f.read()
    except OSError:
        return False


_WAIT_POLICY_DEFAULTED = not ("OMP_WAIT_POLICY" in _os.environ or "GOMP_SPINCOUNT" in _os.environ)
_GOMP_PRELOADED = _WAIT_POLICY_DEFAULTED and _libgomp_loaded()
if _WAIT_POLICY_DEFAULTED:
    _os.environ["OMP_WAIT_POLICY"] = "passive"
try:
    from .._C import ffi as _ffi, lib as _lib
finally:
    if _WAIT_POLICY_DEFAULTED:
        _os.environ.pop("OMP_WAIT_POLICY", None)

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


def _realigned(arr):
    """``arr`` itself when C can read it in place, else an aligned C-contiguous copy.

    NOTE: np.ascontiguousarray returns a contiguous but misaligned array (a byte-offset
    view, e.g. from tg.from_numpy) unchanged; a misaligned float load is undefined in C.
    """
    return arr if arr.flags.aligned else np.array(arr, order="C")


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


_EALIGN = _lib.TG_EALIGN
_CONTIG_ERRORS = (ValueError, BufferError, TypeError)  # from_buffer refusing a view

# NOTE: a cffi call costs about 1 us before any work (three from_buffer, np.empty, the call)
# where a numpy ufunc call costs 0.3 us. For the correctly rounded operations (+ - * / and
# negation: IEEE 754 gives one answer, so numpy's bits equal the C kernel's -- tested in
# tests/test_small_path.py) on arrays of at most _SMALL elements, where that fixed cost
# is the whole cost, the wrappers call numpy's ufunc. Measured crossover (4096-element
# float32 multiply): C 1.9 us, numpy 1.4 us; at 16384: C 3.3 us, numpy 4.0 us. Set _SMALL
# to 0 to send everything to C (the kernel tests do).
_SMALL = 4096


def _unary(op, x, ref, opname):
    # Fast path (most calls): a C-contiguous float array. from_buffer refuses any other
    # layout, and the C entry refuses a misaligned pointer (TG_EALIGN): both fall through.
    if type(x) is _ndarray:
        dt = x.dtype
        ctype = _ARR.get(dt)
        if ctype is not None:
            try:
                px = _from_buffer(ctype, x)
            except _CONTIG_ERRORS:
                pass
            else:
                out = _empty(x.shape, dt)
                err = _UN_CONTIG[dt](op, x.size, px, _from_buffer(ctype, out))
                if not err:
                    return out
                if err != _EALIGN:
                    _check(err, opname)
    return _unary_general(op, x, ref, opname)


def _unary_general(op, x, ref, opname):
    if type(x) is not _ndarray:
        x = np.asarray(x)
    dt = x.dtype
    ctype = _ARR.get(dt)
    if ctype is None or x.ndim > _MAX_NDIM:
        return ref(x)
    x = _realigned(x)
    out = _empty(x.shape, dt)
    try:
        px = _from_buffer(ctype, x)
    except _CONTIG_ERRORS:  # a non-contiguous view
        err = _UN[dt](op, x.ndim, x.shape, _ptr(x, ctype), _elem_strides(x),
                      _from_buffer(ctype, out))
    else:
        err = _UN_CONTIG[dt](op, x.size, px, _from_buffer(ctype, out))
    if err:
        _check(err, opname)
    return out


def neg(x):
    if type(x) is _ndarray and x.size <= _SMALL:  # see _SMALL
        return np.negative(x)
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
_ZERO = (0,)


def _binary(op, a, b, table, ref, opname, out_dtype=None):
    # Fast path (most calls): two C-contiguous float arrays of one dtype and shape, as in
    # _unary. Anything else -- scalars, broadcasting, views, misaligned memory -- goes on.
    # A 0-d operand (``x * 0.5``: scalars arrive as cached 0-d arrays) is read at stride 0.
    if type(a) is _ndarray and type(b) is _ndarray and out_dtype is None:
        dt = a.dtype
        ctype = _ARR.get(dt)
        if ctype is not None and dt is b.dtype:
            sa, sb = a.shape, b.shape
            try:
                pa, pb = _from_buffer(ctype, a), _from_buffer(ctype, b)
            except _CONTIG_ERRORS:
                pass
            else:
                if sa == sb:
                    out = _empty(sa, dt)
                    err = _BIN_CONTIG[dt](op, a.size, pa, pb, _from_buffer(ctype, out))
                elif not sb:
                    out = _empty(sa, dt)
                    err = table[dt](op, 1, (a.size,), pa, _ONE, pb, _ZERO,
                                    _from_buffer(ctype, out))
                elif not sa:
                    out = _empty(sb, dt)
                    err = table[dt](op, 1, (b.size,), pa, _ZERO, pb, _ONE,
                                    _from_buffer(ctype, out))
                else:
                    err = _EALIGN  # broadcasting: the general path
                if not err:
                    return out
                if err != _EALIGN:
                    _check(err, opname)
    return _binary_general(op, a, b, table, ref, opname, out_dtype)


def _binary_general(op, a, b, table, ref, opname, out_dtype):
    if type(a) is not _ndarray or type(b) is not _ndarray:
        a, b = _as_arrays(a, b)
    dt = a.dtype
    if dt is not b.dtype and dt != b.dtype:
        raise TypeError(f"{opname}: operands must have the same dtype, got {dt} and {b.dtype} "
                        "(convert one with astype first)")
    ctype = _ARR.get(dt)
    if ctype is None or a.ndim > _MAX_NDIM or b.ndim > _MAX_NDIM:
        return ref(a, b)
    a, b = _realigned(a), _realigned(b)
    octype = "uint8_t[]" if out_dtype is not None else ctype
    shape = a.shape
    if shape == b.shape:
        out = _empty(shape, out_dtype or dt)
        try:  # both C-contiguous: one flat loop
            pa, pb = _from_buffer(ctype, a), _from_buffer(ctype, b)
        except _CONTIG_ERRORS:
            pass
        else:
            if out_dtype is None:
                err = _BIN_CONTIG[dt](op, a.size, pa, pb, _from_buffer(ctype, out))
            else:
                err = table[dt](op, 1, (a.size,), pa, _ONE, pb, _ONE, _from_buffer(octype, out))
            return _finish(err, out, opname)
    else:
        if b.ndim == 0 or a.ndim == 0:  # x * 0.5: one flat loop, the scalar at stride 0
            big, small = (a, b) if b.ndim == 0 else (b, a)
            try:
                pbig, psmall = _from_buffer(ctype, big), _from_buffer(ctype, small)
            except _CONTIG_ERRORS:
                pass  # a strided view: the general path below
            else:
                out = _empty(big.shape, out_dtype or dt)
                po = _from_buffer(octype, out)
                n = (big.size,)
                if big is a:
                    err = table[dt](op, 1, n, pbig, _ONE, psmall, _ZERO, po)
                else:
                    err = table[dt](op, 1, n, psmall, _ZERO, pbig, _ONE, po)
                return _finish(err, out, opname)
        shape = _broadcast_shape(shape, b.shape, opname)
        out = _empty(shape, out_dtype or dt)
    if len(shape) > _MAX_NDIM:
        return ref(a, b)
    err = table[dt](op, len(shape), shape, _ptr(a, ctype), _bcast_strides(a, shape),
                    _ptr(b, ctype), _bcast_strides(b, shape), _from_buffer(octype, out))
    return _finish(err, out, opname)


def _finish(err, out, opname):
    if err:
        _check(err, opname)
    return out


def _exact_binary(op, ufunc, ref, opname):
    """The wrapper of a correctly rounded op (+ - * /): numpy's ufunc on small arrays of one
    dtype and the same shape (or a 0-d operand), else the C kernel (see _SMALL)."""
    def wrapper(a, b):
        if type(a) is _ndarray and type(b) is _ndarray and a.dtype is b.dtype:
            if a.size <= _SMALL and b.size <= _SMALL:
                sa, sb = a.shape, b.shape
                if sa == sb or not sa or not sb:
                    return ufunc(a, b)
        return _binary(op, a, b, _BIN, ref, opname)

    wrapper.__name__ = wrapper.__qualname__ = opname
    return wrapper


add = _exact_binary(_lib.TG_BIN_ADD, np.add, _ref.add, "add")
sub = _exact_binary(_lib.TG_BIN_SUB, np.subtract, _ref.sub, "sub")
mul = _exact_binary(_lib.TG_BIN_MUL, np.multiply, _ref.mul, "mul")
div = _exact_binary(_lib.TG_BIN_DIV, np.divide, _ref.div, "div")


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
    oshape, kshape = tuple(shape[d] for d in keep), tuple(1 if d in axes else shape[d] for d in range(nd))
    empty = any(shape[ax] == 0 for ax in axes)
    # A C-contiguous input reduced over its trailing axes is a (kept, reduced) matrix: the
    # fast path passes that 2-d view, with shape and strides made into C arrays once here.
    flat = None
    if axes and not empty and nd <= _MAX_NDIM and list(axes) == list(range(nd - len(axes), nd)):
        kept_n = int(np.prod(oshape, dtype=np.int64))
        red_n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
        flat = (2, 1, _ffi.new("int64_t[2]", [kept_n, red_n]), _ffi.new("int64_t[2]", [red_n, 1]),
                oshape, kshape)
    plan = (axes, perm, [shape[d] for d in perm], oshape, kshape, len(keep), empty, flat)
    if len(_RED_PLANS) > 4096:
        _RED_PLANS.clear()
    _RED_PLANS[key] = plan
    return plan


def _reduce(op, x, axes, keepdims, ref, opname):
    # Fast path: a C-contiguous float array reduced over trailing axes (a seen pattern).
    if type(x) is _ndarray and (type(axes) is tuple or axes is None):
        plan = _RED_PLANS.get((x.shape, axes))
        if plan is not None and plan[7] is not None:
            dt = x.dtype
            f = _RED.get(dt)
            if f is not None:
                ctype = _ARR[dt]
                try:
                    px = _from_buffer(ctype, x)
                except _CONTIG_ERRORS:
                    pass
                else:
                    nd, nkeep, cshape, cstrides, oshape, kshape = plan[7]
                    out = _empty(kshape if keepdims else oshape, dt)
                    err = f(op, nd, nkeep, cshape, px, cstrides, _from_buffer(ctype, out))
                    if not err:
                        return out
                    if err != _EALIGN:
                        _check(err, opname)
    return _reduce_general(op, x, axes, keepdims, ref, opname)


def _reduce_general(op, x, axes, keepdims, ref, opname):
    if type(x) is not _ndarray:
        x = np.asarray(x)
    if type(axes) is list:
        axes = tuple(axes)
    axes, perm, pshape, oshape, kshape, nkeep, empty, _ = _reduce_plan(x.shape, axes, opname)
    dt = x.dtype
    f = _RED.get(dt)
    if f is None or x.ndim > _MAX_NDIM:
        return ref(x, axes, keepdims)
    if not axes:
        return x.copy()
    if empty and op != _SUM:
        raise ValueError(f"{opname}: zero-size array to reduction operation {_NP_NAME[opname]} "
                         f"which has no identity (reducing axes {axes} of shape {x.shape})")
    x = _realigned(x)
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
    arr = np.array(arr, order="C")  # contiguous and aligned
    return arr, trans, cols if cols > 0 else 1


def matmul(a, b, trans_a=False, trans_b=False):
    """(..., m, k) @ (..., k, n) -> (..., m, n); batch dims broadcast.

    ``trans_a`` means ``a`` is stored as (..., k, m) and is used transposed; likewise
    ``trans_b`` for (..., n, k). Both operands have ndim >= 2.
    """
    if type(a) is _ndarray and type(b) is _ndarray and a.ndim == 2 and b.ndim == 2:
        # NOTE: the common case, kept short: two aligned row-major matrices of one dtype
        dt = a.dtype
        f = _MM.get(dt)
        if f is not None and b.dtype is dt:
            (ra, ca), (rb, cb) = a.shape, b.shape
            m, k = (ca, ra) if trans_a else (ra, ca)
            n = rb if trans_b else cb
            if k == (cb if trans_b else rb) and m and n and k:
                fa, fb = a.flags, b.flags
                if fa.c_contiguous and fb.c_contiguous and fa.aligned and fb.aligned:
                    out = _empty((m, n), dt)
                    ctype = _ARR[dt]
                    err = f(trans_a, trans_b, 0, _NULL, m, n, k, _from_buffer(ctype, a), _NULL,
                            ca, _from_buffer(ctype, b), _NULL, cb, _from_buffer(ctype, out))
                    if err:
                        _check(err, "matmul")
                    return out
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
    """Let the C kernels use at most ``n`` threads (n >= 1); returns the previous limit.

    The default is ``OMP_NUM_THREADS`` when set, else the number of cores. A kernel uses
    fewer threads when its work is too small to pay for them (csrc/internal.h), so small
    tensors always run on the calling thread. See ``tinygrad_edu.set_num_threads``.
    """
    try:
        k = None if isinstance(n, bool) else _operator.index(n)
    except TypeError:
        k = None
    if k is None or k < 1:
        raise ValueError(f"set_num_threads: need an int >= 1, got {n!r}")
    return _lib.tg_set_num_threads(_builtins.min(k, 1 << 16))


def get_num_threads():
    """The most threads a C kernel may use (1 when built without OpenMP)."""
    return _lib.tg_get_num_threads()


def _serial_after_fork():
    # NOTE: GNU libgomp is not fork-safe: a child forked after a parallel region hangs in
    # its first parallel region (the parent's workers do not exist in the child). One
    # thread never starts a team, so the child's kernels run serially instead of hanging.
    _lib.tg_set_num_threads(1)


if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_serial_after_fork)


def thread_info():
    """How the C kernels use threads: a dict for bug reports and benchmark headers."""
    if _GOMP_PRELOADED:
        policy = "libgomp default (another library loaded libgomp before tinygrad_edu)"
    elif _WAIT_POLICY_DEFAULTED:
        policy = "passive (tinygrad_edu default)"
    else:
        policy = " ".join(f"{k}={_os.environ[k]}" for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
                          if k in _os.environ)
    return {"num_threads": get_num_threads(), "openmp": "openmp: yes" in build_info(),
            "wait_policy": policy, "OMP_NUM_THREADS": _os.environ.get("OMP_NUM_THREADS"),
            "team_threads": _lib.tg_team_size(), "team_awake_us": team_awake_us(),
            "team_stats": team_stats()}


def team_stats():
    """Counters of the core's own worker team (csrc/team.c) since the process started:
    tasks handed to it, times a worker joined one (small tasks may be done before a worker
    comes), times a worker was preempted during a task (a busy machine: workers then sleep
    right after their tasks for 10 ms to 0.32 s), and tasks that wanted threads but ran alone."""
    out = _ffi.new("int64_t[4]")
    _lib.tg_team_stats(out)
    return {"tasks": out[0], "joins": out[1], "preempted": out[2], "alone": out[3]}


def team_awake_us(us=None):
    """How long (microseconds) an idle worker of the core's own team stays awake after a
    task before it sleeps (csrc/team.c: the matrix products use that team); with ``us``, set
    it and return the previous value. Default 1000, or ``TINYGRAD_EDU_AWAKE_US``. 0 makes
    workers sleep at once (kind to a busy machine, slower for back-to-back products)."""
    if us is None:
        return _lib.tg_team_set_awake_us(-1)
    try:
        k = None if isinstance(us, bool) else _operator.index(us)
    except TypeError:
        k = None
    if k is None or k < 0:
        raise ValueError(f"team_awake_us: need an int >= 0 (microseconds), got {us!r}")
    return _lib.tg_team_set_awake_us(_builtins.min(k, 10 ** 9))


def build_info():
    """Compiler, flags and OpenMP status of the compiled C core."""
    return _ffi.string(_lib.tg_build_info()).decode()


def simd_level():
    """0: generic C paths; 2: AVX2+FMA paths chosen at run time."""
    return _lib.tg_simd_level()


def _set_simd_level(level):
    """Cap the SIMD path (0: generic C; -1: the CPU's best); returns the previous level.

    For tests that compare the AVX2 and the portable kernels in one process.
    """
    return _lib.tg_set_simd_level(level)


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
# ---- end optimizer steps (issue 4)


# ---------------------------------------------------------------- conv/softmax (issue 3: ops/conv.py, ops/softmax.py)
# Owner: conv/softmax helper. Wrappers for csrc/softmax.c and csrc/conv.c; same names and
# signatures as the reference section at the end of backend/numpy.py.

_I64 = np.dtype(np.int64)
_SOFTMAX = {_F32: _lib.tg_softmax_f32, _F64: _lib.tg_softmax_f64}
_SOFTMAX_BWD = {_F32: _lib.tg_softmax_backward_f32, _F64: _lib.tg_softmax_backward_f64}
_XENT = {_F32: _lib.tg_cross_entropy_f32, _F64: _lib.tg_cross_entropy_f64}
_XENT_BWD = {_F32: _lib.tg_cross_entropy_backward_f32, _F64: _lib.tg_cross_entropy_backward_f64}
_IM2COL = {_F32: _lib.tg_im2col_f32, _F64: _lib.tg_im2col_f64}
_COL2IM = {_F32: _lib.tg_col2im_f32, _F64: _lib.tg_col2im_f64}
_CONV = {_F32: _lib.tg_conv2d_f32, _F64: _lib.tg_conv2d_f64}
_CONV_BI = {_F32: _lib.tg_conv2d_backward_input_f32, _F64: _lib.tg_conv2d_backward_input_f64}
_CONV_BW = {_F32: _lib.tg_conv2d_backward_weight_f32, _F64: _lib.tg_conv2d_backward_weight_f64}
_MAXPOOL = {_F32: _lib.tg_max_pool2d_f32, _F64: _lib.tg_max_pool2d_f64}
_MAXPOOL_BWD = {_F32: _lib.tg_max_pool2d_backward_f32, _F64: _lib.tg_max_pool2d_backward_f64}
_AVGPOOL = {_F32: _lib.tg_avg_pool2d_f32, _F64: _lib.tg_avg_pool2d_f64}
_AVGPOOL_BWD = {_F32: _lib.tg_avg_pool2d_backward_f32, _F64: _lib.tg_avg_pool2d_backward_f64}
def _ascontig(a):  # contiguous AND aligned (see _realigned)
    return np.array(a, order="C")




def _same_dtype(opname, dt, *arrays):
    """C-contiguous versions of ``arrays``, which must all have dtype ``dt``."""
    out = []
    for a in arrays:
        if a.dtype != dt:
            raise TypeError(f"{opname}: operands must have the same dtype, got {dt} and "
                            f"{a.dtype} (convert one with astype first)")
        out.append(a if a.flags.c_contiguous and a.flags.aligned else _ascontig(a))
    return out


def _axis_split(shape, axis, opname):
    """(outer, n, inner): the array seen as 3-d around ``axis``."""
    nd = len(shape)
    if not -nd <= axis < nd:
        raise ValueError(f"{opname}: axis {axis} is out of range for shape {shape}")
    axis %= nd
    outer = inner = 1
    for s in shape[:axis]:
        outer *= s
    for s in shape[axis + 1:]:
        inner *= s
    return outer, shape[axis], inner


def _softmax_call(x, axis, log_sm, ref, opname):
    dt = x.dtype
    f = _SOFTMAX.get(dt)
    if f is None or x.ndim == 0:
        return ref(x, axis)
    outer, n, inner = _axis_split(x.shape, axis, opname)
    if not (x.flags.c_contiguous and x.flags.aligned):
        x = _ascontig(x)
    out = _empty(x.shape, dt)
    if out.size:
        ct = _ARR[dt]
        _check(f(_from_buffer(ct, x), _from_buffer(ct, out), outer, n, inner, log_sm), opname)
    return out


def softmax(x, axis):
    return _softmax_call(x, axis, 0, _ref.softmax, "softmax")


def log_softmax(x, axis):
    return _softmax_call(x, axis, 1, _ref.log_softmax, "log_softmax")


def _softmax_bwd_call(y, g, axis, log_sm, ref, opname):
    dt = y.dtype
    f = _SOFTMAX_BWD.get(dt)
    if f is None or y.ndim == 0:
        return ref(y, g, axis)
    if g.shape != y.shape:
        raise ValueError(f"{opname}: gradient shape {g.shape} does not match {y.shape}")
    y, g = _same_dtype(opname, dt, y, g)
    outer, n, inner = _axis_split(y.shape, axis, opname)
    out = _empty(y.shape, dt)
    if out.size:
        ct = _ARR[dt]
        _check(f(_from_buffer(ct, y), _from_buffer(ct, g), _from_buffer(ct, out), outer, n,
                 inner, log_sm), opname)
    return out


def softmax_backward(y, g, axis):
    return _softmax_bwd_call(y, g, axis, 0, _ref.softmax_backward, "softmax_backward")


def log_softmax_backward(y, g, axis):
    return _softmax_bwd_call(y, g, axis, 1, _ref.log_softmax_backward, "log_softmax_backward")


def _xent_args(opname, x, target, weight):
    """Validated (x, target, weight pointer or NULL) for the cross-entropy kernels."""
    dt = x.dtype
    if x.ndim != 2:
        raise ValueError(f"{opname}: logits must be 2-d (rows, classes), got shape {x.shape}")
    if target.dtype != _I64 or target.shape != x.shape[:1]:
        raise ValueError(f"{opname}: target must be int64 of shape {x.shape[:1]}, got "
                         f"{target.dtype} {target.shape}")
    (x,) = _same_dtype(opname, dt, x)
    target = target if target.flags.c_contiguous and target.flags.aligned else _ascontig(target)
    wp = _ffi.NULL
    if weight is not None:
        if weight.shape != x.shape[1:]:
            raise ValueError(f"{opname}: weight must have shape {x.shape[1:]}, got {weight.shape}")
        (weight,) = _same_dtype(opname, dt, weight)
        wp = _from_buffer(_ARR[dt], weight)
    return x, target, weight, wp


def _bad_target(opname, target, classes, ignore_index):
    bad = (target != ignore_index) & ((target < 0) | (target >= classes))
    i = int(np.argmax(bad))
    return ValueError(f"{opname}: target {int(target[i])} at position {i} is out of range "
                      f"for {classes} classes (expected 0 <= target < {classes} or "
                      f"target == ignore_index {ignore_index})")


def cross_entropy_forward(x, target, weight, ignore_index, label_smoothing):
    f = _XENT.get(x.dtype)
    if f is None:
        return _ref.cross_entropy_forward(x, target, weight, ignore_index, label_smoothing)
    x, target, weight, wp = _xent_args("cross_entropy", x, target, weight)
    n, c = x.shape
    dt = x.dtype
    loss = _empty(n, dt)
    stats = _empty((n, 2), dt)
    wsum = _ffi.new("double *")
    ct = _ARR[dt]
    err = f(_from_buffer(ct, x), _from_buffer("int64_t[]", target), wp, n, c, ignore_index,
            label_smoothing, _from_buffer(ct, loss), _from_buffer(ct, stats), wsum)
    if err:
        if n and c:
            raise _bad_target("cross_entropy", target, c, ignore_index)
        _check(err, "cross_entropy")
    return loss, stats, wsum[0]


def cross_entropy_backward(x, stats, target, weight, ignore_index, label_smoothing, scale):
    f = _XENT_BWD.get(x.dtype)
    if f is None:
        return _ref.cross_entropy_backward(x, stats, target, weight, ignore_index,
                                           label_smoothing, scale)
    x, target, weight, wp = _xent_args("cross_entropy_backward", x, target, weight)
    n, c = x.shape
    dt = x.dtype
    scale = np.asarray(scale, dtype=dt)
    if scale.shape not in ((), (n,)) or stats.shape != (n, 2):
        raise ValueError(f"cross_entropy_backward: scale {scale.shape} / stats {stats.shape} "
                         f"do not fit {n} rows")
    stats, scale = _same_dtype("cross_entropy_backward", dt, stats, scale)
    dx = _empty((n, c), dt)
    ct = _ARR[dt]
    err = f(_from_buffer(ct, x), _from_buffer(ct, stats), _from_buffer("int64_t[]", target), wp,
            n, c, ignore_index, label_smoothing, _from_buffer(ct, scale), scale.ndim,
            _from_buffer(ct, dx))
    if err:
        if n and c:
            raise _bad_target("cross_entropy_backward", target, c, ignore_index)
        _check(err, "cross_entropy_backward")
    return dx


def _nchw(opname, a):
    if a.ndim != 4:
        raise ValueError(f"{opname}: expected a 4-d (N, C, H, W) array, got shape {a.shape}")
    return a if a.flags.c_contiguous and a.flags.aligned else _ascontig(a)


def im2col(x, kernel, stride, padding, dilation):
    f = _IM2COL.get(x.dtype)
    if f is None:
        return _ref.im2col(x, kernel, stride, padding, dilation)
    x = _nchw("im2col", x)
    n, c, h, w = x.shape
    ho = _ref.conv_out_size(h, kernel[0], stride[0], padding[0], dilation[0])
    wo = _ref.conv_out_size(w, kernel[1], stride[1], padding[1], dilation[1])
    if ho < 1 or wo < 1:
        raise ValueError(f"im2col: kernel {kernel} (dilation {dilation}) is larger than the "
                         f"padded input {h}x{w} (padding {padding})")
    cols = _empty((n, c * kernel[0] * kernel[1], ho * wo), x.dtype)
    ct = _ARR[x.dtype]
    _check(f(_from_buffer(ct, x), _from_buffer(ct, cols), n, c, h, w, *kernel, *stride,
             *padding, *dilation), "im2col")
    return cols


def col2im(cols, x_shape, kernel, stride, padding, dilation):
    dt = cols.dtype
    f = _COL2IM.get(dt)
    if f is None:
        return _ref.col2im(cols, x_shape, kernel, stride, padding, dilation)
    n, c, h, w = x_shape
    ho = _ref.conv_out_size(h, kernel[0], stride[0], padding[0], dilation[0])
    wo = _ref.conv_out_size(w, kernel[1], stride[1], padding[1], dilation[1])
    if ho < 1 or wo < 1 or cols.shape != (n, c * kernel[0] * kernel[1], ho * wo):
        raise ValueError(f"col2im: columns of shape {cols.shape} do not fit input {x_shape}, "
                         f"kernel {kernel}, stride {stride}, padding {padding}, dilation {dilation}")
    (cols,) = _same_dtype("col2im", dt, cols)
    x = _empty(tuple(x_shape), dt)
    ct = _ARR[dt]
    _check(f(_from_buffer(ct, cols), _from_buffer(ct, x), n, c, h, w, *kernel, *stride,
             *padding, *dilation), "col2im")
    return x


def _conv_geometry(opname, x_shape, w_shape, stride, padding, dilation, groups):
    n, c, h, w = x_shape
    co, cg, kh, kw = w_shape
    ho = _ref.conv_out_size(h, kh, stride[0], padding[0], dilation[0])
    wo = _ref.conv_out_size(w, kw, stride[1], padding[1], dilation[1])
    if cg * groups != c or co % groups or ho < 1 or wo < 1:
        raise ValueError(f"{opname}: input {tuple(x_shape)} and weight {tuple(w_shape)} do not "
                         f"fit (groups {groups}, stride {stride}, padding {padding}, "
                         f"dilation {dilation})")
    return (n, c, h, w, co, kh, kw, *stride, *padding, *dilation, groups), (n, co, ho, wo)


def conv2d_forward(x, weight, bias, stride, padding, dilation, groups):
    dt = x.dtype
    f = _CONV.get(dt)
    if f is None:
        return _ref.conv2d_forward(x, weight, bias, stride, padding, dilation, groups)
    x, weight = _nchw("conv2d", x), _nchw("conv2d", weight)
    geo, oshape = _conv_geometry("conv2d", x.shape, weight.shape, stride, padding, dilation,
                                 groups)
    x, weight = _same_dtype("conv2d", dt, x, weight)
    ct = _ARR[dt]
    bp = _ffi.NULL
    if bias is not None:
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"conv2d: bias must have shape ({weight.shape[0]},), got {bias.shape}")
        (bias,) = _same_dtype("conv2d", dt, bias)
        bp = _from_buffer(ct, bias)
    out = _empty(oshape, dt)
    _check(f(_from_buffer(ct, x), _from_buffer(ct, weight), bp, _from_buffer(ct, out), *geo),
           "conv2d")
    return out


def conv2d_backward_input(g, weight, x_shape, stride, padding, dilation, groups):
    dt = g.dtype
    f = _CONV_BI.get(dt)
    if f is None:
        return _ref.conv2d_backward_input(g, weight, x_shape, stride, padding, dilation, groups)
    g, weight = _nchw("conv2d_backward_input", g), _nchw("conv2d_backward_input", weight)
    geo, oshape = _conv_geometry("conv2d_backward_input", x_shape, weight.shape, stride,
                                 padding, dilation, groups)
    if g.shape != oshape:
        raise ValueError(f"conv2d_backward_input: gradient of shape {g.shape}, expected {oshape}")
    g, weight = _same_dtype("conv2d_backward_input", dt, g, weight)
    dx = _empty(tuple(x_shape), dt)
    ct = _ARR[dt]
    _check(f(_from_buffer(ct, g), _from_buffer(ct, weight), _from_buffer(ct, dx), *geo),
           "conv2d_backward_input")
    return dx


def conv2d_backward_weight(x, g, w_shape, stride, padding, dilation, groups):
    dt = x.dtype
    f = _CONV_BW.get(dt)
    if f is None:
        return _ref.conv2d_backward_weight(x, g, w_shape, stride, padding, dilation, groups)
    x, g = _nchw("conv2d_backward_weight", x), _nchw("conv2d_backward_weight", g)
    geo, oshape = _conv_geometry("conv2d_backward_weight", x.shape, w_shape, stride, padding,
                                 dilation, groups)
    if g.shape != oshape:
        raise ValueError(f"conv2d_backward_weight: gradient of shape {g.shape}, expected {oshape}")
    x, g = _same_dtype("conv2d_backward_weight", dt, x, g)
    dw = _empty(tuple(w_shape), dt)
    ct = _ARR[dt]
    _check(f(_from_buffer(ct, x), _from_buffer(ct, g), _from_buffer(ct, dw), *geo),
           "conv2d_backward_weight")
    return dw


def _pool_out(opname, x_shape, kernel, stride, padding, dilation=(1, 1), ceil_mode=False):
    n, c, h, w = x_shape
    ho = _ref.pool_out_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    wo = _ref.pool_out_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    if ho < 1 or wo < 1 or 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
        raise ValueError(f"{opname}: kernel {kernel}, stride {stride}, padding {padding} do not "
                         f"fit input {tuple(x_shape)}")
    return (n, c, ho, wo)


def max_pool2d_forward(x, kernel, stride, padding, dilation=(1, 1), ceil_mode=False):
    dt = x.dtype
    f = _MAXPOOL.get(dt)
    if f is None:
        return _ref.max_pool2d_forward(x, kernel, stride, padding, dilation, ceil_mode)
    x = _nchw("max_pool2d", x)
    oshape = _pool_out("max_pool2d", x.shape, kernel, stride, padding, dilation, ceil_mode)
    out = _empty(oshape, dt)
    idx = _empty(oshape, _I64)
    ct = _ARR[dt]
    _check(f(_from_buffer(ct, x), _from_buffer(ct, out), _from_buffer("int64_t[]", idx),
             *x.shape, *kernel, *stride, *padding, *dilation, int(bool(ceil_mode))),
           "max_pool2d")
    return out, idx


def max_pool2d_backward(g, idx, x_shape):
    dt = g.dtype
    f = _MAXPOOL_BWD.get(dt)
    if f is None:
        return _ref.max_pool2d_backward(g, idx, x_shape)
    g = _nchw("max_pool2d_backward", g)
    if idx.shape != g.shape or idx.dtype != _I64 or tuple(x_shape[:2]) != g.shape[:2]:
        raise ValueError(f"max_pool2d_backward: gradient {g.shape}, indices {idx.dtype} "
                         f"{idx.shape} and input shape {tuple(x_shape)} do not fit")
    idx = idx if idx.flags.c_contiguous and idx.flags.aligned else _ascontig(idx)
    dx = _empty(tuple(x_shape), dt)
    ct = _ARR[dt]
    err = f(_from_buffer(ct, g), _from_buffer("int64_t[]", idx), _from_buffer(ct, dx),
            *x_shape, *g.shape[2:])
    if err:
        raise ValueError(f"max_pool2d_backward: an index is outside the {x_shape[2]}x"
                         f"{x_shape[3]} input plane")
    return dx


def avg_pool2d_forward(x, kernel, stride, padding, count_include_pad, ceil_mode=False):
    dt = x.dtype
    f = _AVGPOOL.get(dt)
    if f is None:
        return _ref.avg_pool2d_forward(x, kernel, stride, padding, count_include_pad, ceil_mode)
    x = _nchw("avg_pool2d", x)
    out = _empty(_pool_out("avg_pool2d", x.shape, kernel, stride, padding, (1, 1), ceil_mode),
                 dt)
    ct = _ARR[dt]
    _check(f(_from_buffer(ct, x), _from_buffer(ct, out), *x.shape, *kernel, *stride, *padding,
             int(bool(count_include_pad)), int(bool(ceil_mode))), "avg_pool2d")
    return out


def avg_pool2d_backward(g, x_shape, kernel, stride, padding, count_include_pad, ceil_mode=False):
    dt = g.dtype
    f = _AVGPOOL_BWD.get(dt)
    if f is None:
        return _ref.avg_pool2d_backward(g, x_shape, kernel, stride, padding, count_include_pad,
                                        ceil_mode)
    g = _nchw("avg_pool2d_backward", g)
    if g.shape != _pool_out("avg_pool2d_backward", x_shape, kernel, stride, padding, (1, 1),
                            ceil_mode):
        raise ValueError(f"avg_pool2d_backward: gradient of shape {g.shape} does not fit input "
                         f"{tuple(x_shape)}")
    dx = _empty(tuple(x_shape), dt)
    ct = _ARR[dt]
    _check(f(_from_buffer(ct, g), _from_buffer(ct, dx), *x_shape, *kernel, *stride, *padding,
             int(bool(count_include_pad)), int(bool(ceil_mode))), "avg_pool2d_backward")
    return dx


# ---------------------------------------------------------------- activations (issue 3: ops/activation.py)
# Owner: ops helper B. Wrappers for csrc/activation.c (tg_act_*): the same names and
# signatures as the activations section of backend/numpy.py. The kernels read contiguous
# memory, so other layouts are copied first (one pass; the kernels are several times that).

_ACT_FWD = {_F32: _lib.tg_act_forward_f32, _F64: _lib.tg_act_forward_f64}
_ACT_BWD = {_F32: _lib.tg_act_backward_f32, _F64: _lib.tg_act_backward_f64}


def _act_forward(op, x, p1, p2, ref, args, opname):
    if type(x) is not _ndarray:
        x = np.asarray(x)
    f = _ACT_FWD.get(x.dtype)
    if f is None:
        return ref(x, *args)
    if not (x.flags.c_contiguous and x.flags.aligned):
        x = np.array(x, order="C")  # NOTE: a fresh copy is aligned; ascontiguousarray is not
    out = _empty(x.shape, x.dtype)
    if x.size:
        ct = _ARR[x.dtype]
        err = f(op, x.size, _from_buffer(ct, x), _from_buffer(ct, out), p1, p2)
        if err:
            _check(err, opname)
    return out


def _act_backward(op, x, g, p1, p2, ref, args, opname):
    if type(x) is not _ndarray or type(g) is not _ndarray:
        x, g = np.asarray(x), np.asarray(g)
    dt = x.dtype
    f = _ACT_BWD.get(dt)
    if f is None:
        return ref(x, g, *args)
    if g.dtype != dt:
        raise TypeError(f"{opname}: x and the gradient must have the same dtype, got {dt} and "
                        f"{g.dtype}")
    if g.shape != x.shape:
        raise ValueError(f"{opname}: gradient shape {g.shape} does not match input shape "
                         f"{x.shape}")
    if not (x.flags.c_contiguous and x.flags.aligned):
        x = np.array(x, order="C")
    if not (g.flags.c_contiguous and g.flags.aligned):
        g = np.array(g, order="C")  # e.g. the broadcast ones of sum().backward()
    out = _empty(x.shape, dt)
    if x.size:
        ct = _ARR[dt]
        err = f(op, x.size, _from_buffer(ct, x), _from_buffer(ct, g), _from_buffer(ct, out),
                p1, p2)
        if err:
            _check(err, opname)
    return out


def leaky_relu(x, negative_slope):
    return _act_forward(_lib.TG_ACT_LEAKY_RELU, x, negative_slope, 0.0, _ref.leaky_relu,
                        (negative_slope,), "leaky_relu")


def leaky_relu_backward(x, g, negative_slope):
    return _act_backward(_lib.TG_ACT_LEAKY_RELU, x, g, negative_slope, 0.0,
                         _ref.leaky_relu_backward, (negative_slope,), "leaky_relu_backward")


def elu(x, alpha):
    return _act_forward(_lib.TG_ACT_ELU, x, alpha, 0.0, _ref.elu, (alpha,), "elu")


def elu_backward(x, g, alpha):
    return _act_backward(_lib.TG_ACT_ELU, x, g, alpha, 0.0, _ref.elu_backward, (alpha,),
                         "elu_backward")


def gelu(x):
    return _act_forward(_lib.TG_ACT_GELU, x, 0.0, 0.0, _ref.gelu, (), "gelu")


def gelu_backward(x, g):
    return _act_backward(_lib.TG_ACT_GELU, x, g, 0.0, 0.0, _ref.gelu_backward, (),
                         "gelu_backward")


def gelu_tanh(x):
    return _act_forward(_lib.TG_ACT_GELU_TANH, x, 0.0, 0.0, _ref.gelu_tanh, (), "gelu_tanh")


def gelu_tanh_backward(x, g):
    return _act_backward(_lib.TG_ACT_GELU_TANH, x, g, 0.0, 0.0, _ref.gelu_tanh_backward, (),
                         "gelu_tanh_backward")


def silu(x):
    return _act_forward(_lib.TG_ACT_SILU, x, 0.0, 0.0, _ref.silu, (), "silu")


def silu_backward(x, g):
    return _act_backward(_lib.TG_ACT_SILU, x, g, 0.0, 0.0, _ref.silu_backward, (),
                         "silu_backward")


def softplus(x, beta, threshold):
    return _act_forward(_lib.TG_ACT_SOFTPLUS, x, beta, threshold, _ref.softplus,
                        (beta, threshold), "softplus")


def softplus_backward(x, g, beta, threshold):
    return _act_backward(_lib.TG_ACT_SOFTPLUS, x, g, beta, threshold, _ref.softplus_backward,
                         (beta, threshold), "softplus_backward")


# ---------------------------------------------------------------- indexing (issue 3: ops/indexing.py)
# Owner: ops helper B. Wrapper for csrc/indexing.c (tg_scatter_add_rows_*).

_SCATTER_ROWS = {_F32: _lib.tg_scatter_add_rows_f32, _F64: _lib.tg_scatter_add_rows_f64}
_INDEX_DT = np.dtype(np.int64)


def scatter_add_rows(idx, src, num_rows):
    """out = zeros((num_rows,) + src.shape[1:]); out[idx[i]] += src[i] (repeats add up)."""
    f = _SCATTER_ROWS.get(src.dtype)
    if f is None or idx.dtype != _INDEX_DT or idx.ndim != 1 or src.ndim == 0:
        return _ref.scatter_add_rows(idx, src, num_rows)
    if src.shape[0] != idx.shape[0]:
        raise ValueError(f"scatter_add_rows: {idx.shape[0]} indices for {src.shape[0]} rows")
    # NOTE: np.array copies (aligned); ascontiguousarray would keep a misaligned buffer
    idx = idx if idx.flags.c_contiguous and idx.flags.aligned else np.array(idx, order="C")
    src = src if src.flags.c_contiguous and src.flags.aligned else np.array(src, order="C")
    out = np.zeros((num_rows,) + src.shape[1:], dtype=src.dtype)
    row = out.size // num_rows if num_rows else 0
    if idx.size and row:
        ct = _ARR[src.dtype]
        err = f(idx.size, _from_buffer("int64_t[]", idx), row, _from_buffer(ct, src), num_rows,
                _from_buffer(ct, out))
        if err:
            raise IndexError(f"scatter_add_rows: an index is outside [0, {num_rows})")
    return out
