"""Shared fixtures: ``each_backend`` runs a test once per available backend."""

import os

import numpy as np
import pytest
from hypothesis import settings

import tinygrad_edu as tg

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=400, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

BACKENDS = tg.backend.available()
if os.environ.get("TINYGRAD_EDU_REQUIRE_C") and "c" not in BACKENDS:
    raise RuntimeError("TINYGRAD_EDU_REQUIRE_C is set but the C backend could not be imported: "
                       f"{tg.backend._c_error}")


@pytest.fixture(params=BACKENDS)
def each_backend(request):
    """Run the test with the C backend and with the numpy reference backend."""
    before = tg.backend.name
    tg.backend.use(request.param)
    yield request.param
    tg.backend.use(before)


# Modules that compare the C kernels with the numpy reference: there the C backend must not
# answer small +, -, *, / and negation with numpy's ufunc (backend/c.py, _SMALL), or those
# comparisons would compare numpy with itself. Other tests run the default configuration.
KERNEL_MODULES = {"test_backend_core", "test_c_boundary", "test_fuzz", "test_op_table",
                  "test_determinism"}


@pytest.fixture(autouse=True)
def _c_kernels_at_every_size(request, monkeypatch):
    if "c" in BACKENDS and request.module.__name__.rsplit(".", 1)[-1] in KERNEL_MODULES:
        monkeypatch.setattr(tg.backend._c_backend, "_SMALL", 0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_report_header(config):
    return f"tinygrad_edu backends available: {BACKENDS}; default: {tg.backend.name}"
