"""The autograd engine: Function nodes, grad mode, and the backward walk.

A forward op is ``SomeFunction.apply(*tensors, **params)``. ``apply`` makes a node (an
instance of the Function subclass, also the ``ctx`` its forward and backward receive), runs
``forward`` on the arrays, and, if any input requires grad, links the output Tensor to the node.
The graph is therefore recorded as the code runs ("define-by-run").

``backward`` walks the nodes in reverse topological order (newest node first: every node has
a creation number, and a node's inputs are always older), calls each node's ``backward`` with
the gradient of its output, and passes the returned gradients to its inputs. Backward formulas
are written in Tensor ops, so with ``create_graph=True`` the walk records a graph of its own
and gradients can be differentiated again.
"""

import heapq
import itertools
import warnings

import numpy as np

from . import backend

_grad_enabled = True
_observers = []  # callables (node, grad_output, input_grads) — used by teaching tools
# callables (node, input_tensors, output_array) called after every forward while non-empty
# (anomaly mode). Empty in normal use: one truthiness test per op (issue 7, measured ~0%).
_forward_observers = []
_NO_GRAD = {1: (False,), 2: (False, False), 3: (False, False, False)}
# Every recorded node gets the next number: a node's inputs were made before it, so visiting
# nodes from the highest number down visits each one after all the nodes it feeds.
_next_seq = itertools.count().__next__


class Function:
    """Base of every differentiable op. Subclasses define two static methods::

        forward(ctx, *tensors, **params) -> numpy array
        backward(ctx, grad_output)       -> one gradient Tensor (or None) per tensor input

    Every positional argument of ``apply`` is a Tensor; options are keyword arguments.
    """

    __slots__ = ("parents", "needs_input_grad", "seq", "__dict__", "__weakref__")
    # Defaults read from the class until a node sets its own (saves four stores per op).
    saved = ()  # tensors kept by save_for_backward; None once freed after backward
    saved_versions = ()
    out_data = None  # the output array kept by save_output
    hooks = None  # tensor hooks registered on this node's output
    retained = None  # weak reference to the output Tensor after its retain_grad()
    # Name of the backend kernel that is this op's whole forward ("add", "exp", ...), taking
    # the input arrays in order, or None. When no graph is recorded (grad off, or no input
    # requires grad) apply calls that kernel directly and makes no node at all: inference,
    # and backward formulas (which run under no_grad), skip the bookkeeping.
    kernel = None

    @classmethod
    def apply(cls, *tensors, **params):
        n = len(tensors)
        if _grad_enabled:
            if n == 1:  # NOTE: unrolled for one and two inputs, the common cases
                needs = (tensors[0].requires_grad,)
            elif n == 2:
                needs = (tensors[0].requires_grad, tensors[1].requires_grad)
            else:
                needs = tuple([t.requires_grad for t in tensors])
            if True in needs:  # record: the node is the ctx forward and backward receive
                ctx = _new(cls)
                ctx.needs_input_grad = needs
                data = cls.forward(ctx, *tensors, **params)
                if _forward_observers:
                    for obs in _forward_observers:
                        obs(ctx, tensors, data)
                ctx.parents = tensors
                ctx.seq = _next_seq()
                out = _wrap(data, True, ctx)
                if data.base is not None:
                    _share_version(out, tensors)
                return out
        # Nothing to record.
        if cls.kernel is not None and not _forward_observers:
            k = getattr(backend, cls.kernel)
            if n == 1:
                return _wrap(k(tensors[0].data, **params), False, None)
            if n == 2:
                return _wrap(k(tensors[0].data, tensors[1].data, **params), False, None)
            return _wrap(k(*[t.data for t in tensors], **params), False, None)
        ctx = _new(cls)
        ctx.needs_input_grad = _NO_GRAD.get(n) or (False,) * n
        data = cls.forward(ctx, *tensors, **params)
        if _forward_observers:
            for obs in _forward_observers:
                obs(ctx, tensors, data)
        out = _wrap(data, False, None)
        if out.data.base is not None:
            _share_version(out, tensors)
        return out

    # ---- what forward may call
    def save_for_backward(self, *tensors):
        """Keep input tensors for backward; an in-place change to them afterwards is caught."""
        if _grad_enabled:  # NOTE: under no_grad (e.g. inside backward) nothing will read them
            self.saved = tensors
            if len(tensors) == 2:  # the common case, unrolled (_vc[0] is t._version)
                self.saved_versions = (tensors[0]._vc[0], tensors[1]._vc[0])
            else:
                self.saved_versions = tuple([t._vc[0] for t in tensors])

    def save_output(self, data):
        """Keep the output array; backward gets it back as ``ctx.output``."""
        if _grad_enabled:
            self.out_data = data

    # ---- what backward may call
    @property
    def saved_tensors(self):
        if self.saved is None:
            raise RuntimeError(_freed_message(self))
        for t, v in zip(self.saved, self.saved_versions):
            if t._vc[0] != v:
                raise RuntimeError(
                    f"{type(self).__name__}.backward: a tensor of shape {t.shape} saved for "
                    f"backward was modified in place after it was saved (version {v} -> "
                    f"{t._version}). Hint: an optimizer.step() or an assignment under "
                    "no_grad() between the forward pass and backward() does this: call "
                    "backward() first; else use an out-of-place op (y = y + 1 instead of "
                    "y.add_(1)) or .clone() the tensor before changing it.")
        return self.saved

    @property
    def output(self):
        """The forward output as a Tensor. Under create_graph it stays linked to this node,
        so second derivatives that flow through it are correct; no reference cycle is kept."""
        if self.saved is None or self.out_data is None:
            raise RuntimeError(_freed_message(self))
        if _grad_enabled:
            return _wrap(self.out_data, True, self)
        return _wrap(self.out_data, False, None)

    @property
    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__}>"


def _share_version(out, inputs):
    """``out``'s array is a view: if it views an input's memory, share that input's version
    counter, so an in-place change through either one is seen by graphs that saved the other
    (``x[0]``, ``x.T``, ``x.reshape(...)``, ``x.expand(...)`` are views)."""
    owner = out.data.base
    for t in inputs:
        d = t.data
        if d is owner or (d.base is not None and d.base is owner):
            out._vc = t._vc
            return


def _freed_message(node):
    return (f"{type(node).__name__}: trying to backward through the graph a second time (its "
            "saved values were freed after the first backward). Pass retain_graph=True to the "
            "first backward() if you need to call it twice.")


# ------------------------------------------------------------------------------ growing graphs


class GraphGrowthWarning(UserWarning):
    """``total += loss`` keeps every step's graph alive (issue 8)."""


def _check_accumulate(total, value):
    """Warn on the classic leak ``total_loss += loss`` (called by ``Tensor.__iadd__`` only,
    so ordinary ops pay nothing).

    The sign is an operand whose graph -- its own node, or the node one step up -- has
    already been through backward (``saved`` is None once released). Accumulating such a
    tensor with grad on links every step's graph, activations included, into one chain that
    is never freed. Looking one step up catches ``total += loss`` written before
    ``loss.backward()`` too: on the next step, ``total``'s node holds last step's loss.
    """
    if not _grad_enabled:
        return
    for t in (total, value):
        node = getattr(t, "_ctx", None)
        if node is None:
            continue
        if node.saved is None or any(p._ctx is not None and p._ctx.saved is None
                                     for p in getattr(node, "parents", ())):
            warnings.warn(
                f"+=: accumulating a tensor of shape {t.shape} whose graph already went "
                "through backward; with grad on, this links every step's graph into one that "
                "is never freed, and memory grows each step. Hint: accumulate a number, "
                "total += loss.item() (or loss.detach()).", GraphGrowthWarning, stacklevel=3)
            return


# ------------------------------------------------------------------------------ grad mode


class _GradMode:
    """Context manager and decorator that sets grad recording on or off."""

    __slots__ = ("enabled", "prev")

    def __init__(self, enabled):
        self.enabled = bool(enabled)
        self.prev = []

    def __enter__(self):
        global _grad_enabled
        self.prev.append(_grad_enabled)
        _grad_enabled = self.enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.prev.pop()
        return False

    def __call__(self, fn):
        enabled = self.enabled

        def wrapper(*args, **kwargs):
            with _GradMode(enabled):
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        wrapper.__wrapped__ = fn
        return wrapper


def no_grad():
    """``with no_grad():`` (or ``@no_grad()``): ops record no graph inside."""
    return _GradMode(False)


def enable_grad():
    """``with enable_grad():`` turns recording back on inside a no_grad block."""
    return _GradMode(True)


def set_grad_enabled(mode):
    return _GradMode(mode)


def is_grad_enabled():
    return _grad_enabled


# ------------------------------------------------------------------------------ the walk


def _accumulate(old, new):
    return new if old is None else old + new


def _accumulate_recorded(old, new):
    return old + new


def _store_retained(t, g, create_graph):
    """``t.retain_grad()`` was called: keep the gradient reaching it (accumulating, as a leaf
    does). Without create_graph .grad owns a copy, since g may be reused by the walk."""
    if t is None:
        return
    if not create_graph:
        g = _wrap(np.array(g.data), False, None)
    t.grad = g if t.grad is None else t.grad + g


def _add_arrays(old, new):
    """Sum two gradients without recording a graph (the walk without create_graph)."""
    a, b = old.data, new.data
    if a.dtype is not b.dtype:  # a custom backward may return another dtype: promote
        return old + new
    return _wrap(backend.add(a, b), False, None)


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None):
    """Propagate ``root_grads`` from ``roots`` back through the graph.

    Leaves that require grad accumulate into ``.grad`` — unless ``inputs`` is given, in which
    case the gradients of exactly those tensors are returned (``autograd.grad``) and no
    ``.grad`` is touched.
    """
    global _grad_enabled
    leaf_grads = {}  # id(leaf) -> [leaf, grad]
    node_grads = {}
    # The walk: a heap of the nodes that have a gradient waiting, highest sequence number
    # first (see _next_seq), so a node runs once every node it feeds has run.
    heap = []
    for t, g in zip(roots, root_grads):
        c = t._ctx
        if c is None:
            entry = leaf_grads.setdefault(id(t), [t, None])
            entry[1] = _accumulate(entry[1], g)
        else:
            old = node_grads.get(c)
            if old is None:
                heapq.heappush(heap, (-c.seq, c))
            node_grads[c] = _accumulate(old, g)
    wanted = None if inputs is None else {t._ctx for t in inputs if t._ctx is not None}
    captured = {}
    pop, push = heapq.heappop, heapq.heappush
    prev_mode = _grad_enabled
    _grad_enabled = create_graph
    # Fan-out: a tensor used twice gets the sum of its gradients. Without create_graph the
    # sum is taken on the arrays directly; with it, as a Tensor op so it is recorded.
    add = _accumulate_recorded if create_graph else _add_arrays
    try:
        while heap:
            node = pop(heap)[1]
            g = node_grads.pop(node)
            if node.saved is None:
                raise RuntimeError(_freed_message(node))
            if node.hooks:
                for hook in node.hooks:
                    r = hook(g)
                    g = g if r is None else r
            if node.retained is not None:  # after every hook, as a leaf's .grad is
                _store_retained(node.retained(), g, create_graph)
            if wanted is not None and node in wanted:
                captured[node] = g
            grads = type(node).backward(node, g)
            parents = node.parents
            if type(grads) is not tuple:
                grads = (grads,)
            if len(grads) != len(parents):
                raise RuntimeError(f"{node.name}.backward returned {len(grads)} gradients for "
                                   f"{len(parents)} inputs")
            if _observers:
                for obs in _observers:
                    obs(node, g, grads)
            if not retain_graph:
                node.saved = node.out_data = None  # free what forward saved; reuse raises
            for p, pg, need in zip(parents, grads, node.needs_input_grad):
                if pg is None or not need:
                    continue
                if pg.data.shape != p.data.shape:
                    raise RuntimeError(
                        f"{node.name}.backward: gradient of shape {pg.shape} for an input of "
                        f"shape {p.shape}. Hint: did the backward forget to sum over a "
                        "broadcast axis (sum_to_shape)?")
                c = p._ctx
                if c is not None:
                    old = node_grads.get(c)
                    if old is None:
                        push(heap, (-c.seq, c))
                        node_grads[c] = pg
                    else:
                        node_grads[c] = add(old, pg)
                else:
                    entry = leaf_grads.get(id(p))
                    if entry is None:
                        leaf_grads[id(p)] = [p, pg]
                    else:
                        entry[1] = add(entry[1], pg)
    finally:
        _grad_enabled = prev_mode
    for entry in leaf_grads.values():
        leaf = entry[0]
        if leaf._hooks:
            for hook in leaf._hooks:
                r = hook(entry[1])
                entry[1] = entry[1] if r is None else r
    if inputs is not None:
        return [leaf_grads[id(t)][1] if t._ctx is None and id(t) in leaf_grads
                else captured.get(t._ctx) for t in inputs]
    seen = set()
    for leaf, g in leaf_grads.values():
        if not create_graph:
            # NOTE: a .grad must own its memory: one gradient Tensor may reach two leaves
            # (x + y), and an expand's gradient is a read-only broadcast view.
            if id(g) in seen or not g.data.flags.writeable:
                g = Tensor._wrap(np.array(g.data), False)
            elif g._ctx is not None:
                g = g.detach()
            seen.add(id(g))
        leaf.grad = g if leaf.grad is None else leaf.grad + g
    return None


def backward(tensor, gradient=None, retain_graph=None, create_graph=False):
    """The engine behind ``Tensor.backward``; see there."""
    if not tensor.requires_grad:
        raise RuntimeError(
            f"backward: this tensor (shape {tensor.shape}) does not require grad and has no "
            "grad_fn. Hint: create the leaves with requires_grad=True, and do not compute the "
            "loss inside no_grad().")
    gradient = _initial_gradient(tensor, gradient, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    run_backward([tensor], [gradient], retain_graph, create_graph)


def _initial_gradient(tensor, gradient, who):
    if gradient is None:
        if tensor.data.size != 1:
            raise RuntimeError(
                f"{who}: grad can be created implicitly only for a scalar output, but this "
                f"tensor has shape {tensor.shape}. Pass gradient= (same shape), or reduce "
                "first, e.g. loss.sum() or loss.mean().")
        return Tensor._wrap(np.ones(tensor.shape, dtype=tensor.dtype), False)
    if not isinstance(gradient, Tensor):
        gradient = Tensor(np.asarray(gradient, dtype=tensor.dtype))
    if gradient.shape != tensor.shape:
        raise RuntimeError(f"{who}: gradient has shape {gradient.shape} but the output has "
                           f"shape {tensor.shape}; they must match")
    return gradient


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not stored in .grad).

    ``create_graph=True`` records the backward pass itself, so the result can be
    differentiated again (Hessian-vector products, gradient penalties).
    """
    single = isinstance(outputs, Tensor)
    outputs = [outputs] if single else list(outputs)
    inputs_seq = isinstance(inputs, (list, tuple))
    inputs = list(inputs) if inputs_seq else [inputs]
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for i, o in enumerate(outputs):
        if not o.requires_grad:
            raise RuntimeError(f"grad: output {i} (shape {o.shape}) does not require grad")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad")
    gs = [_initial_gradient(o, g, "grad") for o, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outputs, gs, retain_graph, create_graph, inputs=inputs)
    for i, (t, g) in enumerate(zip(inputs, result)):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) was not used to compute the "
                               "outputs; pass allow_unused=True to get None for it")
        if g is not None and not create_graph and g._ctx is not None:
            result[i] = g.detach()
    return tuple(result)


Tensor = None  # bound by tensor.py once the class exists (the two modules need each other)
_wrap = None  # Tensor._wrap, bound by tensor.py too
_new = object.__new__

from . import autograd_functional as functional  # noqa: E402  (issue 7: autograd.functional)
