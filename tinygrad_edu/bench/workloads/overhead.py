"""Per-op overhead on tiny (4x4 float32) tensors, where the Python dispatch is the whole cost.

    pair   (x * y).sum().backward()                             2 ops forward + backward
    chain  x*y, +x, tanh, *0.5, -y, exp, *x, sigmoid, +1, sum;
           then backward                                        10 ops forward + backward
    fwd    x * y without a graph (requires_grad=False)          1 op, forward only

The same Python function runs on tinygrad_edu and PyTorch tensors (the method names agree).
Gradients are reset to None before every call on both sides. Times are also shown per op.
"""

from . import Case, Spec, tg_contenders, torch_contender


def _pair(x, y):
    x.grad = None
    y.grad = None
    (x * y).sum().backward()


def _chain(x, y):
    x.grad = None
    y.grad = None
    z = x * y
    z = z + x
    z = z.tanh()
    z = z * 0.5
    z = z - y
    z = z.exp()
    z = z * x
    z = z.sigmoid()
    z = z + 1.0
    z.sum().backward()


def _fwd(x, y):
    return x * y


CASES = {  # name -> (function, ops per call, inputs need grad)
    "pair": (_pair, 2, True),
    "chain": (_chain, 10, True),
    "fwd": (_fwd, 1, False),
}
LABELS = {"pair": "(x*y).sum().backward() 4x4",
          "chain": "chain of 10 ops + backward 4x4",
          "fwd": "x*y forward only 4x4 (no graph)"}


def _build(name):
    fn, n_ops, grad = CASES[name]

    def build(env):
        import numpy as np

        from ...tensor import Tensor

        a, b = (env.rng.standard_normal((4, 4)).astype(np.float32) for _ in range(2))
        x, y = Tensor(a.copy(), requires_grad=grad), Tensor(b.copy(), requires_grad=grad)
        cs = tg_contenders(lambda: fn(x, y), env)
        if not grad:
            cs.append(env.contender("numpy", lambda: a * b))
        if env.torch is not None:
            tx = env.torch.tensor(a, requires_grad=grad)
            ty = env.torch.tensor(b, requires_grad=grad)
            cs += torch_contender(lambda: fn(tx, ty), env)
        return Case(cs, dtype="float32", per=n_ops)
    return build


def specs(env, group="overhead"):
    return [Spec("overhead", f"overhead/{name}", LABELS[name], _build(name)) for name in CASES]
