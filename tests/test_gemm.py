"""tg_gemm_f32 / tg_gemm_f64 (csrc/gemm*.c) against a float64 numpy reference.

Every code path (blocked, small, direct) with every instruction set the CPU has (portable C,
AVX2, AVX-512) is forced in turn with tg_gemm_set_path, at sizes on both sides of every
blocking edge the C side reports
(register tile MR x NR, cache blocks MC / KC / NC), with all four transpose combinations,
accumulate on and off, and operands that are submatrices of larger arrays (leading dimension
larger than the row).  C is filled with NaN when not accumulating: the kernel must overwrite
it without reading it.
"""
import contextlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

_C = pytest.importorskip("tinygrad_edu._C")
ffi, lib = _C.ffi, _C.lib

PATHS = {"auto": lib.TG_GEMM_PATH_AUTO, "blocked": lib.TG_GEMM_PATH_BLOCKED,
         "small": lib.TG_GEMM_PATH_SMALL, "direct": lib.TG_GEMM_PATH_DIRECT}
ISAS = {"generic": lib.TG_GEMM_ISA_GENERIC, "avx2": lib.TG_GEMM_ISA_AVX2,
        "avx512": lib.TG_GEMM_ISA_AVX512}
# Every (path, instruction set) this CPU can run: set_path refuses the others.  The small
# path needs SIMD (without it the call takes the blocked path, tested already).
COMBOS = [(p, i) for p in ("blocked", "small", "direct") for i in ISAS
          if not (p == "small" and i == "generic") and lib.tg_gemm_set_path(PATHS[p], ISAS[i]) == 0]
lib.tg_gemm_reset_path()
BEST = [i for i in ISAS if lib.tg_gemm_set_path(lib.TG_GEMM_PATH_AUTO, ISAS[i]) == 0][-1]
lib.tg_gemm_reset_path()
DTYPES = [np.float32, np.float64]


@contextlib.contextmanager
def use_path(path, isa=None, threads=None):
    """Run the GEMM through one path, instruction set and thread count, then restore."""
    assert lib.tg_gemm_set_path(PATHS[path], ISAS[isa or BEST]) == 0
    old_threads = lib.tg_get_num_threads()
    if threads is not None:
        lib.tg_set_num_threads(threads)
    try:
        yield
    finally:
        lib.tg_gemm_reset_path()
        lib.tg_set_num_threads(old_threads)


def blocking(dtype, isa):
    """(MR, NR, MC, KC, NC, ...) of the kernel instruction set `isa` uses for `dtype`."""
    out = ffi.new("int64_t[8]")
    with use_path("blocked", isa):
        assert lib.tg_gemm_blocking(np.dtype(dtype).itemsize, out) == 0
    return tuple(out)


def embed(rng, dtype, rows, cols, pad):
    """A rows x cols view into a larger random array (leading dimension cols + 2*pad)."""
    big = rng.standard_normal((rows + 2, cols + 2 * pad)).astype(dtype)
    return big[1:1 + rows, pad:pad + cols]


def gemm(ta, tb, a, b, c, accumulate):
    """Call the C GEMM on numpy views (row-contiguous, any leading dimension)."""
    m, n = c.shape
    k = a.shape[0] if ta else a.shape[1]
    ptr = "float *" if c.dtype == np.float32 else "double *"
    fn = lib.tg_gemm_f32 if c.dtype == np.float32 else lib.tg_gemm_f64

    def p(x):
        return ffi.cast(ptr, x.ctypes.data)

    def ld(x):  # row stride in elements (any value >= the row length is valid for 0/1 rows)
        return max(x.strides[0] // x.itemsize, x.shape[1])

    return fn(ta, tb, m, n, k, p(a), ld(a), p(b), ld(b), p(c), ld(c), accumulate)


def check(rng, dtype, m, n, k, ta, tb, accumulate, pad=3):
    """Run one product and compare every element with a float64 reference and its bound."""
    a = embed(rng, dtype, k if ta else m, m if ta else k, pad)
    b = embed(rng, dtype, n if tb else k, k if tb else n, pad)
    cbig = rng.standard_normal((m + 2, n + 2 * pad)).astype(dtype)
    c = cbig[1:1 + m, pad:pad + n]
    if not accumulate:
        c[...] = np.nan  # must be overwritten, never read
    before = cbig.copy()
    opa = (a.T if ta else a).astype(np.float64)
    opb = (b.T if tb else b).astype(np.float64)
    ref = opa @ opb + (c.astype(np.float64) if accumulate else 0.0)
    assert gemm(ta, tb, a, b, c, accumulate) == 0
    # Rounding bound of a k-term dot product plus the final add: ~(k+2) eps |A||B|.
    eps = np.finfo(dtype).eps
    bound = 2 * (k + 2) * eps * (np.abs(opa) @ np.abs(opb) + (np.abs(ref) if accumulate else 0))
    err = np.abs(c.astype(np.float64) - ref)
    assert np.all(err <= bound + np.finfo(dtype).tiny), (
        f"{np.dtype(dtype).name} m={m} n={n} k={k} ta={ta} tb={tb} acc={accumulate}: "
        f"max err {np.nanmax(err) if err.size else 0}")
    outside = np.ones(cbig.shape, bool)
    outside[1:1 + m, pad:pad + n] = False
    assert np.array_equal(cbig[outside], before[outside]), "wrote outside C"


def edge_sizes(dtype, isa):
    """(m, n, k) triples on both sides of every blocking edge of `isa`'s kernel."""
    mr, nr, mc, kc, nc = blocking(dtype, isa)[:5]
    ms = sorted({0, 1, mr - 1, mr, mr + 1, 2 * mr + 1, mc - 1, mc, mc + 1})
    ns = sorted({0, 1, nr - 1, nr, nr + 1, 2 * nr + 1})
    ks = sorted({0, 1, 2, kc - 1, kc, kc + 1, 2 * kc + 1})
    out = [(m, n, 3) for m in ms for n in ns]
    out += [(mr + 1, nr + 1, k) for k in ks]
    out += [(mc + 1, nr - 1, kc + 1), (2 * mr - 1, 2 * nr + 3, 2 * kc + 1)]
    out += [(2, nc - 1, 2), (3, nc, 2), (mr + 1, nc + 1, 3), (1, 2 * nc + nr + 1, 1)]
    return out


@pytest.mark.parametrize(("path", "isa"), COMBOS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_blocking_edges(path, isa, dtype):
    rng = np.random.default_rng(0)
    with use_path(path, isa):
        for i, (m, n, k) in enumerate(edge_sizes(dtype, isa)):
            ta, tb = i % 2, (i // 2) % 2  # every transpose combination along the list
            check(rng, dtype, m, n, k, ta, tb, accumulate=i % 3 == 0)


@pytest.mark.parametrize(("path", "isa"), COMBOS)
@pytest.mark.parametrize("ta", [0, 1])
@pytest.mark.parametrize("tb", [0, 1])
def test_transposes_and_accumulate(path, isa, ta, tb):
    rng = np.random.default_rng(1)
    with use_path(path, isa):
        for dtype in DTYPES:
            mr, nr, mc, kc = blocking(dtype, isa)[:4]
            for accumulate in (0, 1):
                check(rng, dtype, mc + mr + 1, 2 * nr + 1, kc + 3, ta, tb, accumulate)


@settings(max_examples=60, deadline=None)
@given(m=st.integers(0, 40), n=st.integers(0, 70), k=st.integers(0, 300),
       ta=st.integers(0, 1), tb=st.integers(0, 1), accumulate=st.integers(0, 1),
       pad=st.integers(0, 5), dtype=st.sampled_from(DTYPES),
       combo=st.sampled_from([("auto", None), *COMBOS]), threads=st.sampled_from([1, 2]),
       seed=st.integers(0, 2**32 - 1))
def test_random_shapes(m, n, k, ta, tb, accumulate, pad, dtype, combo, threads, seed):
    with use_path(*combo, threads=threads):
        check(np.random.default_rng(seed), dtype, m, n, k, ta, tb, accumulate, pad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_auto_two_threads(dtype):
    # Large enough for the auto path to split the work over both threads (the blocked path
    # asks for about 64M float32 multiply-adds before it uses a second thread: csrc/gemm.c).
    with use_path("auto", threads=2):
        check(np.random.default_rng(2), dtype, 401, 289, 617, 0, 0, 0)
        check(np.random.default_rng(4), dtype, 100, 130, 90, 1, 0, 1)  # the small path
    with use_path("blocked", threads=2):  # forced: too small for two threads under auto
        check(np.random.default_rng(3), dtype, 9, 700, 300, 1, 1, 1)  # a column split


@pytest.mark.parametrize("dtype", DTYPES)
def test_bit_identical_across_threads_and_runs(dtype):
    # Work is split over rows/columns of C, never over k: the same sums in the same order.
    rng = np.random.default_rng(4)
    for m, n, k in [(250, 270, 333), (100, 90, 80)]:  # blocked path, then small path
        a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
        results = []
        for threads in (1, 2, 2, 1):
            c = np.empty((m, n), dtype)
            with use_path("auto", threads=threads):
                assert gemm(0, 0, a, b, c, 0) == 0
            results.append(c)
        for r in results[1:]:
            assert np.array_equal(r, results[0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_thread_count_path_choice_is_bit_identical(dtype):
    # With two threads the auto path sends larger products to the small path than with one
    # (csrc/gemm.c, small_pays), but only while k fits one KC block, where the blocked path
    # sums in the same order.  k = KC: small with 2 threads, blocked with 1; k = KC + 1:
    # blocked with both.  Either way the bits must not depend on the thread count.
    kc = blocking(dtype, BEST)[3]
    rng = np.random.default_rng(5)
    for m, n, k in [(200, 96, kc), (200, 96, kc + 1), (129, 33, kc - 1)]:
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        results = []
        for threads in (1, 2):
            c = np.full((m, n), np.nan, dtype)
            with use_path("auto", threads=threads):
                assert gemm(0, 0, a, b, c, 0) == 0
            results.append(c)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        assert np.allclose(results[0], ref, rtol=1e-3 if dtype == np.float32 else 1e-10,
                           atol=1e-3 if dtype == np.float32 else 1e-10)
        assert np.array_equal(results[0], results[1]), (m, n, k)


@pytest.mark.parametrize("dtype", DTYPES)
def test_blocked_two_threads_many_panels(dtype):
    # Several B panels along n (NC) and k (KC): the two threads meet at the team barrier
    # before and after packing each one (csrc/gemm.c, team_barrier).  A barrier that let a
    # thread through early would read a half-packed panel or overwrite one still in use.
    mr, nr, mc, kc, nc = blocking(dtype, BEST)[:5]
    rng = np.random.default_rng(6)
    m, n, k = 2 * mr + 3, nc + nr + 5, 2 * kc + 7
    with use_path("blocked", threads=2):
        check(rng, dtype, m, n, k, 0, 0, 1)
        check(rng, dtype, m, n, k, 1, 1, 0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    results = []
    for threads in (2, 1):
        c = np.empty((m, n), dtype)
        with use_path("blocked", threads=threads):
            assert gemm(0, 0, a, b, c, 0) == 0
        results.append(c)
    assert np.array_equal(results[0], results[1])


def test_k_zero_and_empty():
    a, b = np.zeros((4, 0)), np.zeros((0, 5))
    c = np.full((4, 5), 7.0)
    assert gemm(0, 0, a, b, c, 1) == 0 and np.all(c == 7.0)  # accumulate: unchanged
    assert gemm(0, 0, a, b, c, 0) == 0 and np.all(c == 0.0)  # overwrite: zeros
    c = np.full((0, 5), 7.0)
    assert gemm(0, 0, np.zeros((0, 3)), np.zeros((3, 5)), c, 0) == 0


def test_invalid_arguments():
    a, b, c = np.ones((3, 4)), np.ones((4, 5)), np.ones((3, 5))
    pa, pb, pc = (ffi.cast("double *", x.ctypes.data) for x in (a, b, c))
    f = lib.tg_gemm_f64
    assert f(0, 0, -1, 5, 4, pa, 4, pb, 5, pc, 5, 0) == lib.TG_GEMM_EINVAL
    assert f(0, 0, 3, 5, 4, pa, 3, pb, 5, pc, 5, 0) == lib.TG_GEMM_EINVAL  # lda < k
    assert f(1, 0, 3, 5, 4, pa, 2, pb, 5, pc, 5, 0) == lib.TG_GEMM_EINVAL  # lda < m (A^T)
    assert f(0, 1, 3, 5, 4, pa, 4, pb, 3, pc, 5, 0) == lib.TG_GEMM_EINVAL  # ldb < k (B^T)
    assert f(0, 0, 3, 5, 4, pa, 4, pb, 5, pc, 4, 0) == lib.TG_GEMM_EINVAL  # ldc < n
    assert f(0, 0, 3, 5, 4, ffi.NULL, 4, pb, 5, pc, 5, 0) == lib.TG_GEMM_EINVAL
    assert np.all(c == 1.0)  # nothing written on error
    assert lib.tg_gemm_set_path(99, 0) == lib.TG_GEMM_EINVAL
    assert lib.tg_gemm_set_path(0, 7) == lib.TG_GEMM_EINVAL
    lib.tg_gemm_reset_path()
    assert lib.tg_gemm_blocking(2, ffi.new("int64_t[8]")) == lib.TG_GEMM_EINVAL


NESTED_C = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>
#include "tg_gemm.h"
/* Two threads of the caller's parallel region each multiply their own matrices, with
   different sizes, so any barrier the GEMM ran in the caller's team would deadlock. */
int main(void) {
    int bad = 0;
#pragma omp parallel num_threads(2) reduction(+ : bad)
    {
        int64_t t = omp_get_thread_num();
        int64_t n = t ? 300 : 700, k = t ? 900 : 390;
        double *a = malloc(n * k * 8), *b = malloc(k * n * 8), *c = malloc(n * n * 8);
        for (int64_t i = 0; i < n * k; i++) a[i] = 1.0, b[i] = 2.0;
        bad += tg_gemm_f64(0, 0, n, n, k, a, k, b, n, c, n, 0) != 0;
        for (int64_t i = 0; i < n * n; i++) bad += c[i] != 2.0 * k;
        free(a), free(b), free(c);
    }
    printf("%d\n", bad);
    return bad != 0;
}
"""


def test_inside_callers_openmp_region(tmp_path):
    # Called from inside an OpenMP parallel region the GEMM must run alone on the calling
    # thread: a barrier of its own would bind to the caller's team and deadlock.
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    csrc = Path(__file__).resolve().parent.parent / "csrc"
    probe = tmp_path / "probe.c"
    probe.write_text("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
    if subprocess.run([cc, "-fopenmp", str(probe), "-o", str(tmp_path / "probe")],
                      capture_output=True, check=False).returncode != 0:
        pytest.skip("the C compiler has no OpenMP")
    src = tmp_path / "nested.c"
    src.write_text(NESTED_C)
    exe = tmp_path / "nested"
    build = subprocess.run([cc, "-std=c11", "-O1", "-fopenmp", f"-I{csrc}", str(src),
                            *map(str, sorted(csrc.glob("gemm*.c"))), str(csrc / "runtime.c"), str(csrc / "team.c"),
                            "-o", str(exe)], capture_output=True, check=False)
    assert build.returncode == 0, build.stderr.decode()
    run = subprocess.run([str(exe)], capture_output=True, timeout=120, check=False)
    assert run.returncode == 0 and run.stdout.strip() == b"0", run.stdout
