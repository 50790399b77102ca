"""gradcheck: compare autograd's Jacobian with central finite differences.

For a function f of tensors, the analytic Jacobian row for output element i is the gradient
of f_i (one backward pass with a one-hot ``gradient``); the numeric column for input element j
is (f(x + eps e_j) - f(x - eps e_j)) / (2 eps). The two must agree to ``atol + rtol * |num|``.
"""

import numpy as np

from . import autograd
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when analytic and numeric gradients disagree."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _numeric_jacobian(fn, inputs, k, eps):
    x = inputs[k]
    with autograd.no_grad():
        base = _outputs(fn, inputs)
        cols = np.zeros((x.size, sum(o.size for o in base)))
        flat = x.data.reshape(-1)  # a view: we perturb in place and restore
        for j in range(x.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = np.concatenate([o.data.ravel() for o in _outputs(fn, inputs)])
            flat[j] = orig - eps
            minus = np.concatenate([o.data.ravel() for o in _outputs(fn, inputs)])
            flat[j] = orig
            cols[j] = (plus - minus) / (2 * eps)
    return cols.T  # (n_out, n_in)


def _analytic_jacobian(fn, inputs, k):
    outs = _outputs(fn, inputs)
    rows = []
    for o_idx, o in enumerate(outs):
        for i in range(o.size):
            if not o.requires_grad:
                rows.append(np.zeros(inputs[k].size))
                continue
            onehot = np.zeros(o.size, dtype=o.dtype)
            onehot[i] = 1
            (g,) = autograd.grad([o], [inputs[k]], [Tensor(onehot.reshape(o.shape))],
                                 retain_graph=True, allow_unused=True)
            rows.append(np.zeros(inputs[k].size) if g is None else g.data.ravel().astype(np.float64))
    return np.array(rows).reshape(-1, inputs[k].size)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check d fn / d inputs against central differences; return True or raise.

    ``inputs``: a Tensor or a sequence of Tensors; those with ``requires_grad`` are checked
    and must be float64 (float32 cannot resolve a difference of eps = 1e-6).
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    checked = [k for k, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; nothing to check")
    for k in checked:
        if inputs[k].dtype != np.float64:
            raise ValueError(f"gradcheck: input {k} is {inputs[k].dtype}; finite differences "
                             "need float64 inputs (use .double())")
        if not inputs[k].is_leaf:
            raise ValueError(f"gradcheck: input {k} must be a leaf tensor")
    for k in checked:
        num = _numeric_jacobian(fn, inputs, k, eps)
        ana = _analytic_jacobian(fn, inputs, k)
        if num.shape != ana.shape:
            raise GradcheckError(f"gradcheck: Jacobian shapes differ for input {k}: numeric "
                                 f"{num.shape}, analytic {ana.shape}")
        bad = ~np.isclose(ana, num, atol=atol, rtol=rtol)
        if bad.any():
            out_i, in_j = map(int, np.argwhere(bad)[0])
            where = np.unravel_index(in_j, inputs[k].shape) if inputs[k].ndim else ()
            msg = (f"gradcheck: input {k} (shape {inputs[k].shape}), element {tuple(map(int, where))}, "
                   f"output element {out_i}: numeric {num[out_i, in_j]:.8g} vs analytic "
                   f"{ana[out_i, in_j]:.8g} ({int(bad.sum())} of {bad.size} entries differ)")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True
