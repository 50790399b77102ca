"""Backend selection: the array-level kernels every op calls.

``backend.name`` is ``"c"`` or ``"numpy"``. ``TINYGRAD_EDU_BACKEND=c|numpy`` chooses at import;
``use(name)`` switches at run time and ``using(name)`` for one block (tests use them to run
the same checks on both). When the C
extension cannot be imported the package falls back to numpy with one warning.

Ops call ``backend.mul(a, b)`` etc.: the chosen module's functions are copied into this
module's namespace, so a call costs one attribute lookup.
"""

import contextlib
import os
import warnings

from . import numpy as _numpy_backend

name = "numpy"
_modules = {"numpy": _numpy_backend}
_c_error = None

try:
    from . import c as _c_backend

    _modules["c"] = _c_backend
except Exception as exc:  # ImportError, or an OSError from a broken build
    _c_error = exc


def available():
    """Names of the backends that can be used in this installation."""
    return sorted(_modules)


def use(backend_name):
    """Make ``backend_name`` ("c" or "numpy") the active backend."""
    global name
    if backend_name not in ("c", "numpy"):
        raise ValueError(f"backend: unknown backend {backend_name!r}; choose 'c' or 'numpy'")
    if backend_name not in _modules:
        raise RuntimeError(f"backend: the C extension could not be imported ({_c_error}); "
                           "reinstall with a C compiler present (pip install .)")
    module = _modules[backend_name]
    for key in dir(_numpy_backend):
        if not key.startswith("_"):
            # NOTE: a kernel the C module lacks falls back to the numpy reference.
            globals()[key] = getattr(module, key, getattr(_numpy_backend, key))
    name = backend_name


@contextlib.contextmanager
def using(backend_name):
    """``with backend.using("numpy"):`` runs the block on that backend, then restores the
    previous one (also when the block raises)."""
    before = name
    use(backend_name)
    try:
        yield
    finally:
        use(before)


def current_module():
    return _modules[name]


_wanted = os.environ.get("TINYGRAD_EDU_BACKEND", "c").strip().lower() or "c"
if _wanted == "c" and "c" not in _modules:
    warnings.warn(f"tinygrad_edu: C backend unavailable ({_c_error}); using the numpy "
                  "backend, which is correct but slower", RuntimeWarning, stacklevel=2)
    _wanted = "numpy"
use(_wanted)
