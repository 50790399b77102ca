"""The benchmark suite, one command (run from a checkout; `tinygrad-edu bench` is the same):

    python benchmarks/run.py [--quick] [--only matmul,elementwise] [--threads 1,2]
                             [--json PATH] [--markdown PATH] [--no-torch] [--list]

The suite itself lives in the package (tinygrad_edu/bench/) so an installed wheel has it too;
this script only puts the checkout first on sys.path and calls it. See benchmarks/README.md.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tinygrad_edu.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
