"""The suite's driver: one worker process per thread count, the report at the end.

Each thread count runs in its own Python process started with OMP_NUM_THREADS /
OPENBLAS_NUM_THREADS / MKL_NUM_THREADS set (read when those libraries load), and the worker
also pins tinygrad_edu's C core, PyTorch and numpy's BLAS (threadpoolctl) explicitly. Inside
a worker every contender of a workload is timed side by side with the block method
(timing.py). ``--in-process`` skips the subprocesses and relies on the explicit pinning.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from . import machine
from .report import evaluate_targets, fmt_time, markdown
from .timing import Contender, measure
from .workloads import GROUPS, group_module

__all__ = ["main", "run_suite", "run_worker", "parse_args"]

SCHEMA = "tinygrad_edu.bench/1"


class Env:
    """What a workload's build() gets: inputs' generator, torch (or None), the mode."""

    __slots__ = ("rng", "torch", "quick", "threads", "backends")

    def __init__(self, torch, quick, threads, backends=("c", "numpy"), seed=0):
        self.rng = np.random.default_rng(seed)
        self.torch, self.quick, self.threads, self.backends = torch, quick, threads, backends

    @staticmethod
    def contender(name, fn, setup=None):
        return Contender(name, fn, setup)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="tinygrad-edu bench",
        description="Time tinygrad_edu (C and numpy backends) side by side with plain numpy "
                    "and PyTorch (when installed) at fixed thread counts.")
    p.add_argument("--quick", action="store_true", help="a subset that runs in about a minute")
    p.add_argument("--only", default="", help=f"comma-separated groups: {', '.join(GROUPS)}")
    p.add_argument("--match", default="", help="only cases whose key contains this text")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (1,2)")
    p.add_argument("--rounds", type=int, help="blocks per contender (5; quick 3)")
    p.add_argument("--calls", type=int, help="samples per block, half discarded (8; quick 6)")
    p.add_argument("--min-sample", type=float,
                   help="seconds one sample lasts at least (fast calls are repeated; 2e-4, "
                        "2e-3 with more than one thread)")
    p.add_argument("--block-budget", type=float,
                   help="seconds one block may take; slow calls get fewer samples (0.6; "
                        "quick 0.25)")
    p.add_argument("--quiet-gap", type=float, default=0.5,
                   help="with more than one thread: before every block, wait up to this many "
                        "seconds until the process is idle (numpy's OpenBLAS workers spin "
                        "for ~0.12 s after each call); the same for every contender; 0 = off")
    p.add_argument("--stat", choices=("median", "min"), default="median",
                   help="a block's value: median (default) or min of its kept samples (min "
                        "resists interference from other processes on a loaded machine)")
    p.add_argument("--no-torch", action="store_true", help="do not import PyTorch")
    p.add_argument("--in-process", action="store_true",
                   help="run every thread count in this process (no worker subprocesses)")
    p.add_argument("--json", help="JSON output path (default bench_results/<timestamp>.json)")
    p.add_argument("--markdown", help="markdown output path (default next to the JSON)")
    p.add_argument("--no-save", action="store_true", help="print only, write no files")
    p.add_argument("--peak-ghz", type=float, default=machine.PEAK_GHZ)
    p.add_argument("--flops-per-cycle", default="32,16", help="f32,f64 FLOP/cycle/core")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--_worker", help=argparse.SUPPRESS)  # internal: write one run's JSON here
    args = p.parse_args(argv)
    try:
        args.thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]
        f32, f64 = (int(x) for x in args.flops_per_cycle.split(","))
    except ValueError:
        p.error(f"--threads / --flops-per-cycle need comma-separated ints, got "
                f"{args.threads!r} / {args.flops_per_cycle!r}")
    if not args.thread_counts or min(args.thread_counts) < 1:
        p.error("--threads: need positive thread counts")
    args.per_cycle = {"float32": f32, "float64": f64}
    args.groups = [g.strip() for g in args.only.split(",") if g.strip()] or list(GROUPS)
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        p.error(f"--only: unknown group(s) {unknown}; choose from {', '.join(GROUPS)}")
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.calls = args.calls or (6 if args.quick else 8)
    args.block_budget = args.block_budget or (0.25 if args.quick else 0.6)
    if args.rounds < 1 or args.calls < 1:
        p.error("--rounds and --calls must be positive")
    if args.quiet_gap < 0:
        p.error("--quiet-gap must be >= 0")
    return args


def _import_torch(wanted, notes):
    if not wanted:
        notes.append("PyTorch not measured (--no-torch)")
        return None
    try:
        import torch
    except ImportError:
        notes.append("PyTorch not installed: torch columns and torch targets skipped "
                      "(pip install torch to compare)")
        return None
    return torch


def _specs(env, groups, match):
    seen = set()
    for group in groups:
        for spec in group_module(group).specs(env, group):
            if spec.key not in seen and (not match or match in spec.key):
                seen.add(spec.key)
                yield spec


def _run_case(spec, env, args):
    from .. import backend

    res = {"group": spec.group, "key": spec.key, "label": spec.label}
    if spec.build is None:
        res["skipped"] = "skipped in --quick"
        return res
    default = backend.name
    try:
        case = spec.build(env)
    except (ImportError, AttributeError) as exc:  # the code measured is not written yet
        res["skipped"] = f"not available yet ({type(exc).__name__}: {exc})"
        return res
    except Exception as exc:
        res["error"] = f"{type(exc).__name__}: {exc}"
        return res
    res.update(flops=case.flops, dtype=case.dtype, per=case.per)
    try:
        if case.check is not None:
            res["check"] = case.check()
            return res
        ok, dropped = [], {}
        for c in case.contenders:  # one untimed call each: a failing contender is dropped
            try:
                if c.setup is not None:
                    c.setup()
                c.fn()
                ok.append(c)
            except Exception as exc:
                dropped[c.name] = f"{type(exc).__name__}: {exc}"
        if dropped:
            res["dropped"] = dropped
        ticks = _cpu_ticks()
        ms = measure(ok, args.rounds, args.calls, min_sample(env.threads, args),
                     args.block_budget, args.stat, quiet_gap(env.threads, args)) if ok else {}
        res["foreign_load"] = foreign_load(ticks, _cpu_ticks())
        res["contenders"] = {name: m.to_dict() for name, m in ms.items()}
    except Exception as exc:
        res["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        backend.use(default)
        if case.teardown is not None:
            case.teardown()
    return res


def _cpu_ticks():
    """(busy ticks of the whole machine, ticks of all CPUs, ticks used by this process) from
    /proc (Linux), or None elsewhere."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        with open("/proc/self/stat") as f:
            own = f.read().rsplit(")", 1)[1].split()
        return sum(v) - v[3] - v[4], sum(v), int(own[11]) + int(own[12])
    except (OSError, ValueError, IndexError):
        return None


def foreign_load(t0, t1):
    """Cores' worth of CPU that other processes used between two _cpu_ticks() readings:
    2-thread timings on a 2-core machine are only meaningful when this stays near 0."""
    if t0 is None or t1 is None or t1[1] <= t0[1]:
        return None
    others = (t1[0] - t0[0]) - (t1[2] - t0[2])
    return round(max(0, others) / (t1[1] - t0[1]) * (os.cpu_count() or 1), 2)


# A case measured while other processes used more than this many cores is flagged in a note.
FOREIGN_FLAG = 0.25


def quiet_gap(threads, args):
    """Seconds measure() may wait for an idle process before each block: only with more than
    one thread (a single-threaded OpenBLAS or OpenMP call wakes no pool). See timing.py."""
    return args.quiet_gap if threads > 1 else 0.0


def min_sample(threads, args):
    """Seconds one sample lasts at least. With more than one thread every block starts from
    sleeping thread pools (the quiet gap), and waking a sleeping thread took up to about a
    millisecond on the development VM (OpenBLAS's as well as ours): with 2 ms samples the
    discarded first half of a block covers the wake-up, so the kept half is the steady state
    of back-to-back calls, as in a training loop."""
    if args.min_sample is not None:
        return args.min_sample
    return 2e-3 if threads > 1 else 2e-4


def _progress(t, res, seconds):
    if "contenders" in res:
        body = ", ".join(f"{n} {fmt_time(m['median_s'])}" for n, m in res["contenders"].items())
    else:
        body = res.get("skipped") or res.get("error") or json.dumps(res.get("check"))[:120]
    print(f"[threads={t}] {res['key']}: {body}  ({seconds:.1f} s)", file=sys.stderr, flush=True)


def run_worker(threads, args, quiet=False):
    """Pin every library to `threads`, run the selected cases, return the run dict.
    In-process runs put the previous thread counts back at the end."""
    notes = []
    torch = _import_torch(not args.no_torch, notes)
    from .. import backend

    if "c" not in backend.available():
        notes.append(f"C backend unavailable ({backend._c_error}): no tg-c column; rebuild "
                     "with python tinygrad_edu/_build.py (or pip install .)")
    pinned = machine.pin_threads(threads, torch)
    backends = ("c", "numpy")
    if args.quick and "c" in backend.available():
        backends = ("c",)  # the reference backend is not a target: saves a quarter of the time
        notes.append("--quick: the tg-numpy column (numpy reference backend) is not measured")
    env = Env(torch, args.quick, threads, backends)
    if quiet_gap(threads, args) > 0:
        notes.append(f"threads > 1: before every block (and calibration) of every contender "
                     f"the worker waited until the process was idle, at most "
                     f"{quiet_gap(threads, args):g} s (--quiet-gap), so that no library's "
                     "spinning thread pool (OpenBLAS: ~0.12 s after each call) steals a core "
                     "from the next contender; the same gap for every contender")
    if threads > 1 and torch is not None and _shared_libgomp():
        policy = backend._modules["c"].thread_info().get("wait_policy") if "c" in \
            backend._modules else None
        notes.append(f"threads={threads}: PyTorch and tinygrad_edu share one libgomp in this "
                     f"process, so PyTorch's OpenMP threads run with the same wait policy "
                     f"({policy}). PyTorch alone would let idle threads spin: on a quiet "
                     "machine faster for it at 2 threads, on a busy one much slower (docs/"
                     "threads.md); OMP_WAIT_POLICY=active in the environment makes both spin "
                     "(benchmarks/README.md has such a run). The 1-thread rows are not "
                     "affected. tinygrad_edu's matrix products, elementwise kernels and "
                     "reductions do not use libgomp: they run on the C core's own worker team, whose workers "
                     "stay awake about 1 ms after a task (docs/threads.md).")
    start, t0 = machine.loadavg(), time.perf_counter()
    results = []
    try:
        for spec in _specs(env, args.groups, args.match):
            t1 = time.perf_counter()
            res = _run_case(spec, env, args)
            results.append(res)
            if not quiet:
                _progress(threads, res, time.perf_counter() - t1)
    finally:
        if args.in_process:
            machine.unpin_threads()
    busy = [f"{r['key']} ({r['foreign_load']:g})" for r in results
            if (r.get("foreign_load") or 0) > FOREIGN_FLAG]
    if busy:
        notes.append(f"threads={threads}: other processes used more than {FOREIGN_FLAG:g} "
                     f"of the {os.cpu_count()} cores while these cases were timed (cores "
                     f"used, from /proc/stat): {', '.join(busy)}. Their times are inflated, "
                     "and with as many threads as cores they measure the scheduler more than "
                     "the code (a descheduled thread stalls every barrier, in every "
                     "library); re-run them on a quiet machine.")
    team = None
    if threads > 1 and "c" in backend._modules:
        team = backend._modules["c"].team_stats()
        notes.append(f"threads={threads}: the C core's worker team took {team['tasks']} tasks "
                     f"(matrix products, elementwise ops, reductions); a worker joined {team['joins']} of "
                     f"them; {team['alone']} ran alone (team busy); workers were preempted "
                     f"during a task {team['preempted']} times "
                     "(each makes them sleep right after their tasks for 10 ms, up to 0.32 s when it recurs: a busy "
                     "machine)")
    return {"threads": threads, "pinned": pinned, "machine": machine.describe(torch),
            "team": team, "loadavg_start": start, "loadavg_end": machine.loadavg(),
            "seconds": time.perf_counter() - t0, "results": results, "notes": notes}


def _shared_libgomp():
    """True when exactly one libgomp is mapped into this process (Linux), i.e. PyTorch and
    the C core share one OpenMP runtime and its settings."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "libgomp" in line}
    except OSError:
        return False
    return len(libs) == 1


def _spawn(threads, argv):
    """Run one thread count in a fresh interpreter whose environment pins the thread pools."""
    import tinygrad_edu

    env = machine.thread_env(threads)
    root = os.path.dirname(os.path.dirname(os.path.abspath(tinygrad_edu.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    with tempfile.TemporaryDirectory(prefix="tg_bench_") as tmp:
        out = os.path.join(tmp, "run.json")
        cmd = [sys.executable, "-m", "tinygrad_edu.bench", *argv, "--threads", str(threads),
               "--_worker", out]
        proc = subprocess.run(cmd, env=env)
        if proc.returncode != 0 or not os.path.exists(out):
            raise RuntimeError(f"bench: the worker for threads={threads} failed (exit code "
                               f"{proc.returncode}); command: {' '.join(cmd)}")
        with open(out) as f:
            return json.load(f)


def run_suite(argv=None):
    """Run the suite as the command line says; return the result dict (also written to disk
    unless --no-save)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    load0 = machine.loadavg()
    runs = []
    for t in args.thread_counts:
        runs.append(run_worker(t, args) if args.in_process else _spawn(t, argv))
    notes = []
    for run in runs:
        notes += run.pop("notes", [])
    mach = runs[0].pop("machine")
    for run in runs[1:]:
        run.pop("machine", None)
    mach["loadavg"] = load0
    data = {"schema": SCHEMA, "timestamp": stamp,
            "command": " ".join(["tinygrad-edu bench"] + argv),
            "machine": mach,
            "config": {"quick": args.quick, "groups": args.groups, "match": args.match,
                       "threads": args.thread_counts, "rounds": args.rounds,
                       "calls": args.calls,
                       "min_sample_s": {str(t): min_sample(t, args) for t in args.thread_counts},
                       "block_budget_s": args.block_budget, "stat": args.stat,
                       "quiet_gap_s": args.quiet_gap,
                       "in_process": args.in_process, "peak_ghz": args.peak_ghz,
                       "flops_per_cycle": args.per_cycle},
            "runs": runs, "notes": list(dict.fromkeys(notes))}
    data["targets"] = evaluate_targets(runs)
    data["markdown"] = markdown(data)
    if not args.no_save:
        jpath = args.json or os.path.join("bench_results", f"{stamp}.json")
        mpath = args.markdown or os.path.splitext(jpath)[0] + ".md"
        for path in (jpath, mpath):
            if os.path.dirname(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(jpath, "w") as f:
            json.dump(data, f, indent=1)
        with open(mpath, "w") as f:
            f.write(data["markdown"])
        data["paths"] = {"json": jpath, "markdown": mpath}
    return data


def main(argv=None):
    """Entry point of ``tinygrad-edu bench`` and ``python -m tinygrad_edu.bench``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args._worker:
        run = run_worker(args.thread_counts[-1], args)
        with open(args._worker, "w") as f:
            json.dump(run, f)
        return 0
    if args.list:
        env = Env(None, args.quick, args.thread_counts[0])
        for spec in _specs(env, args.groups, args.match):
            print(f"{spec.key:40s} {spec.label}")
        return 0
    data = run_suite(argv)
    print(data["markdown"])
    if "paths" in data:
        print(f"written: {data['paths']['json']} and {data['paths']['markdown']}")
    return 0
