"""tinygrad_edu.set_num_threads / get_num_threads, OMP_NUM_THREADS, the OpenMP wait policy
and fork-safety (docs/threads.md). Environment effects need a fresh interpreter, so a few
tests start one (about a second each)."""

import json
import multiprocessing
import os
import subprocess
import sys
import threading

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


# ---------------------------------------------------------------- the core's own team (csrc/team.c)
# The matrix products run on the team: its workers stay awake about a millisecond after a
# task, then sleep on a condition variable. These tests drive the hand-over protocol in the
# ways that could lose a wake-up or a task (sleeping workers, concurrent callers, fork).

def _gemm_pair(seed=0, n=200, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n)).astype(dtype), rng.standard_normal((n, n)).astype(dtype)


@needs_c
def test_team_awake_setting_roundtrip_and_validation():
    from tinygrad_edu.backend import c
    previous = c.team_awake_us()
    try:
        assert c.team_awake_us(0) == previous
        assert c.team_awake_us() == 0
        assert c.team_awake_us(250) == 0 and c.team_awake_us() == 250
    finally:
        c.team_awake_us(previous)
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="team_awake_us: need an int >= 0"):
            c.team_awake_us(bad)
    assert run_python("import json; from tinygrad_edu.backend import c; "
                      "print(json.dumps(c.team_awake_us()))", TINYGRAD_EDU_AWAKE_US="40") == 40


@needs_c
def test_team_products_match_one_thread_with_sleeping_and_awake_workers():
    from tinygrad_edu.backend import c
    a, b = _gemm_pair()
    previous, awake = c.set_num_threads(1), c.team_awake_us()
    try:
        want = c.matmul(a, b)
        c.set_num_threads(2)
        for us in (0, 1000):  # 0: the worker sleeps after every product and is woken again
            c.team_awake_us(us)
            for _ in range(20):
                assert np.array_equal(c.matmul(a, b), want)
        assert c.thread_info()["team_threads"] >= 2
    finally:
        c.set_num_threads(previous)
        c.team_awake_us(awake)


@needs_c
def test_team_many_handovers_to_a_sleeping_worker_do_not_hang():
    # A lost wake-up would hang here: thousands of products, each handed to a worker that
    # went to sleep right after the previous one (awake window 0). Own interpreter, timeout.
    code = ("import json, numpy as np; from tinygrad_edu.backend import c\n"
            "c.set_num_threads(2); c.team_awake_us(0)\n"
            "rng = np.random.default_rng(1)\n"
            "a = rng.standard_normal((96, 160)).astype(np.float32)\n"
            "b = rng.standard_normal((160, 128)).astype(np.float32)\n"
            "want = c.matmul(a, b); ok = True\n"
            "for i in range(3000): ok = ok and np.array_equal(c.matmul(a, b), want)\n"
            "print(json.dumps(ok))")
    assert run_python(code) is True


@needs_c
def test_team_concurrent_callers_get_correct_products():
    # cffi releases the GIL, so two Python threads can enter the GEMM together: one gets the
    # team, the other runs its product alone; both results must be exact.
    from tinygrad_edu.backend import c
    pairs = [_gemm_pair(seed) for seed in range(2)]
    previous = c.set_num_threads(1)
    wants = [c.matmul(a, b) for a, b in pairs]
    c.set_num_threads(2)
    failures = []

    def work(i):
        a, b = pairs[i]
        for _ in range(30):
            if not np.array_equal(c.matmul(a, b), wants[i]):
                failures.append(i)

    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
    finally:
        c.set_num_threads(previous)
    assert failures == []


def _child_team_product(args):
    from tinygrad_edu.backend import c
    a, b = args
    c.set_num_threads(2)  # past the fork handler's 1: the team must start afresh in the child
    return c.matmul(a, b), c.thread_info()["team_threads"]


@needs_c
@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_forked_child_restarts_the_team():
    from tinygrad_edu.backend import c
    a, b = _gemm_pair(seed=3)
    previous = c.set_num_threads(2)
    try:
        want = c.matmul(a, b)  # the parent's team has a worker now
        with multiprocessing.get_context("fork").Pool(1) as pool:
            got, team = pool.apply_async(_child_team_product, ((a, b),)).get(timeout=60)
    finally:
        c.set_num_threads(previous)
    assert np.array_equal(got, want)
    assert team >= 2


@needs_c
def test_team_stats_count_tasks_and_joins():
    from tinygrad_edu.backend import c
    a, b = _gemm_pair(seed=5)
    previous = c.set_num_threads(2)
    try:
        before = c.team_stats()
        for _ in range(5):
            c.matmul(a, b)  # 200^3: the small path on two threads, one team task each
        after = c.team_stats()
    finally:
        c.set_num_threads(previous)
    assert set(after) == {"tasks", "joins", "preempted", "alone"}
    assert after["tasks"] - before["tasks"] == 5
    assert 0 <= after["joins"] - before["joins"] <= 5
    assert c.thread_info()["team_stats"]["tasks"] >= after["tasks"]


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reductions_on_the_team_match_one_thread(dtype):
    # Reductions of >= 2M elements get two threads; the team's threads take chunks of a
    # long reduction, blocks of columns (axis 0) or ranges of rows (axis 1) from a counter,
    # and each result is computed the same way by whoever takes it: the bits must equal
    # the 1-thread results, and every call must have gone through the team.
    from tinygrad_edu.backend import c
    rng = np.random.default_rng(11)
    flat = rng.standard_normal(2_200_001).astype(dtype)
    grid = rng.standard_normal((1500, 1501)).astype(dtype)
    calls = [(flat, (0,)), (grid, (0,)), (grid, (1,)), (grid, (0, 1))]
    previous = c.set_num_threads(1)
    try:
        want = [f(a, ax) for a, ax in calls for f in (c.sum, c.max, c.min)]
        c.set_num_threads(2)
        before = c.team_stats()["tasks"]
        got = [f(a, ax) for a, ax in calls for f in (c.sum, c.max, c.min)]
        used = c.team_stats()["tasks"] - before
    finally:
        c.set_num_threads(previous)
    for g, w in zip(got, want):
        assert g.tobytes() == w.tobytes()
    assert used == len(want)
