"""autograd.functional: derivatives of whole functions (vjp, jvp, jacobian, hessian, hvp, vhp).

Reached as ``tinygrad_edu.autograd.functional`` (autograd.py imports this module under that
name). The signatures and return conventions follow PyTorch's ``torch.autograd.functional``:

    vjp(func, inputs, v=None, create_graph=False, strict=False)  -> (output, v^T J)
    jvp(func, inputs, v=None, create_graph=False, strict=False)  -> (output, J v)
    jacobian(func, inputs, create_graph=False, strict=False)     -> J
    hessian(func, inputs, create_graph=False, strict=False)      -> H
    hvp(func, inputs, v=None, create_graph=False, strict=False)  -> (output, H v)
    vhp(func, inputs, v=None, create_graph=False, strict=False)  -> (output, v^T H)

``inputs`` is a Tensor or a tuple of Tensors; results mirror that structure (a Tensor for a
Tensor, a tuple for a tuple). The functions never touch the inputs' ``.grad``: they work on
detached copies that require grad, unless ``create_graph=True`` and an input already requires
grad — then the result stays connected to the caller's graph, so it can be differentiated again.

How each one is built from reverse mode (the only mode the engine has):
- vjp: one backward pass with ``v`` as the output gradient.
- jacobian: one vjp per output element (a one-hot ``v``): row i of J is the gradient of out_i.
- jvp: the "double-vjp trick". u -> vjp(u) = u^T J is linear in u, so differentiating
  u^T J v with respect to u gives J v. Two backward passes, no forward mode needed.
- hvp: H v = d/dx (grad f(x) . v): backward with create_graph, a dot with v, backward again.
- hessian: the Jacobian of the gradient, one second backward per entry of the gradient.
"""

import sys

import numpy as np

from . import autograd

# NOTE: let `from tinygrad_edu.autograd.functional import hvp` work although autograd.py is a
# module, not a package: the import system looks in sys.modules first.
sys.modules[__package__ + ".autograd.functional"] = sys.modules[__name__]


# ------------------------------------------------------------------------------ helpers


def _as_tuple(x, arg, fn):
    """(tuple_of_tensors, was_tuple); checks every element is a Tensor."""
    Tensor = autograd.Tensor
    is_tuple = isinstance(x, (tuple, list))
    seq = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(seq):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: {arg} must be a Tensor or a tuple of Tensors, but element "
                            f"{i} is {type(t).__name__}")
    return seq, is_tuple


def _prepare_inputs(inputs, create_graph, fn):
    """Fresh leaves that require grad (or the originals, to stay in the caller's graph)."""
    out = []
    for i, t in enumerate(inputs):
        if t.dtype.kind != "f":
            raise TypeError(f"{fn}: input {i} has dtype {t.dtype}; derivatives need float "
                            "inputs (use .double() for accurate results)")
        if create_graph and t.requires_grad:
            out.append(t)
        else:
            out.append(autograd.Tensor._wrap(t.data, True))
    return tuple(out)


def _call(func, inputs, fn):
    with autograd.enable_grad():
        out = func(*inputs)
    outs, is_tuple = _as_tuple(out, "the output of func", fn)
    return outs, is_tuple


def _grads(outputs, inputs, grad_outputs, create_graph, strict, fn, retain_graph=None):
    """autograd.grad that gives zeros (or raises under ``strict``) for unused inputs and for
    outputs that do not depend on any input."""
    Tensor = autograd.Tensor
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if pairs:
        res = autograd.grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs],
                            retain_graph=True if retain_graph is None else retain_graph,
                            create_graph=create_graph, allow_unused=True)
    else:
        res = (None,) * len(inputs)
    final = []
    for i, (t, g) in enumerate(zip(inputs, res)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn}: the output does not depend on input {i} (shape "
                                   f"{t.shape}); strict=True forbids that")
            g = Tensor._wrap(np.zeros(t.shape, dtype=t.dtype), False)
        final.append(g if create_graph else g.detach())
    return tuple(final)


def _check_v(v, like, fn, arg="v"):
    """``v`` as a tuple of Tensors with the shapes of ``like`` (None allowed for one element)."""
    Tensor = autograd.Tensor
    if v is None:
        if len(like) != 1 or like[0].size != 1:
            raise RuntimeError(f"{fn}: {arg} can be omitted only when there is a single "
                               f"one-element tensor, got shapes {[t.shape for t in like]}")
        return (Tensor._wrap(np.ones(like[0].shape, dtype=like[0].dtype), False),)
    vs, _ = _as_tuple(v, arg, fn)
    if len(vs) != len(like):
        raise RuntimeError(f"{fn}: {arg} has {len(vs)} tensors but {len(like)} are expected")
    for i, (a, b) in enumerate(zip(vs, like)):
        if a.shape != b.shape:
            raise RuntimeError(f"{fn}: {arg}[{i}] has shape {a.shape}, expected {b.shape}")
    return vs


def _detach_all(ts, create_graph):
    return tuple(t if create_graph else t.detach() for t in ts)


def _pack(seq, is_tuple):
    return tuple(seq) if is_tuple else seq[0]


# ------------------------------------------------------------------------------ the API


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product, one backward pass."""
    ins, in_tuple = _as_tuple(inputs, "inputs", "vjp")
    ins = _prepare_inputs(ins, create_graph, "vjp")
    outs, out_tuple = _call(func, ins, "vjp")
    vs = _check_v(v, outs, "vjp")
    res = _grads(outs, ins, vs, create_graph, strict, "vjp")
    return _pack(_detach_all(outs, create_graph), out_tuple), _pack(res, in_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v) by the double-vjp trick (see the module docstring)."""
    Tensor = autograd.Tensor
    ins, in_tuple = _as_tuple(inputs, "inputs", "jvp")
    vs = _check_v(v, ins, "jvp")
    ins = _prepare_inputs(ins, create_graph, "jvp")
    outs, out_tuple = _call(func, ins, "jvp")
    # u: dummy output gradients; g(u) = u^T J is linear in u, and d(g(u) . v)/du = J v
    us = tuple(Tensor._wrap(np.zeros(o.shape, dtype=o.dtype), True) for o in outs)
    with autograd.enable_grad():
        gs = _grads(outs, ins, us, True, strict, "jvp")
        terms = [(g * w).sum() for g, w in zip(gs, vs) if g.requires_grad]
    if terms:
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        res = _grads([total], us, [None], create_graph, False, "jvp")
    else:  # the function is constant in its inputs
        res = tuple(Tensor._wrap(np.zeros(o.shape, dtype=o.dtype)) for o in outs)
    return _pack(_detach_all(outs, create_graph), out_tuple), _pack(res, out_tuple)


def jacobian(func, inputs, create_graph=False, strict=False):
    """The Jacobian, computed row by row (one backward pass per output element).

    One input, one output: a Tensor of shape ``out.shape + in.shape``. A tuple of inputs gives
    a tuple over inputs; a tuple of outputs gives a tuple over outputs (of those tuples).
    """
    Tensor = autograd.Tensor
    ins, in_tuple = _as_tuple(inputs, "inputs", "jacobian")
    ins = _prepare_inputs(ins, create_graph, "jacobian")
    outs, out_tuple = _call(func, ins, "jacobian")
    blocks = []
    for o in outs:
        rows = [[] for _ in ins]
        for k in range(o.size):
            onehot = np.zeros(o.size, dtype=o.dtype)
            onehot[k] = 1
            gs = _grads([o], ins, [Tensor._wrap(onehot.reshape(o.shape))], create_graph,
                        strict, "jacobian")
            for j, g in enumerate(gs):
                rows[j].append(g)
        per_input = []
        for j, t in enumerate(ins):
            per_input.append(_stack(rows[j], o.shape + t.shape, t.dtype, create_graph))
        blocks.append(_pack(per_input, in_tuple))
    return _pack(blocks, out_tuple)


def _stack(rows, shape, dtype, create_graph):
    """Stack gradient rows into one tensor of ``shape``; stays differentiable if needed."""
    Tensor = autograd.Tensor
    if not rows:
        return Tensor._wrap(np.zeros(shape, dtype=dtype))
    if not create_graph:
        return Tensor._wrap(np.stack([r.data for r in rows]).reshape(shape))
    # with create_graph: place each row with a one-hot outer product (only Tensor ops, so the
    # result stays in the graph; the sizes here are small by nature of a dense Jacobian)
    n = len(rows)
    total = None
    for k, r in enumerate(rows):
        e = np.zeros((n, 1), dtype=dtype)
        e[k] = 1
        term = Tensor._wrap(e) * r.reshape(1, -1)
        total = term if total is None else total + term
    return total.reshape(shape)


def hessian(func, inputs, create_graph=False, strict=False):
    """The Hessian of a scalar function: shape ``in.shape + in.shape`` for one input; for a
    tuple of inputs, a tuple of tuples H[i][j] of shape ``in_i.shape + in_j.shape``."""
    ins, in_tuple = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        outs, _ = _call(func, xs, "hessian")
        if len(outs) != 1 or outs[0].size != 1:
            raise RuntimeError(f"hessian: func must return a single one-element tensor, got "
                               f"shapes {[o.shape for o in outs]}")
        return _grads(outs, xs, [None], True, strict, "hessian")

    with autograd.enable_grad():
        # the gradient function returns a tuple, so jacobian gives a tuple over gradients,
        # each a Tensor (one input) or a tuple over inputs: H[i][j]
        h = jacobian(gradient, inputs if in_tuple else ins[0], create_graph, strict)
    return h if in_tuple else h[0]


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) without forming H: backward with create_graph, dot with v, backward."""
    ins, in_tuple = _as_tuple(inputs, "inputs", "hvp")
    vs = _check_v(v, ins, "hvp")
    ins = _prepare_inputs(ins, create_graph, "hvp")
    out, res = _second_order(func, ins, vs, create_graph, strict, "hvp")
    return out, _pack(res, in_tuple)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H). H is symmetric for smooth functions, so this equals hvp."""
    ins, in_tuple = _as_tuple(inputs, "inputs", "vhp")
    vs = _check_v(v, ins, "vhp")
    ins = _prepare_inputs(ins, create_graph, "vhp")
    out, res = _second_order(func, ins, vs, create_graph, strict, "vhp")
    return out, _pack(res, in_tuple)


def _second_order(func, ins, vs, create_graph, strict, fn):
    outs, _ = _call(func, ins, fn)
    if len(outs) != 1 or outs[0].size != 1:
        raise RuntimeError(f"{fn}: func must return a single one-element tensor, got shapes "
                           f"{[o.shape for o in outs]}")
    with autograd.enable_grad():
        gs = _grads(outs, ins, [None], True, strict, fn)
        terms = [(g * w).sum() for g, w in zip(gs, vs) if g.requires_grad]
    if not terms:  # gradient is constant: H = 0
        res = tuple(autograd.Tensor._wrap(np.zeros(t.shape, dtype=t.dtype)) for t in ins)
    else:
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        res = _grads([total], ins, [None], create_graph, strict, fn)
    return (outs[0] if create_graph else outs[0].detach()), res
