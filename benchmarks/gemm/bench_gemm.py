"""GEMM harness: tg_gemm_f32/f64 against numpy's BLAS, side by side in one process.

Usage (from the repository root; run.sh compiles csrc/gemm.c first):
    benchmarks/gemm/run.sh                       # default sizes, 1 and 2 threads
    python benchmarks/gemm/bench_gemm.py --lib /tmp/tg_gemm.so --threads 1 --sizes 256,1024

Method (see shared BENCHMARKING notes): for every workload, alternate blocks of calls
(numpy block, ours block, ...); in each block discard the first half as warm-up, keep the
median of the rest; the reported time is the median of the block medians, the spread is
their min-max.  With more than one thread each block starts once the process is idle, so
that the other library's thread pool has gone to sleep (see wait_quiet()).  Thread counts are
pinned for both libraries (threadpoolctl for numpy's BLAS, tg_set_num_threads for ours) and
printed with the results.
"""
import argparse
import json
import os
import platform
import time

import numpy as np
from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PATHS = {"auto": 0, "blocked": 1, "small": 2, "direct": 3}
ISAS = {"generic": 0, "avx2": 1, "avx512": 2}


def load(lib_path):
    """Open the compiled gemm with cffi in ABI mode; the cdef is csrc/tg_gemm.h itself."""
    ffi = FFI()
    with open(os.path.join(ROOT, "csrc", "tg_gemm.h")) as f:
        ffi.cdef(f.read())
    ffi.cdef("int tg_set_num_threads(int n);")  # from csrc/tg_core.h (runtime.c)
    return ffi, ffi.dlopen(lib_path)


def workloads(sizes):
    """(label, m, n, k, trans_a, trans_b): square sizes, then the MLP 784-256 layer shapes."""
    out = [(f"{s}^3", s, s, s, 0, 0) for s in sizes]
    out += [
        ("mlp fwd X@W 128x784@784x256", 128, 256, 784, 0, 0),
        ("mlp dW X^T@G 784x128@128x256", 784, 256, 128, 1, 0),
        ("mlp dX G@W^T 128x256@256x784", 128, 784, 256, 0, 1),
    ]
    return out


def block_median(fn, calls):
    """Time `calls` calls, drop the first half, return the median of the rest."""
    ts = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts[calls // 2:]))


def wait_quiet(limit, step=0.005, busy=0.1):
    """Sleep until this process's other threads are idle (their CPU time grew by less than
    busy x step during one step of sleep), at most `limit` seconds.  Measured here: numpy's
    OpenBLAS workers keep a core busy for ~0.12 s after each call, libgomp's for ~1-2 ms.
    (The same rule as tinygrad_edu/bench/timing.py, repeated so this script stays standalone.)"""
    t0 = time.perf_counter()
    while limit > 0:
        c0, w0 = time.process_time(), time.perf_counter()
        time.sleep(step)
        c1, w1 = time.process_time(), time.perf_counter()
        if c1 - c0 < busy * (w1 - w0) or w1 - t0 >= limit:
            break
    return time.perf_counter() - t0


def measure(fns, rounds, calls, settle=0.0):
    """Alternate blocks of every fn; return per fn (median of block medians, min, max).

    settle: before each block, wait up to this many seconds until the thread pool of the
    library that ran before has gone back to sleep (OpenBLAS's workers spin for about 0.12 s
    after a call: a two-thread call of ours inside that window shares a core with a spinner,
    and every barrier waits for a descheduled thread; our 256^3 products measured 13-65x
    slower).  The same wait precedes every block of every library."""
    meds = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            wait_quiet(settle)
            meds[i].append(block_median(fn, calls))
    return [(float(np.median(m)), min(m), max(m)) for m in meds]


def make_calls(ffi, lib, dt, m, n, k, ta, tb, rng):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dt)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dt)
    c_ours, c_np = np.empty((m, n), dt), np.empty((m, n), dt)
    opa, opb = (a.T if ta else a), (b.T if tb else b)
    ctype = "float *" if dt == np.float32 else "double *"
    gemm = lib.tg_gemm_f32 if dt == np.float32 else lib.tg_gemm_f64
    pa, pb, pc = (ffi.cast(ctype, x.ctypes.data) for x in (a, b, c_ours))
    lda, ldb = a.shape[1], b.shape[1]

    keep = (a, b, c_ours)  # cffi casts do not keep the arrays alive: the closure must

    def ours(keep=keep):
        gemm(ta, tb, m, n, k, pa, lda, pb, ldb, pc, n, 0)

    def numpy_():
        np.matmul(opa, opb, out=c_np)

    ours()
    numpy_()
    tol = 1e-3 if dt == np.float32 else 1e-10
    err = np.abs(c_ours - c_np).max() / max(1.0, np.abs(c_np).max())
    assert err < tol, f"result mismatch {m}x{n}x{k} ta={ta} tb={tb}: {err}"
    return numpy_, ours


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lib", default="/tmp/tg_gemm_bench.so", help="compiled csrc/gemm.c")
    p.add_argument("--sizes", default="64,128,256,512,1024")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--path", default="auto", choices=sorted(PATHS),
                   help="force a code path (default: chosen per shape)")
    p.add_argument("--isa", default="best", choices=["best", *sorted(ISAS)],
                   help="highest instruction set ours may use (default: the CPU's best)")
    p.add_argument("--rounds", type=int, default=5, help="blocks per library per workload")
    p.add_argument("--calls", type=int, default=8, help="calls per block (half are warm-up)")
    p.add_argument("--settle", type=float, default=0.5,
                   help="with more than one thread: wait up to this many seconds for an idle "
                        "process before each block (0: no wait)")
    p.add_argument("--no-mlp", action="store_true", help="square sizes only")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()

    from threadpoolctl import threadpool_info, threadpool_limits

    ffi, lib = load(args.lib)
    if args.isa == "best":  # the best instruction set this CPU has
        next(i for i in (2, 1, 0) if lib.tg_gemm_set_path(PATHS[args.path], i) == 0)
    elif lib.tg_gemm_set_path(PATHS[args.path], ISAS[args.isa]) != 0:
        raise SystemExit(f"--isa {args.isa} is not supported on this CPU")
    rng = np.random.default_rng(0)
    blas = [(i["internal_api"], i["version"], i.get("architecture")) for i in threadpool_info()]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          f"numpy {np.__version__} BLAS {blas}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '')!r}")
    print(f"ours: path {args.path}, instruction set {ffi.string(lib.tg_gemm_isa_name()).decode()}"
          f"; {args.rounds} rounds x {args.calls} calls; multi-thread blocks start once the "
          f"process is idle (at most {args.settle} s)\n")
    print(f"{'workload':32} {'dtype':8} {'thr':>3} {'numpy GF/s':>11} {'ours GF/s':>10} "
          f"{'ratio':>6}  spread(ours ms)")
    wl = workloads([int(s) for s in args.sizes.split(",")])
    if args.no_mlp:
        wl = [w for w in wl if not w[0].startswith("mlp")]
    results = []
    for nt in [int(t) for t in args.threads.split(",")]:
        lib.tg_set_num_threads(nt)
        with threadpool_limits(limits=nt, user_api="blas"):
            for dtn in args.dtypes.split(","):
                dt = np.dtype(dtn).type
                for label, m, n, k, ta, tb in wl:
                    fns = make_calls(ffi, lib, dt, m, n, k, ta, tb, rng)
                    settle = args.settle if nt > 1 else 0.0
                    (tn, _, _), (to, lo, hi) = measure(fns, args.rounds, args.calls, settle)
                    gf = 2.0 * m * n * k / 1e9
                    r = {"workload": label, "m": m, "n": n, "k": k, "trans_a": ta,
                         "trans_b": tb, "dtype": dtn, "threads": nt, "numpy_s": tn,
                         "ours_s": to, "numpy_gflops": gf / tn, "ours_gflops": gf / to,
                         "ratio": tn / to}
                    results.append(r)
                    print(f"{label:32} {dtn:8} {nt:3d} {gf / tn:11.1f} {gf / to:10.1f} "
                          f"{tn / to:6.2f}  {lo * 1e3:.3f}-{hi * 1e3:.3f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
