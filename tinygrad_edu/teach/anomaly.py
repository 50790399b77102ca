"""Anomaly mode: stop at the first op that produced NaN or inf, and say where it was called.

    with detect_anomaly():
        loss = model(x).log().mean()   # forward: checked after every op
        loss.backward()                # backward: every local gradient checked

Without it, a NaN shows up much later (a NaN loss after some epochs) and the op that made it
is long gone. In anomaly mode every op's output is checked as soon as it is computed, and the
line of *your* code that called the op is remembered, so a NaN that first appears in a
backward pass is reported with the forward line that built that part of the graph.

It is slow (a stack walk and an isfinite per op): use it to hunt a bug, not to train.
Hooks used: ``autograd._forward_observers`` (after each forward) and ``autograd._observers``
(after each node's backward).
"""

import os
import sys
import traceback
import weakref

import numpy as np

from .. import autograd

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_RUN_BACKWARD = autograd.run_backward.__code__

# why an op typically produces a non-finite value
_HINTS = {
    "Log": "log of a value <= 0 (-inf at 0, nan below); clamp the input, e.g. (p + 1e-12).log(), "
           "or use a fused log-softmax / cross-entropy",
    "Div": "division by zero (or 0/0); add an epsilon to the denominator",
    "Sqrt": "sqrt of a negative number (nan), or a gradient 1/(2 sqrt(x)) at x = 0 (inf); "
            "add an epsilon inside the sqrt",
    "Exp": "overflow: exp of a large value (> 88 in float32, > 709 in float64); subtract the "
           "maximum first (log-sum-exp trick)",
    "Pow": "a negative base with a fractional exponent, 0 to a negative power, or overflow",
    "MatMul": "overflow in a product of large values (exploding weights or activations?)",
    "Mul": "inf * 0, or overflow of large values",
    "Sum": "overflow while summing large values",
}


class AnomalyError(RuntimeError):
    """Raised in anomaly mode at the first non-finite value; the message names op and line."""


def _user_frames(frame, limit=4):
    """(frames of user code outermost-last, inside_backward): skip frames of this package."""
    inside_backward = False
    user = []
    f = frame
    while f is not None:
        if f.f_code is _RUN_BACKWARD:
            inside_backward = True
        if not f.f_code.co_filename.startswith(_PKG_DIR) and len(user) < limit:
            user.append(f)
        f = f.f_back
    return user, inside_backward


def _where_text(summaries):
    if not summaries:
        return "(no user code on the stack)"
    first = summaries[0]
    s = f'File "{first.filename}", line {first.lineno}, in {first.name}'
    if first.line:
        s += f"\n      {first.line.strip()}"
    return s


def _bad_count(arr):
    bad = ~np.isfinite(arr)
    kinds = []
    if np.isnan(arr).any():
        kinds.append("nan")
    if np.isposinf(arr).any():
        kinds.append("inf")
    if np.isneginf(arr).any():
        kinds.append("-inf")
    return int(bad.sum()), "/".join(kinds)


def _finite(arr):
    return arr.dtype.kind != "f" or bool(np.isfinite(arr).all())


class detect_anomaly:
    """Context manager: raise AnomalyError at the first NaN/inf in forward or backward.

    ``check_forward=False`` skips the forward checks (when inf is used on purpose, e.g. as a
    mask); the call sites are still recorded for backward reports. ``raise_error=False``
    records the events in ``.events`` (and warns) instead of raising.
    """

    def __init__(self, check_forward=True, check_backward=True, raise_error=True):
        self.check_forward = check_forward
        self.check_backward = check_backward
        self.raise_error = raise_error
        self.events = []
        self._where = weakref.WeakKeyDictionary()  # node -> list of FrameSummary

    def __enter__(self):
        autograd._forward_observers.append(self._forward)
        autograd._observers.append(self._backward)
        return self

    def __exit__(self, *exc):
        if self._forward in autograd._forward_observers:
            autograd._forward_observers.remove(self._forward)
        if self._backward in autograd._observers:
            autograd._observers.remove(self._backward)
        return False

    # ---- reporting
    def _report(self, msg):
        self.events.append(msg)
        if self.raise_error:
            raise AnomalyError(msg)
        import warnings

        warnings.warn(msg, RuntimeWarning, stacklevel=3)

    def where(self, node):
        """The user code line that ran ``node``'s forward (text), if recorded."""
        return _where_text(self._where.get(node, []))

    # ---- observers
    def _forward(self, node, inputs, data):
        frames, inside_backward = _user_frames(sys._getframe(1))
        if inside_backward:
            return  # an op inside a backward formula: the backward check reports it
        summaries = [traceback.FrameSummary(f.f_code.co_filename, f.f_lineno, f.f_code.co_name)
                     for f in frames]
        self._where[node] = summaries
        if not self.check_forward:
            return
        data = np.asarray(data)  # a kernel may hand back a numpy scalar
        if _finite(data):
            return
        n_bad, kinds = _bad_count(data)
        bad_in = [k for k, t in enumerate(inputs) if not _finite(t.data)]
        shapes = ", ".join(str(t.shape) for t in inputs)
        if bad_in:
            msg = (f"anomaly in forward: input {bad_in[0]} of {node.name} (input shapes "
                   f"{shapes}) already contained {_bad_count(inputs[bad_in[0]].data)[1]} "
                   "before the op, so no op run in anomaly mode produced it: check the data "
                   "and the parameters (did an earlier optimizer step make them non-finite?).")
        else:
            hint = _HINTS.get(node.name)
            msg = (f"anomaly in forward: {node.name} produced {kinds} in {n_bad} of "
                   f"{data.size} output values (input shapes {shapes}; the inputs were "
                   "finite).")
            if hint:
                msg += f"\n  Likely cause: {hint}."
        msg += f"\n  Called from: {_where_text(summaries)}"
        self._report(msg)

    def _backward(self, node, grad_output, grads):
        if not self.check_backward:
            return
        g = grad_output.data
        if not _finite(g):
            self._report(
                f"anomaly in backward: the gradient arriving at {node.name} is already "
                f"non-finite ({_bad_count(g)[1]}); it came from the output gradient given to "
                f"backward(), a hook, or an overflow when contributions were summed."
                f"\n  {node.name} was called from: {self.where(node)}")
            return
        for k, pg in enumerate(grads):
            if pg is None or _finite(pg.data):
                continue
            n_bad, kinds = _bad_count(pg.data)
            hint = _HINTS.get(node.name)
            msg = (f"anomaly in backward: {node.name}.backward produced {kinds} in {n_bad} "
                   f"of {pg.size} values of the gradient for input {k} (shape {pg.shape}); "
                   "the gradient it received was finite.")
            if hint:
                msg += f"\n  Likely cause: {hint}."
            msg += f"\n  The forward of this {node.name} was called from: {self.where(node)}"
            self._report(msg)
            return
