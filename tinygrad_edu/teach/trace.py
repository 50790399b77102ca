"""Step through backward: what every node received and what it passed on.

    with trace_backward(params={"w": w, "b": b}) as tr:
        loss.backward()
    print(tr)            # the table below; tr.steps / tr.fanouts hold the numbers

For each node, in the order the engine runs them (reverse topological order):
  - the gradient of its output that arrived (dL/d out),
  - the local gradient it produced for each input (the chain rule: dL/d in = dL/d out * d out/d in),
  - where that went (another node, or a leaf's .grad).
A tensor used more than once (a fan-out, e.g. ``x * x`` or a skip connection) receives one
contribution per use; the engine *sums* them. ``tr.fanouts`` lists those sums.

Built on the engine's observer list ``autograd._observers``: each observer is called as
``(node, grad_output, input_grads)`` after a node's backward, before the gradients are passed on.
"""

from dataclasses import dataclass, field

import numpy as np

from .. import autograd


def _fmt_shape(shape):
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def summarize(arr, max_items=6):
    """A short text for an array: the values when small, else shape, norm and range."""
    arr = np.asarray(arr)
    if arr.size <= max_items:
        body = np.array2string(arr.ravel() if arr.ndim > 1 else arr, precision=4,
                               separator=", ", suppress_small=True)
        return f"{_fmt_shape(arr.shape)} {body}"
    return (f"{_fmt_shape(arr.shape)} |g|={float(np.linalg.norm(arr)):.4g} "
            f"min={float(arr.min()):.4g} max={float(arr.max()):.4g}")


@dataclass
class LocalGrad:
    """The gradient one node sent to one of its inputs."""

    input_index: int
    to: str  # "Mul#3" (another node) or "x.grad" (a leaf)
    shape: tuple
    summary: str
    value: np.ndarray = None  # a copy when the array is small (<= keep_values elements)


@dataclass
class Step:
    index: int
    op: str
    node: str  # "Op#k"
    grad_output_shape: tuple
    grad_output: str  # summary text
    local_grads: list = field(default_factory=list)


@dataclass
class FanOut:
    """A tensor that received several gradient contributions, and their sum."""

    target: str
    contributions: list  # [(from_node, input_index, summary)]
    total: str  # summary of the sum
    total_value: np.ndarray = None


class BackwardTrace:
    """Records backward passes while active (a context manager; see module docstring)."""

    def __init__(self, params=None, keep_values=64):
        self.names = {} if not params else {id(t): n for n, t in dict(params).items()}
        self.keep_values = keep_values
        self.steps = []
        self._labels = {}  # id(node or leaf) -> label
        self._keep = []  # keeps labelled objects alive so their ids stay unique
        self._acc = {}  # target label -> [count, running sum, [(from, k, summary)]]
        self._counts = [0, 0]  # leaves, nodes labelled so far (counted, not re-scanned)

    # ---- context manager
    def __enter__(self):
        autograd._observers.append(self._observe)
        return self

    def __exit__(self, *exc):
        if self._observe in autograd._observers:
            autograd._observers.remove(self._observe)
        self._keep = []
        return False

    # ---- naming
    def _label(self, obj, is_leaf):
        key = id(obj)
        if key not in self._labels:
            self._keep.append(obj)
            if is_leaf:
                n = self._counts[0]
                if key not in self.names:  # named leaves do not use up a leaf number
                    self._counts[0] += 1
                self._labels[key] = self.names.get(key, f"leaf{n}{_fmt_shape(obj.shape)}")
            else:
                self._counts[1] += 1
                self._labels[key] = f"{obj.name}#{self._counts[1]}"
        return self._labels[key]

    # ---- the observer
    def _observe(self, node, grad_output, grads):
        label = self._label(node, False)
        g = grad_output.data
        step = Step(len(self.steps) + 1, node.name, label, g.shape, summarize(g))
        for k, (p, pg, need) in enumerate(zip(node.parents, grads, node.needs_input_grad)):
            if pg is None or not need:
                continue
            leaf = p._ctx is None
            target = self._label(p, True) + ".grad" if leaf else self._label(p._ctx, False)
            arr = pg.data
            small = arr.size <= self.keep_values
            step.local_grads.append(LocalGrad(k, target, arr.shape, summarize(arr),
                                              np.array(arr) if small else None))
            entry = self._acc.get(target)
            if entry is None:
                self._acc[target] = [1, np.array(arr, dtype=np.float64),
                                     [(label, k, summarize(arr))]]
            else:
                entry[0] += 1
                entry[1] = entry[1] + arr
                entry[2].append((label, k, summarize(arr)))
        self.steps.append(step)

    # ---- results
    @property
    def fanouts(self):
        """Targets that received more than one contribution, with their sums."""
        out = []
        for target, (count, total, contribs) in self._acc.items():
            if count > 1:
                out.append(FanOut(target, list(contribs), summarize(total),
                                  total if total.size <= self.keep_values else None))
        return out

    def step_for(self, op):
        """The first recorded step whose op name is ``op`` (e.g. "Mul")."""
        for s in self.steps:
            if s.op == op:
                return s
        raise KeyError(f"trace: no step for op {op!r}; recorded: {[s.op for s in self.steps]}")

    def table(self):
        rows = [("step", "node", "dL/d(output) arrived", "input", "sends to", "local gradient")]
        for s in self.steps:
            first = True
            for lg in s.local_grads or [None]:
                rows.append((str(s.index) if first else "", s.node if first else "",
                             s.grad_output if first else "",
                             "" if lg is None else str(lg.input_index),
                             "" if lg is None else lg.to, "" if lg is None else lg.summary))
                first = False
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        fans = self.fanouts
        if fans:
            lines.append("")
            lines.append("Gradients summed at a fan-out (a tensor used more than once):")
            for f in fans:
                lines.append(f"  {f.target}: {len(f.contributions)} contributions")
                for frm, k, summ in f.contributions:
                    lines.append(f"      + {summ}   (from {frm}, input {k})")
                lines.append(f"      = {f.total}")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


def trace_backward(params=None, keep_values=64):
    """``with trace_backward() as tr: loss.backward()`` records every backward step.

    ``params``: optional ``{name: tensor}`` so leaves are called by name in the table.
    """
    return BackwardTrace(params, keep_values)
