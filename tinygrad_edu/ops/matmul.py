"""Matrix multiplication: z = op(a) @ op(b), batched, with numpy's broadcasting of batch dims.

``trans_a``/``trans_b`` say an operand is stored transposed; the kernel absorbs the transpose
while packing, so the backward (which needs a^T and b^T) never copies a transposed matrix.
"""

from .. import backend
from ..autograd import Function
from ..tensor import Tensor, _binary
from .reduce import sum_to_shape


class MatMul(Function):
    """z = op(a) @ op(b)    dz/da = g @ op(b)^T    dz/db = op(a)^T @ g

    With the flags, each gradient is itself one MatMul on the stored operands:
      a plain:      da = g @ op(b)^T       a transposed: da = op(b) @ g^T
      b plain:      db = op(a)^T @ g       b transposed: db = g^T @ op(a)
    Batch dims that were broadcast are summed back (sum_to_shape).
    """
    kernel = "matmul"  # with no graph to record (e.g. inside backward): the kernel alone

    @staticmethod
    def forward(ctx, a, b, trans_a=False, trans_b=False):
        ctx.save_for_backward(a, b)
        ctx.flags = (trans_a, trans_b)
        return backend.matmul(a.data, b.data, trans_a, trans_b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ta, tb = ctx.flags
        na, nb = ctx.needs_input_grad
        da = db = None
        if na:
            da = MatMul.apply(b, g, trans_a=tb, trans_b=True) if ta else \
                MatMul.apply(g, b, trans_a=False, trans_b=not tb)
            da = sum_to_shape(da, a.shape)
        if nb:
            db = MatMul.apply(g, a, trans_a=True, trans_b=ta) if tb else \
                MatMul.apply(a, g, trans_a=not ta, trans_b=False)
            db = sum_to_shape(db, b.shape)
        return da, db


def check_shapes(sa, sb, op="matmul"):
    """Raise a ValueError that names both shapes when they cannot be multiplied."""
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"{op}: both operands need at least 1 dim, got shapes {sa} and {sb}")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError(f"{op}: shapes {sa} and {sb} cannot be multiplied: {ka} != {kb} (the "
                         "last dim of the first must equal the "
                         f"{'only' if len(sb) == 1 else 'second-to-last'} dim of the second). "
                         "Hint: check the layer sizes, or transpose an operand (b.T)")
    ba, bb = sa[:-2], sb[:-2]
    for x, y in zip(reversed(ba), reversed(bb)):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"{op}: batch dims of shapes {sa} and {sb} cannot be broadcast "
                             f"together ({x} vs {y})")


def matmul(a, b):
    """numpy-style matmul: 1-D operands are treated as a row / column vector and that axis
    is removed from the result."""
    if type(b) is Tensor:  # NOTE: the common case first: two matrices of one dtype
        da, db = a.data, b.data
        if da.ndim == 2 and db.ndim == 2 and da.dtype is db.dtype and da.shape[1] == db.shape[0]:
            return MatMul.apply(a, b)
    elif not isinstance(b, Tensor):
        b = Tensor(b)
    check_shapes(a.shape, b.shape)
    if a.dtype != b.dtype:
        return _binary(_MatMulPlain, a, b)
    return _MatMulPlain.apply(a, b)


class _MatMulPlain:
    """Adapter so ``_binary`` (dtype promotion) can call matmul with 1-D handling."""

    @staticmethod
    def apply(a, b):
        va, vb = a.ndim == 1, b.ndim == 1
        if va:
            a = a.reshape(1, a.shape[0])
        if vb:
            b = b.reshape(b.shape[0], 1)
        out = MatMul.apply(a, b)
        if va and vb:
            return out.reshape(())
        if va:
            return out.squeeze(-2)
        if vb:
            return out.squeeze(-1)
        return out
