"""The benchmark suite runs (tinygrad_edu.bench): its smallest workload with a tiny repetition
count, in process, without PyTorch. No timing is asserted anywhere here."""

import json

from tinygrad_edu.bench import machine, run_suite
from tinygrad_edu.bench.report import evaluate_targets, markdown
from tinygrad_edu.bench.timing import Contender, measure
from tinygrad_edu.bench.workloads.training import parse_accuracy


def test_smallest_workload_runs_and_writes_reports(tmp_path):
    out = tmp_path / "r.json"
    data = run_suite(["--in-process", "--no-torch", "--threads", "1", "--only", "overhead",
                      "--match", "overhead/fwd", "--rounds", "1", "--calls", "2",
                      "--min-sample", "1e-5", "--json", str(out)])
    (run,) = data["runs"]
    assert run["threads"] == 1 and run["pinned"]["threads"] == 1
    (res,) = run["results"]
    assert res["key"] == "overhead/fwd" and "error" not in res
    cs = res["contenders"]
    assert "numpy" in cs and any(name.startswith("tg-") for name in cs)
    for m in cs.values():
        assert m["median_s"] > 0 and len(m["block_values_s"]) == 1
    assert json.loads(out.read_text())["schema"] == "tinygrad_edu.bench/1"
    md = (tmp_path / "r.md").read_text()
    assert "x*y forward only" in md and "## Machine" in md


def test_in_process_run_restores_thread_counts():
    import tinygrad_edu.backend as backend

    c = backend._modules.get("c")
    before = c.get_num_threads() if c is not None else None
    run_suite(["--in-process", "--no-torch", "--threads", "1", "--match", "overhead/fwd",
               "--rounds", "1", "--calls", "2", "--min-sample", "1e-5", "--no-save"])
    if c is not None:
        assert c.get_num_threads() == before
    assert machine._limiter is None


def test_block_timer_alternates_and_discards_warmup():
    order = []
    cs = [Contender("a", lambda: order.append("a")), Contender("b", lambda: order.append("b"))]
    ms = measure(cs, rounds=2, calls=4, min_sample=0.0)
    assert set(ms) == {"a", "b"} and all(len(m.blocks) == 2 for m in ms.values())
    # after calibration (4 calls each), blocks of 4 alternate and the first mover rotates
    timed = order[8:]
    assert timed == ["a"] * 4 + ["b"] * 4 + ["b"] * 4 + ["a"] * 4
    for m in ms.values():  # two kept samples per block (the first two are warm-up)
        assert [len(k) for k in m.kept] == [2, 2] and m.best <= m.median


def test_block_value_statistic():
    from tinygrad_edu.bench.timing import Measurement

    kept = [[3.0, 1.0, 2.0], [5.0, 4.0, 6.0], [9.0, 7.0, 8.0]]
    med, low = Measurement("x", kept, 1, 6), Measurement("x", kept, 1, 6, stat="min")
    assert med.blocks == [2.0, 5.0, 8.0] and med.median == 5.0 and med.best == 1.0
    assert low.blocks == [1.0, 4.0, 7.0] and low.median == 4.0
    assert abs(med.spread - 0.6) < 1e-12  # (8 - 2) / (2 * 5)


def _fake_run(threads, ours, torch_time, identical=True):
    def res(key, contenders):
        return {"group": key.split("/")[0], "key": key, "label": key,
                "contenders": {n: {"median_s": t, "spread": 0.0} for n, t in contenders.items()}}
    return {"threads": threads, "results": [
        res("mlp/adam_step", {"tg-c": ours, "torch": torch_time}),
        res("matmul/f32/1024", {"tg-c": ours, "numpy": torch_time}),
        {"group": "determinism", "key": "determinism/hash", "label": "hash",
         "check": {"identical": identical}},
        {"group": "cnn", "key": "cnn/sgd_step", "label": "cnn", "skipped": "not available"},
    ]}


def test_targets_pass_fail_and_skip():
    fast, slow = _fake_run(1, 1.0, 2.0), _fake_run(2, 2.0, 1.0, identical=False)
    verdicts = {(t["key"], t["threads"]): t["verdict"] for t in evaluate_targets([fast, slow])}
    assert verdicts[("mlp/adam_step", 1)] == "PASS" and verdicts[("mlp/adam_step", 2)] == "FAIL"
    assert verdicts[("matmul/f32/1024", 1)] == "PASS"
    assert verdicts[("matmul/f32/1024", 2)] == "FAIL"
    assert verdicts[("determinism/hash", 1)] == "PASS"
    assert verdicts[("determinism/hash", 2)] == "FAIL"
    assert verdicts[("cnn/sgd_step", 1)] == "SKIP"
    assert ("exp", 1) not in verdicts  # not selected: no row at all


def test_markdown_renders_without_torch_or_threadpoolctl():
    run = dict(_fake_run(1, 1.0, 2.0), pinned={}, loadavg_start=[0.1, 0, 0],
               loadavg_end=[0.2, 0, 0], seconds=1.0)
    data = {"timestamp": "t", "command": "c", "runs": [run], "notes": ["n1"],
            "machine": {"cpu": "x", "logical_cores": 2, "usable_cores": 2, "simd_flags": [],
                        "numpy": "2", "threadpools": None, "torch": None,
                        "tinygrad_edu": "0", "backends": ["numpy"], "env": {},
                        "python": "3", "platform": "p"},
            "config": {"rounds": 1, "calls": 2, "peak_ghz": 2.45,
                       "flops_per_cycle": {"float32": 32, "float64": 16}}}
    data["targets"] = evaluate_targets([run])
    md = markdown(data)
    assert "| MLP Adam step: time ≤ PyTorch | 1 | 0.50× torch time | PASS |" in md
    assert "Warning" not in md and "- n1" in md


def test_parse_accuracy():
    assert parse_accuracy("epoch 3 ...\ntest accuracy: 97.5%\n") == 0.975
    assert parse_accuracy("Test acc 0.981") == 0.981
    assert parse_accuracy("no number here") is None


def test_missing_module_is_skipped_with_a_note_not_an_error():
    from tinygrad_edu.bench.runner import Env, _run_case, parse_args
    from tinygrad_edu.bench.workloads import Spec

    def build(env):
        raise ImportError("No module named 'tinygrad_edu.not_written_yet'")

    args = parse_args(["--no-torch", "--rounds", "1", "--calls", "2"])
    res = _run_case(Spec("conv", "conv/x", "x", build), Env(None, True, 1), args)
    assert "not_written_yet" in res["skipped"] and "contenders" not in res


def test_unknown_group_is_a_clear_error(capsys):
    import pytest

    from tinygrad_edu.bench.runner import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--only", "matmul,nosuch"])
    assert "nosuch" in capsys.readouterr().err


def test_wait_quiet_returns_once_idle_and_respects_its_limit():
    """No timing asserted: only that an idle process is seen as idle well before the limit
    and that a busy thread holds it back no longer than the limit allows."""
    import threading

    from tinygrad_edu.bench.timing import wait_quiet

    assert wait_quiet(0) == 0.0
    assert wait_quiet(5.0) < 5.0  # this process is idle here: returns long before the limit
    stop = threading.Event()
    spinner = threading.Thread(target=lambda: [None for _ in iter(stop.is_set, True)])
    spinner.start()
    try:
        waited = wait_quiet(0.2)  # a busy thread of ours: waits until the limit
    finally:
        stop.set()
        spinner.join()
    assert 0.2 <= waited < 5.0


def test_foreign_load_arithmetic():
    from tinygrad_edu.bench.runner import foreign_load

    assert foreign_load(None, (1, 2, 3)) is None
    assert foreign_load((0, 0, 0), (0, 0, 0)) is None  # no time passed
    # 50 busy ticks of 200 machine ticks, 30 of them ours: 20 / 200 of the machine's cores
    import os
    assert foreign_load((0, 0, 0), (50, 200, 30)) == round(20 / 200 * (os.cpu_count() or 1), 2)
    assert foreign_load((0, 0, 0), (30, 200, 50)) == 0  # never negative
