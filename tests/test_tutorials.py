"""Every tutorial in docs/tutorials/ runs to the end (fast settings) in its own process.

Each tutorial checks its own claims with asserts (a loss that falls, gradients equal to the
hand-derived ones, ...), so a tutorial that stops teaching the truth fails here. The fast
settings come from the environment variable TINYGRAD_EDU_FAST=1; plots go to a non-interactive
matplotlib backend; the working directory is a temporary one, so nothing lands in the repo.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_edu

ROOT = Path(__file__).resolve().parent.parent
# The directory the imported package lives in (site-packages in CI, the checkout in a dev
# install): subprocesses must import the same build, with its compiled _C.
PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(tinygrad_edu.__file__)))
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.py"))


def test_there_are_tutorials():
    assert TUTORIALS, "docs/tutorials/*.py: no tutorials found"


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.name for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path):
    env = dict(os.environ)
    env["TINYGRAD_EDU_FAST"] = "1"
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join([PKG_ROOT, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, (
        f"{path.name} failed (exit {proc.returncode})\n--- stdout (tail)\n"
        f"{proc.stdout[-3000:]}\n--- stderr (tail)\n{proc.stderr[-3000:]}")
    assert proc.stdout.strip(), f"{path.name} printed nothing"
