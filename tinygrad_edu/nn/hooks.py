"""Module hooks: the slow path of ``Module.__call__``, taken only when a hook is registered.

Forward hooks are plain calls around ``forward``. The full backward hook needs the graph:
it must see the gradients with respect to *all* the module's tensor inputs at once, and may
replace them before they flow on. Three identity ops arrange that::

    x_i --> Gate --z--> Route_i(x_i, z) --> x_i' --> forward --> out_j --> Catch_j(out_j, z)

``Route_i`` and ``Catch_j`` pass values through unchanged; in backward they only *record* the
gradient they see (grad_input[i], grad_output[j]) and send a zero to ``z``. Because ``Gate``
feeds all of them, the backward walk reaches ``Gate`` after every one of them: by then all
gradients are known, so ``Gate.backward`` calls the hooks and returns the (possibly replaced)
input gradients to the real inputs. When no input requires grad, ``Gate`` hangs off a dummy
leaf instead, and the hook receives ``grad_input = (None, ...)`` (as in PyTorch).
"""

import itertools

import numpy as np

from .. import autograd
from ..autograd import Function
from ..tensor import Tensor

_hook_ids = itertools.count()


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``handle.remove()`` unregisters the hook.
    Also a context manager: the hook is removed when the ``with`` block ends."""

    __slots__ = ("hooks", "id")

    def __init__(self, hooks):
        self.hooks = hooks
        self.id = next(_hook_ids)

    def remove(self):
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


_ZERO = np.zeros(())
_ZERO.setflags(write=False)  # shared by every hooked call: never written


class _State:
    """What one call of a hooked module collects during backward."""

    __slots__ = ("module", "hooks", "grad_in", "grad_out", "req_slots", "gate")

    def __init__(self, module):
        self.module = module
        self.hooks = list(module._backward_hooks.values())
        self.grad_in, self.grad_out, self.req_slots, self.gate = [], [], [], None


class _Gate(Function):
    """z = 0 (a scalar that every Route/Catch depends on)    backward: run the hooks"""

    @staticmethod
    def forward(ctx, *inputs, state):
        ctx.state = state
        return _ZERO

    @staticmethod
    def backward(ctx, g):
        st = ctx.state
        grad_in, grad_out = tuple(st.grad_in), tuple(st.grad_out)
        for hook in st.hooks:
            r = hook(st.module, grad_in, grad_out)
            if r is not None:
                r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
                if len(r) != len(grad_in):
                    raise RuntimeError(f"backward hook of {type(st.module).__name__} returned "
                                       f"{len(r)} gradients for {len(grad_in)} inputs")
                grad_in = r
        if not st.req_slots:  # the dummy-leaf case: nothing flows on
            return (None,)
        return tuple(grad_in[k] for k in st.req_slots)


class _Route(Function):
    """x' = x    backward: record g as grad_input[slot]; the real gradient goes via Gate"""

    @staticmethod
    def forward(ctx, x, z, state, slot):
        ctx.state, ctx.slot = state, slot
        return x.data

    @staticmethod
    def backward(ctx, g):
        ctx.state.grad_in[ctx.slot] = g
        return None, Tensor._wrap(_ZERO)


class _Catch(Function):
    """out' = out    backward: record g as grad_output[slot] and pass it through"""

    @staticmethod
    def forward(ctx, out, z, state, slot):
        ctx.state, ctx.slot = state, slot
        return out.data

    @staticmethod
    def backward(ctx, g):
        ctx.state.grad_out[ctx.slot] = g
        return g, Tensor._wrap(_ZERO)


def _wrap_inputs(st, args):
    pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    st.grad_in = [None] * len(pos)
    st.req_slots = [k for k, i in enumerate(pos) if args[i].requires_grad]
    if not st.req_slots:
        return args
    st.gate = _Gate.apply(*(args[pos[k]] for k in st.req_slots), state=st)
    args = list(args)
    for k in st.req_slots:
        args[pos[k]] = _Route.apply(args[pos[k]], st.gate, state=st, slot=k)
    return tuple(args)


def _wrap_outputs(st, out):
    single = isinstance(out, Tensor)
    outs = [out] if single else list(out) if isinstance(out, (tuple, list)) else []
    slots = [j for j, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not slots:
        return out  # nothing recorded a graph: the hook can never fire (as in PyTorch)
    if st.gate is None:
        st.gate = _Gate.apply(Tensor._wrap(np.zeros(()), True), state=st)
    st.grad_out = [None] * sum(isinstance(o, Tensor) for o in outs)
    tensor_slot = {j: n for n, j in enumerate(j for j, o in enumerate(outs)
                                               if isinstance(o, Tensor))}
    for j in slots:
        outs[j] = _Catch.apply(outs[j], st.gate, state=st, slot=tensor_slot[j])
    if single:
        return outs[0]
    return type(out)(outs)


def call_with_hooks(module, args, kwargs):
    """``module(*args, **kwargs)`` with its pre-hooks, forward hooks and backward hooks."""
    for hook in list(module._forward_pre_hooks.values()):
        r = hook(module, args)
        if r is not None:
            args = r if isinstance(r, tuple) else (r,)
    st = None
    if module._backward_hooks and autograd._grad_enabled:
        st = _State(module)
        args = _wrap_inputs(st, args)
    out = module.forward(*args, **kwargs)
    for hook in list(module._forward_hooks.values()):
        r = hook(module, args, out)
        if r is not None:
            out = r
    if st is not None:
        out = _wrap_outputs(st, out)
    return out
