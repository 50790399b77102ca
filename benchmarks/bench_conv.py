"""Benchmark convolution, pooling, softmax and cross-entropy (forward + backward).

Contenders, all in one process:
  tg            tinygrad_edu ops with the C backend (autograd included)
  tg-im2col+mm  the alternative conv design: C im2col/col2im kernels + backend.matmul called
                from Python (what conv.c does per sample inside C instead)
  numpy         a numpy-only implementation: the numpy reference backend's kernels
                (im2col by strided slicing + np.matmul/einsum; no autograd overhead)
  torch         PyTorch CPU with autograd, when it is installed
The "phases" cases time the three conv kernels one by one (tg = forward, tg dx = input
gradient, tg dw = weight gradient) beside PyTorch's kernels for the same phase; each
"x of tg" ratio there is against tg's entry of the same phase.

Usage:  python benchmarks/bench_conv.py [--threads 2] [--rounds 5] [--block 8] [--only conv]

Method (see BENCHMARKING.md): contenders run in alternating blocks of --block calls; the first
half of every block is discarded (thread pools of another library may still be spinning);
the median over the kept calls is reported with the 10th-90th percentile spread, and each
contender's time divided by tg's. Thread counts are pinned for every library and printed.
Not a test: nothing here asserts a speed.
"""

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _parse():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--block", type=int, default=8)
    ap.add_argument("--only", default="", help="run cases whose name contains this")
    ap.add_argument("--no-torch", action="store_true")
    return ap.parse_args()


ARGS = _parse()
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy as npb
from tinygrad_edu.ops import conv as cv
from tinygrad_edu.ops import softmax as sm

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_info = threadpool_limits = None
try:
    if ARGS.no_torch:
        raise ImportError
    import torch
    import torch.nn.functional as TF

    torch.set_num_threads(ARGS.threads)
except ImportError:
    torch = None

if "c" not in tg.backend.available():
    sys.exit("bench_conv: the C backend is not built (python tinygrad_edu/_build.py)")
tg.backend.use("c")
cb = tg.backend.current_module()
cb.set_num_threads(ARGS.threads)


def measure(contenders):
    """{name: fn} -> {name: (median s, p10, p90)} with the block method."""
    kept = {k: [] for k in contenders}
    for _ in range(ARGS.rounds):
        for name, fn in contenders.items():
            times = []
            for _ in range(ARGS.block):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            kept[name] += times[ARGS.block // 2:]
    return {k: (np.median(v), np.percentile(v, 10), np.percentile(v, 90)) for k, v in kept.items()}


def report(case, res):
    print(f"\n{case}")
    for name, (med, p10, p90) in res.items():
        # the reference for "x of tg" is tg's entry of the same phase ("torch dx" -> "tg dx")
        ref = res.get("tg" + name[name.index(" "):] if " " in name else "tg", res["tg"])[0]
        print(f"  {name:14s} {med * 1e3:9.3f} ms  [{p10 * 1e3:8.3f} .. {p90 * 1e3:8.3f}]"
              f"   x{med / ref:5.2f} of tg")


# ---------------------------------------------------------------------------- contenders


def conv_case(xs, ws, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    w = (rng.standard_normal(ws) * 0.1).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    st, pd, dl = (1, 1), (padding, padding), (1, 1)
    g = rng.standard_normal(npb.conv2d_forward(x, w, b, st, pd, dl, 1).shape).astype(np.float32)
    k = ws[2:]

    def run_tg():
        xt = tg.Tensor(x, requires_grad=True)
        wt = tg.Tensor(w, requires_grad=True)
        bt = tg.Tensor(b, requires_grad=True)
        cv.conv2d(xt, wt, bt, padding=padding).backward(tg.Tensor(g))

    def run_im2col_mm():  # forward + the three gradients from kernels called in Python
        n, co = x.shape[0], w.shape[0]
        cols = cb.im2col(x, k, st, pd, dl)  # (N, K, L)
        w2 = w.reshape(co, -1)
        out = cb.matmul(w2, cols) + b.reshape(1, co, 1)  # (N, Co, L)
        g3 = g.reshape(n, co, -1)
        dw = cb.sum(cb.matmul(g3, cols, False, True), (0,))
        dcols = cb.matmul(w2, g3, True, False)
        dx = cb.col2im(dcols, x.shape, k, st, pd, dl)
        db = cb.sum(g, (0, 2, 3))
        return out, dw, dx, db

    def run_numpy():
        npb.conv2d_forward(x, w, b, st, pd, dl, 1)
        npb.conv2d_backward_input(g, w, x.shape, st, pd, dl, 1)
        npb.conv2d_backward_weight(x, g, w.shape, st, pd, dl, 1)
        g.sum(axis=(0, 2, 3))

    out = {"tg": run_tg, "tg-im2col+mm": run_im2col_mm, "numpy": run_numpy}
    if torch is not None:
        tx, tw, tb, tgr = (torch.from_numpy(a) for a in (x, w, b, g))

        def run_torch():
            xx, ww, bb = (a.clone().requires_grad_() for a in (tx, tw, tb))
            TF.conv2d(xx, ww, bb, padding=padding).backward(tgr)

        out["torch"] = run_torch
    return out


def conv_phase_case(xs, ws, padding):
    """The three kernels one by one (C backend entry points, no autograd) beside PyTorch's
    aten kernels for the same phase: forward, input gradient, weight gradient."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    w = (rng.standard_normal(ws) * 0.1).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    geo = ((1, 1), (padding, padding), (1, 1), 1)
    g = rng.standard_normal(cb.conv2d_forward(x, w, b, *geo).shape).astype(np.float32)
    out = {"tg": lambda: cb.conv2d_forward(x, w, b, *geo),
           "tg dx": lambda: cb.conv2d_backward_input(g, w, xs, *geo),
           "tg dw": lambda: cb.conv2d_backward_weight(x, g, ws, *geo)}
    if torch is not None:
        tx, tw, tb, tgr = (torch.from_numpy(a) for a in (x, w, b, g))
        pad = [padding, padding]

        def phase(mask):
            return lambda: torch.ops.aten.convolution_backward(
                tgr, tx, tw, None, [1, 1], pad, [1, 1], False, [0, 0], 1, mask)

        out["torch"] = lambda: TF.conv2d(tx, tw, tb, padding=padding)
        out["torch dx"] = phase([True, False, False])
        out["torch dw"] = phase([False, True, False])
    return out


def pool_case(xs):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(xs).astype(np.float32)
    g = rng.standard_normal((xs[0], xs[1], xs[2] // 2, xs[3] // 2)).astype(np.float32)

    def run_tg():
        xt = tg.Tensor(x, requires_grad=True)
        cv.max_pool2d(xt, 2).backward(tg.Tensor(g))

    def run_numpy():
        _, idx = npb.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
        npb.max_pool2d_backward(g, idx, x.shape)

    out = {"tg": run_tg, "numpy": run_numpy}
    if torch is not None:
        tx, tgr = torch.from_numpy(x), torch.from_numpy(g)

        def run_torch():
            xx = tx.clone().requires_grad_()
            TF.max_pool2d(xx, 2).backward(tgr)

        out["torch"] = run_torch
    return out


def softmax_case(shape):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)

    def run_tg():
        xt = tg.Tensor(x, requires_grad=True)
        sm.softmax(xt, -1).backward(tg.Tensor(g))

    def run_numpy():
        y = npb.softmax(x, -1)
        npb.softmax_backward(y, g, -1)

    out = {"tg": run_tg, "numpy": run_numpy}
    if torch is not None:
        tx, tgr = torch.from_numpy(x), torch.from_numpy(g)

        def run_torch():
            xx = tx.clone().requires_grad_()
            torch.softmax(xx, -1).backward(tgr)

        out["torch"] = run_torch
    return out


def xent_case(shape):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    t = rng.integers(0, shape[1], shape[0])

    def run_tg():
        xt = tg.Tensor(x, requires_grad=True)
        sm.cross_entropy(xt, t).backward()

    def run_numpy():
        _loss, stats, wsum = npb.cross_entropy_forward(x, t, None, -100, 0.0)
        npb.cross_entropy_backward(x, stats, t, None, -100, 0.0, np.float32(1 / wsum))

    out = {"tg": run_tg, "numpy": run_numpy}
    if torch is not None:
        tx, tt = torch.from_numpy(x), torch.from_numpy(t)

        def run_torch():
            xx = tx.clone().requires_grad_()
            TF.cross_entropy(xx, tt).backward()

        out["torch"] = run_torch
    return out


CASES = [
    ("conv2d LeNet-1: x(64,1,28,28) * w(6,1,5,5) fwd+bwd", lambda: conv_case((64, 1, 28, 28), (6, 1, 5, 5), 0)),
    ("conv2d LeNet-2: x(64,6,12,12) * w(16,6,5,5) fwd+bwd", lambda: conv_case((64, 6, 12, 12), (16, 6, 5, 5), 0)),
    ("conv2d 3x3: x(32,16,32,32) * w(16,16,3,3) pad 1 fwd+bwd", lambda: conv_case((32, 16, 32, 32), (16, 16, 3, 3), 1)),
    ("conv2d LeNet-1 phases: x(64,1,28,28) * w(6,1,5,5)", lambda: conv_phase_case((64, 1, 28, 28), (6, 1, 5, 5), 0)),
    ("conv2d LeNet-2 phases: x(64,6,12,12) * w(16,6,5,5)", lambda: conv_phase_case((64, 6, 12, 12), (16, 6, 5, 5), 0)),
    ("conv2d 3x3 phases: x(32,16,32,32) * w(16,16,3,3) pad 1", lambda: conv_phase_case((32, 16, 32, 32), (16, 16, 3, 3), 1)),
    ("max_pool2d 2x2: x(64,6,28,28) fwd+bwd", lambda: pool_case((64, 6, 28, 28))),
    ("softmax (128,10) fwd+bwd", lambda: softmax_case((128, 10))),
    ("softmax (4096,1000) fwd+bwd", lambda: softmax_case((4096, 1000))),
    ("cross_entropy (128,10) fwd+bwd", lambda: xent_case((128, 10))),
    ("cross_entropy (4096,1000) fwd+bwd", lambda: xent_case((4096, 1000))),
]


def main():
    print(f"threads: {ARGS.threads} (tinygrad_edu {cb.get_num_threads()}, torch "
          f"{torch.get_num_threads() if torch else '-'}); numpy {np.__version__}; torch "
          f"{torch.__version__ if torch else 'not installed'}; simd level {cb.simd_level()}")
    if threadpool_info:
        for info in threadpool_info():
            print(f"  pool: {info.get('internal_api')} {info.get('version')} "
                  f"threads={info.get('num_threads')} ({os.path.basename(info.get('filepath', ''))})")
    print(f"method: {ARGS.rounds} rounds x blocks of {ARGS.block} calls, first half of each "
          "block discarded; median [p10 .. p90]")
    limits = threadpool_limits(ARGS.threads) if threadpool_limits else None
    try:
        for name, make in CASES:
            if ARGS.only and ARGS.only not in name:
                continue
            report(name, measure(make()))
    finally:
        if limits is not None:
            limits.unregister()


if __name__ == "__main__":
    main()
