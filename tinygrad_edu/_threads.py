"""Threads of the C kernels: ``tinygrad_edu.set_num_threads`` / ``get_num_threads``.

The C core parallelises large kernels with OpenMP; this module is the package-level switch
(the numpy backend and numpy's own BLAS are not affected; see docs/threads.md).
"""

import operator

try:
    from .backend import c as _c
except Exception:  # noqa: BLE001 - no C extension: the numpy backend, one thread
    _c = None


def set_num_threads(n):
    """Let the C kernels use at most ``n`` threads (an int >= 1); returns the previous limit.

    Default: ``OMP_NUM_THREADS`` when it is set, else the number of cores. Kernels whose
    work is too small to pay for a thread team run on the calling thread whatever the limit
    (the thresholds are in csrc/internal.h). For a fixed limit results are reproducible
    bit for bit; elementwise results are also the same for every limit.

    - numpy's BLAS (used by plain numpy code and the numpy backend) has its own pool; limit
      it with ``threadpoolctl`` or ``OPENBLAS_NUM_THREADS``. The two pools never run at the
      same time, and tinygrad_edu's idle threads sleep instead of spinning, so they do not
      slow each other down.
    - Processes: GNU OpenMP (libgomp) is not fork-safe. Use the ``"spawn"`` start method
      for ``multiprocessing`` (``multiprocessing.get_context("spawn")``) when the children
      run tinygrad_edu. A child created by ``fork`` still works, but tinygrad_edu sets its
      limit to one thread (a forked child would hang in its first parallel region).

    Without the C extension this only checks ``n``: the numpy backend has no threads of
    its own.
    """
    try:
        k = None if isinstance(n, bool) else operator.index(n)
    except TypeError:
        k = None
    if k is None or k < 1:
        raise ValueError(f"set_num_threads: need an int >= 1, got {n!r}")
    return 1 if _c is None else _c.set_num_threads(k)


def get_num_threads():
    """The most threads a C kernel may use (1 without the C extension or OpenMP)."""
    return 1 if _c is None else _c.get_num_threads()
