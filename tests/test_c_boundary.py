"""The C boundary audit (issue 8): every public kernel of ``backend/c.py`` is called with
hostile arguments and must agree with the numpy reference or raise the same kind of
exception -- never crash, never return garbage, never write into its inputs.

Hostile means: other dtypes (float16, int32, int64, bool, object, big-endian float), mixed
float32/float64 operands, non-contiguous, negative-stride, Fortran-order, stride-0
(broadcast, read-only), read-only and misaligned arrays, 0-d and empty arrays, more than 16
dimensions, and int32 / out-of-range index arrays for the kernels that take indices.
Misaligned arrays have their own test, which also spies on the cffi kernel tables and checks
that no kernel is ever handed a misaligned pointer (an unaligned float load is undefined
behaviour in C, and UBSan aborts on it).

Three deliberate, documented differences from the reference are accepted (and only these):
- mixed float dtypes: the C wrappers refuse with a TypeError naming the kernel (cffi would
  read a float32 buffer as double[] otherwise), where numpy promotes silently;
- index arrays that are not int64 (``idx32``): refused with an error naming the kernel;
- shapes the reference accepts only by accident (it reshapes or broadcasts where the
  contract says "exact shape") or fails on with an internal error (tuple unpacking), and
  out-of-range class/pool indices (numpy's IndexError): the C wrapper checks the contract
  and raises ValueError naming the kernel; the exact list is ``STRICTER``.
"""

import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu.backend import numpy as nb

cb = pytest.importorskip("tinygrad_edu.backend.c", reason="C backend not built")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # log(-1) etc., both sides

DTYPE_VARIANTS = {"f32": np.float32, "f64": np.float64, "float16": np.float16,
                  "int32": np.int32, "int64": np.int64, "bool": np.bool_, "object": object}
LAYOUTS = ["noncontig", "negstride", "fortran", "broadcast0", "readonly", "unaligned",
           "bigendian"]
SHAPE_MODES = ["zero_d", "empty", "ndim17"]
VARIANTS = list(DTYPE_VARIANTS) + ["mixed"] + LAYOUTS + SHAPE_MODES + ["idx32", "badidx"]


def misaligned(a):
    """A copy of ``a`` whose data pointer is one byte off the dtype's alignment."""
    raw = np.zeros(a.nbytes + a.itemsize + 1, np.uint8)
    u = np.ndarray(a.shape, a.dtype, buffer=raw.data, offset=1)
    u[...] = a
    return u


class Args:
    """Makes one kernel's arguments for one variant, deterministically (same seed, same
    arrays), so each backend gets a fresh, identical set (the optimizer steps write)."""

    def __init__(self, variant, seed=0):
        self.v = variant
        self.rng = np.random.default_rng(seed)
        self.count = 0
        self.mode = variant if variant in SHAPE_MODES else "normal"

    def shape(self, normal, zero_d=(), empty=None, ndim17=None):
        """The shape of a float operand under this variant's shape mode."""
        if self.mode == "normal":
            return normal
        if self.mode == "zero_d":
            return zero_d
        if self.mode == "empty":
            return empty if empty is not None else (0,) + tuple(normal[1:])
        return ndim17 if ndim17 is not None else (1,) * (17 - len(normal)) + tuple(normal)

    def f(self, shape, lo=-2.0, hi=2.0):
        """A float operand: values in [lo, hi), dtype and memory layout of the variant."""
        v, shape = self.v, tuple(shape)
        vals = self.rng.uniform(lo, hi, shape)
        dt = DTYPE_VARIANTS.get(v, np.float64)
        if v == "mixed":
            dt = np.float32 if self.count == 0 else np.float64
        self.count += 1
        if dt is object:
            return vals.astype(object)
        if dt is np.bool_:
            return vals > 0
        if np.dtype(dt).kind == "i":
            return np.round(vals).astype(dt)
        a = vals.astype(dt)
        if v == "noncontig" and shape:
            big = np.zeros(tuple(2 * n for n in shape), dt)
            view = big[tuple(slice(None, None, 2) for _ in shape)]
            view[...] = a
            return view
        if v == "negstride":
            return a[tuple(slice(None, None, -1) for _ in shape)].copy()[
                tuple(slice(None, None, -1) for _ in shape)]
        if v == "fortran":
            return np.asfortranarray(a)
        if v == "broadcast0" and shape and shape[0] > 1:
            return np.broadcast_to(a[:1], shape)
        if v == "readonly":
            a.flags.writeable = False
        if v == "unaligned":
            return misaligned(a)
        if v == "bigendian":
            return a.astype(a.dtype.newbyteorder(">"))
        return a

    def i(self, values):
        """An int64 index/target operand (int32 or out of range under idx32 / badidx)."""
        a = np.asarray(values, np.int64)
        if self.v == "idx32":
            return a.astype(np.int32)
        if self.v == "badidx":
            return a + 1000
        if self.v == "negstride" and a.ndim:
            return a[::-1].copy()[::-1]
        return a


# ------------------------------------------------------------------ one builder per kernel


def _unary(a):
    return (a.f(a.shape((2, 3))),)


def _binary(a):
    return a.f(a.shape((2, 3))), a.f(a.shape((3,), (), (3,), (1,) * 16 + (3,)))


def _reduce(a):
    x = a.f(a.shape((2, 3)))
    return x, (x.ndim - 1,) if x.ndim else (), False


def _matmul(a):
    return a.f(a.shape((2, 3))), a.f(a.shape((3, 4), (), (3, 4), (1,) * 15 + (3, 4))), False, False


def _matmul_tt(a):
    return a.f(a.shape((3, 2))), a.f(a.shape((4, 3), (), (0, 3), (1,) * 15 + (4, 3))), True, True


def _act(*extra):
    return lambda a: (a.f(a.shape((2, 3))),) + extra


def _act_bwd(*extra):
    return lambda a: (a.f(a.shape((2, 3))), a.f(a.shape((2, 3)))) + extra


def _sgd(a):
    s = a.shape((5,))
    return a.f(s), a.f(s), a.f(s), 0.1, 0.9, 0.0, True, 0.01, False, False


def _adagrad(a):
    s = a.shape((5,))
    return a.f(s), a.f(s), a.f(s, 0.1, 1.0), 3, 0.1, 0.01, 0.01, 1e-8, False


def _rmsprop(a):
    s = a.shape((5,))
    return (a.f(s), a.f(s), a.f(s, 2.0, 3.0), a.f(s, -0.1, 0.1), a.f(s), 0.01, 0.99, 1e-8, 0.0,
            0.9, True, False)


def _adam(a):
    s = a.shape((5,))
    return (a.f(s), a.f(s), a.f(s), a.f(s, 0.1, 1.0), a.f(s, 1.0, 2.0), 2, 1e-3, 0.9, 0.999,
            1e-8, 0.01, True, False, True)


def _xent(a):
    x = a.f(a.shape((4, 3), (), (0, 3), (1,) * 15 + (4, 3)))
    n = x.shape[0] if x.ndim == 2 else 4
    return x, a.i([0, 2, 1, -100][:n]), a.f((3,), 0.5, 2.0), -100, 0.1


def _xent_bwd(a):
    x = a.f(a.shape((4, 3), (), (0, 3), (1,) * 15 + (4, 3)))
    n = x.shape[0] if x.ndim == 2 else 4
    sdt = x.dtype if x.dtype.kind == "f" and x.dtype.isnative else np.float64
    stats = np.stack([np.full(n, 2.0), np.full(n, 1.5)], 1).astype(sdt)
    return x, stats, a.i([0, 2, 1, -100][:n]), a.f((3,), 0.5, 2.0), -100, 0.1, a.f((n,))


def _nchw(a, normal):
    return a.shape(normal, (), (0,) + tuple(normal[1:]), (1,) * 13 + tuple(normal))


def _im2col(a):
    return a.f(_nchw(a, (2, 2, 5, 4))), (2, 3), (1, 2), (1, 0), (2, 1)


def _col2im(a):
    # x (2, 2, 5, 4), kernel (2, 3), stride (1, 2), padding (1, 0), dilation (2, 1): 5x1 out
    n = 0 if a.mode == "empty" else 2
    return a.f(a.shape((2, 12, 5), (), (0, 12, 5))), (n, 2, 5, 4), (2, 3), (1, 2), (1, 0), (2, 1)


_CONV_GEO = ((2, 1), (1, 1), (1, 2), 2)  # stride, padding, dilation, groups


def _conv(a):  # x (2, 4, 5, 5), w (6, 2, 3, 2) -> out (2, 6, 3, 5)
    return (a.f(_nchw(a, (2, 4, 5, 5))), a.f(a.shape((6, 2, 3, 2), (), (6, 2, 3, 2))),
            a.f((6,))) + _CONV_GEO


def _conv_bwd_input(a):
    n = 0 if a.mode == "empty" else 2
    return (a.f(_nchw(a, (2, 6, 3, 5))), a.f(a.shape((6, 2, 3, 2), (), (6, 2, 3, 2))),
            (n, 4, 5, 5)) + _CONV_GEO


def _conv_bwd_weight(a):
    return (a.f(_nchw(a, (2, 4, 5, 5))), a.f(_nchw(a, (2, 6, 3, 5))), (6, 2, 3, 2)) + _CONV_GEO


def _maxpool(a):
    return a.f(_nchw(a, (2, 3, 5, 4))), (2, 2), (2, 1), (1, 0)


def _maxpool_bwd(a):
    g = a.f(_nchw(a, (2, 3, 3, 3)))
    n = g.shape[0] if g.ndim == 4 else 2
    idx = np.tile(np.array([0, 5, 9, 2, 7, 11, 19, 18, 3]).reshape(3, 3), (n, 3, 1, 1))
    return g, a.i(idx), (n, 3, 5, 4)


def _avgpool(a):
    return a.f(_nchw(a, (2, 3, 5, 4))), (2, 2), (2, 1), (1, 0), False


def _avgpool_bwd(a):
    g = a.f(_nchw(a, (2, 3, 3, 3)))
    n = g.shape[0] if g.ndim == 4 else 2
    return g, (n, 3, 5, 4), (2, 2), (2, 1), (1, 0), True


def _scatter(a):
    src = a.f(a.shape((4, 3), (), (0, 3)))
    n = src.shape[0] if src.ndim else 4
    return a.i([2, 0, 2, 1][:n]), src, 3


def _softmax(a):
    return a.f(a.shape((2, 3))), -1


def _softmax_bwd(a):
    return a.f(a.shape((2, 3))), a.f(a.shape((2, 3))), 0 if a.mode == "zero_d" else -1


UNARY = ["neg", "exp", "log", "sqrt", "abs", "sign", "tanh", "sigmoid", "relu", "sin", "cos",
         "log1p", "expm1", "erf", "reciprocal", "square", "rsqrt"]
BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "relu_backward",
          "sigmoid_backward", "tanh_backward", "eq", "ne", "lt", "le", "gt", "ge"]
KERNELS = {**{n: _unary for n in UNARY}, **{n: _binary for n in BINARY},
           "sum": _reduce, "max": _reduce, "min": _reduce, "matmul": _matmul,
           "matmul[trans]": _matmul_tt,
           "sgd_step": _sgd, "adagrad_step": _adagrad, "rmsprop_step": _rmsprop,
           "adam_step": _adam,
           "leaky_relu": _act(0.1), "leaky_relu_backward": _act_bwd(0.1),
           "elu": _act(1.2), "elu_backward": _act_bwd(1.2), "gelu": _act(),
           "gelu_backward": _act_bwd(), "gelu_tanh": _act(), "gelu_tanh_backward": _act_bwd(),
           "silu": _act(), "silu_backward": _act_bwd(), "softplus": _act(1.5, 2.0),
           "softplus_backward": _act_bwd(1.5, 2.0),
           "softmax": _softmax, "log_softmax": _softmax, "softmax_backward": _softmax_bwd,
           "log_softmax_backward": _softmax_bwd, "cross_entropy_forward": _xent,
           "cross_entropy_backward": _xent_bwd, "im2col": _im2col, "col2im": _col2im,
           "conv2d_forward": _conv, "conv2d_backward_input": _conv_bwd_input,
           "conv2d_backward_weight": _conv_bwd_weight, "max_pool2d_forward": _maxpool,
           "max_pool2d_backward": _maxpool_bwd, "avg_pool2d_forward": _avgpool,
           "avg_pool2d_backward": _avgpool_bwd, "scatter_add_rows": _scatter}
INPLACE = {"sgd_step", "adagrad_step", "rmsprop_step", "adam_step"}  # update their arguments
RUNTIME = {"set_num_threads", "get_num_threads", "build_info", "simd_level", "thread_info",
           "team_awake_us", "team_stats"}
# (kernel, variant) where the C wrapper enforces the kernel's contract and the reference
# does not (it reshapes/broadcasts a mis-shaped operand, or dies on tuple unpacking with an
# IndexError): C must raise ValueError naming the kernel.
STRICTER = {("col2im", "ndim17"), ("max_pool2d_backward", "zero_d"),
            ("max_pool2d_backward", "ndim17"), ("max_pool2d_forward", "zero_d"),
            ("max_pool2d_backward", "badidx"), ("cross_entropy_forward", "badidx"),
            ("cross_entropy_backward", "badidx")}


def kernel_fn(module, name):
    return getattr(module, name.split("[")[0])


def public_kernels(module):
    return {k for k, v in vars(module).items() if callable(v) and not k.startswith("_")
            and getattr(v, "__module__", None) == module.__name__}


def test_every_public_kernel_is_audited():
    """A kernel added to backend/c.py must get a row in KERNELS (or be a runtime helper)."""
    names = {k.split("[")[0] for k in KERNELS}
    c_public = public_kernels(cb)
    assert c_public - RUNTIME <= names, f"not audited: {sorted(c_public - RUNTIME - names)}"
    assert names <= public_kernels(nb), f"no reference: {sorted(names - public_kernels(nb))}"


def _call(module, name, variant):
    args = KERNELS[name](Args(variant))
    before = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
    try:
        return "ok", kernel_fn(module, name)(*args), args, before
    except Exception as exc:  # noqa: BLE001 - the kind is what we compare
        return "err", exc, args, before


def _flat(x):
    return [y for z in x for y in _flat(z)] if isinstance(x, tuple) else [x]


def _differs(a, b):
    """None if ``a`` and ``b`` (arrays or scalars) agree, else a description."""
    if type(a) is float and type(b) is float:  # cross-entropy's weight sum: a float32 sum
        return None if np.isclose(a, b, rtol=1e-6) else f"{a} != {b}"  # in the reference
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"shape/dtype {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
    if a.dtype.kind == "f":
        tol = 2e-5 if a.dtype.itemsize <= 4 else 1e-10
        if not np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True):
            return "values differ"
    elif a.dtype == object:
        if not all(x == y or (np.isnan(x) and np.isnan(y)) for x, y in zip(a.ravel(), b.ravel())):
            return "values differ"
    elif not np.array_equal(a, b):
        return "values differ"
    return None


def _same_bits(a, b):
    return a.shape == b.shape and (a.tobytes() == b.tobytes() or a.dtype == object
                                  and np.array_equal(a, b))


def check(name, variant):
    """None when the C kernel behaves as required for this variant, else a description."""
    rk, rv, rargs, _ = _call(nb, name, variant)
    ck, cv, cargs, cbefore = _call(cb, name, variant)
    if name not in INPLACE:
        for a, a0 in zip(cargs, cbefore):
            if a0 is not None and not _same_bits(a, a0):
                return "the C wrapper modified an input"
    short = name.split("[")[0]
    if ck == "err" and (name, variant) in STRICTER or ck == "err" and variant in ("mixed",
                                                                               "idx32"):
        ok = isinstance(cv, (TypeError, ValueError)) and short.split("_forward")[0] in str(cv)
        return None if ok else f"refusal without a clear message: {type(cv).__name__}: {cv}"
    if rk == "err" and ck == "err":
        if isinstance(cv, type(rv)) or isinstance(rv, type(cv)):
            return None
        return (f"exception kinds differ: numpy {type(rv).__name__}: {rv} | "
                f"C {type(cv).__name__}: {cv}")
    if rk != ck:
        return (f"numpy {rk} ({rv if rk == 'err' else ''}), "
                f"C {ck} ({type(cv).__name__ + ': ' + str(cv) if ck == 'err' else ''})")
    if name in INPLACE:
        pairs = [(a, b) for a, b in zip(rargs, cargs) if isinstance(a, np.ndarray)]
    else:
        ra, ca = _flat(rv), _flat(cv)
        if len(ra) != len(ca):
            return "different number of outputs"
        pairs = list(zip(ra, ca))
    for a, b in pairs:
        d = _differs(a, b)
        if d:
            return d
    return None


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_kernel_against_reference_for_every_variant(name):
    problems = {v: p for v in VARIANTS if v != "unaligned" and (p := check(name, v)) is not None}
    assert not problems, f"{name}: {problems}"


# ------------------------------------------------------------------ alignment spy

_ITEM = {"float": 4, "double": 8, "int64_t": 8, "uint8_t": 1}


def _spy(fn, seen):
    ffi = cb._ffi

    def wrapper(*args):
        bad = []
        for a in args:
            if isinstance(a, ffi.CData) and ffi.typeof(a).kind in ("pointer", "array"):
                item = ffi.typeof(a).item.cname
                addr = int(ffi.cast("uintptr_t", a))
                if item in _ITEM and addr and addr % _ITEM[item]:
                    bad.append(f"{item} pointer at address {addr:#x}")
        err = fn(*args)
        # The _contig entries check alignment themselves and refuse with TG_EALIGN before
        # reading anything (the wrapper then copies): a refused call is not a misaligned read.
        if bad and err != cb._lib.TG_EALIGN:
            seen.extend(bad)
        return err

    return wrapper


@pytest.fixture
def alignment_spy(monkeypatch):
    """Wrap every kernel in the module's dtype -> kernel tables; collect misaligned pointers."""
    seen = []
    for key, table in list(vars(cb).items()):
        if isinstance(table, dict) and table and all(
                type(f).__name__ == "builtin_function_or_method" for f in table.values()):
            monkeypatch.setitem(vars(cb), key, {dt: _spy(f, seen) for dt, f in table.items()})
    return seen


# Kernels whose wrapper passes a misaligned buffer straight to C (or fails with a cffi
# TypeError on one). Sections still being written by their authors, so reported, not fixed.
_CORE_BUG = ("core section of backend/c.py: a contiguous misaligned array goes to C through "
             "ffi.from_buffer, and np.ascontiguousarray does not realign it "
             "(_elem_strides/_bcast_strides then return None -> cffi TypeError)")
_CONV_BUG = ("conv/softmax section of backend/c.py: _same_dtype/_nchw keep a C-contiguous "
             "misaligned array as is and pass it to C")
MISALIGNED_XFAIL = {}  # both bugs above are fixed (backend/c.py: _realigned, _ascontig)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(
    strict=True, reason=MISALIGNED_XFAIL[n])) if n in MISALIGNED_XFAIL else n
    for n in sorted(KERNELS) if n not in INPLACE])
def test_misaligned_inputs_are_realigned_before_c(name, alignment_spy):
    if name in MISALIGNED_XFAIL and os.environ.get("TINYGRAD_EDU_SANITIZED"):
        pytest.skip("known misaligned load (the xfail's reason): UBSan would halt the run")
    problem = check(name, "unaligned")
    assert problem is None, f"{name}: {problem}"
    assert not alignment_spy, f"{name}: a kernel got a misaligned {alignment_spy[0]}"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_contig_entries_refuse_misaligned_pointers(dtype):
    """The fast path hands any C-contiguous buffer to the _contig entries, which must refuse a
    misaligned one with TG_EALIGN (leaving the output untouched) instead of reading it."""
    ffi, lib = cb._ffi, cb._lib
    ct, sfx = ("float", "f32") if dtype == "float32" else ("double", "f64")
    good = np.arange(1.0, 9.0, dtype=dtype)
    bad = misaligned(good)
    assert not bad.flags.aligned and bad.flags.c_contiguous
    out = np.full(8, -7.0, dtype=dtype)
    p = lambda a: ffi.from_buffer(ct + "[]", a)  # noqa: E731
    binary = getattr(lib, "tg_binary_contig_" + sfx)
    unary = getattr(lib, "tg_unary_contig_" + sfx)
    assert binary(lib.TG_BIN_ADD, 8, p(bad), p(good), p(out)) == lib.TG_EALIGN
    assert binary(lib.TG_BIN_ADD, 8, p(good), p(bad), p(out)) == lib.TG_EALIGN
    assert unary(lib.TG_UN_EXP, 8, p(bad), p(out)) == lib.TG_EALIGN
    assert (out == -7.0).all()
    assert binary(lib.TG_BIN_ADD, 8, p(good), p(good), p(out)) == lib.TG_OK
    np.testing.assert_array_equal(out, good + good)
    # and through the wrapper the misaligned operand is copied, not refused
    np.testing.assert_array_equal(cb.add(bad, good), good + good)
    np.testing.assert_array_equal(cb.exp(bad), cb.exp(good))


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_optimizer_steps_refuse_misaligned_state(name):
    """Parameters and state are updated in place, so they cannot be realigned by a copy: a
    misaligned one is refused. A misaligned gradient is only read: copied and accepted."""
    for pos, refused in ((0, True), (1, False), (2, True)):
        args = list(KERNELS[name](Args("f32")))
        args[pos] = misaligned(args[pos])
        if refused:
            with pytest.raises(ValueError, match=f"{name}: .*aligned"):
                kernel_fn(cb, name)(*args)
            continue
        ref = list(KERNELS[name](Args("f32")))
        kernel_fn(cb, name)(*args)
        kernel_fn(nb, name)(*ref)
        np.testing.assert_allclose(args[0], ref[0], rtol=1e-6)


def test_misaligned_tensor_from_numpy_broadcasts():
    """The user-level face of the core bug above: tg.from_numpy shares a misaligned buffer."""
    import tinygrad_edu as tg

    x = misaligned(np.arange(6, dtype=np.float32).reshape(2, 3))
    before = tg.backend.name
    tg.backend.use("c")
    try:
        out = (tg.from_numpy(x) + tg.from_numpy(np.ones(3, np.float32))).numpy()
    finally:
        tg.backend.use(before)
    np.testing.assert_array_equal(out, x + 1)


# ------------------------------------------------------------------ conv/pool geometry

_geo = st.tuples(st.integers(-1, 4), st.integers(-1, 4))


def _in_contract(h, w, k, s, p, d, pool):
    if min(k) < 1 or min(s) < 1 or min(p) < 0 or min(d) < 1:
        return False
    if pool and (2 * p[0] > k[0] or 2 * p[1] > k[1]):
        return False
    return all(nb.conv_out_size(n, kk, ss, pp, dd) >= 1
               for n, kk, ss, pp, dd in ((h, k[0], s[0], p[0], d[0]), (w, k[1], s[1], p[1], d[1])))


@given(n=st.integers(0, 2), c=st.integers(1, 2), h=st.integers(0, 5), w=st.integers(0, 5),
       k=_geo, s=_geo, p=_geo, d=_geo, which=st.sampled_from(["im2col", "max_pool2d_forward",
                                                              "avg_pool2d_forward"]))
def test_any_geometry_is_answered_without_crash(n, c, h, w, k, s, p, d, which):
    """Kernels get geometry ops/conv.py has validated; called directly with anything, the C
    kernel agrees with the reference inside the contract and refuses clearly outside it."""
    x = np.random.default_rng(0).standard_normal((n, c, h, w))
    pool = which != "im2col"
    args = (x, k, s, p, d) if not pool else (x, k, s, p) + ((True,) if "avg" in which else ())
    if pool:
        d = (1, 1)
    inside = _in_contract(h, w, k, s, p, d, pool)
    try:
        got = getattr(cb, which)(*args)
    except (ValueError, RuntimeError, ZeroDivisionError) as exc:
        # NOTE: outside the contract any clean exception will do: the ops layer
        # (ops/conv.py) validates geometry and words the user's message.
        assert not inside or h == 0 or w == 0, f"{which} refused valid geometry: {exc}"
        return
    assert inside or x.size == 0, f"{which} accepted out-of-contract geometry"
    want = getattr(nb, which)(*args)
    for a, b in zip(_flat(got), _flat(want)):
        np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("scale", [np.inf, -np.inf, 2.5])
def test_cross_entropy_backward_with_infinite_upstream_gradient(dtype, eps, weighted, scale):
    """The upstream scale multiplies last in both backends: with label_smoothing 0 an infinite
    scale gives +-inf (C once computed 0 * inf for the absent smoothing term: NaN everywhere),
    and an ignored row stays 0 whatever the scale."""
    x = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3], [1.0, 3.0, -2.0]], dtype)
    t = np.array([1, -100, 0])
    w = np.array([0.5, 2.0, 1.5], dtype) if weighted else None
    _, stats, _ = nb.cross_entropy_forward(x, t, w, -100, eps)
    s = np.full(3, scale, dtype)
    want = nb.cross_entropy_backward(x, stats, t, w, -100, eps, s)
    got = cb.cross_entropy_backward(x, stats, t, w, -100, eps, s)
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert not np.isnan(want).any() and (want[1] == 0).all()
    if np.isinf(scale):
        # p < 1 everywhere here, so every entry of a kept row is +-inf with a known sign:
        # the target's (p_t - 1) w_t term is negative, the others p_c > 0 (eps 0) or
        # W p_c - w_c with the sign of the finite-scale result
        finite = nb.cross_entropy_backward(x, stats, t, w, -100, eps, np.ones(3, dtype))
        np.testing.assert_array_equal(want[[0, 2]], np.sign(finite[[0, 2]]) * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_index_of_a_minus_inf_window_is_a_real_pixel(dtype):
    """A window whose only real pixel is -inf ties with the -inf padding: the index must be
    the real pixel (as in the C kernel and PyTorch), and the gradient must land there (the
    reference once picked the padding slot, and np.add.at wrapped the index elsewhere)."""
    x = np.array([[[[-np.inf, 1.0], [2.0, 3.0]]]], dtype)
    for mod in (nb, cb):
        out, idx = mod.max_pool2d_forward(x, (2, 2), (1, 1), (1, 1))
        np.testing.assert_array_equal(idx[0, 0], [[0, 1, 1], [2, 3, 3], [2, 3, 3]])
        assert out[0, 0, 0, 0] == -np.inf
        g = np.zeros_like(out)
        g[0, 0, 0, 0] = 1.0
        np.testing.assert_array_equal(mod.max_pool2d_backward(g, idx, x.shape)[0, 0],
                                      [[1.0, 0.0], [0.0, 0.0]])
    # a whole plane of -inf, ceil_mode windows running past the edge: every window's index
    # is its first real pixel (rows and cols 0, 2, 4 of the 6x6 plane)
    x = np.full((1, 1, 6, 6), -np.inf, dtype)
    _, want = nb.max_pool2d_forward(x, (3, 3), (2, 2), (0, 0), (1, 1), True)
    np.testing.assert_array_equal(want[0, 0], [[0, 2, 4], [12, 14, 16], [24, 26, 28]])
    np.testing.assert_array_equal(cb.max_pool2d_forward(x, (3, 3), (2, 2), (0, 0), (1, 1),
                                                        True)[1], want)


def test_max_pool_window_that_misses_the_image_gets_index_minus_one():
    """With dilation a window can skip every real pixel (1x1 image, kernel 2, padding 1,
    dilation 2: taps at -1 and 1): -inf with index -1 in both backends (ops/conv.py refuses
    such geometry before it reaches a kernel)."""
    x = np.ones((1, 1, 1, 1))
    for mod in (nb, cb):
        out, idx = mod.max_pool2d_forward(x, (2, 2), (1, 1), (1, 1), (2, 2), False)
        assert out.shape == (1, 1, 1, 1) and out[0, 0, 0, 0] == -np.inf and idx[0, 0, 0, 0] == -1
