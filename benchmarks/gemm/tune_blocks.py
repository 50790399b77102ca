"""Sweep the cache block sizes (MC, KC) of one micro-kernel; print GFLOP/s per pair.

    benchmarks/gemm/tune_blocks.sh --dtype float64 --isa avx512 --size 1024 \
        --mc 48,96,192 --kc 128,256,384

Needs a library compiled with -DTG_GEMM_TUNING (tune_blocks.sh does it).  numpy's BLAS is
timed in the same process as a reference line; single thread by default.  Each cell is a ratio
against numpy measured in alternating blocks, so machine-wide slowdowns cancel.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gemm import ISAS, load, make_calls, measure


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lib", default="/tmp/tg_gemm_tune.so")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--isa", default="avx512", choices=sorted(ISAS),
                   help="the blocked kernel to tune")
    p.add_argument("--size", default="1024", help="n or m,n,k")
    p.add_argument("--trans", default="0,0")
    p.add_argument("--mc", default="48,96,144,192,240")
    p.add_argument("--kc", default="128,192,256,384")
    p.add_argument("--nc", type=int, default=4096)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--calls", type=int, default=6)
    args = p.parse_args()
    from threadpoolctl import threadpool_limits

    ffi, lib = load(args.lib)
    ffi.cdef("int tg_gemm_tuning_set_blocks(int es, int64_t mc, int64_t kc, int64_t nc);")
    if lib.tg_gemm_set_path(1, ISAS[args.isa]) != 0:  # 1: always the blocked path
        raise SystemExit(f"--isa {args.isa} is not supported on this CPU")
    lib.tg_set_num_threads(args.threads)
    dt = np.dtype(args.dtype).type
    mnk = [int(x) for x in args.size.split(",")]
    m, n, k = mnk * 3 if len(mnk) == 1 else mnk
    ta, tb = (int(x) for x in args.trans.split(","))
    gf = 2.0 * m * n * k / 1e9
    print(f"{args.dtype} {m}x{n}x{k} trans {ta},{tb} kernel "
          f"{ffi.string(lib.tg_gemm_isa_name()).decode()} threads {args.threads}")
    with threadpool_limits(limits=args.threads, user_api="blas"):
        numpy_, ours = make_calls(ffi, lib, dt, m, n, k, ta, tb, np.random.default_rng(0))
        print(f"numpy {gf / measure([numpy_], args.rounds, args.calls)[0][1]:.1f} GFLOP/s")
        print("cells: time ratio numpy/ours (> 1: ours faster), best block medians of alternating blocks")
        print("mc\\kc " + "".join(f"{kc:>8}" for kc in args.kc.split(",")))
        for mc in [int(x) for x in args.mc.split(",")]:
            row = f"{mc:5d} "
            for kc in [int(x) for x in args.kc.split(",")]:
                if lib.tg_gemm_tuning_set_blocks(np.dtype(dt).itemsize, mc, kc, args.nc):
                    row += f"{'bad':>8}"
                    continue
                (_, tn, _), (_, to, _) = measure([numpy_, ours], args.rounds, args.calls)
                row += f"{tn / to:8.2f}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
