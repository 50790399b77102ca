"""Every row of the op table: the gradient against central differences (float64), and the
C backend against the numpy backend (values and gradients, float32 and float64)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.testing import arrays, distinct_arrays

from op_table import CASES

IDS = [c.name for c in CASES]


def _inputs(data, case, dtype=np.float64):
    shape_list = case.shapes if isinstance(case.shapes, list) else data.draw(case.shapes)
    if case.distinct:
        # NOTE: distinct across all inputs, not only within each: maximum(x, y) with x == y
        # is a tie too. Draw one pool of distinct values and deal it out.
        sizes = [int(np.prod(s)) for s in shape_list]
        pool = data.draw(distinct_arrays((sum(sizes),), low=case.low, high=case.high))
        parts = np.split(pool, np.cumsum(sizes)[:-1])
        return [p.reshape(s).astype(dtype) for p, s in zip(parts, shape_list)]
    return [data.draw(arrays(shp, low=case.low, high=case.high, away_from=case.away_from))
            .astype(dtype) for shp in shape_list]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_gradient_matches_finite_differences(case, data):
    if not case.grad:
        return
    arrs = _inputs(data, case)
    ts = [tg.Tensor(a, requires_grad=i not in case.nondiff) for i, a in enumerate(arrs)]
    assert tg.gradcheck(case.fn, ts, atol=case.atol, rtol=case.rtol)


@pytest.mark.skipif("c" not in tg.backend.available(), reason="C backend not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_c_backend_matches_numpy_backend(case, dtype, data):
    arrs = _inputs(data, case, dtype)
    results = {}
    for name in ("numpy", "c"):
        tg.backend.use(name)
        try:
            ts = [tg.Tensor(a.copy(), requires_grad=case.grad and i not in case.nondiff)
                  for i, a in enumerate(arrs)]
            out = case.fn(*ts)
            grads = []
            if case.grad:
                out.sum().backward()
                grads = [t.grad.data if t.grad is not None else None for t in ts]
            results[name] = (out.data, grads)
        finally:
            tg.backend.use("c")
    tol = dict(rtol=2e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    (o_np, g_np), (o_c, g_c) = results["numpy"], results["c"]
    assert o_np.dtype == o_c.dtype and o_np.shape == o_c.shape
    np.testing.assert_allclose(o_c, o_np, **tol)
    for a, b in zip(g_c, g_np):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, **tol)
