"""Matrix products through the Tensor API (no graph): square N^3 and the MLP's 784-256 layer
shapes, including the transposed operands a training step multiplies (views, not copies).

Layer 784 -> 256 at batch 128, with X (128, 784), W (784, 256), G = dL/dY (128, 256):
    forward  Y  = X @ W        128x784 @ 784x256
    weights  dW = X^T @ G      784x128 @ 128x256   (A^T B: X is stored row-major)
    inputs   dX = G @ W^T      128x256 @ 256x784   (A B^T)
"""

import numpy as np

from . import Case, Spec, tg_contenders, torch_contender

SIZES = (64, 128, 256, 512, 1024)
QUICK_SIZES = (256, 1024)
# label, stored shape of A, stored shape of B, transpose A?, transpose B?
MLP_SHAPES = (
    ("mlp fwd X@W 128x784@784x256", (128, 784), (784, 256), False, False),
    ("mlp dW X^T@G 784x128@128x256", (128, 784), (128, 256), True, False),
    ("mlp dX G@W^T 128x256@256x784", (128, 256), (784, 256), False, True),
)


def _build(a_shape, b_shape, ta, tb, dtype):
    def build(env):
        from ...creation import from_numpy

        a = env.rng.standard_normal(a_shape).astype(dtype)
        b = env.rng.standard_normal(b_shape).astype(dtype)
        m, k = a_shape[::-1] if ta else a_shape
        n = b_shape[0] if tb else b_shape[1]
        na, nb = (a.T if ta else a), (b.T if tb else b)
        A, B = from_numpy(a), from_numpy(b)
        TA, TB = (A.T if ta else A), (B.T if tb else B)
        cs = tg_contenders(lambda: TA @ TB, env)
        cs.append(env.contender("numpy", lambda: na @ nb))
        if env.torch is not None:
            tA, tB = env.torch.from_numpy(a), env.torch.from_numpy(b)
            tA, tB = (tA.T if ta else tA), (tB.T if tb else tB)
            cs += torch_contender(lambda: tA @ tB, env)
        return Case(cs, flops=2.0 * m * n * k, dtype=np.dtype(dtype).name)
    return build


def specs(env, group="matmul"):
    out = []
    for dt in ("float32", "float64"):
        short = "f32" if dt == "float32" else "f64"
        for n in (QUICK_SIZES if env.quick else SIZES):
            out.append(Spec("matmul", f"matmul/{short}/{n}", f"{short} {n}x{n} @ {n}x{n}",
                            _build((n, n), (n, n), False, False, dt)))
    for i, (label, sa, sb, ta, tb) in enumerate(MLP_SHAPES):
        out.append(Spec("matmul", f"matmul/f32/mlp{i}", f"f32 {label}",
                        _build(sa, sb, ta, tb, "float32")))
    return out
