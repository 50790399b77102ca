"""Hypothesis strategies for testing ops written with tinygrad_edu (needs ``hypothesis``).

    from hypothesis import given
    from tinygrad_edu.testing import arrays, broadcastable_shapes

    @given(arrays(shape=(3, 4)))
    def test_my_op(x): ...
"""

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as exc:  # pragma: no cover - hypothesis is the test extra
    raise ImportError("tinygrad_edu.testing needs hypothesis: pip install tinygrad-edu[test]") from exc


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=5):
    """Array shapes, including 0-d (when min_dims is 0) and size-1 dims."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(min_dims=0, max_dims=4, min_side=1, max_side=5, num_shapes=2):
    """Tuples of ``num_shapes`` shapes that broadcast together (like numpy)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda r: r.input_shapes)


def arrays(shape=None, dtype=np.float64, low=-3.0, high=3.0, away_from=None, margin=0.05):
    """Finite float arrays in [low, high]. ``away_from``: values (e.g. 0 for relu/abs) that
    samples keep a ``margin`` away from, so finite differences never straddle a kink."""
    shape = shapes() if shape is None else shape
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    if away_from is not None:
        kinks = np.atleast_1d(away_from)
        elements = elements.filter(lambda v: np.all(np.abs(v - kinks) > margin))
    return hnp.arrays(np.dtype(dtype), shape, elements=elements)


def tensors(shape=None, dtype=np.float64, requires_grad=True, **kwargs):
    """Like ``arrays`` but wrapped as Tensors."""
    from .tensor import Tensor

    return arrays(shape, dtype, **kwargs).map(
        lambda a: Tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"))


def distinct_arrays(shape=None, dtype=np.float64, low=-3.0, high=3.0, gap=1e-3):
    """Arrays whose elements are pairwise at least ``gap`` apart (no ties for max/min/sort)."""
    shape = shapes() if shape is None else shape

    def build(args):
        shp, seed = args
        n = int(np.prod(shp))
        rng = np.random.default_rng(seed)
        vals = np.linspace(low, high, max(n, 1))[:n] + rng.uniform(0, gap / 2, n)
        return rng.permutation(vals).reshape(shp).astype(dtype)

    shp = shape if isinstance(shape, st.SearchStrategy) else st.just(shape)
    return st.tuples(shp, st.integers(0, 2**32 - 1)).map(build)
