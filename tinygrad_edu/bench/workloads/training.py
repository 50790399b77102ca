"""Digits training end to end: ``tinygrad-edu train`` with its default configuration, timed
once (wall clock, in this process, so the pinned thread count applies), output written to a
temporary directory. Reports the seconds and the test accuracy the command prints.
Not timed by the block method (one run takes seconds); skipped in --quick.
"""

import contextlib
import io
import re
import tempfile
import time

from . import Case, Spec

_ACC = re.compile(r"test[ _]acc(?:uracy)?\W*?([0-9]*\.?[0-9]+)\s*(%?)", re.IGNORECASE)


def parse_accuracy(text):
    """The last 'test accuracy' number in the command's output, as a fraction (or None)."""
    found = _ACC.findall(text)
    if not found:
        return None
    value, pct = found[-1]
    value = float(value)
    return value / 100.0 if pct or value > 1.0 else value


def build(env):
    from ... import cli  # ImportError (no CLI in this version) -> skipped with a note

    if not hasattr(cli, "main"):
        raise AttributeError("tinygrad_edu.cli.main")

    def check():
        from ... import backend

        previous = backend.name
        out = io.StringIO()
        with tempfile.TemporaryDirectory(prefix="tg_bench_train_") as tmp:
            t0 = time.perf_counter()
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                    code = cli.main(["train", "--out", tmp])
            finally:
                backend.use(previous)
            seconds = time.perf_counter() - t0
        text = out.getvalue()
        return {"seconds": seconds, "exit_code": code, "test_accuracy": parse_accuracy(text),
                "command": "tinygrad-edu train --out <tmp>", "output_tail": text[-600:]}
    return Case(check=check)


def specs(env, group="train"):
    if env.quick:
        return [Spec("train", "train/digits", "digits: tinygrad-edu train (defaults)", None)]
    return [Spec("train", "train/digits", "digits: tinygrad-edu train (defaults)", build)]
