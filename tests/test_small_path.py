"""The C backend's small-array path (backend/c.py, ``_SMALL``).

+, -, *, / and negation on arrays of at most ``cb._SMALL`` elements are answered with numpy's
ufunc, because a cffi call costs more than the arithmetic there. These ops are correctly
rounded in IEEE 754, so the bits must equal the C kernel's; everything else about the call
(dtype refusal, 0-d operands, sizes just past the threshold) must be unchanged. (This module
is not in conftest.KERNEL_MODULES: here the default threshold is in force.)
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinygrad_edu.backend import c as cb

DTYPES = [np.float32, np.float64]


SMALL_OPS = ["add", "sub", "mul", "div"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", SMALL_OPS + ["neg"])
@given(n=st.sampled_from([0, 1, 7, 16, 4095, 4096, 4097]), seed=st.integers(0, 2**16),
       scalar=st.sampled_from([None, "left", "right"]))
@settings(max_examples=12, deadline=None)  # 7 sizes x 3 operand kinds
def test_small_path_gives_the_c_kernels_bits(op, dtype, n, seed, scalar):
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal(n) * 10).astype(dtype)
    b = (rng.standard_normal(n) + np.where(rng.random(n) < 0.5, -3, 3)).astype(dtype)
    if scalar == "left":
        a = np.asarray(a[0] if n else 2.5, dtype)
    elif scalar == "right":
        b = np.asarray(b[0] if n else -1.5, dtype)
    args = (a,) if op == "neg" else (a, b)
    small = getattr(cb, op)(*args)  # default threshold: numpy below it, C above
    saved, cb._SMALL = cb._SMALL, 0
    try:
        c_only = getattr(cb, op)(*args)
    finally:
        cb._SMALL = saved
    assert small.dtype == c_only.dtype == dtype and small.shape == c_only.shape
    np.testing.assert_array_equal(small, c_only)  # same values, and same signs of zeros:
    assert np.array_equal(np.signbit(small), np.signbit(c_only))


@pytest.mark.parametrize("op", SMALL_OPS)
def test_small_path_refuses_mixed_dtypes_like_the_c_path(op):
    a, b = np.ones(3, np.float32), np.ones(3, np.float64)
    assert cb._SMALL >= 3
    with pytest.raises(TypeError, match=f"{op}: operands must have the same dtype"):
        getattr(cb, op)(a, b)
