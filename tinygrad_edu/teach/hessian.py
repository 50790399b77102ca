"""Curvature of a loss: Hessian-vector products, Lanczos eigenvalues, critical points.

At a critical point (gradient zero) the Hessian H decides what the point is:
all eigenvalues > 0: a minimum; all < 0: a maximum; both signs: a saddle. Moving along an
eigenvector u with eigenvalue lambda < 0 changes the loss by about lambda * t^2 / 2 < 0 — the
*escape direction* of a saddle. In high dimensions most critical points are saddles.

A model has too many parameters to form H (n^2 numbers), but H v costs about two backward
passes: differentiate g . v where g = grad(loss) was computed with create_graph=True.
Lanczos turns k such products into a k x k tridiagonal matrix whose eigenvalues (the Ritz
values) approach H's extreme eigenvalues quickly.
"""

from dataclasses import dataclass, field

import numpy as np

from .. import autograd
from ..tensor import Tensor


# ------------------------------------------------------------------------------ H v


class HessianVectorProduct:
    """``hv(vec)`` -> H @ vec for a flat numpy vector over all ``params``.

    The gradient graph (create_graph=True) is built once and reused for every product.
    ``loss_fn()`` is a closure computing the scalar loss from the ``params`` Tensors.
    """

    def __init__(self, loss_fn, params):
        self.params = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise ValueError(f"hessian: parameter {i} must be a Tensor that requires grad")
        with autograd.enable_grad():
            loss = loss_fn()
        if not isinstance(loss, Tensor) or loss.size != 1:
            raise ValueError("hessian: loss_fn() must return a one-element Tensor, got "
                             f"{getattr(loss, 'shape', type(loss).__name__)}")
        self.loss = float(loss.data)
        with autograd.enable_grad():
            grads = autograd.grad(loss, self.params, create_graph=True, allow_unused=True)
        self.grads = [g for g in grads]
        self.gradient = np.concatenate(
            [np.zeros(p.size) if g is None else g.data.astype(np.float64).ravel()
             for p, g in zip(self.params, self.grads)])
        self.sizes = [p.size for p in self.params]
        self.n = int(sum(self.sizes))
        self.calls = 0

    def split(self, vec):
        """A flat vector -> arrays shaped like the parameters."""
        out, i = [], 0
        for p in self.params:
            out.append(np.asarray(vec[i:i + p.size]).reshape(p.shape))
            i += p.size
        return out

    def __call__(self, vec):
        self.calls += 1
        terms = []
        with autograd.enable_grad():
            for g, v in zip(self.grads, self.split(vec)):
                if g is not None and g.requires_grad:
                    terms.append((g * Tensor._wrap(v.astype(g.dtype))).sum())
            if not terms:  # the gradient does not depend on the parameters: H = 0
                return np.zeros(self.n)
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            hv = autograd.grad(total, self.params, retain_graph=True, allow_unused=True)
        return np.concatenate([np.zeros(p.size) if h is None else h.data.astype(np.float64).ravel()
                               for p, h in zip(self.params, hv)])


# ------------------------------------------------------------------------------ Lanczos


def lanczos(matvec, n, num_iter=30, seed=0, tol=1e-10):
    """Lanczos with full reorthogonalisation on a symmetric operator of size n.

    Returns (ritz_values ascending, ritz_vectors as columns of an n x k array). Each step
    multiplies by the operator once; the new vector is orthogonalised against *all* previous
    ones (twice, for numerical safety), which keeps the Ritz values free of spurious copies.
    """
    k = min(num_iter, n)
    rng = np.random.default_rng(seed)
    Q = np.zeros((n, k))
    alpha, beta = np.zeros(k), np.zeros(k)
    q = rng.standard_normal(n)
    q /= np.linalg.norm(q)
    m = 0
    for j in range(k):
        Q[:, j] = q
        w = matvec(q)
        alpha[j] = q @ w
        for _ in range(2):  # full reorthogonalisation (Gram-Schmidt, done twice)
            w -= Q[:, :j + 1] @ (Q[:, :j + 1].T @ w)
        m = j + 1
        b = np.linalg.norm(w)
        if j + 1 == k:
            break
        if b < tol * max(1.0, abs(alpha[j])):  # invariant subspace found: restart randomly
            w = rng.standard_normal(n)
            for _ in range(2):
                w -= Q[:, :j + 1] @ (Q[:, :j + 1].T @ w)
            nw = np.linalg.norm(w)
            if nw < 1e-12:
                break
            beta[j] = 0.0
            q = w / nw
        else:
            beta[j] = b
            q = w / b
    T = np.diag(alpha[:m]) + np.diag(beta[:m - 1], 1) + np.diag(beta[:m - 1], -1)
    vals, vecs = np.linalg.eigh(T)
    return vals, Q[:, :m] @ vecs


@dataclass
class HessianEigen:
    """Extreme eigenvalues of a Hessian (Ritz values) and their eigenvectors."""

    ritz_values: np.ndarray  # ascending
    min_value: float
    max_value: float
    min_vector: list  # arrays shaped like the parameters
    max_vector: list
    gradient_norm: float
    loss: float
    num_hvp: int = 0

    @property
    def condition_number(self):
        lo, hi = abs(self.min_value), abs(self.max_value)
        return np.inf if min(lo, hi) == 0 else max(lo, hi) / min(lo, hi)


def hessian_eigs(loss_fn, params, num_iter=30, seed=0):
    """Extreme Hessian eigenvalues of ``loss_fn()`` w.r.t. ``params`` by Lanczos on H v.

    Never forms H: ``num_iter`` Hessian-vector products (about two backward passes each).
    With num_iter >= the number of parameters the values are exact up to rounding.
    """
    hv = HessianVectorProduct(loss_fn, params)
    vals, vecs = lanczos(hv, hv.n, num_iter, seed)
    return HessianEigen(ritz_values=vals, min_value=float(vals[0]), max_value=float(vals[-1]),
                        min_vector=hv.split(vecs[:, 0]), max_vector=hv.split(vecs[:, -1]),
                        gradient_norm=float(np.linalg.norm(hv.gradient)), loss=hv.loss,
                        num_hvp=hv.calls)


def dense_hessian(loss_fn, params):
    """The full n x n Hessian (n HVPs with unit vectors). Only for small n (teaching)."""
    hv = HessianVectorProduct(loss_fn, params)
    H = np.stack([hv(e) for e in np.eye(hv.n)], axis=1)
    return 0.5 * (H + H.T), hv


# ------------------------------------------------------------------------------ classify


@dataclass
class CriticalPoint:
    """What ``classify_critical_point`` found."""

    kind: str  # "minimum" | "maximum" | "saddle" | "degenerate" | "flat" | "not critical"
    eigenvalues: np.ndarray  # all of them (dense) or the Ritz values (Lanczos)
    gradient_norm: float
    loss: float
    escape_direction: object = None  # shaped like the point (list for several tensors)
    escape_eigenvalue: float = None
    note: str = ""
    exact: bool = True  # False when the eigenvalues come from Lanczos
    extra: dict = field(default_factory=dict)

    def __str__(self):
        ev = np.array2string(np.asarray(self.eigenvalues), precision=4, suppress_small=True)
        s = (f"{self.kind}: |grad| = {self.gradient_norm:.3g}, loss = {self.loss:.6g}, "
             f"Hessian eigenvalues {ev}")
        if self.escape_direction is not None:
            s += f"; escape along the eigenvector of eigenvalue {self.escape_eigenvalue:.4g}"
        return s + (f". {self.note}" if self.note else "")


def _to_leaves(point):
    """A point given as array / Tensor / list of them -> (float64 leaf Tensors, single).

    A list of numbers ([0.0, 1.0]) is one point; a list of Tensors/arrays is several."""
    single = not (isinstance(point, (list, tuple)) and point
                  and all(isinstance(p, (Tensor, np.ndarray)) for p in point))
    seq = [point] if single else list(point)
    leaves = []
    for p in seq:
        arr = p.data if isinstance(p, Tensor) else p
        leaves.append(Tensor(np.array(arr, dtype=np.float64), requires_grad=True))
    return leaves, single


def classify_critical_point(f, point=None, *, params=None, tol=1e-6, grad_tol=1e-5,
                            dense_limit=200, num_iter=40, seed=0):
    """Classify a point of ``f`` by its gradient and Hessian eigenvalues.

    Two ways to call it:
      ``classify_critical_point(f, point)``: f(*tensors) -> scalar; ``point`` an array,
          Tensor or list of them (copied to float64).
      ``classify_critical_point(loss_fn, params=model_params)``: loss_fn() is a closure over
          the parameter Tensors; their current values are the point.
    Up to ``dense_limit`` unknowns the Hessian is formed exactly; above, Lanczos gives the
    extreme eigenvalues. Eigenvalues within ``tol`` (relative to the largest |eigenvalue|,
    with an absolute floor of tol) count as zero.
    """
    if params is not None:
        leaves, single, closure = list(params), False, f
    else:
        if point is None:
            raise ValueError("classify_critical_point: give a point or params=")
        leaves, single = _to_leaves(point)

        def closure():
            return f(*leaves)

    hv = HessianVectorProduct(closure, leaves)
    if hv.n <= dense_limit:
        H = np.stack([hv(e) for e in np.eye(hv.n)], axis=1)
        vals, vecs = np.linalg.eigh(0.5 * (H + H.T))
        exact = True
    else:
        vals, vecs = lanczos(hv, hv.n, num_iter, seed)
        exact = False
    gnorm = float(np.linalg.norm(hv.gradient))
    scale = max(np.abs(vals).max(initial=0.0), 1.0)
    pos, neg = vals > tol * scale, vals < -tol * scale
    zero = ~(pos | neg)

    def shaped(vec):
        parts = hv.split(vec)
        return parts[0] if single else parts

    res = CriticalPoint(kind="", eigenvalues=vals, gradient_norm=gnorm, loss=hv.loss,
                        exact=exact)
    if gnorm > grad_tol:
        res.kind = "not critical"
        res.escape_direction = shaped(-hv.gradient / gnorm)
        res.note = ("the gradient is not zero, so this is no critical point; the loss "
                    "decreases fastest along -gradient (given as escape_direction)")
        return res
    if neg.any():
        res.escape_direction = shaped(vecs[:, 0])
        res.escape_eigenvalue = float(vals[0])
    if pos.all():
        res.kind, res.note = "minimum", "all eigenvalues are positive"
    elif neg.all():
        res.kind, res.note = "maximum", "all eigenvalues are negative"
    elif pos.any() and neg.any():
        res.kind = "saddle"
        res.note = (f"{int(neg.sum())} negative and {int(pos.sum())} positive eigenvalues; "
                    "moving along the escape direction lowers the loss")
    elif zero.all():
        res.kind = "flat"
        res.note = "the Hessian is zero: the second-order test says nothing"
    else:
        res.kind = "degenerate"
        sign = "negative" if neg.any() else "positive"
        res.note = (f"{int(zero.sum())} zero and {int((neg | pos).sum())} {sign} eigenvalues: "
                    "the second-order test is inconclusive along the zero directions")
    if not exact:
        res.note += " (extreme eigenvalues by Lanczos; inner ones not computed)"
    return res
