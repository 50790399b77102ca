"""Whole training steps (zero_grad, forward, cross-entropy, backward, optimizer step).

    mlp  784-256-128-10, ReLU, Adam(lr=1e-3), batch 128, float32
         vs PyTorch and a hand-written numpy MLP (same math, in-place Adam)
    cnn  LeNet-style on 28x28x1, batch 64, SGD(lr=0.01, momentum=0.9), float32:
         conv 1->6 5x5, ReLU, maxpool 2, conv 6->16 5x5, ReLU, maxpool 2, flatten (256),
         120, ReLU, 84, ReLU, 10;  vs PyTorch
"""

import numpy as np

from . import Case, Spec, tg_contenders, torch_contender

MLP_SIZES = (784, 256, 128, 10)


class NumpyMLP:
    """The MLP step written with numpy only: the floor a Python autograd engine is up against.

    forward  h_{i+1} = relu(h_i W_i + b_i), logits = h_2 W_2 + b_2
    loss     mean_n [logsumexp(logits_n) - logits_n[y_n]]
    backward g = (softmax(logits) - onehot(y)) / N;  dW_i = h_i^T g;  db_i = sum_n g;
             g <- (g W_i^T) * [h_i > 0]
    Adam     m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
             p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
    """

    def __init__(self, rng, sizes=MLP_SIZES, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / np.sqrt(fan_in)
            self.params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
            self.params.append(np.zeros(fan_out, np.float32))
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.lr, (self.b1, self.b2), self.eps, self.t = lr, betas, eps, 0

    def step(self, x, y):
        ps, hs = self.params, [x]
        layers = len(ps) // 2
        for i in range(layers):
            z = hs[-1] @ ps[2 * i] + ps[2 * i + 1]
            hs.append(np.maximum(z, 0) if i < layers - 1 else z)
        logits = hs.pop()
        rows = np.arange(len(y))
        mx = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - mx)
        s = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(s[:, 0]) + mx[:, 0] - logits[rows, y]))
        g = e / s
        g[rows, y] -= 1
        g /= len(y)
        grads = [None] * len(ps)
        for i in reversed(range(layers)):
            h = hs[i]
            grads[2 * i], grads[2 * i + 1] = h.T @ g, g.sum(axis=0)
            if i > 0:
                g = (g @ ps[2 * i].T) * (h > 0)
        self._adam(grads)
        return loss

    def _adam(self, grads):
        self.t += 1
        b1, b2 = self.b1, self.b2
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            denom = np.sqrt(v / c2)
            denom += self.eps
            p -= (self.lr / c1) * m / denom


def _tg_step(model, opt, loss_fn, x, y):
    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def _torch_mlp(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def _lenet(nn):
    """The same LeNet-style stack for tinygrad_edu.nn and torch.nn (the names agree)."""
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def _torch_step(torch, model, opt, x, y):
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def build_mlp(env):
    from ... import nn, optim
    from ...tensor import Tensor

    xa = env.rng.standard_normal((128, 784)).astype(np.float32)
    ya = env.rng.integers(0, 10, 128).astype(np.int64)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    cs = tg_contenders(_tg_step(model, opt, nn.CrossEntropyLoss(), Tensor(xa), Tensor(ya)), env)
    ref = NumpyMLP(env.rng)
    cs.append(env.contender("numpy", lambda: ref.step(xa, ya)))
    if env.torch is not None:
        torch = env.torch
        tm = _torch_mlp(torch)
        topt = torch.optim.Adam(tm.parameters(), lr=1e-3)
        cs += torch_contender(_torch_step(torch, tm, topt, torch.from_numpy(xa),
                                          torch.from_numpy(ya)), env)
    return Case(cs, dtype="float32")


def build_cnn(env):
    from ... import nn, optim
    from ...tensor import Tensor

    xa = env.rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    ya = env.rng.integers(0, 10, 64).astype(np.int64)
    model = _lenet(nn)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    cs = tg_contenders(_tg_step(model, opt, nn.CrossEntropyLoss(), Tensor(xa), Tensor(ya)), env)
    if env.torch is not None:
        torch = env.torch
        tm = _lenet(torch.nn)
        topt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)
        cs += torch_contender(_torch_step(torch, tm, topt, torch.from_numpy(xa),
                                          torch.from_numpy(ya)), env)
    return Case(cs, dtype="float32")


def specs(env, group):
    if group == "mlp":
        return [Spec("mlp", "mlp/adam_step", "MLP 784-256-128-10 Adam step, batch 128",
                     build_mlp)]
    return [Spec("cnn", "cnn/sgd_step", "LeNet CNN SGD step, batch 64, 28x28", build_cnn)]
