"""tinygrad_edu.set_num_threads / get_num_threads, OMP_NUM_THREADS, the OpenMP wait policy
and fork-safety (docs/threads.md). Environment effects need a fresh interpreter, so a few
tests start one (about a second each)."""

import json
import multiprocessing
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import backend

needs_c = pytest.mark.skipif("c" not in backend.available(), reason="no C extension")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The directory the imported package lives in (site-packages in CI, the checkout in a dev
# install): subprocesses must import the same build, with its compiled _C.
PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(tg.__file__)))


def run_python(code, **env):
    """Run `code` in a fresh interpreter with `env` added (None removes a variable); the
    last line it prints is parsed as JSON."""
    full = dict(os.environ, PYTHONPATH=PKG_ROOT)
    for key, value in env.items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    out = subprocess.run([sys.executable, "-c", code], cwd=PKG_ROOT, env=full, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@needs_c
def test_set_get_roundtrip():
    previous = tg.get_num_threads()
    try:
        assert tg.set_num_threads(1) == previous
        assert tg.get_num_threads() == 1
        assert tg.set_num_threads(np.int64(3)) == 1  # numpy ints are ints
        assert tg.get_num_threads() == 3
    finally:
        tg.set_num_threads(previous)
    assert tg.get_num_threads() == previous


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2", None])
def test_set_num_threads_rejects(bad):
    with pytest.raises(ValueError, match="set_num_threads: need an int >= 1"):
        tg.set_num_threads(bad)


@needs_c
def test_omp_num_threads_is_the_default():
    code = "import json, tinygrad_edu as tg; print(json.dumps(tg.get_num_threads()))"
    assert run_python(code, OMP_NUM_THREADS="1") == 1
    assert run_python(code, OMP_NUM_THREADS="3") == 3


@needs_c
def test_wait_policy_default_and_user_setting():
    code = ("import json, os; from tinygrad_edu.backend import c; "
            "print(json.dumps([c.thread_info()['wait_policy'], "
            "os.environ.get('OMP_WAIT_POLICY')]))")
    policy, env_after = run_python(code, OMP_WAIT_POLICY=None, GOMP_SPINCOUNT=None)
    assert policy.startswith("passive") and env_after is None  # environment restored
    policy, env_after = run_python(code, OMP_WAIT_POLICY="active", GOMP_SPINCOUNT=None)
    assert policy == "OMP_WAIT_POLICY=active" and env_after == "active"  # the user's wins
    policy, _ = run_python(code, OMP_WAIT_POLICY=None, GOMP_SPINCOUNT="1000")
    assert policy == "GOMP_SPINCOUNT=1000"


def _child_sum(x):
    from tinygrad_edu.backend import c
    return float(c.sum(c.mul(x, x), None)), c.get_num_threads()


@needs_c
@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_forked_child_runs_serially_instead_of_hanging():
    from tinygrad_edu.backend import c
    x = np.ones(4 * c._lib.TG_PAR_GRAIN, np.float32)
    previous = c.set_num_threads(2)
    try:
        c.mul(x, x)  # a parallel region in the parent before the fork
        with multiprocessing.get_context("fork").Pool(1) as pool:
            result = pool.apply_async(_child_sum, (x,)).get(timeout=60)
    finally:
        c.set_num_threads(previous)
    assert result == (float(x.size), 1)
