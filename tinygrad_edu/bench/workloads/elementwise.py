"""Elementwise ops and reductions on float32, contiguous and broadcast, through the Tensor API
(no graph), at 1e3, 1e6 and 4e6 elements (2-d shapes so rows and columns can broadcast).

    mul         a * b           (m, n) * (m, n)
    add row     a + r           (m, n) + (1, n)
    add col     a + c           (m, n) + (m, 1)
    add scalar  a + 2.0
    exp         exp(a)
    sum all     a.sum()
    sum axis 0  a.sum(axis=0)   -> (n,)
    sum axis 1  a.sum(axis=1)   -> (m,)
"""

from . import Case, Spec, tg_contenders, torch_contender

SHAPES = {"1e3": (40, 25), "1e6": (1000, 1000), "4e6": (2000, 2000)}
QUICK = ("4e6",)
QUICK_OPS = ("mul", "add row", "exp", "sum all", "sum axis 1")

# name -> (group, tinygrad_edu/torch call, numpy call); inputs a, b, r (row), c (col)
OPS = {
    "mul": ("elementwise", lambda a, b, r, c: a * b, None),
    "add row": ("elementwise", lambda a, b, r, c: a + r, None),
    "add col": ("elementwise", lambda a, b, r, c: a + c, None),
    "add scalar": ("elementwise", lambda a, b, r, c: a + 2.0, None),
    "exp": ("elementwise", lambda a, b, r, c: a.exp(), "exp"),
    "sum all": ("reduce", lambda a, b, r, c: a.sum(), None),
    "sum axis 0": ("reduce", lambda a, b, r, c: a.sum(axis=0), "sum0"),
    "sum axis 1": ("reduce", lambda a, b, r, c: a.sum(axis=1), "sum1"),
}
# numpy / torch spellings where they differ from the Tensor API
_NP = {"exp": lambda np, a: np.exp(a), "sum0": lambda np, a: a.sum(axis=0),
       "sum1": lambda np, a: a.sum(axis=1)}
_TORCH = {"sum0": lambda a: a.sum(dim=0), "sum1": lambda a: a.sum(dim=1)}


def _build(op, shape):
    _, call, special = OPS[op]

    def build(env):
        import numpy as np

        from ...creation import from_numpy

        m, n = shape
        arrs = [env.rng.standard_normal(s).astype(np.float32) for s in
                ((m, n), (m, n), (1, n), (m, 1))]
        tg_in = [from_numpy(x) for x in arrs]
        cs = tg_contenders(lambda: call(*tg_in), env)
        if special in _NP:
            a0 = arrs[0]
            cs.append(env.contender("numpy", lambda: _NP[special](np, a0)))
        else:
            cs.append(env.contender("numpy", lambda: call(*arrs)))
        if env.torch is not None:
            t_in = [env.torch.from_numpy(x) for x in arrs]
            if special in _TORCH:
                f = _TORCH[special]
                cs += torch_contender(lambda: f(t_in[0]), env)
            else:
                cs += torch_contender(lambda: call(*t_in), env)
        return Case(cs, dtype="float32")
    return build


def specs(env, group):
    out = []
    for op, (g, _, _) in OPS.items():
        if g != group or (env.quick and op not in QUICK_OPS):
            continue
        for size in (QUICK if env.quick else SHAPES):
            shape = SHAPES[size]
            out.append(Spec(group, f"{group}/{op.replace(' ', '_')}/{size}",
                            f"{op} f32 {size} {shape[0]}x{shape[1]}", _build(op, shape)))
    return out
