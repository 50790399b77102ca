"""The one random generator the whole package draws from.

``manual_seed(s)`` replaces it, so a seed set once makes initialisation, dropout masks,
shuffling and random tensors reproducible together.
"""

import numpy as np

_generator = np.random.default_rng()


def get_generator():
    """The package-wide ``numpy.random.Generator``."""
    return _generator


def manual_seed(seed):
    """Reseed the package-wide generator; returns it."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator
