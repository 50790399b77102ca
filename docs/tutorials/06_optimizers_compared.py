"""Tutorial 6: optimizers compared, and learning-rate schedules.

Every optimizer uses the gradient g; they differ in how they turn it into a step:
  SGD          p -= lr * g
  momentum     b = mu * b + g;            p -= lr * b         (a running sum of past directions)
  Adagrad      G += g^2;                  p -= lr * g / sqrt(G)     (steps shrink over time)
  RMSProp      v = a * v + (1 - a) g^2;   p -= lr * g / sqrt(v)     (a moving average instead)
  Adam         m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  both bias-corrected;
               p -= lr * m / sqrt(v)      (RMSProp + momentum)
Mini-batch SGD is SGD with g computed on a random slice of the data: more, noisier steps.

  1. We write each rule in a few lines of numpy and check the package's optimizers agree.
  2. The playground (teach.playground) runs them on small surfaces: an elongated bowl (SGD
     zig-zags), the curved Rosenbrock valley, and the saddle x^2 - y^2.
  3. A real task: a small MLP on the handwritten digits, the same epochs for every optimizer.
  4. Learning-rate schedules: step and exponential decay, warm-up, cyclic, reduce-on-plateau;
     and why decaying the rate helps when the gradients are noisy.

Run:  python docs/tutorials/06_optimizers_compared.py   (TINYGRAD_EDU_FAST=1: fewer steps)
Set TINYGRAD_EDU_PLOTS=some/folder to also save the trajectories as PNGs (matplotlib).
"""

import os

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import (
    DataLoader,
    StandardScaler,
    TensorDataset,
    load_digits,
    make_linear_regression,
    train_val_test_split,
)
from tinygrad_edu.optim import lr_scheduler as sched
from tinygrad_edu.teach import playground as pg
from tinygrad_edu.train import evaluate, fit

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"
PLOTS = os.environ.get("TINYGRAD_EDU_PLOTS")

# ------------------------------------------------------------------ 1. the rules, by hand
print("1. The update rules by hand (numpy) against tinygrad_edu.optim, on y = 2x^2 from x = 3")


def by_hand(rule, lr, steps=30, x=3.0):
    b = G = v = m = 0.0
    xs = []
    for t in range(1, steps + 1):
        g = 4 * x  # dy/dx
        if rule == "sgd":
            x -= lr * g
        elif rule == "momentum":
            b = g if t == 1 else 0.9 * b + g
            x -= lr * b
        elif rule == "adagrad":
            G += g * g
            x -= lr * g / (np.sqrt(G) + 1e-10)
        elif rule == "rmsprop":
            v = 0.99 * v + 0.01 * g * g
            x -= lr * g / (np.sqrt(v) + 1e-8)
        elif rule == "adam":
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            x -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        xs.append(x)
    return np.array(xs)


LRS = {"sgd": 0.05, "momentum": 0.02, "adagrad": 0.5, "rmsprop": 0.05, "adam": 0.1}
for rule, lr in LRS.items():
    run = pg.run(pg.SURFACES["2x^2"], rule, steps=30, lr=lr)  # the package's optimizer
    ours = by_hand(rule, lr)
    np.testing.assert_allclose(run.points[1:, 0], ours, rtol=1e-9, atol=1e-12)
    print(f"   {rule:9s} lr {lr:<5g} x after 5 steps {ours[4]:+.4f}, after 30 {ours[-1]:+.2e}"
          "   (package agrees)")

# ------------------------------------------------------------------ 2. the playground
print("\n2a. The bowl x^2 + 10 y^2: curvature 2 along x, 20 along y")
bowl = pg.SURFACES["bowl"]
for lr in (0.09, 0.11):
    tr = pg.run(bowl, "sgd", steps=40, lr=lr)
    flips = int(np.sum(np.diff(np.sign(tr.points[:, 1])) != 0))
    print(f"   SGD lr {lr}: y changed sign {flips} times in 40 steps (zig-zag); loss "
          f"{tr.losses[0]:.3g} -> {tr.losses[-1]:.3g}")
    if lr == 0.09:  # y is multiplied by 1 - 20 lr = -0.8 each step: overshoots, but shrinks
        assert flips >= 30 and tr.losses[-1] < 1e-3 * tr.losses[0]
    else:  # 1 - 20 lr = -1.2: each overshoot is bigger than the last: divergence
        assert tr.losses[-1] > 1e3 * tr.losses[0]
print("   SGD's lr is capped by the steep direction (lr < 2 / 20 = 0.1); along the flat x\n"
      "   direction (curvature 2) each step then only shrinks x by a factor 1 - 2 lr >= 0.8.")
runs = pg.compare(bowl, {
    "SGD lr 0.02": ("sgd", {"lr": 0.02}),
    "momentum lr 0.02": ("momentum", {"lr": 0.02, "momentum": 0.9}),
    "Adagrad lr 0.5": ("adagrad", {"lr": 0.5}),
    "RMSProp lr 0.05": ("rmsprop", {"lr": 0.05}),
    "Adam lr 0.1": ("adam", {"lr": 0.1}),
}, steps=300)
print("   " + pg.table(runs, target=(0.0, 0.0), tol=1e-3).replace("\n", "\n   "))
assert runs["momentum lr 0.02"].steps_to((0, 0), 1e-3) < runs["SGD lr 0.02"].steps_to((0, 0),
                                                                                         1e-3)

print("\n2b. Rosenbrock (1 - x)^2 + 100 (y - x^2)^2: a long curved valley, minimum at (1, 1)")
rosen = pg.SURFACES["rosenbrock"]
steps = 1200 if FAST else 3000
rruns = pg.compare(rosen, {
    "SGD lr 1e-3": ("sgd", {"lr": 1e-3}),
    "momentum lr 1e-3": ("momentum", {"lr": 1e-3, "momentum": 0.9}),
    "Adagrad lr 0.5": ("adagrad", {"lr": 0.5}),
    "RMSProp lr 0.01": ("rmsprop", {"lr": 0.01}),
    "Adam lr 0.05": ("adam", {"lr": 0.05}),
}, steps=steps)
print("   " + pg.table(rruns, target=(1.0, 1.0), tol=0.05).replace("\n", "\n   "))
assert rruns["Adam lr 0.05"].steps_to((1, 1), 0.05) is not None
assert rruns["momentum lr 1e-3"].steps_to((1, 1), 0.05) is not None
assert rruns["SGD lr 1e-3"].steps_to((1, 1), 0.05) is None
print("   plain SGD reaches the valley floor fast and then crawls along it; momentum builds\n"
      "   speed along the valley, Adam rescales each coordinate.")

print("\n2c. The saddle x^2 - y^2, started at y = 0.001: steps until |y| > 1 (escaped)")
sruns = pg.compare(pg.SURFACES["saddle"], {
    "SGD": ("sgd", {"lr": 0.05}), "momentum": ("momentum", {"lr": 0.05, "momentum": 0.9}),
    "Adagrad": ("adagrad", {"lr": 0.05}), "RMSProp": ("rmsprop", {"lr": 0.05}),
    "Adam": ("adam", {"lr": 0.05})}, steps=200)
escape = {}
for name, tr in sruns.items():
    out = np.nonzero(np.abs(tr.points[:, 1]) > 1)[0]
    escape[name] = int(out[0]) if out.size else None
    print(f"   {name:9s} {escape[name]}")
assert max(escape["Adam"], escape["RMSProp"], escape["momentum"]) < escape["SGD"]
print("   the gradient along y is tiny near the saddle: SGD multiplies y by only 1.1 per step;\n"
      "   the adaptive methods divide by the gradient's size, so they move at ~lr at once.")

if PLOTS:
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        print("   (matplotlib is not installed: no figures saved)")
    else:
        os.makedirs(PLOTS, exist_ok=True)
        for surface, trs, name in ((bowl, runs, "bowl"), (rosen, rruns, "rosenbrock")):
            path = os.path.join(PLOTS, f"06_{name}.png")
            pg.plot(surface, trs, path)
            print(f"   figure saved: {path}")

# ------------------------------------------------------------------ 3. a real task
print("\n3. A real task: MLP 64-64-10 on the digits, the same number of epochs for each")
X, y = load_digits()
(X_tr, y_tr), (X_va, y_va) = train_val_test_split(X, y, ratios=(0.8, 0.2), stratify=True,
                                                  seed=0)
scaler = StandardScaler().fit(X_tr)
X_tr, X_va = scaler.transform(X_tr), scaler.transform(X_va)
EPOCHS = 4 if FAST else 10
OPTS = {  # name: (batch size, optimizer factory); lrs are typical, not tuned per task
    "full-batch GD": (len(X_tr), lambda p: optim.SGD(p, lr=0.1)),
    "mini-batch SGD": (32, lambda p: optim.SGD(p, lr=0.1)),
    "momentum": (32, lambda p: optim.SGD(p, lr=0.02, momentum=0.9)),
    "Adagrad": (32, lambda p: optim.Adagrad(p, lr=0.05)),
    "RMSProp": (32, lambda p: optim.RMSprop(p, lr=1e-3)),
    "Adam": (32, lambda p: optim.Adam(p, lr=1e-3)),
}
val = DataLoader(TensorDataset(X_va, y_va), batch_size=512)
real = {}
print(f"   {'optimizer':15s} {'updates':>8s} {'train loss':>11s} {'val accuracy':>13s}")
for name, (bs, make) in OPTS.items():
    tg.manual_seed(0)  # same initial weights for everyone
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    train = DataLoader(TensorDataset(X_tr, y_tr), batch_size=bs, shuffle=True, seed=0)
    hist = fit(model, nn.CrossEntropyLoss(), make(model.parameters()), train, epochs=EPOCHS,
               verbose=0)
    real[name] = evaluate(model, val, nn.CrossEntropyLoss())["accuracy"]
    print(f"   {name:15s} {EPOCHS * len(train):8d} {hist['loss'][-1]:11.4f} {real[name]:13.3f}")
assert real["mini-batch SGD"] > real["full-batch GD"] + 0.1
assert min(v for k, v in real.items() if k != "full-batch GD") > 0.9
print("   full-batch GD made one update per epoch; mini-batches made dozens, each noisy but\n"
      "   cheap. With mini-batches, every optimizer here reaches > 90% in a few epochs.")

# ------------------------------------------------------------------ 4. schedules
print("\n4. Learning-rate schedules (lr per epoch, base lr 0.1)")


def lrs_of(make, epochs=30, metric=None):
    opt = optim.SGD([tg.Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    s = make(opt)
    out = []
    for e in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step(metric(e)) if metric else s.step()
    return np.array(out)


def spark(values, top):
    bars = " .:-=+*#%@"
    return "".join(bars[min(9, round(9 * v / top))] for v in values)


schedules = {
    "constant": lambda o: sched.LambdaLR(o, lambda e: 1.0),
    "step decay": lambda o: sched.StepLR(o, step_size=10, gamma=0.3),
    "exponential": lambda o: sched.ExponentialLR(o, gamma=0.9),
    "warm-up+cosine": lambda o: sched.SequentialLR(o, [
        sched.LinearLR(o, start_factor=0.1, total_iters=5),
        sched.CosineAnnealingLR(o, T_max=25)], milestones=[5]),
    "cyclic": lambda o: sched.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5,
                                       cycle_momentum=False),
    "plateau": lambda o: sched.ReduceLROnPlateau(o, factor=0.5, patience=2),
}
curves = {}
for name, make in schedules.items():
    # reduce-on-plateau reacts to a metric: here a loss that stops improving after epoch 8
    metric = (lambda e: max(1.0 - 0.1 * e, 0.2)) if name == "plateau" else None
    curves[name] = c = lrs_of(make, metric=metric)
    print(f"   {name:15s} |{spark(c, 0.1)}|  first {c[0]:.3f}  last {c[-1]:.4f}")
c = curves
assert np.isclose(c["step decay"][10], 0.03) and np.isclose(c["exponential"][1], 0.09)
assert c["warm-up+cosine"][0] < c["warm-up+cosine"][5] and c["warm-up+cosine"][-1] < 0.01
assert c["cyclic"].argmax() == 5 and c["cyclic"][10] < 0.02
assert c["plateau"][8] == 0.1 and c["plateau"][-1] < 0.05
print("   warm-up starts small while the first gradients are wild, cyclic keeps exploring,\n"
      "   reduce-on-plateau halves the lr when the monitored loss stops improving.")

print("\n   Why decay? Mini-batch SGD on a regression: noisy gradients keep a constant lr")
print("   jumping around the minimum; a shrinking lr lets it settle.")
Xr, yr, _, _ = make_linear_regression(n=512, n_features=13, noise=1.0, seed=0, dtype=np.float64)
A = np.hstack([Xr, np.ones((len(Xr), 1))])
best = float(np.mean((A @ np.linalg.lstsq(A, yr, rcond=None)[0] - yr) ** 2))
EP = 12 if FAST else 40
excess = {}
for name in ("constant", "step decay", "exponential", "plateau"):
    tg.manual_seed(0)
    model = nn.Linear(13, 1, dtype="float64")
    opt = optim.SGD(model.parameters(), lr=0.1)
    s = None if name == "constant" else {
        "step decay": lambda o: sched.StepLR(o, step_size=EP // 4, gamma=0.3),
        "exponential": lambda o: sched.ExponentialLR(o, gamma=0.85),
        "plateau": lambda o: sched.ReduceLROnPlateau(o, factor=0.3, patience=1)}[name](opt)
    loader = DataLoader(TensorDataset(Xr, yr), batch_size=8, shuffle=True, seed=0)
    hist = fit(model, nn.MSELoss(), opt, loader, epochs=EP, scheduler=s, verbose=0,
               scheduler_monitor="loss")
    full = evaluate(model, DataLoader(TensorDataset(Xr, yr), batch_size=512), nn.MSELoss())
    excess[name] = full["loss"] - best
    print(f"   {name:12s} final lr {hist['lr'][-1]:.2e}   MSE above the least-squares optimum: "
          f"{excess[name]:.5f}")
assert max(excess["step decay"], excess["exponential"]) < 0.5 * excess["constant"]
print("\nTakeaway: momentum and the adaptive methods (Adagrad, RMSProp, Adam) fix SGD's "
      "two weaknesses — one lr for directions of very different curvature, and slow progress "
      "where gradients are small. Mini-batches buy many cheap updates; a decaying schedule "
      "removes the noise they add at the end.")
