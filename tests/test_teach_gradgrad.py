"""Second derivatives of every op-table row: gradgradcheck (finite differences of the
first-order backward vs the double backward), float64.

Iterates the live ``CASES`` list, so rows other issues add are checked too. A row whose op
legitimately has no second derivative can carry ``gradgrad=False`` (skipped, not failed).
Inputs keep away from kinks exactly as the first-order test does (the row's ``away_from`` and
``distinct``): finite differences across relu/abs at 0 or a max tie are meaningless.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.autograd import Function
from tinygrad_edu.gradcheck import GradcheckError
from tinygrad_edu.teach import gradgradcheck
from tinygrad_edu.testing import arrays, distinct_arrays

from op_table import CASES

# Rows whose double backward is known to be wrong at some sampled points, reported to their
# owners (issue 7 report). They are checked at a generic point (must pass) and at the bad point
# (xfail, strict: once the op is fixed the XPASS fails, so remove the entry then).
KNOWN_ISSUES = {}  # none open at the moment
IDS = [c.name for c in CASES]
BY_NAME = {c.name: c for c in CASES}


def _inputs(data, case):
    shape_list = case.shapes if isinstance(case.shapes, list) else data.draw(case.shapes)
    if case.distinct:
        # NOTE: distinct across *all* inputs, not only within each: maximum(x, y) with x == y
        # is a kink. First derivatives survive an exact tie by symmetry (the split 1/2, 1/2 is
        # also the central difference); second derivatives do not.
        sizes = [int(np.prod(s)) for s in shape_list]
        pool = data.draw(distinct_arrays((max(sum(sizes), 1),), low=case.low, high=case.high))
        offsets = np.cumsum([0] + sizes)
        return [np.asarray(pool[o:o + n], dtype=np.float64).reshape(s)
                for o, n, s in zip(offsets, sizes, shape_list)]
    return [np.asarray(data.draw(arrays(s, low=case.low, high=case.high,
                                        away_from=case.away_from)), dtype=np.float64)
            for s in shape_list]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_second_derivatives_match_finite_differences(case, data):
    if not case.grad or not getattr(case, "gradgrad", True):
        pytest.skip(f"{case.name}: no (second) derivative by declaration")
    if case.name in KNOWN_ISSUES:
        pytest.skip(f"{case.name}: known issue, see test_known_issue_*")
    arrs = _inputs(data, case)
    ts = [tg.Tensor(a, requires_grad=i not in case.nondiff) for i, a in enumerate(arrs)]
    seed = data.draw(st.integers(0, 2**16))
    assert gradgradcheck(case.fn, ts, atol=case.atol, rtol=case.rtol, seed=seed)


class _CubeWithConstantBackward(Function):
    """z = x^3 with a backward that leaves the graph (a raw numpy constant): first
    derivatives right, second derivatives silently zero — the bug gradgradcheck exists for."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * tg.Tensor._wrap(3 * x.data ** 2)  # NOTE: x.data detaches from the graph


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = tg.Tensor(np.array([0.5, -1.2, 2.0]), requires_grad=True)
    assert tg.gradcheck(_CubeWithConstantBackward.apply, [x])  # first order is fine
    with pytest.raises(GradcheckError):
        gradgradcheck(_CubeWithConstantBackward.apply, [x])
    assert not gradgradcheck(_CubeWithConstantBackward.apply, [x], raise_exception=False)


def test_gradgradcheck_with_given_grad_outputs_and_two_outputs():
    x = tg.Tensor(np.array([0.3, 0.7]), requires_grad=True)
    y = tg.Tensor(np.array([1.1, -0.4]), requires_grad=True)

    def fn(a, b):
        return a * b * b, (a.exp() * b).sum()

    assert gradgradcheck(fn, [x, y], grad_outputs=[np.array([1.0, -2.0]), np.array(0.5)])
    with pytest.raises(ValueError, match="grad_output of shape"):
        gradgradcheck(fn, [x, y], grad_outputs=[np.ones(3), np.array(0.5)])


def test_gradgradcheck_rejects_float32():
    x = tg.Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="float64"):
        gradgradcheck(lambda a: a * a, [x])


_KNOWN_PRESENT = [n for n in KNOWN_ISSUES if n in BY_NAME]


@pytest.mark.parametrize("name", _KNOWN_PRESENT)
def test_known_issue_rows_are_right_at_a_generic_point(name):
    x = tg.Tensor(np.array([0.3, -1.7, 0.9]), requires_grad=True)
    y = tg.Tensor(np.array([0.1, 0.4, -0.8]), requires_grad=True)  # |x - y| both < and > 1
    assert gradgradcheck(BY_NAME[name].fn, [x, y])


@pytest.mark.parametrize("name", _KNOWN_PRESENT)
@pytest.mark.xfail(strict=True, raises=GradcheckError, reason="see KNOWN_ISSUES")
def test_known_issue_rows_at_the_bad_point(name):
    x = tg.Tensor(np.array([0.3, -1.7]), requires_grad=True)
    y = tg.Tensor(np.array([0.3, -1.7]), requires_grad=True)  # x == y
    assert gradgradcheck(BY_NAME[name].fn, [x, y])
