"""Bit-identical results at a fixed thread count: run a deterministic mix twice, hash it.

The mix: 5 Adam steps of the 784-256-128-10 MLP from a fixed seed (parameters and losses),
a 3x3 conv2d forward + backward (output and gradients), a 512^2 f32 matmul, a 4M-element
sum and exp. Everything runs on the C backend when it is available (threaded kernels are
where run-to-run differences would come from). Not timed.
"""

import hashlib

import numpy as np

from . import Case, Spec


def _mix(h):
    from ... import manual_seed, nn, optim
    from ...creation import from_numpy
    from ...tensor import Tensor

    def feed(*arrays):
        for a in arrays:
            h.update(np.ascontiguousarray(a).tobytes())

    rng = np.random.default_rng(1234)
    a = from_numpy(rng.standard_normal((512, 512)).astype(np.float32))
    big = from_numpy(rng.standard_normal((2000, 2000)).astype(np.float32))
    feed((a @ a).data, big.sum().data, big.exp().data)

    manual_seed(1234)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = Tensor(rng.standard_normal((128, 784)).astype(np.float32))
    y = Tensor(rng.integers(0, 10, 128).astype(np.int64))
    for _ in range(5):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        feed(loss.data)
    feed(*(p.data for p in model.parameters()))

    try:
        from ...ops.conv import conv2d
    except ImportError:
        return
    xc = Tensor(rng.standard_normal((8, 16, 32, 32)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((16, 16, 3, 3)).astype(np.float32), requires_grad=True)
    out = conv2d(xc, w, padding=1)
    out.backward(Tensor(rng.standard_normal(out.shape).astype(np.float32)))
    feed(out.data, xc.grad.data, w.grad.data)


def build(env):
    from ... import backend

    def check():
        previous = backend.name
        if "c" in backend.available():
            backend.use("c")
        digests = []
        try:
            for _ in range(2):
                h = hashlib.sha256()
                _mix(h)
                digests.append(h.hexdigest())
        finally:
            backend.use(previous)
        return {"identical": digests[0] == digests[1], "sha256": digests,
                "backend": "c" if "c" in backend.available() else "numpy"}
    return Case(check=check)


def specs(env, group="determinism"):
    return [Spec("determinism", "determinism/hash",
                 "bit-identical: MLP 5 Adam steps + conv + matmul + sum + exp, run twice",
                 build)]
