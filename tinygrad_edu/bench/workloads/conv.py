"""conv2d and softmax forward + backward (float32) vs numpy-only implementations and PyTorch.

conv2d (stride 1, bias, gradient g of the output given):
    lenet1  x (64, 1, 28, 28)   w (6, 1, 5, 5)
    lenet2  x (64, 6, 12, 12)   w (16, 6, 5, 5)
    3x3     x (32, 16, 32, 32)  w (16, 16, 3, 3), padding 1
softmax along the last axis, forward + backward: (128, 10) and (4096, 1000); and
cross-entropy (mean over the batch, integer labels) on (4096, 1000).
"""

import numpy as np

from . import Case, Spec, tg_contenders, torch_contender

CONVS = {  # name -> (x shape, w shape, padding)
    "lenet1": ((64, 1, 28, 28), (6, 1, 5, 5), 0),
    "lenet2": ((64, 6, 12, 12), (16, 6, 5, 5), 0),
    "3x3": ((32, 16, 32, 32), (16, 16, 3, 3), 1),
}
SOFTMAX = {"128x10": (128, 10), "4096x1000": (4096, 1000)}


def np_conv2d(x, w, b, pad):
    """im2col with a strided window view, then one matrix product. Returns (y, columns)."""
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c = x.shape[:2]
    o, _, kh, kw = w.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    oh, ow = win.shape[2:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)  # copies
    y = cols @ w.reshape(o, -1).T + b
    return y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2), cols


def np_conv2d_backward(g, cols, x_shape, w, pad):
    """dW = g^T columns, db = sum g, dX = col2im(g W) as kh*kw shifted slice-adds."""
    n, c, h, wd = x_shape
    o, _, kh, kw = w.shape
    oh, ow = g.shape[2:]
    g2 = g.transpose(0, 2, 3, 1).reshape(-1, o)
    dw = (g2.T @ cols).reshape(w.shape)
    db = g2.sum(axis=0)
    dcols = (g2 @ w.reshape(o, -1)).reshape(n, oh, ow, c, kh, kw)
    dx = np.zeros((n, c, h + 2 * pad, wd + 2 * pad), g.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, :, i:i + oh, j:j + ow] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return (dx[:, :, pad:pad + h, pad:pad + wd] if pad else dx), dw, db


def _conv_build(name):
    xs, ws, pad = CONVS[name]

    def build(env):
        from ...ops.conv import conv2d
        from ...tensor import Tensor

        r = env.rng
        xa, wa = r.standard_normal(xs).astype(np.float32), r.standard_normal(ws).astype(
            np.float32)
        ba = r.standard_normal(ws[0]).astype(np.float32)
        oh, ow = xs[2] + 2 * pad - ws[2] + 1, xs[3] + 2 * pad - ws[3] + 1
        ga = r.standard_normal((xs[0], ws[0], oh, ow)).astype(np.float32)
        x, w, b = (Tensor(a, requires_grad=True) for a in (xa, wa, ba))
        g = Tensor(ga)

        def ours():
            x.grad = w.grad = b.grad = None
            conv2d(x, w, b, padding=pad).backward(g)

        def ref():
            _, cols = np_conv2d(xa, wa, ba, pad)
            return np_conv2d_backward(ga, cols, xs, wa, pad)

        cs = tg_contenders(ours, env)
        cs.append(env.contender("numpy", ref))
        if env.torch is not None:
            torch = env.torch
            tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (xa, wa, ba))
            tg_ = torch.from_numpy(ga)
            f = torch.nn.functional.conv2d

            def theirs():
                tx.grad = tw.grad = tb.grad = None
                f(tx, tw, tb, padding=pad).backward(tg_)
            cs += torch_contender(theirs, env)
        flops = 3 * 2.0 * xs[0] * ws[0] * oh * ow * ws[1] * ws[2] * ws[3]  # fwd + 2 bwd GEMMs
        return Case(cs, flops=flops, dtype="float32")
    return build


def _softmax_build(shape, loss):
    def build(env):
        from ...tensor import Tensor

        xa = (3 * env.rng.standard_normal(shape)).astype(np.float32)
        ga = env.rng.standard_normal(shape).astype(np.float32)
        ya = env.rng.integers(0, shape[1], shape[0]).astype(np.int64)
        rows = np.arange(shape[0])
        x, g, y = Tensor(xa, requires_grad=True), Tensor(ga), Tensor(ya)
        if loss:
            from ...ops.softmax import cross_entropy

            def ours():
                x.grad = None
                cross_entropy(x, y).backward()

            def ref():
                mx = xa.max(axis=1, keepdims=True)
                e = np.exp(xa - mx)
                s = e.sum(axis=1, keepdims=True)
                val = np.mean(np.log(s[:, 0]) + mx[:, 0] - xa[rows, ya])
                d = e / s
                d[rows, ya] -= 1
                d /= shape[0]
                return val, d
        else:
            if not hasattr(Tensor, "softmax"):
                raise AttributeError("Tensor.softmax")

            def ours():
                x.grad = None
                x.softmax(-1).backward(g)

            def ref():
                e = np.exp(xa - xa.max(axis=-1, keepdims=True))
                p = e / e.sum(axis=-1, keepdims=True)
                return p * (ga - (ga * p).sum(axis=-1, keepdims=True))

        cs = tg_contenders(ours, env)
        cs.append(env.contender("numpy", ref))
        if env.torch is not None:
            torch = env.torch
            tx, tgr, ty = torch.tensor(xa, requires_grad=True), torch.from_numpy(ga), \
                torch.from_numpy(ya)
            ce = torch.nn.functional.cross_entropy

            def theirs():
                tx.grad = None
                if loss:
                    ce(tx, ty).backward()
                else:
                    torch.softmax(tx, -1).backward(tgr)
            cs += torch_contender(theirs, env)
        return Case(cs, dtype="float32")
    return build


def specs(env, group):
    if group == "conv":
        names = ("lenet2",) if env.quick else tuple(CONVS)
        out = []
        for name in names:
            xs, ws, pad = CONVS[name]
            label = (f"conv2d fwd+bwd {name} x{xs} w{ws}" + (f" pad {pad}" if pad else ""))
            out.append(Spec("conv", f"conv/{name}", label, _conv_build(name)))
        return out
    out = [Spec("softmax", f"softmax/{k}", f"softmax fwd+bwd {k}", _softmax_build(s, False))
           for k, s in SOFTMAX.items()]
    if not env.quick:
        out.append(Spec("softmax", "softmax/cross_entropy_4096x1000",
                        "cross_entropy fwd+bwd 4096x1000", _softmax_build((4096, 1000), True)))
    return out
