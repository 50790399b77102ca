"""Tensor methods for the wider op set: indexing, statistics, more math, combining, softmax.

``Tensor`` (tensor.py) inherits them from ``OpSetMethods``, so each file stays short. Every
method is one line handing the work to a module in ``ops/``: read the op there.
"""

from . import ops as _ops  # NOTE: submodules are read at call time (they import Tensor)


class OpSetMethods:
    """Mixin of one-line Tensor methods (no state: Tensor's __slots__ stay the only ones)."""

    __slots__ = ()

    # ---- ops/indexing.py
    def __getitem__(self, key):
        return _ops.indexing.getitem(self, key)

    def __setitem__(self, key, value):
        _ops.indexing.setitem(self, key, value)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def gather(self, axis, index):
        return _ops.indexing.gather(self, axis, index)

    def take_along_axis(self, index, axis):
        return _ops.indexing.gather(self, axis, index)

    # ---- ops/stats.py
    def var(self, axis=None, keepdims=False, unbiased=True, correction=None):
        return _ops.stats.var(self, axis, keepdims, unbiased, correction)

    def std(self, axis=None, keepdims=False, unbiased=True, correction=None):
        return _ops.stats.std(self, axis, keepdims, unbiased, correction)

    def logsumexp(self, axis=None, keepdims=False):
        return _ops.stats.logsumexp(self, axis, keepdims)

    def prod(self, axis=None, keepdims=False):
        return _ops.stats.prod(self, axis, keepdims)

    def cumsum(self, axis=None):
        return _ops.stats.cumsum(self, axis)

    def argmax(self, axis=None, keepdims=False):
        return _ops.stats.argmax(self, axis, keepdims)

    def argmin(self, axis=None, keepdims=False):
        return _ops.stats.argmin(self, axis, keepdims)

    def max_with_indices(self, axis, keepdims=False):
        return _ops.stats.max_with_indices(self, axis, keepdims)

    def min_with_indices(self, axis, keepdims=False):
        return _ops.stats.min_with_indices(self, axis, keepdims)

    # ---- ops/math.py
    def sin(self):
        return _ops.math.sin(self)

    def cos(self):
        return _ops.math.cos(self)

    def log1p(self):
        return _ops.math.log1p(self)

    def expm1(self):
        return _ops.math.expm1(self)

    def erf(self):
        return _ops.math.erf(self)

    def reciprocal(self):
        return _ops.math.reciprocal(self)

    def square(self):
        return _ops.math.square(self)

    def rsqrt(self):
        return _ops.math.rsqrt(self)

    # ---- ops/combine.py
    def clip(self, min=None, max=None):  # noqa: A002
        return _ops.combine.clip(self, min, max)

    def clamp(self, min=None, max=None):  # noqa: A002
        return _ops.combine.clip(self, min, max)

    def flip(self, axis=None):
        return _ops.combine.flip(self, axis)

    def roll(self, shifts, axis=None):
        return _ops.combine.roll(self, shifts, axis)

    def repeat(self, *sizes):
        return _ops.combine.repeat(self, *sizes)

    def tile(self, reps):
        return _ops.combine.tile(self, reps)

    def split(self, split_size_or_sections, axis=0):
        return _ops.combine.split(self, split_size_or_sections, axis)

    def chunk(self, chunks, axis=0):
        return _ops.combine.chunk(self, chunks, axis)
    # ---- ops/softmax.py
    def softmax(self, axis=-1):
        return _ops.softmax.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return _ops.softmax.log_softmax(self, axis)

    # ---- PyTorch-named methods: ops/methods.py and ops/inplace.py
    def pow(self, exponent):
        return self ** exponent

    def add(self, other, alpha=1):
        return _ops.methods.add(self, other, alpha)

    def sub(self, other, alpha=1):
        return _ops.methods.add(self, other, alpha, "sub")

    def mul(self, other):
        return self * other

    def div(self, other, rounding_mode=None):
        if rounding_mode is not None:
            raise NotImplementedError(f"div: rounding_mode={rounding_mode!r} is not supported; "
                                      "only true division (rounding_mode=None)")
        return self / other

    def neg(self):
        return -self

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def t(self):
        return _ops.methods.t(self)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None, axis=None, keepdims=None):
        return _ops.methods.norm(self, p, dim, keepdim, dtype, axis, keepdims)

    def any(self, dim=None, keepdim=False, axis=None, keepdims=None, out=None):
        # out: np.any(tensor) calls tensor.any(axis=..., out=None)
        return _ops.methods.any_(self, dim, keepdim, axis, keepdims, out)

    def all(self, dim=None, keepdim=False, axis=None, keepdims=None, out=None):
        # out: np.all(tensor) calls tensor.all(axis=..., out=None)
        return _ops.methods.all_(self, dim, keepdim, axis, keepdims, out)

    def dot(self, other):
        return _ops.methods.dot(self, other)

    def outer(self, other):
        return _ops.methods.outer(self, other)

    def where(self, condition, other):
        return _ops.combine.where(condition, self, other)

    def masked_fill(self, mask, value):
        return _ops.methods.masked_fill(self, mask, value)

    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
        return _ops.methods.to(self, *args, dtype=dtype, device=device, copy=copy)

    def type(self, dtype=None):
        return _ops.methods.type_(self, dtype)

    def cpu(self):
        return self

    def contiguous(self):
        return _ops.methods.contiguous(self)

    def ravel(self):
        return self.reshape(-1)

    def retain_grad(self):
        _ops.methods.retain_grad(self)

    @property
    def retains_grad(self):
        return _ops.methods.retains_grad(self)

    # in place: write into self's memory, bump _version, return self (rules in ops/inplace.py)
    def zero_(self):
        return _ops.inplace.zero_(self)

    def fill_(self, value):
        return _ops.inplace.fill_(self, value)

    def copy_(self, src):
        return _ops.inplace.copy_(self, src)

    def add_(self, other, alpha=1):
        return _ops.inplace.add_(self, other, alpha)

    def sub_(self, other, alpha=1):
        return _ops.inplace.sub_(self, other, alpha)

    def mul_(self, other):
        return _ops.inplace.mul_(self, other)

    def div_(self, other):
        return _ops.inplace.div_(self, other)

    def clamp_(self, min=None, max=None):
        return _ops.inplace.clamp_(self, min, max)
    # ---- end PyTorch-named methods
