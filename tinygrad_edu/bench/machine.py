"""What the numbers were measured on, and pinning every library's thread count.

Peak: ``PEAK_GHZ`` x FLOP/cycle/core x threads. The defaults (2.45 GHz, 32 f32 / 16 f64
FLOP per cycle: two 256-bit FMA units) describe an AVX2+FMA core; on a CPU with wider units
a BLAS can pass "100%" of this figure. Override with --peak-ghz / --flops-per-cycle.
"""

import os
import platform
import sys

__all__ = ["PEAK_GHZ", "FLOPS_PER_CYCLE", "peak_gflops", "describe", "pin_threads",
           "unpin_threads", "thread_env", "loadavg"]

PEAK_GHZ = 2.45
FLOPS_PER_CYCLE = {"float32": 32, "float64": 16}
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_limiter = None  # the threadpoolctl limit stays in force until unpin_threads()
_previous = {}  # thread counts before pin_threads, for unpin_threads


def peak_gflops(dtype, threads, ghz=PEAK_GHZ, per_cycle=None):
    per_cycle = per_cycle or FLOPS_PER_CYCLE
    f = per_cycle.get(dtype)
    return None if f is None else ghz * f * threads


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def thread_env(n):
    """Environment for a worker process that must use n threads in every library."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(n)
    return env


def _cpuinfo():
    """(model name, flags, MHz as the kernel reports it) of the first CPU in /proc/cpuinfo."""
    model, flags, mhz = None, set(), None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
                elif key == "cpu MHz" and mhz is None:
                    mhz = round(float(value))
    except (OSError, ValueError):
        pass
    return model or platform.processor() or platform.machine(), flags, mhz


def _read(path):
    with open(path) as f:
        return f.read().strip()


def _caches():
    """{'L1d': '48K', 'L2': '2048K', ...} of cpu0 from sysfs (empty where unavailable)."""
    out = {}
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for d in sorted(os.listdir(base)):
            if not d.startswith("index"):
                continue
            path = os.path.join(base, d)
            kind = _read(os.path.join(path, "type"))
            if kind != "Instruction":
                level = _read(os.path.join(path, "level"))
                out[f"L{level}" + ("d" if kind == "Data" else "")] = _read(
                    os.path.join(path, "size"))
    except OSError:
        pass
    return out


def _threadpools():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    keep = ("user_api", "internal_api", "prefix", "version", "architecture", "num_threads",
            "threading_layer", "filepath")
    return [{k: p.get(k) for k in keep if k in p} for p in threadpool_info()]


def describe(torch=None):
    """A JSON-able description of the machine and the software measured."""
    import numpy as np

    from .. import __version__, backend

    model, flags, mhz = _cpuinfo()
    info = {
        "cpu": model,
        "cpu_mhz": mhz,
        "caches": _caches(),
        "virtualized": "hypervisor" in flags,
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "simd_flags": sorted(f for f in flags if f in ("avx", "avx2", "fma", "avx512f")),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": np.__version__,
        "threadpools": _threadpools(),
        "torch": getattr(torch, "__version__", None),
        "tinygrad_edu": __version__,
        "backends": backend.available(),
        "env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OMP_WAIT_POLICY",
                                           "GOMP_SPINCOUNT", "TINYGRAD_EDU_BACKEND")
                if k in os.environ},
        "loadavg": loadavg(),
    }
    if "c" in backend.available():
        c = backend._modules["c"]
        for key, fn in (("c_build", "build_info"), ("c_simd_level", "simd_level")):
            if hasattr(c, fn):
                info[key] = getattr(c, fn)()
    return info


def pin_threads(n, torch=None):
    """Set n threads in tinygrad_edu's C core, numpy's BLAS (threadpoolctl) and PyTorch.
    Returns what was set, for the report. The worker's environment already carries
    OMP_NUM_THREADS / OPENBLAS_NUM_THREADS = n (thread_env), read at library load."""
    global _limiter
    from .. import backend

    done = {"threads": n, "env": {k: os.environ.get(k) for k in THREAD_VARS}}
    import tinygrad_edu as tg

    c = backend._modules.get("c")
    setter = getattr(tg, "set_num_threads", None) or getattr(c, "set_num_threads", None)
    getter = getattr(tg, "get_num_threads", None) or getattr(c, "get_num_threads", None)
    if setter is not None:
        if getter is not None:
            _previous["tinygrad_edu"] = (setter, getter())
        setter(n)
        done["tinygrad_edu"] = getter() if getter else n
    if torch is not None:
        _previous["torch"] = (torch.set_num_threads, torch.get_num_threads())
        torch.set_num_threads(n)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # only allowed once, before any parallel work
            pass
        done["torch"] = torch.get_num_threads()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        done["threadpoolctl"] = "not installed (BLAS threads from OPENBLAS_NUM_THREADS only)"
    else:
        _limiter = threadpool_limits(limits=n)
        done["threadpoolctl"] = [{"lib": p.get("internal_api"), "num_threads": p.get(
            "num_threads")} for p in (_threadpools() or [])]
    return done


def unpin_threads():
    """Undo pin_threads (used after an --in-process run, e.g. from the tests)."""
    global _limiter
    if _limiter is not None:
        _limiter.restore_original_limits()
        _limiter = None
    for setter, value in _previous.values():
        setter(value)
    _previous.clear()
