"""gradgradcheck: check second derivatives (double backward) against finite differences.

For f(x) with output gradient v, the first-order analytic result is the vector-Jacobian
product  g(x, v) = v^T J_f(x),  computed by one backward pass with ``create_graph=True``.
g is itself a function of x and v built from Tensor ops, so:

- numerically: perturb each element of x (and of v) by +-eps and difference g — this uses only
  the *first-order* backward;
- analytically: backpropagate through the recorded backward graph of g — this is the
  *double backward* (what Hessians, hvp and gradient penalties use).

The two must agree. ``gradcheck`` does exactly this comparison when it is handed g.
"""

import numpy as np

from .. import autograd
from ..gradcheck import gradcheck
from ..tensor import Tensor


def _first_order(fn, n_inputs, diff_idx):
    """g(*inputs, *grad_outputs) = the gradients of fn w.r.t. the differentiable inputs."""

    def g(*args):
        inputs, gouts = args[:n_inputs], args[n_inputs:]
        # gradcheck evaluates under no_grad for its finite differences; g needs a graph
        with autograd.enable_grad():
            out = fn(*inputs)
            outs = list(out) if isinstance(out, (tuple, list)) else [out]
            pairs = [(o, v) for o, v in zip(outs, gouts) if o.requires_grad]
            wrt = [inputs[i] for i in diff_idx]
            if pairs:
                grads = autograd.grad([o for o, _ in pairs], wrt, [v for _, v in pairs],
                                      create_graph=True, allow_unused=True)
            else:
                grads = [None] * len(wrt)
        # an input the output does not depend on has gradient zero (a constant)
        return [Tensor._wrap(np.zeros(t.shape, dtype=t.dtype)) if gr is None else gr
                for t, gr in zip(wrt, grads)]

    return g


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, seed=0, check_grad_outputs=True):
    """Check the second derivatives of ``fn`` at ``inputs`` (float64 leaf Tensors).

    ``grad_outputs``: the output gradient(s) v of the first backward; random float64 values
    (seeded) when None. Both the inputs and v are perturbed, so the check covers d^2f/dx^2 v
    and the linearity in v (the latter only when ``check_grad_outputs``).
    Returns True or raises ``GradcheckError`` naming the element that differs.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff_idx:
        raise ValueError("gradgradcheck: no input requires grad; nothing to check")
    for i in diff_idx:
        if inputs[i].dtype != np.float64:
            raise ValueError(f"gradgradcheck: input {i} is {inputs[i].dtype}; finite "
                             "differences need float64 inputs (use .double())")
    with autograd.no_grad():
        out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = [Tensor(rng.standard_normal(o.shape), requires_grad=check_grad_outputs)
                        for o in outs]
    else:
        grad_outputs = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
        if len(grad_outputs) != len(outs):
            raise ValueError(f"gradgradcheck: {len(grad_outputs)} grad_outputs for "
                             f"{len(outs)} outputs")
        grad_outputs = [Tensor(np.array(v.data if isinstance(v, Tensor) else v, dtype=np.float64),
                               requires_grad=check_grad_outputs) for v in grad_outputs]
    for o, v in zip(outs, grad_outputs):
        if o.shape != v.shape:
            raise ValueError(f"gradgradcheck: grad_output of shape {v.shape} for an output of "
                             f"shape {o.shape}")
    g = _first_order(fn, len(inputs), diff_idx)
    return gradcheck(g, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
