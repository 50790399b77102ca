"""Tensor: a numpy array plus what autograd needs to know about it.

Every operator and method below is one line that hands the work to an op in ``ops/``; read
those files for the forward and backward of each. The wider op set (indexing, statistics,
more math, combining, softmax) is inherited from ``tensor_ops.OpSetMethods``. Dtypes: float32 (the default for Python
floats), float64, int64 (the default for Python ints; labels and indices) and bool (results of
comparisons). Mixing dtypes promotes like numpy among floats (float32 op float64 -> float64) and
like PyTorch between ints and floats (int64 op float32 -> float32); a Python scalar never changes
a tensor's dtype (x_float32 * 2.5 stays float32).
"""

import numpy as np

from . import autograd, backend
from .tensor_ops import OpSetMethods

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_ALLOWED = {np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.bool_)}


def _to_array(data, dtype=None):
    """Turn user data into an array with one of the supported dtypes."""
    if isinstance(data, Tensor):
        data = data.data
    try:
        if dtype is not None:
            return np.array(data, dtype=_check_dtype(dtype))
        arr = np.array(data)
    except ValueError as exc:  # ragged nested lists, or strings that are not numbers
        raise ValueError(f"tensor: cannot make an array from this data ({exc}). Hint: nested "
                         "lists must be rectangular, every row the same length") from None
    kind = arr.dtype.kind
    if kind == "f":
        if arr.dtype not in _FLOATS:  # float16 and longdouble become float32 / float64
            arr = arr.astype(np.float32 if arr.dtype.itemsize < 8 else np.float64)
        if not isinstance(data, np.ndarray) and arr.dtype == np.float64:
            arr = arr.astype(np.float32)  # Python floats and lists default to float32
    elif kind in "iu":
        arr = arr.astype(np.int64, copy=False)
    elif kind != "b":
        raise TypeError(f"tensor: cannot make a tensor from data of dtype {arr.dtype} "
                        "(supported: float32, float64, int64, bool)")
    return arr


def _check_dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in _ALLOWED:
        raise TypeError(f"dtype {dt} is not supported; use float32, float64, int64 or bool")
    return dt


_new = object.__new__
_ndarray = np.ndarray


def _wrap(data, requires_grad=False, ctx=None):
    """Fast internal constructor (``Tensor._wrap``): ``data`` is already a valid array.

    A plain function, not a classmethod: the engine calls it once per op."""
    if type(data) is not _ndarray:  # numpy ufuncs and full reductions give 0-d results as
        data = np.asarray(data)  # numpy scalars: a Tensor always holds an ndarray
    t = _new(Tensor)
    t.data = data
    t.requires_grad = requires_grad
    t.grad = None
    t._ctx = ctx
    t._vc = [0]
    t._hooks = None
    return t


class Tensor(OpSetMethods):
    """An n-dimensional array that can record the operations applied to it."""

    # _vc: the version counter, a one-element list shared by a tensor and its views (see
    # the _version property).
    __slots__ = ("data", "requires_grad", "grad", "_ctx", "_vc", "_hooks", "__weakref__")

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ctx = None
        self._vc = [0]
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    _wrap = staticmethod(_wrap)

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def _version(self):
        """How many in-place changes this tensor's memory has seen. Views share the counter
        with the tensor they view (and ``detach()`` with its source), so writing through
        any of them is caught by a graph that saved another: ``t._version += 1`` after
        every in-place change."""
        return self._vc[0]

    @_version.setter
    def _version(self, value):
        self._vc[0] = value

    @property
    def is_leaf(self):
        return self._ctx is None

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype != np.float32 and self.data.dtype != np.int64 or self.data.size == 0:
            extra += f", dtype={self.data.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn=<{self._ctx.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ------------------------------------------------------------------ interop
    def numpy(self):
        """The data as a numpy array (shares memory). Refused while the tensor is in a graph
        that records gradients, as in PyTorch: call ``.detach().numpy()``."""
        if self.requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self.data

    def __array__(self, dtype=None, copy=None):
        if copy is False and dtype is not None and np.dtype(dtype) != self.data.dtype:
            raise ValueError("__array__: a dtype change needs a copy, but copy=False was given")
        arr = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return arr.copy() if copy else arr

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only a tensor with one element can be converted to a "
                             f"Python scalar, this one has shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"bool: the truth value of a tensor of shape {self.shape} is "
                             "ambiguous; use .any() / .all() or compare .item()")
        return bool(self.data)

    def __hash__(self):
        return id(self)

    # ------------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.data.dtype not in _FLOATS:
            raise TypeError(f"requires_grad: only float tensors can require gradients, this "
                            f"one is {self.data.dtype}; convert with .float() first")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_: can only change it on a leaf tensor; use "
                               "detach() for a non-leaf")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """A new tensor sharing the data (and its version counter), cut from the graph."""
        t = _wrap(self.data, False)
        t._vc = self._vc
        return t

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``gradient`` is needed when self is not a scalar (it is the vector of the
        vector-Jacobian product). The graph's saved values are freed afterwards unless
        ``retain_graph``; ``create_graph`` records the backward pass for higher derivatives.
        """
        autograd.backward(self, gradient, retain_graph, create_graph)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor
        replaces the gradient. Returns a handle with ``.remove()``."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad")
        if self._ctx is not None:
            if self._ctx.hooks is None:
                self._ctx.hooks = []
            hooks = self._ctx.hooks
        else:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def zero_grad(self):
        self.grad = None

    # ------------------------------------------------------------------ dtype
    def astype(self, dtype):
        dt = _check_dtype(dtype)
        return self if dt == self.data.dtype else _ew.Cast.apply(self, dtype=dt)

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    def long(self):
        return self.astype(np.int64)

    def clone(self):
        return _ew.Clone.apply(self)

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return _binary(_ew.Add, self, other)

    def __radd__(self, other):
        return _binary(_ew.Add, _lift(other, self), self)

    def __iadd__(self, other):  # out of place, like __add__; warns on `total += loss` leaks
        autograd._check_accumulate(self, other)
        return _binary(_ew.Add, self, other)

    def __sub__(self, other):
        return _binary(_ew.Sub, self, other)

    def __rsub__(self, other):
        return _binary(_ew.Sub, _lift(other, self), self)

    def __mul__(self, other):
        return _binary(_ew.Mul, self, other)

    def __rmul__(self, other):
        return _binary(_ew.Mul, _lift(other, self), self)

    def __truediv__(self, other):
        return _binary(_ew.Div, self, other)

    def __rtruediv__(self, other):
        return _binary(_ew.Div, _lift(other, self), self)

    def __pow__(self, other):
        return _binary(_ew.Pow, self, other)

    def __rpow__(self, other):
        return _binary(_ew.Pow, _lift(other, self), self)

    def __matmul__(self, other):
        return _mm.matmul(self, other)

    def __rmatmul__(self, other):
        return _mm.matmul(_lift(other, self), self)

    def __neg__(self):
        return _ew.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.Abs.apply(self)

    # comparisons give bool tensors and record no graph
    def __eq__(self, other):
        return _ew.compare("eq", self, other)

    def __ne__(self, other):
        return _ew.compare("ne", self, other)

    def __lt__(self, other):
        return _ew.compare("lt", self, other)

    def __le__(self, other):
        return _ew.compare("le", self, other)

    def __gt__(self, other):
        return _ew.compare("gt", self, other)

    def __ge__(self, other):
        return _ew.compare("ge", self, other)

    # ------------------------------------------------------------------ elementwise math
    def exp(self):
        return _ew.Exp.apply(self)

    def log(self):
        return _ew.Log.apply(self)

    def sqrt(self):
        return _ew.Sqrt.apply(self)

    def abs(self):
        return _ew.Abs.apply(self)

    def sign(self):
        return _ew.Sign.apply(self)

    def tanh(self):
        return _ew.Tanh.apply(self)

    def sigmoid(self):
        return _ew.Sigmoid.apply(self)

    def relu(self):
        return _ew.Relu.apply(self)

    def maximum(self, other):
        return _binary(_ew.Maximum, self, other)

    def minimum(self, other):
        return _binary(_ew.Minimum, self, other)

    def matmul(self, other):
        return _mm.matmul(self, other)

    # ------------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims=False):
        return _red.Sum.apply(self, axes=_red.norm_axes(axis, self.ndim, "sum"), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _red.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return _red.Max.apply(self, axes=_red.norm_axes(axis, self.ndim, "max"), keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _red.Min.apply(self, axes=_red.norm_axes(axis, self.ndim, "min"), keepdims=keepdims)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        return _shape.reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)

    def view(self, *shape):
        return self.reshape(*shape)

    def permute(self, *axes):
        return _shape.permute(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes)

    def transpose(self, dim0=-2, dim1=-1):
        return _shape.transpose(self, dim0, dim1)

    @property
    def T(self):
        return _shape.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    def expand(self, *shape):
        return _shape.expand(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)

    def broadcast_to(self, shape):
        return _shape.expand(self, shape)

    def squeeze(self, axis=None):
        return _shape.squeeze(self, axis)

    def unsqueeze(self, axis):
        return _shape.unsqueeze(self, axis)

    def flatten(self, start_dim=0, end_dim=-1):
        return _shape.flatten(self, start_dim, end_dim)


class _HookHandle:
    __slots__ = ("hooks", "hook")

    def __init__(self, hooks, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self):
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


_CONSTANTS = {}  # (scalar, dtype) -> read-only 0-d Tensor: `x * 0.5` in a loop lifts once


def _lift(value, like):
    """A Python scalar (or array) as a constant Tensor that keeps ``like``'s dtype."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float, bool, np.number)):
        dt = like.data.dtype
        if dt.kind != "f" and isinstance(value, (float, np.floating)):
            dt = _FLOATS[0]  # int tensor * 2.5 -> float32, as in PyTorch
        key = (value, dt)
        t = _CONSTANTS.get(key)
        if t is None:
            t = Tensor._wrap(np.asarray(value, dtype=dt), False)
            t.data.flags.writeable = False
            # NOTE: 0.0 == -0.0 as dict keys, so zeros are not cached (their sign matters)
            if value != 0 and len(_CONSTANTS) < 4096:
                _CONSTANTS[key] = t
        return t
    return Tensor(value)


def _binary(fn, a, b):
    """Apply binary op ``fn`` after lifting scalars and promoting dtypes."""
    if type(b) is not Tensor:
        b = _lift(b, a)
    da, db = a.data.dtype, b.data.dtype
    if da is not db and da != db:
        dt = result_dtype(da, db)
        a, b = a.astype(dt), b.astype(dt)
    try:
        if autograd._grad_enabled and (a.requires_grad or b.requires_grad):
            return fn.apply(a, b)
        if fn.kernel is not None and not autograd._forward_observers:
            # nothing to record (as in Function.apply): the kernel alone, one call less
            return _wrap(getattr(backend, fn.kernel)(a.data, b.data))
        return fn.apply(a, b)
    except ValueError:
        _check_broadcast(fn.__name__.lower(), a.shape, b.shape)
        raise


def _check_broadcast(op, sa, sb):
    """Raise the teaching message if shapes ``sa`` and ``sb`` do not broadcast."""
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        raise ValueError(
            f"{op}: operands with shapes {sa} and {sb} cannot be broadcast together. Shapes are "
            "compared from the last axis: each pair of sizes must be equal or one of them 1. "
            "Hint: reshape or unsqueeze one operand.") from None


def result_dtype(da, db):
    """Promotion rule: the wider float wins; a float beats an int; bool counts as int."""
    fa, fb = da.kind == "f", db.kind == "f"
    if fa and fb:
        return np.promote_types(da, db)
    if fa or fb:
        return da if fa else db
    return np.dtype(np.int64)


autograd.Tensor = Tensor
autograd._wrap = _wrap

from .ops import elementwise as _ew  # noqa: E402  (the ops need the Tensor class first)
from .ops import matmul as _mm  # noqa: E402
from .ops import reduce as _red  # noqa: E402
from .ops import shape as _shape  # noqa: E402
from .ops import indexing as _idx  # noqa: E402,F401  (methods in tensor_ops.py)
from .ops import combine as _comb  # noqa: E402,F401  (methods in tensor_ops.py)
from .ops import stats as _stats  # noqa: E402,F401  (methods in tensor_ops.py)
from .ops import math as _math  # noqa: E402,F401  (methods in tensor_ops.py)
from .ops import softmax as _softmax  # noqa: E402,F401  (methods in tensor_ops.py)
from .ops import methods as _methods  # noqa: E402,F401  (methods in tensor_ops.py)
from .ops import inplace as _inplace  # noqa: E402,F401  (methods in tensor_ops.py)
