"""Memory: graphs are freed by reference counting alone, training keeps a flat RSS, the
``total += loss`` leak is warned about, and very deep graphs work.

Graph freeing is checked with the cycle collector off (``gc.disable()``) and weak
references: a reference cycle anywhere in a graph would keep its nodes alive and fail the
test. "Freed as soon as backward finishes" means two things: right after ``backward()``
every node has dropped what it saved (``saved``/``out_data`` are None), and once the
output tensor is dropped every node, intermediate tensor and intermediate array is gone.
"""

import gc
import os
import subprocess
import sys
import textwrap
import warnings
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn
from tinygrad_edu.autograd import GraphGrowthWarning
from tinygrad_edu.ops import conv as cv
from tinygrad_edu.ops import softmax as sm
from tinygrad_edu.teach.graph import _walk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The directory the imported package lives in (site-packages in CI, the checkout in a dev
# install): subprocesses must import the same build, with its compiled _C.
PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(tg.__file__)))


@pytest.fixture
def no_gc():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def _graph_refs(out):
    """Weak refs to every node, every non-leaf tensor and its array in ``out``'s graph."""
    nodes = _walk(out)[0]  # every node of the graph (teach/graph.py)
    refs = [weakref.ref(n) for n in nodes]
    for n in nodes:
        for p in n.parents:
            if p._ctx is not None:
                refs += [weakref.ref(p), weakref.ref(p.data)]
    return nodes, refs


def _rand(*shape):
    return np.random.default_rng(len(shape)).standard_normal(shape)


# name -> (make leaves, forward); every forward returns a scalar loss. Families: elementwise,
# reductions, matmul, indexing, conv/pool, softmax/cross-entropy, nn layers, losses.
def _layer(layer, x_shape):
    return lambda: layer(tg.Tensor(_rand(*x_shape), requires_grad=True)).square().sum()


CASES = {
    "elementwise": lambda x: ((x * 2.0 + 1.0).exp().log() / (x.abs() + 1.0) - x.tanh().sigmoid()
                              .relu() ** 2.0).maximum(x).sum(),
    "math": lambda x: (x.sin() * x.cos() + x.erf() + x.square().sqrt()).sum(),
    "reductions": lambda x: (x.sum(0).mean() + x.max(1).sum() + x.min() + x.var(0).sum()
                             + x.std() + x.logsumexp(1).sum() + x.prod(0).sum()
                             + x.cumsum(1).sum()),
    "matmul": lambda x: ((x @ x.T) @ x).sum(),
    "indexing": lambda x: (x[1:, ::-1].sum() + x[[0, 2, 0]].sum() + tg.gather(x, 1, [[0], [2],
                           [1], [1]]).sum() + tg.where(x > 0, x, x * 0.1).sum()),
    "shape": lambda x: (tg.cat([x, x.flip(0)], 1).reshape(2, -1).permute(1, 0).expand(2, 12, 2)
                        .sum() + tg.stack([x, x]).sum() + tg.pad(x, (1, 1)).sum()),
    "softmax": lambda x: (sm.softmax(x, 1) * sm.log_softmax(x, 0)).sum(),
    "cross_entropy": lambda x: sm.cross_entropy(x, [0, 2, 1, 1], label_smoothing=0.1),
    "activations": lambda x: (F.gelu(x) + F.silu(x) + F.elu(x) + F.leaky_relu(x)
                              + F.softplus(x)).sum(),
    "losses": lambda x: (F.mse_loss(x, x.detach() * 0.5) + F.huber_loss(x, x.detach() + 1.0)
                         + F.binary_cross_entropy_with_logits(x, (x.detach() > 0).float())
                         + F.nll_loss(sm.log_softmax(x, 1), [0, 1, 2, 0])),
}
SHAPE = (4, 3)
LAYERS = {
    "conv_pool": lambda: cv.avg_pool2d(cv.max_pool2d(cv.conv2d(
        tg.Tensor(_rand(2, 3, 8, 8), requires_grad=True),
        tg.Tensor(_rand(4, 3, 3, 3), requires_grad=True), padding=1), 2), 2).sum(),
    "linear": _layer(nn.Linear(3, 5), (4, 3)),
    "conv2d_layer": _layer(nn.Conv2d(2, 3, 3, padding=1), (2, 2, 5, 5)),
    "batchnorm1d": _layer(nn.BatchNorm1d(3), (4, 3)),
    "batchnorm2d": _layer(nn.BatchNorm2d(2), (3, 2, 4, 4)),
    "layernorm": _layer(nn.LayerNorm(3), (4, 3)),
    "dropout": _layer(nn.Dropout(0.5), (4, 3)),
    "embedding": lambda: nn.Embedding(5, 3)(tg.tensor([[1, 2], [4, 1]])).square().sum(),
    "sequential": _layer(nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.2),
                                       nn.Linear(8, 2)), (4, 3)),
}


def _check_freed(make_loss):
    loss = make_loss()
    nodes, refs = _graph_refs(loss)
    assert nodes, "no graph was recorded"
    loss.backward()
    kept = [n.name for n in nodes if n.saved is not None or n.out_data is not None]
    assert not kept, f"nodes still holding saved values after backward: {kept}"
    del loss, nodes
    alive = [r() for r in refs if r() is not None]
    assert not alive, f"{len(alive)} graph objects outlived the loss: {alive[:4]}"


@pytest.mark.parametrize("family", sorted(CASES))
def test_graph_freed_by_refcount_alone(family, no_gc):
    x = tg.Tensor(_rand(*SHAPE), requires_grad=True)
    _check_freed(lambda: CASES[family](x))
    assert x.grad is not None and x.grad._ctx is None


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_layer_graph_freed_by_refcount_alone(layer, no_gc):
    _check_freed(LAYERS[layer])


def test_training_step_leaves_nothing_behind(no_gc):
    model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(8, 2))
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    x, y = tg.Tensor(_rand(6, 3)), tg.tensor([0, 1, 1, 0, 1, 0])
    for _ in range(2):  # the second step reuses optimizer state, which must not pin graphs
        opt.zero_grad()
        loss = sm.cross_entropy(model(x), y)
        nodes, refs = _graph_refs(loss)
        loss.backward()
        opt.step()
        del loss, nodes
        assert not [r for r in refs if r() is not None]
    assert all(p.grad._ctx is None for p in model.parameters())


# ------------------------------------------------------------------ flat RSS

RSS_SCRIPT = textwrap.dedent("""
    import os, sys, json
    import numpy as np
    import tinygrad_edu as tg
    from tinygrad_edu import nn
    from tinygrad_edu.ops.softmax import cross_entropy

    steps, marks = int(sys.argv[1]), [int(m) for m in sys.argv[2].split(",")]
    page = os.sysconf("SC_PAGE_SIZE")
    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page / 2**20
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    X = tg.Tensor(rng.standard_normal((64, 16)).astype(np.float32))
    Y = tg.tensor(rng.integers(0, 4, 64))
    model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 64),
                          nn.Tanh(), nn.Linear(64, 4))
    opt = tg.optim.Adam(model.parameters(), lr=1e-3)
    out, total = {}, 0.0
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = cross_entropy(model(X), Y)
        loss.backward()
        opt.step()
        total += loss.item()
        if step in marks:
            out[step] = rss_mb()
    print(json.dumps(out))
""")


def rss_profile(steps, marks):
    env = dict(os.environ, PYTHONPATH=PKG_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(steps),
                          ",".join(map(str, marks))], cwd=PKG_ROOT, capture_output=True, text=True, env=env,
                         timeout=600, check=False)
    assert res.returncode == 0, res.stderr
    import json
    return {int(k): v for k, v in json.loads(res.stdout).items()}


def test_training_loop_keeps_a_flat_rss():
    """RSS at step 1k vs the last step of an MLP training loop. TG_MEMORY_STEPS=10000 gives
    the issue's 10,000-step figure (CI runs 3,000 steps: the same loop, a shorter tail)."""
    steps = int(os.environ.get("TG_MEMORY_STEPS", "3000"))
    rss = rss_profile(steps, [1000, steps])
    growth = rss[steps] - rss[1000]
    print(f"RSS at step 1000: {rss[1000]:.1f} MB, at step {steps}: {rss[steps]:.1f} MB")
    assert growth < 2.0, f"RSS grew by {growth:.1f} MB between step 1000 and {steps}: {rss}"


# ------------------------------------------------------------------ the `total += loss` leak


def _steps(pattern, n=4):
    w = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    total, first = 0.0, None
    for _ in range(n):
        h = (w * 2.0).tanh()  # an activation: what a leaking graph would keep alive
        first = first or weakref.ref(h)
        loss = h.sum()
        if pattern == "before_backward":
            total += loss
        loss.backward()
        if pattern == "after_backward":
            total += loss
        elif pattern == "item":
            total += loss.item()
        elif pattern == "detach":
            total += loss.detach()
        del h, loss
    return total, first


@pytest.mark.parametrize("pattern", ["after_backward", "before_backward"])
def test_total_plus_equals_loss_warns_and_really_leaks(pattern, no_gc):
    with pytest.warns(GraphGrowthWarning, match=r"\+=: .*shape \(\).*loss.item\(\)"):
        total, first = _steps(pattern)
    assert first() is not None  # the first step's activation is still alive: the leak
    del total
    assert first() is None


@pytest.mark.parametrize("pattern", ["item", "detach"])
def test_accumulating_numbers_or_detached_losses_is_quiet_and_frees(pattern, no_gc):
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphGrowthWarning)
        _, first = _steps(pattern)
    assert first() is None


def test_plus_equals_inside_a_forward_is_quiet():
    x = tg.Tensor(_rand(3), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphGrowthWarning)
        h = x * 2.0
        h += x.tanh()  # a residual connection: a live graph, not a leak
        h.sum().backward()
        with tg.no_grad():
            t = x * 1.0
            t += x  # no graph recorded: nothing to warn about
    np.testing.assert_allclose(x.grad.data, 2.0 + 1.0 - np.tanh(x.data) ** 2)


# ------------------------------------------------------------------ deep graphs

DEPTH = 100_000


def _deep_mixed_chain(x):
    """Over 100,000 ops of seven kinds; values stay in (-1, 1) so nothing overflows."""
    y = x
    for _ in range(DEPTH // 7 + 1):
        y = (((y * 0.5 + 0.25).tanh() - 0.1).sigmoid().reshape(4)[::-1].reshape(2, 2) / 1.5)
    return y


def test_a_100k_mixed_op_chain_pictures_and_backward():
    x = tg.Tensor(_rand(2, 2) * 0.1, requires_grad=True)
    y = _deep_mixed_chain(x)
    loss = y.sum()
    n = len(_walk(loss)[0])
    assert n >= DEPTH
    # the graph tools walk it iteratively, and the text tree's indentation is capped, so its
    # size is linear in the depth (it used to be quadratic: gigabytes at this depth)
    assert tg.teach.graph.to_dot(loss).count("Tanh") == DEPTH // 7 + 1
    text = tg.teach.graph.graph_text(loss)
    assert text.count("Tanh") == DEPTH // 7 + 1 and len(text) < 300 * n
    loss.backward()
    assert x.grad.shape == (2, 2) and np.all(np.isfinite(x.grad.data))
    del y, loss  # freeing a 100k-deep chain must not blow the C stack either


def test_backward_trace_of_a_deep_graph():
    # 5x Python's default recursion limit proves the walk is iterative; the trace formats
    # every gradient (about 1 ms per op), so not 100k here.
    x = tg.Tensor(_rand(2, 2) * 0.1, requires_grad=True)
    y = x
    for _ in range(2500):
        y = (y * 0.999).tanh()
    with tg.teach.trace.trace_backward() as tr:
        y.sum().backward()
    assert len(tr.steps) == 5000 + 1
