"""Benchmark workloads. Every group module has ``specs(env) -> [Spec]``; a Spec's ``build(env)``
returns a Case (the contenders to time side by side). A build that raises ImportError or
AttributeError means the code it measures is not there (yet): the case is skipped with a note.

Contender names: ``tg-c`` (tinygrad_edu, C backend), ``tg-numpy`` (tinygrad_edu, numpy
backend), ``numpy`` (plain numpy, written by hand), ``torch`` (PyTorch, when installed).
"""

__all__ = ["Case", "Spec", "GROUPS", "tg_contenders", "torch_contender", "group_module"]

# Group name -> module name, in report order.
GROUPS = {
    "matmul": "matmul",
    "elementwise": "elementwise",
    "reduce": "elementwise",
    "overhead": "overhead",
    "mlp": "models",
    "cnn": "models",
    "conv": "conv",
    "softmax": "conv",
    "train": "training",
    "determinism": "determinism",
}


class Spec:
    """A case to build later: ``key`` is stable (used by targets and JSON), ``label`` is
    what the table shows."""

    __slots__ = ("group", "key", "label", "build")

    def __init__(self, group, key, label, build):
        self.group, self.key, self.label, self.build = group, key, label, build


class Case:
    """Contenders for one workload. ``flops``: floating-point operations per call (GFLOP/s
    and % of peak are shown when set); ``per``: the time is also shown divided by this
    (e.g. per op); ``check``: optional callable returning a dict of extra results (used by
    the determinism and training workloads, which are not timed by the block method);
    ``teardown``: optional callable run after timing."""

    __slots__ = ("contenders", "flops", "dtype", "per", "check", "teardown", "notes")

    def __init__(self, contenders=(), flops=None, dtype=None, per=None, check=None,
                 teardown=None, notes=()):
        self.contenders, self.flops, self.dtype, self.per = list(contenders), flops, dtype, per
        self.check, self.teardown, self.notes = check, teardown, list(notes)


def _use(name):
    from ... import backend

    return lambda: backend.use(name)


def tg_contenders(fn, env):
    """The same tinygrad_edu call timed on each available backend (switched before each
    block, outside the timing)."""
    from ... import backend

    out = []
    for name in ("c", "numpy"):
        if name in backend.available() and name in env.backends:
            out.append(_contender(f"tg-{name}", fn, _use(name)))
    return out


def torch_contender(fn, env):
    return [_contender("torch", fn)] if env.torch is not None and fn is not None else []


def _contender(name, fn, setup=None):
    from ..timing import Contender

    return Contender(name, fn, setup)


def group_module(group):
    import importlib

    return importlib.import_module(f"{__name__}.{GROUPS[group]}")
