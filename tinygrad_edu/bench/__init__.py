"""The benchmark suite: tinygrad_edu (C and numpy backends) side by side with plain numpy and
PyTorch (when installed), at fixed thread counts, with the block method of timing.

    tinygrad-edu bench [--quick] [--only matmul,elementwise] [--threads 1,2]
    python -m tinygrad_edu.bench ...          (the same; benchmarks/run.py calls this too)

Writes bench_results/<timestamp>.json and .md and prints the markdown table, with the machine
described, the load average, and the issue-6 targets as PASS/FAIL. Measurement-only extras:
threadpoolctl (pip install tinygrad-edu[bench]) pins numpy's BLAS threads; PyTorch is used
when it is installed and skipped with a note otherwise.
"""

from .runner import main, run_suite

__all__ = ["main", "run_suite"]
