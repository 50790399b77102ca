"""python -m tinygrad_edu.bench: run the benchmark suite (see tinygrad_edu.bench)."""

import sys

from .runner import main

sys.exit(main())
