"""The block-method timer: alternating blocks of calls per contender, warm-up half discarded.

Why blocks: thread pools of different libraries fight. Right after numpy's OpenBLAS runs, its
threads keep spinning for a while and slow whatever runs next; the same happens between the
OpenMP pool of our C core and PyTorch's. Interleaving single calls (A, B, A, B) is therefore
biased against whichever side runs second. Instead::

    for round in 1..rounds:                       # the order of contenders rotates per round
        for contender in contenders:
            wait_quiet()                          # only with more than one thread (below)
            block = [time of one sample] * calls  # a sample = `inner` calls, averaged
            keep  = block[calls // 2:]            # first half = warm-up, discarded
            block_values[contender].append(median(keep))   # or min(keep): --stat min
    time   = median(block_values)                 # reported
    spread = min/max of block_values              # reported as +-half-range in percent

`inner` is chosen per contender so that one sample lasts at least `min_sample` seconds
(a 1 microsecond op is timed 100 at a time, a 15 ms matmul once): perf_counter's own cost and
resolution stay out of the numbers.

Why a quiet gap before each block (``quiet`` > 0, used with more than one thread): measured on
2 cores, numpy's OpenBLAS workers keep one core 100% busy for about 0.12 s after each call,
and libgomp's (our C core, PyTorch) for about 1-2 ms. A multi-threaded call that runs inside
that window shares a core with a spinner and every barrier waits for a descheduled thread
(a 2-thread 256^2 f32 matmul of ours took 0.14 ms in a steady run, 9.2 ms right after a
block of numpy calls), and a block of fast calls lasts far less than 0.12 s, so discarding its
first half does not help. So before each block (and
before calibrating) wait_quiet() sleeps until the process as a whole has stopped using CPU
(the other pools went to sleep), up to ``quiet`` seconds. It is applied identically to every
contender, so each one starts its block from an idle process and is then timed in the steady
state of its own back-to-back calls.
"""

import math
import statistics
import time

__all__ = ["Contender", "Measurement", "calibrate", "measure", "wait_quiet"]

_perf = time.perf_counter


class Contender:
    """One side of a comparison: ``fn()`` is the timed call; ``setup()`` (optional) runs
    before each block, untimed (e.g. switching tinygrad_edu's backend)."""

    __slots__ = ("name", "fn", "setup")

    def __init__(self, name, fn, setup=None):
        self.name, self.fn, self.setup = name, fn, setup


class Measurement:
    """Result for one contender: seconds per call. ``blocks`` holds each block's value (the
    median of its kept samples, or their minimum with stat="min"); ``best`` is the fastest
    kept sample of all."""

    __slots__ = ("name", "median", "min", "max", "blocks", "inner", "calls", "best", "kept")

    def __init__(self, name, kept, inner, calls, stat="median"):
        self.name, self.kept, self.inner, self.calls = name, kept, inner, calls
        pick = min if stat == "min" else statistics.median
        self.blocks = [pick(k) for k in kept]
        self.median = statistics.median(self.blocks)
        self.min, self.max = min(self.blocks), max(self.blocks)
        self.best = min(min(k) for k in kept)

    @property
    def spread(self):
        """Half the range of the block medians, relative to the median (0.05 = +-5%)."""
        return (self.max - self.min) / (2 * self.median) if self.median > 0 else 0.0

    def to_dict(self):
        return {"median_s": self.median, "min_s": self.min, "max_s": self.max,
                "spread": self.spread, "best_s": self.best, "block_values_s": list(self.blocks),
                "kept_samples_s": [list(k) for k in self.kept], "inner": self.inner,
                "calls_per_block": self.calls}


def wait_quiet(limit, step=0.005, busy=0.1):
    """Sleep until the process's threads have been idle for one `step` (their CPU time grew
    by less than `busy` x step while this thread slept), at most `limit` seconds. Returns
    the seconds waited. process_time() counts every thread of this process, so other
    processes on the machine do not delay it."""
    if limit <= 0:
        return 0.0
    t0 = _perf()
    while True:
        c0, w0 = time.process_time(), _perf()
        time.sleep(step)
        c1, w1 = time.process_time(), _perf()
        if c1 - c0 < busy * (w1 - w0) or w1 - t0 >= limit:
            return w1 - t0


def _sample(fn, inner):
    """Seconds per call, averaged over `inner` back-to-back calls."""
    t0 = _perf()
    for _ in range(inner):
        fn()
    return (_perf() - t0) / inner


def calibrate(fn, min_sample=2e-4, max_inner=10000):
    """Run `fn` a few times (this also surfaces errors before any timing) and return
    (inner, seconds_per_call): the smallest call count whose sample lasts >= min_sample."""
    fn()
    t = min(_sample(fn, 1) for _ in range(3))
    if t >= min_sample:
        return 1, t
    inner = min(max_inner, int(math.ceil(min_sample / max(t, 1e-8))))
    return inner, _sample(fn, inner)


def measure(contenders, rounds=5, calls=8, min_sample=2e-4, block_budget=0.6, stat="median",
            quiet=0.0):
    """Time every contender with the block method; return {name: Measurement}.

    rounds: blocks per contender; calls: samples per block (the first half is discarded);
    stat: a block's value is the "median" (default) or the "min" of its kept samples.
    block_budget: seconds one block may take; slow contenders get fewer calls (never
    fewer than 4, so two samples survive the warm-up cut).
    quiet: before each block and each calibration, wait up to this many seconds for the
    other thread pools to go idle (wait_quiet; 0 = no gap, fine for single-threaded runs).
    """
    plan = []
    for c in contenders:
        if c.setup is not None:
            c.setup()
        wait_quiet(quiet)
        inner, t = calibrate(c.fn, min_sample)
        n = max(4, min(calls, int(block_budget / max(t * inner, 1e-9))))
        plan.append((c, inner, n))
    meds = {c.name: [] for c in contenders}
    k = len(plan)
    for r in range(rounds):
        for j in range(k):
            c, inner, n = plan[(r + j) % k]  # rotate who goes first in each round
            if c.setup is not None:
                c.setup()
            fn = c.fn
            wait_quiet(quiet)  # after setup: a backend switch must not run in the gap
            block = [_sample(fn, inner) for _ in range(n)]
            meds[c.name].append(block[n // 2:])
    return {c.name: Measurement(c.name, meds[c.name], inner, n, stat) for c, inner, n in plan}
