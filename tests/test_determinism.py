"""Determinism: the same seed and thread count give bit-identical losses.

Two short training runs (an MLP and a small CNN, both with dropout, data shuffled by the
DataLoader) run in two separate fresh processes per thread count (1 and 2); every loss is
compared through ``float.hex``, so a difference in the last bit fails. The models are big
enough that the C kernels (GEMM, convolution, reductions) actually split work across two
threads. Thread count is set both ways: ``OMP_NUM_THREADS`` in the child's environment and
``tinygrad_edu.set_num_threads`` inside it.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import tinygrad_edu as tg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The directory the imported package lives in (site-packages in CI, the checkout in a dev
# install): subprocesses must import the same build, with its compiled _C.
PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(tg.__file__)))

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tinygrad_edu as tg
    from tinygrad_edu import nn
    from tinygrad_edu.data import DataLoader, TensorDataset, load_digits
    from tinygrad_edu.ops.softmax import cross_entropy

    threads, steps = int(sys.argv[1]), int(sys.argv[2])
    if hasattr(tg, "set_num_threads"):
        tg.set_num_threads(threads)
    X, y = load_digits()
    X = (X / 16.0).astype(np.float32)

    def run(kind):
        tg.manual_seed(1234)
        if kind == "mlp":
            model = nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Dropout(0.3),
                                  nn.Linear(512, 512), nn.Tanh(), nn.Dropout(0.2),
                                  nn.Linear(512, 10))
            data = X
        else:
            model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Dropout(0.25), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                                  nn.Flatten(), nn.Linear(32 * 4 * 4, 10))
            data = X.reshape(-1, 1, 8, 8)
        opt = tg.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
        loader = DataLoader(TensorDataset(data, y), batch_size=256, shuffle=True)
        losses = []
        while len(losses) < steps:
            for xb, yb in loader:
                opt.zero_grad()
                loss = cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
                losses.append(float(loss.item()).hex())
                if len(losses) == steps:
                    break
        return losses

    print(json.dumps({"threads": tg.get_num_threads() if hasattr(tg, "get_num_threads")
                      else None, "backend": tg.backend.name,
                      "mlp": run("mlp"), "cnn": run("cnn")}))
""")


def train_in_subprocess(threads, steps=12):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               PYTHONPATH=PKG_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(threads), str(steps)], cwd=PKG_ROOT,
                         capture_output=True, text=True, env=env, timeout=600,
                         check=False)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs():
    return {t: [train_in_subprocess(t), train_in_subprocess(t)] for t in (1, 2)}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_same_seed_same_threads_gives_bit_identical_losses(runs, threads, model):
    a, b = runs[threads]
    if "c" in tg.backend.available():
        assert a["backend"] == "c" and a["threads"] == threads
    assert len(a[model]) == 12
    assert len(set(a[model])) > 1  # the loss moves: the run really trains
    assert a[model] == b[model], f"{model}, {threads} threads: runs differ"


def test_thread_count_changes_at_most_the_last_bits(runs):
    """Not required to be bit-identical across thread counts, but it must be the same run."""
    for model in ("mlp", "cnn"):
        one = [float.fromhex(v) for v in runs[1][0][model]]
        two = [float.fromhex(v) for v in runs[2][0][model]]
        for u, v in zip(one, two):
            assert abs(u - v) <= 1e-4 * max(1.0, abs(u)), (model, one, two)
