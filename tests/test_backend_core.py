"""The C backend's kernels against the numpy reference backend.

Shapes come from hypothesis (0-d, empty, size-1 and broadcast dims); every input is also
tried as a non-contiguous view (permuted, reversed, strided) so the stride handling in C is
exercised, in float32 and float64. Values are continuous random numbers, so kinks (relu and
abs at 0, ties in max/min) have probability zero; comparisons get deliberate ties.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

from tinygrad_edu.backend import c as cb, numpy as nb

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
LAYOUTS = ["c", "perm", "flip", "step", "broadcast"]

# Maps random normals into each op's domain (keeping away from poles and branch cuts).
DOMAIN = {
    "log": lambda x: np.abs(x) + 0.1,
    "sqrt": lambda x: np.abs(x) + 0.01,
    "rsqrt": lambda x: np.abs(x) + 0.1,
    "reciprocal": lambda x: np.sign(x) * (np.abs(x) + 0.1),
    "log1p": lambda x: np.abs(x) - 0.5,
    "exp": lambda x: 3 * x,
    "expm1": lambda x: x,
    "tanh": lambda x: 3 * x,
    "sigmoid": lambda x: 8 * x,
}
UNARY = ["neg", "exp", "log", "sqrt", "abs", "sign", "tanh", "sigmoid", "relu", "sin", "cos",
         "log1p", "expm1", "erf", "reciprocal", "square", "rsqrt"]
BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "relu_backward",
          "sigmoid_backward", "tanh_backward"]
COMPARE = ["eq", "ne", "lt", "le", "gt", "ge"]


def make(shape, dtype, layout, seed, domain=None):
    """An array of `shape` with values from `seed`, stored in the given memory layout."""
    rng = np.random.default_rng(seed)
    shape = tuple(shape)

    def values(s):
        v = rng.standard_normal(s)
        return (domain(v) if domain else v).astype(dtype)

    if layout == "perm" and len(shape) > 1:
        perm = rng.permutation(len(shape))
        return values(tuple(shape[p] for p in perm)).transpose(np.argsort(perm))
    if layout == "flip":
        return values(shape)[tuple(slice(None, None, -1) for _ in shape)]
    if layout == "step":
        big = values(tuple(2 * n for n in shape))
        return big[tuple(slice(1, None, 2) for _ in shape)]
    if layout == "broadcast" and len(shape) > 0 and shape[0] > 1:
        # a read-only view with stride 0 along the first axis
        return np.broadcast_to(values((1,) + shape[1:]), shape)
    return values(shape)


def check(got, want, dtype):
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, equal_nan=True, **TOL[dtype])


shapes = array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", UNARY)
@settings(max_examples=25, deadline=None)
@given(shape=shapes, layout=st.sampled_from(LAYOUTS), seed=st.integers(0, 2**32 - 1))
def test_unary(op, dtype, shape, layout, seed):
    x = make(shape, dtype, layout, seed, DOMAIN.get(op))
    check(getattr(cb, op)(x), getattr(nb, op)(x), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", UNARY)
def test_unary_large_contiguous(op, dtype):
    # above the OpenMP threshold, with an odd length so the thread split has a tail
    x = make((70001,), dtype, "c", 1, DOMAIN.get(op))
    check(getattr(cb, op)(x), getattr(nb, op)(x), dtype)


def test_unary_special_values():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -800.0, 800.0], np.float32)
    for op in UNARY:
        with np.errstate(all="ignore"):
            check(getattr(cb, op)(x), getattr(nb, op)(x), np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", BINARY + COMPARE)
@settings(max_examples=25, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0,
                                            max_side=4),
       layouts=st.tuples(st.sampled_from(LAYOUTS), st.sampled_from(LAYOUTS)),
       seed=st.integers(0, 2**32 - 1))
def test_binary_broadcast(op, dtype, shapes, layouts, seed):
    sa, sb = shapes.input_shapes
    domain = (lambda v: np.abs(v) + 0.1) if op == "pow" else None
    a = make(sa, dtype, layouts[0], seed, domain)
    b = make(sb, dtype, layouts[1], seed + 1)
    if op in COMPARE and a.size and b.size:
        # deliberate ties, so eq/le/ge see equal elements
        b = np.where(np.random.default_rng(seed).random(shapes.result_shape) < 0.5,
                     np.broadcast_to(a, shapes.result_shape), b).astype(dtype)
    got, want = getattr(cb, op)(a, b), getattr(nb, op)(a, b)
    if op in COMPARE:
        assert got.dtype == np.bool_ and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    else:
        check(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum", "pow"])
@pytest.mark.parametrize("case", ["same", "scalar_b", "scalar_a", "row", "col", "outer", "big"])
def test_binary_fast_paths(op, dtype, case):
    m, n = 37, 301
    sa, sb = {"same": ((m, n), (m, n)), "scalar_b": ((m, n), ()), "scalar_a": ((), (m, n)),
              "row": ((m, n), (n,)), "col": ((m, n), (m, 1)), "outer": ((m, 1), (1, n)),
              "big": ((400, 301), (301,))}[case]
    a = make(sa, dtype, "c", 3, lambda v: np.abs(v) + 0.5)
    b = make(sb, dtype, "c", 4)
    check(getattr(cb, op)(a, b), getattr(nb, op)(a, b), dtype)


def test_maximum_minimum_nan_propagates():
    a = np.array([np.nan, 1.0, np.nan, 2.0], np.float32)
    b = np.array([1.0, np.nan, np.nan, 3.0], np.float32)
    np.testing.assert_array_equal(cb.maximum(a, b), np.maximum(a, b))
    np.testing.assert_array_equal(cb.minimum(a, b), np.minimum(a, b))


@st.composite
def reduce_cases(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6))
    axes = tuple(sorted(draw(st.sets(st.integers(0, len(shape) - 1))) if shape else ()))
    return shape, draw(st.permutations(axes)), draw(st.booleans())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["sum", "max", "min"])
@settings(max_examples=40, deadline=None)
@given(case=reduce_cases(), layout=st.sampled_from(LAYOUTS), seed=st.integers(0, 2**32 - 1))
def test_reduce(op, dtype, case, layout, seed):
    shape, axes, keepdims = case
    x = make(shape, dtype, layout, seed)
    axes = tuple(axes)
    empty = any(shape[a] == 0 for a in axes)
    if op != "sum" and empty:
        with pytest.raises(ValueError, match=op):
            getattr(cb, op)(x, axes, keepdims)
        return
    check(getattr(cb, op)(x, axes, keepdims), getattr(nb, op)(x, axes, keepdims), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["sum", "max", "min"])
@pytest.mark.parametrize("shape,axes", [((100003,), (0,)), ((513, 300), (0,)), ((300, 513), (1,)),
                                        ((7, 40000), (1,)), ((40000, 7), (0,)),
                                        ((64, 33, 17), (0, 2)), ((3, 70000), (0, 1))])
def test_reduce_large(op, dtype, shape, axes):
    # beyond the chunk size of long reductions and the row-block size of axis-0 sums
    x = make(shape, dtype, "c", 5)
    got, want = getattr(cb, op)(x, axes), getattr(nb, op)(x, axes)
    scale = np.sum(np.abs(x), axis=axes) if op == "sum" else 0
    np.testing.assert_allclose(got, want, rtol=TOL[dtype]["rtol"],
                               atol=TOL[dtype]["rtol"] * np.max(scale, initial=1.0))


@pytest.mark.parametrize("op", ["sum", "max", "min"])
def test_reduce_nan_propagates(op):
    x = make((6, 50), np.float32, "c", 6)
    x[2, 17] = np.nan
    x[4, 0] = np.nan
    for axes in [(0,), (1,), (0, 1)]:
        np.testing.assert_array_equal(np.isnan(getattr(cb, op)(x, axes)),
                                      np.isnan(getattr(nb, op)(x, axes)))


def test_reduce_empty():
    x = np.zeros((0, 3), np.float32)
    np.testing.assert_array_equal(cb.sum(x, (0,)), np.zeros(3, np.float32))
    assert cb.max(np.zeros((3, 0), np.float32), (0,)).shape == (0,)
    for op in ("max", "min"):
        with pytest.raises(ValueError, match=f"{op}: zero-size array"):
            getattr(cb, op)(x, (0,))
    np.testing.assert_array_equal(cb.sum(x, ()), x)


@pytest.mark.parametrize("threads", [1, 2])
def test_reduce_deterministic_across_thread_counts(threads):
    x = make((300001,), np.float32, "c", 7)
    y = make((2000, 300), np.float32, "c", 8)
    previous = cb.get_num_threads()
    try:
        cb.set_num_threads(1)
        ref = cb.sum(x, (0,)), cb.sum(y, (0,)), cb.sum(y, (1,))
        cb.set_num_threads(threads)
        got = cb.sum(x, (0,)), cb.sum(y, (0,)), cb.sum(y, (1,))
    finally:
        cb.set_num_threads(previous)
    for g, r in zip(got, ref):
        assert g.tobytes() == r.tobytes()


def matmul_operand(batch, rows, cols, trans, dtype, layout, seed):
    """Stored shape (batch..., rows, cols), or (..., cols, rows) when trans."""
    shape = tuple(batch) + ((cols, rows) if trans else (rows, cols))
    if layout == "T":  # a transposed view of contiguous memory
        base = make(shape[:-2] + shape[-2:][::-1], dtype, "c", seed)
        return np.swapaxes(base, -1, -2)
    return make(shape, dtype, layout, seed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@settings(max_examples=25, deadline=None)
@given(mnk=st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(0, 9)),
       batches=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3),
       layouts=st.tuples(*[st.sampled_from(["c", "T", "flip", "step", "broadcast"])] * 2),
       seed=st.integers(0, 2**32 - 1))
def test_matmul(dtype, trans_a, trans_b, mnk, batches, layouts, seed):
    m, n, k = mnk
    ba, bb = batches.input_shapes
    a = matmul_operand(ba, m, k, trans_a, dtype, layouts[0], seed)
    b = matmul_operand(bb, k, n, trans_b, dtype, layouts[1], seed + 1)
    check(cb.matmul(a, b, trans_a, trans_b), nb.matmul(a, b, trans_a, trans_b), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True),
                                             (True, True)])
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (5, 7, 3), (6, 16, 8), (7, 17, 9), (15, 33, 31),
                                   (16, 32, 64), (17, 65, 63), (65, 31, 129), (130, 70, 257)])
def test_matmul_block_edges(dtype, trans_a, trans_b, m, n, k):
    a = matmul_operand((), m, k, trans_a, dtype, "c", m * k)
    b = matmul_operand((), k, n, trans_b, dtype, "c", n * k + 1)
    got, want = cb.matmul(a, b, trans_a, trans_b), nb.matmul(a, b, trans_a, trans_b)
    np.testing.assert_allclose(got, want, rtol=TOL[dtype]["rtol"] * 10,
                               atol=TOL[dtype]["rtol"] * 10 * np.sqrt(k))


def test_matmul_batch_broadcast():
    a = make((4, 1, 5, 6), np.float64, "c", 9)
    b = make((3, 6, 2), np.float64, "c", 10)
    check(cb.matmul(a, b), nb.matmul(a, b), np.float64)
    check(cb.matmul(b, a, True, True), nb.matmul(b, a, True, True), np.float64)


# ---------------------------------------------------------------- bad input and fallbacks


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: operands with shapes \(2, 3\) and \(4,\) cannot "
                                         r"be broadcast together"):
        cb.add(np.zeros((2, 3), np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="lt: operands"):
        cb.lt(np.zeros((2, 3)), np.zeros((3, 2)))


def test_matmul_errors():
    a, b = np.zeros((3, 4), np.float32), np.zeros((5, 2), np.float32)
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) cannot be "
                                         r"multiplied: 4 != 5"):
        cb.matmul(a, b)
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(2, 5\) \(with b "
                                         r"transposed\) cannot be multiplied: 4 != 5"):
        cb.matmul(a, np.zeros((2, 5), np.float32), False, True)
    with pytest.raises(ValueError, match="matmul: both operands need at least 2 dimensions"):
        cb.matmul(np.zeros(3, np.float32), a)
    with pytest.raises(ValueError, match="matmul: batch dimensions"):
        cb.matmul(np.zeros((2, 3, 4)), np.zeros((3, 4, 5)))


@pytest.mark.parametrize("op", ["add", "maximum", "relu_backward", "eq", "matmul"])
def test_dtype_mix_is_refused(op):
    a, b = np.zeros((2, 2), np.float32), np.zeros((2, 2), np.float64)
    with pytest.raises(TypeError, match=f"{op}: operands must have the same dtype, got "
                                        "float32 and float64"):
        getattr(cb, op)(a, b)


def test_other_dtypes_fall_back_to_numpy():
    i = np.arange(6, dtype=np.int64).reshape(2, 3)
    np.testing.assert_array_equal(cb.add(i, i), i + i)
    np.testing.assert_array_equal(cb.neg(i), -i)
    np.testing.assert_array_equal(cb.sum(i, (1,)), i.sum(1))
    np.testing.assert_array_equal(cb.matmul(i, i.T), i @ i.T)
    np.testing.assert_array_equal(cb.gt(i, 2 * np.ones_like(i)), i > 2)


def test_odd_layouts():
    # more than 16 dims falls back; strides that are not a whole number of elements and
    # read-only broadcast views are copied or read in place
    x = np.ones((1,) * 17 + (2,), np.float32)
    check(cb.add(x, x), x + x, np.float32)
    buf = np.random.default_rng(0).standard_normal(8).astype(np.float32).tobytes()
    f = np.ndarray((4,), np.float32, buffer=buf, strides=(6,))  # 6 bytes: 1.5 elements
    check(cb.neg(f), np.negative(f), np.float32)
    check(cb.sum(f, (0,)), np.sum(f, axis=(0,)), np.float32)
    check(cb.mul(f, f[::-1]), f * f[::-1], np.float32)


def test_runtime_info():
    assert cb.name == "c"
    assert cb.simd_level() in (0, 2)
    assert "openmp" in cb.build_info()
    previous = cb.get_num_threads()
    try:
        cb.set_num_threads(1)
        assert cb.get_num_threads() == 1
    finally:
        cb.set_num_threads(previous)
    with pytest.raises(ValueError, match="set_num_threads"):
        cb.set_num_threads(0)


# ---------------------------------------------------------------- vector math (csrc/vmath.c)
# exp/log/tanh/sigmoid are polynomial recipes, not libm calls: check their error in ulp
# against a long double reference over dense ranges, on the AVX2 and the portable path.

# caps for cb._set_simd_level: portable C; AVX2 only; the CPU's best (AVX-512 for some
# float32 vector math where the CPU has it)
SIMD_CAPS = [0] + ([2, -1] if cb.simd_level() >= 2 else [])


@pytest.fixture(params=SIMD_CAPS, ids=lambda cap: {0: "generic", 2: "avx2", -1: "best"}[cap])
def simd(request):
    previous = cb._set_simd_level(request.param)
    yield request.param
    cb._set_simd_level(-1)
    assert cb.simd_level() == previous


def _reference(op, x):
    xl = x.astype(np.longdouble)
    with np.errstate(all="ignore"):
        if op == "sigmoid":
            e = np.exp(-np.abs(xl))
            return np.where(xl >= 0, 1 / (1 + e), e / (1 + e))
        return getattr(np, op)(xl)


def ulp_error(got, x, op):
    """|got - exact| in units of the spacing of the correctly rounded result (subnormal
    spacing at the bottom); inf where got is non-finite but the result is not."""
    dt = got.dtype
    ref = _reference(op, x)
    with np.errstate(all="ignore"):
        rounded = ref.astype(dt)
        spacing = np.maximum(np.spacing(np.abs(rounded)), np.finfo(dt).smallest_subnormal)
        err = np.abs(got.astype(np.longdouble) - ref) / spacing.astype(np.longdouble)
    same_special = ~np.isfinite(rounded) & (got == rounded)
    return np.where(same_special, 0, err)


VMATH_RANGES = {
    "exp": [(-105, 90), (-1, 1), (-750, 712)],  # float32 overflow/underflow edges, then f64's
    "log": [(1e-6, 10), (0.5, 2)],
    "tanh": [(-25, 25), (-0.7, 0.7), (-1e-3, 1e-3)],
    "sigmoid": [(-800, 800), (-20, 20)],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["exp", "log", "tanh", "sigmoid"])
def test_vmath_ulp_error(op, dtype, simd):
    rng = np.random.default_rng(11)
    xs = [rng.uniform(lo, hi, 100_000) for lo, hi in VMATH_RANGES[op]]
    if op == "log":  # every binade from the smallest subnormal to the largest finite value
        fi = np.finfo(dtype)
        logs = rng.uniform(np.log(fi.smallest_subnormal), np.log(fi.max), 100_000)
        xs.append(np.exp(logs.astype(np.longdouble)))
    for x in xs:
        x = x.astype(dtype)
        err = ulp_error(getattr(cb, op)(x), x, op)
        assert err.max() <= 3.0, (op, x[np.argmax(err)], err.max())


@pytest.mark.parametrize("dtype", DTYPES)
def test_vmath_special_values(dtype, simd):
    fi = np.finfo(dtype)
    inf, nan = np.inf, np.nan
    x = np.array([nan, inf, -inf, 0.0, -0.0, 1000.0, -1000.0, fi.max, -fi.max, fi.tiny,
                  fi.smallest_subnormal, -1.0, 30.0, -30.0], dtype)
    exp, log, tanh, sig = cb.exp(x), cb.log(x), cb.tanh(x), cb.sigmoid(x)
    want_exp = [nan, inf, 0, 1, 1, inf, 0, inf, 0, 1, 1]
    np.testing.assert_array_equal(exp[:11], np.array(want_exp, dtype))
    assert np.isnan(log[[0, 2, 6, 8, 11]]).all()  # nan and negatives (numpy: nan)
    np.testing.assert_array_equal(log[[1, 3, 4]], np.array([inf, -inf, -inf], dtype))
    np.testing.assert_array_equal(tanh[1:], np.array([1, -1, 0, -0.0, 1, -1, 1, -1, fi.tiny,
                                                      fi.smallest_subnormal,
                                                      np.tanh(-1.0), 1, -1], dtype))
    assert np.isnan(tanh[0]) and np.signbit(tanh[4])  # tanh(-0) = -0
    np.testing.assert_array_equal(sig[1:9], np.array([1, 0, 0.5, 0.5, 1, 0, 1, 0], dtype))
    assert np.isnan(sig[0]) and np.isfinite(sig[1:]).all()
    with np.errstate(all="ignore"):  # the finite, non-special rest agrees with numpy
        np.testing.assert_allclose(log[[9, 10, 12]], np.log(x[[9, 10, 12]]), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["exp", "log", "tanh", "sigmoid"])
def test_vmath_strided_and_tails(op, dtype, simd):
    # every element goes through the same vector code: a strided view (copied through a
    # buffer) and each length around the vector width give the contiguous result's bits
    rng = np.random.default_rng(12)
    base = rng.uniform(0.1, 5, 3 * 1000).astype(dtype)
    full = getattr(cb, op)(base[::3].copy())
    np.testing.assert_array_equal(getattr(cb, op)(base[::3]), full)
    for n in [0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 255, 256, 257]:
        np.testing.assert_array_equal(getattr(cb, op)(base[::3][:n].copy()), full[:n])


@pytest.mark.skipif(cb.simd_level() < 2, reason="no AVX2")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["exp", "tanh", "sigmoid"])
def test_vmath_wide_and_avx2_paths_agree_bitwise(op, dtype):
    # AVX-512 (when the CPU has it) does the AVX2 recipe's operations lane by lane
    rng = np.random.default_rng(17)
    x = np.concatenate([rng.uniform(-120, 120, 5003), rng.uniform(-3, 3, 5003),
                        rng.uniform(-760, 760, 5003),
                        [np.nan, np.inf, -np.inf, 0, -0.0, 88.7, -87.5, -103.9, 1e-40, 709.7,
                         -708.5, -745.0, 1e-310]])
    x = x.astype(dtype)
    best = getattr(cb, op)(x)
    cb._set_simd_level(2)
    try:
        avx2 = getattr(cb, op)(x)
    finally:
        cb._set_simd_level(-1)
    assert best.tobytes() == avx2.tobytes()


# ---------------------------------------------------------------- threads: same bits

def _with_threads(n, fn):
    previous = cb.set_num_threads(n)
    try:
        return fn()
    finally:
        cb.set_num_threads(previous)


GRAIN = cb._lib.TG_PAR_GRAIN
# element counts where one more element brings a second thread (csrc/internal.h: cost 1 per
# element for arithmetic, 2 for the vector math), and an odd size well above both
THREAD_SIZES = [2 * GRAIN - 1, 2 * GRAIN, 2 * GRAIN + 1, GRAIN - 1, GRAIN, GRAIN + 1, 1_300_001]


@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_bits_do_not_depend_on_threads(dtype, simd):
    rng = np.random.default_rng(13)
    big = rng.standard_normal(max(THREAD_SIZES) + 2).astype(dtype)
    pos = np.abs(big) + 0.1
    sig = cb.sigmoid(big)
    calls = [(cb.exp, "x"), (cb.log, "p"), (cb.tanh, "x"), (cb.sigmoid, "x"), (cb.relu, "x"),
             (cb.mul, "xg"), (cb.add, "xh"), (cb.relu_backward, "xg"),
             (cb.sigmoid_backward, "yg"), (cb.tanh_backward, "yg"), (cb.maximum, "xg"),
             (cb.lt, "xg")]
    for n in THREAD_SIZES:
        args = {"x": big[:n], "p": pos[:n], "y": sig[:n], "g": big[1:n + 1], "h": dtype(0.5)}
        for fn, names in calls:
            operands = [args[c] for c in names]
            one = _with_threads(1, lambda: fn(*operands))  # noqa: B023 - called right here
            two = _with_threads(2, lambda: fn(*operands))  # noqa: B023
            assert one.tobytes() == two.tobytes(), (n, fn.__name__)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["add", "mul", "maximum", "relu_backward", "tanh_backward"])
def test_broadcast_fast_paths_both_isas(op, dtype, simd):
    # row (1, n), column (m, 1) and scalar operands, on either side, around vector widths
    rng = np.random.default_rng(14)
    for m, n in [(3, 7), (5, 8), (4, 17), (33, 65)]:
        a = rng.standard_normal((m, n)).astype(dtype)
        for b in [rng.standard_normal((1, n)), rng.standard_normal((m, 1)),
                  rng.standard_normal(())]:
            b = np.asarray(b, dtype)
            check(getattr(cb, op)(a, b), getattr(nb, op)(a, b), dtype)
            check(getattr(cb, op)(b, a), getattr(nb, op)(b, a), dtype)


# ---------------------------------------------------------------- reductions, both paths

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["sum", "max", "min"])
def test_reduce_sizes_around_vector_blocks(op, dtype, simd):
    # lengths around the 4-vector unroll (32 floats / 16 doubles), the 1024-element leaves
    # of the pairwise sum and the 32768-element chunks of long reductions
    rng = np.random.default_rng(15)
    x = rng.standard_normal(70_000).astype(dtype)
    for n in [1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1023, 1024, 1025, 2049, 32767, 32768,
              32769, 65537]:
        got, want = getattr(cb, op)(x[:n], (0,)), getattr(nb, op)(x[:n], (0,))
        scale = np.sum(np.abs(x[:n])) if op == "sum" else 0
        np.testing.assert_allclose(got, want, rtol=TOL[dtype]["rtol"],
                                   atol=TOL[dtype]["rtol"] * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["sum", "max", "min"])
def test_reduce_nan_and_inf_anywhere(op, dtype, simd):
    # a NaN inside an unrolled block, in a vector lane, or in the scalar tail always wins;
    # infinities are ordinary values for max/min
    n = 1000
    for pos in [0, 5, 31, 32, 500, 991, 999]:
        x = np.linspace(-1, 1, n).astype(dtype)
        x[pos] = np.nan
        assert np.isnan(getattr(cb, op)(x, (0,)))
        x2 = np.tile(x, (3, 1))
        assert np.isnan(getattr(cb, op)(x2, (1,))).all()
        assert np.isnan(getattr(cb, op)(x2, (0,))[pos])
    x = np.linspace(-1, 1, n).astype(dtype)
    x[[7, 600]] = [np.inf, -np.inf]
    want = {"sum": np.nan, "max": np.inf, "min": -np.inf}[op]
    np.testing.assert_array_equal(getattr(cb, op)(x, (0,)), np.array(want, dtype))


@pytest.mark.parametrize("threads", [1, 2])
def test_reduce_repeatable_at_fixed_threads(threads, simd):
    rng = np.random.default_rng(16)
    xs = [rng.standard_normal(n).astype(np.float32) for n in (4 * GRAIN + 3, 1_000_003)]
    y = rng.standard_normal((1500, 700)).astype(np.float32)
    for op in ("sum", "max", "min"):
        f = getattr(cb, op)

        def results(f=f):
            return [f(x, None) for x in xs] + [f(y, (0,)), f(y, (1,))]
        runs = [_with_threads(threads, results) for _ in range(2)]
        assert all(a.tobytes() == b.tobytes() for a, b in zip(*runs))



def test_backend_using_restores_the_previous_backend_also_on_error():
    import tinygrad_edu as tg

    before = tg.backend.name
    with tg.backend.using("numpy"):
        assert tg.backend.name == "numpy" and tg.backend.mul is nb.mul
    assert tg.backend.name == before
    with pytest.raises(ZeroDivisionError):
        with tg.backend.using("numpy"):
            1 / 0
    assert tg.backend.name == before
    with pytest.raises(ValueError, match="unknown backend"):
        with tg.backend.using("cuda"):
            pass
    assert tg.backend.name == before
