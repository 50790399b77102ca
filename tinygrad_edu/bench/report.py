"""Targets (issue 6) and the markdown report, from the JSON-able result dict.

Ratios in the tables are time ratios, ours / reference: below 1 means tinygrad_edu (C backend)
was faster. A self-comparison with this method gave ratios between 0.96 and 1.11 on these
machines: inside that band a difference is a tie (the targets say "within noise").
"""

from .workloads import GROUPS

__all__ = ["TARGETS", "evaluate_targets", "markdown", "fmt_time"]

NOISE = (0.96, 1.11)
OURS = ("tg-c", "tg-numpy")  # the first one present is "ours"
COLUMNS = ("tg-c", "tg-numpy", "numpy", "torch")
RATIO_REFS = ("numpy", "torch")

# (description, case key, kind, reference, threshold)
#   speed: ref_time / our_time >= threshold     time: our_time / ref_time <= threshold
TARGETS = [
    ("matmul f32 1024²: GFLOP/s ≥ 0.9× numpy", "matmul/f32/1024", "speed", "numpy", 0.9),
    ("matmul f32 256²: GFLOP/s ≥ 0.8× numpy", "matmul/f32/256", "speed", "numpy", 0.8),
    ("matmul f64 1024²: GFLOP/s ≥ 0.9× numpy", "matmul/f64/1024", "speed", "numpy", 0.9),
    ("matmul f64 256²: GFLOP/s ≥ 0.8× numpy", "matmul/f64/256", "speed", "numpy", 0.8),
    ("mul 4M f32: throughput ≥ PyTorch", "elementwise/mul/4e6", "speed", "torch", 1.0),
    ("sum 4M f32: time ≤ 1.2× PyTorch", "reduce/sum_all/4e6", "time", "torch", 1.2),
    ("exp 4M f32: time ≤ PyTorch", "elementwise/exp/4e6", "time", "torch", 1.0),
    ("tiny (x*y).sum() fwd+bwd: time/op ≤ PyTorch", "overhead/pair", "time", "torch", 1.0),
    ("tiny 10-op chain fwd+bwd: time/op ≤ PyTorch", "overhead/chain", "time", "torch", 1.0),
    ("MLP Adam step: time ≤ PyTorch", "mlp/adam_step", "time", "torch", 1.0),
    ("CNN SGD step: time ≤ 1.5× PyTorch", "cnn/sgd_step", "time", "torch", 1.5),
    ("bit-identical across two runs", "determinism/hash", "identical", None, None),
]


def fmt_time(s):
    if s is None:
        return "–"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def _ours(contenders):
    return next((n for n in OURS if n in contenders), None)


def _index(runs):
    return {(run["threads"], r["key"]): r for run in runs for r in run["results"]}


def evaluate_targets(runs):
    out = []
    idx = _index(runs)
    for desc, key, kind, ref, thr in TARGETS:
        for run in runs:
            t = run["threads"]
            row = {"target": desc, "key": key, "threads": t, "threshold": thr, "ratio": None}
            res = idx.get((t, key))
            if res is None:  # not selected (--only / --match)
                continue
            if res.get("skipped") or res.get("error"):
                why = res.get("skipped") or res.get("error")
                out.append(dict(row, verdict="SKIP", measured=why))
                continue
            if kind == "identical":
                ok = bool(res.get("check", {}).get("identical"))
                out.append(dict(row, verdict="PASS" if ok else "FAIL",
                                measured="identical" if ok else "hashes differ"))
                continue
            cs = res["contenders"]
            ours = _ours(cs)
            if ours is None or ref not in cs:
                missing = ref if ours else "tinygrad_edu"
                out.append(dict(row, verdict="SKIP", measured=f"{missing} not measured"))
                continue
            tr = cs[ours]["median_s"] / cs[ref]["median_s"]  # time ratio
            if kind == "speed":
                ratio, ok = 1.0 / tr, 1.0 / tr >= thr
                text = f"{ratio:.2f}× {ref} " + ("GFLOP/s" if key.startswith("matmul")
                                                  else "throughput")
            else:
                ratio, ok = tr, tr <= thr
                text = f"{ratio:.2f}× {ref} time"
            # inside the self-comparison noise band around the threshold?
            rel = tr * thr if kind == "speed" else tr / thr
            noise = NOISE[0] <= rel <= NOISE[1]
            if ours != "tg-c":
                text += f" ({ours}: C backend unavailable)"
            out.append(dict(row, ratio=ratio, verdict="PASS" if ok else "FAIL",
                            measured=text + (" (within noise)" if noise else "")))
    return out


def _cell(m, case, threads, ghz, per_cycle):
    from .machine import peak_gflops

    if m is None:
        return "–"
    s = f"{fmt_time(m['median_s'])} ±{100 * m['spread']:.0f}%"
    if case.get("flops"):
        gf = case["flops"] / m["median_s"] / 1e9
        s += f" · {gf:.1f} GF/s"
        peak = peak_gflops(case.get("dtype"), threads, ghz, per_cycle)
        if peak:
            s += f" ({100 * gf / peak:.0f}%)"
    if case.get("per"):
        s += f" · {fmt_time(m['median_s'] / case['per'])}/op"
    return s


def _machine_lines(data):
    m = data["machine"]
    cfg = data["config"]
    caches = ", ".join(f"{k} {v}" for k, v in (m.get("caches") or {}).items())
    lines = [f"- CPU: {m['cpu']} — {m['logical_cores']} logical cores ({m['usable_cores']} "
             f"usable); SIMD: {', '.join(m['simd_flags']) or 'n/a'}"
             + (f"; {m['cpu_mhz']} MHz reported" if m.get("cpu_mhz") else "")
             + (f"; caches per core {caches}" if caches else "")
             + ("; virtual machine" if m.get("virtualized") else "")]
    blas = [p for p in (m.get("threadpools") or []) if p.get("user_api") == "blas"]
    if blas:
        b = blas[0]
        lines.append(f"- numpy {m['numpy']}, BLAS: {b.get('internal_api')} {b.get('version')} "
                     f"(arch {b.get('architecture')}, {b.get('threading_layer')})")
    else:
        lines.append(f"- numpy {m['numpy']}, BLAS: unknown (threadpoolctl not installed)")
    lines.append(f"- PyTorch: {m['torch'] or 'not measured (not installed or --no-torch)'}")
    lines.append(f"- tinygrad_edu {m['tinygrad_edu']}, backends {m['backends']}; C core: "
                 f"{m.get('c_build', 'n/a')}; SIMD level {m.get('c_simd_level', 'n/a')}")
    lines.append(f"- OPENBLAS_CORETYPE: {m['env'].get('OPENBLAS_CORETYPE', 'not set')}"
                 + "".join(f"; {k}={v}" for k, v in m["env"].items()
                           if k != "OPENBLAS_CORETYPE"))
    lines.append(f"- % of peak: {cfg['peak_ghz']} GHz × {cfg['flops_per_cycle']['float32']} "
                 f"FLOP/cycle/core f32 ({cfg['flops_per_cycle']['float64']} f64) × threads"
                 + (" (an AVX2+FMA figure: this CPU has AVX-512, whose kernels can pass 100%; "
                    "--flops-per-cycle 64,32 gives the AVX-512 peak)"
                    if "avx512f" in m["simd_flags"] else ""))
    lines.append(f"- Python {m['python']}; {m['platform']}")
    for run in data["runs"]:
        p = run.get("pinned", {})
        blas_n = [x["num_threads"] for x in p.get("threadpoolctl", []) or []
                  if isinstance(x, dict) and x.get("lib") == "openblas"]
        lines.append(f"- threads={run['threads']}: tinygrad_edu {p.get('tinygrad_edu', '?')}, "
                     f"torch {p.get('torch', '–')}, numpy BLAS {blas_n[0] if blas_n else '?'}, "
                     f"OMP_NUM_THREADS={p.get('env', {}).get('OMP_NUM_THREADS')}; load average "
                     f"{run['loadavg_start']} → {run['loadavg_end']} (1/5/15 min); "
                     f"{run['seconds']:.0f} s")
    return lines


def markdown(data):
    cfg = data["config"]
    runs = data["runs"]
    out = [f"# tinygrad_edu benchmarks — {data['timestamp']}", "",
           f"Command: `{data['command']}`", "", "## Machine", ""]
    out += _machine_lines(data)
    cores = data["machine"].get("usable_cores") or 1
    loads = [run[k][0] for run in runs for k in ("loadavg_start", "loadavg_end") if run.get(k)]
    if loads and max(loads) > cores:
        out += ["", f"**Warning:** the 1-minute load average reached {max(loads)} on {cores} "
                "cores: other processes competed for the CPU during this run. Absolute times "
                "are inflated and multi-threaded results (every library's thread pool waits "
                "for descheduled threads) are the least reliable; prefer the ratios of a run "
                "on a quiet machine."]
    stat = cfg.get("stat", "median")
    out += ["", "Method: per workload, blocks of calls alternate between contenders "
            f"({cfg['rounds']} blocks each, up to {cfg['calls']} samples per block, first half "
            f"of every block discarded as warm-up); a cell is the median of the block {stat}s "
            "± half their range. Ratios are time ratios ours (tg-c) / reference: < 1 means "
            f"tinygrad_edu is faster; {NOISE[0]}–{NOISE[1]} is the noise band (a tie)."
            + (f" With more than one thread every block starts after the process has been "
               f"idle (up to {cfg['quiet_gap']:g} s of waiting), the same for every contender: "
               "another library's spinning pool does not eat into the next one's block; a "
               "sample then lasts at least 2 ms, so that the discarded half covers waking "
               "the sleeping pools (up to ~1 ms here) and the kept half is their steady state."
               if cfg.get("quiet_gap") else "")
            + " Cases during which other processes used more than a quarter of a core are "
            "listed in the notes.", ""]
    groups = []
    for run in runs:
        for r in run["results"]:
            if r["group"] not in groups:
                groups.append(r["group"])
    idx = _index(runs)
    threads = [run["threads"] for run in runs]
    notes = list(data.get("notes", []))
    for group in [g for g in GROUPS if g in groups]:
        keys = []
        for run in runs:
            for r in run["results"]:
                if r["group"] == group and r["key"] not in keys:
                    keys.append(r["key"])
        timed = [k for k in keys if any(idx.get((t, k), {}).get("contenders") for t in threads)]
        checks = [k for k in keys if k not in timed]
        out += [f"## {group}", ""]
        if timed:
            head = ["workload", "thr"] + list(COLUMNS) + [f"tg-c / {r}" for r in RATIO_REFS]
            out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            for k in timed:
                for t in threads:
                    r = idx.get((t, k))
                    if not r or not r.get("contenders"):
                        continue
                    cs = r["contenders"]
                    cells = [r["label"], str(t)] + [_cell(cs.get(c), r, t, cfg["peak_ghz"],
                                                          cfg["flops_per_cycle"])
                                                    for c in COLUMNS]
                    for ref in RATIO_REFS:
                        ok = "tg-c" in cs and ref in cs
                        cells.append(f"{cs['tg-c']['median_s'] / cs[ref]['median_s']:.2f}"
                                     if ok else "–")
                    out.append("| " + " | ".join(cells) + " |")
            out.append("")
        for k in checks:
            for t in threads:
                r = idx.get((t, k))
                if r and r.get("check"):
                    out.append(f"- {r['label']} (threads={t}): " + _check_text(k, r["check"]))
        if checks:
            out.append("")
        skips = []
        for k in keys:
            for t in threads:
                r = idx.get((t, k)) or {}
                if r.get("skipped") or r.get("error"):
                    why = r.get("skipped") or f"error: {r['error']}"
                    skips.append(f"- {r['label']} (threads={t}): {why}")
                for name, err in r.get("dropped", {}).items():
                    skips.append(f"- {r['label']} (threads={t}): contender {name} dropped: "
                                 f"{err}")
        if skips:
            out += skips + [""]
    out += ["## Targets (issue 6)", "", "| target | thr | measured | verdict |",
            "|---|---|---|---|"]
    for tg in data["targets"]:
        out.append(f"| {tg['target']} | {tg['threads']} | {tg['measured']} | "
                   f"{tg['verdict']} |")
    if notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in dict.fromkeys(notes)]
    return "\n".join(out) + "\n"


def _check_text(key, check):
    if key.startswith("determinism"):
        digest = (check.get("sha256") or ["?"])[0][:12]
        return ("identical" if check.get("identical") else "DIFFERENT") + \
            f" (sha256 {digest}…, backend {check.get('backend')})"
    if key.startswith("train"):
        acc = check.get("test_accuracy")
        acc = f"{100 * acc:.1f}%" if acc is not None else "not found in the output"
        return (f"{check['seconds']:.1f} s wall clock, test accuracy {acc}, exit code "
                f"{check.get('exit_code')}")
    return str(check)
