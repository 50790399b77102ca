"""Tutorial 14: a graph defined first and run in a session, versus define-by-run.

TensorFlow 1 style: you first *describe* the computation as a graph of symbolic nodes
(placeholders for data, variables for parameters, ops), build the gradient nodes from it
symbolically, and only then *run* parts of the graph in a session, feeding data in.
Define-by-run (tinygrad_edu, PyTorch): the graph is recorded while ordinary Python code
computes real numbers, and backward walks the graph that was just recorded.

Part 1 builds a tiny static-graph system (about 80 lines, below) and trains a one-hidden-layer
tanh network with it. Part 2 trains the same network, from the same start, with tinygrad_edu:
the losses agree to the last digits. Part 3 shows what define-by-run makes easy (Python control
flow that depends on the data) and how to look at the recorded graphs.

Run:  python docs/tutorials/14_define_by_run_vs_graph.py   (TINYGRAD_EDU_FAST=1: fewer steps)
"""

import os

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.teach import graph_text, to_dot, trace_backward

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"
STEPS, LR = (20 if FAST else 100), 0.1

# ============================================================ part 1: a static graph + session


class Node:
    """A symbolic value: no numbers until a session runs it."""

    def __init__(self, op, inputs=(), name=None, value=None):
        self.op, self.inputs, self.name, self.value = op, tuple(inputs), name, value

    def __add__(self, o):
        return Node("add", (self, o))

    def __sub__(self, o):
        return Node("sub", (self, o))

    def __mul__(self, o):
        return Node("mul", (self, o))

    def __matmul__(self, o):
        return Node("matmul", (self, o))

    def __repr__(self):
        return self.name or self.op


def placeholder(name):
    return Node("placeholder", name=name)


def variable(name, init):
    return Node("variable", name=name, value=np.array(init, dtype=float))


def constant(v):
    return Node("constant", value=np.array(v, dtype=float))


def tanh(a):
    return Node("tanh", (a,))


def mean(a):
    return Node("mean", (a,))


def transpose(a):
    return Node("transpose", (a,))


def sum_like(g, ref):
    return Node("sum_like", (g, ref))  # undo broadcasting at run time


def mean_grad(g, ref):
    return Node("mean_grad", (g, ref))


def _sum_to(g, shape):
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


KERNELS = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "matmul": np.matmul,
    "tanh": np.tanh, "mean": np.mean, "transpose": np.transpose,
    "sum_like": lambda g, ref: _sum_to(g, ref.shape),
    "mean_grad": lambda g, ref: np.full(ref.shape, g / ref.size),
}


def gradients(loss, wrt):
    """Symbolic reverse mode: new *nodes* computing d loss / d w (nothing is computed yet)."""
    order, seen = [], set()

    def visit(n):  # topological order (recursion is fine for a small graph)
        if id(n) not in seen:
            seen.add(id(n))
            for i in n.inputs:
                visit(i)
            order.append(n)

    visit(loss)
    grads = {id(loss): constant(1.0)}
    for n in reversed(order):
        g = grads.get(id(n))
        if g is None or not n.inputs:
            continue
        a = n.inputs[0]
        b = n.inputs[1] if len(n.inputs) > 1 else None
        local = {"add": lambda: [sum_like(g, a), sum_like(g, b)],
                 "sub": lambda: [sum_like(g, a), sum_like(constant(0.0) - g, b)],
                 "mul": lambda: [sum_like(g * b, a), sum_like(g * a, b)],
                 "matmul": lambda: [g @ transpose(b), transpose(a) @ g],
                 "tanh": lambda: [g * (constant(1.0) - n * n)],  # n is tanh's own output
                 "mean": lambda: [mean_grad(g, a)]}[n.op]()
        for inp, gi in zip(n.inputs, local):
            grads[id(inp)] = gi if id(inp) not in grads else grads[id(inp)] + gi
    return [grads[id(w)] for w in wrt]


class Session:
    """Runs nodes: evaluates what the fetched nodes need, with data from ``feed``."""

    def run(self, fetches, feed=None, updates=()):
        cache = {id(k): np.asarray(v, dtype=float) for k, v in (feed or {}).items()}

        def ev(n):
            if id(n) not in cache:
                if n.op == "placeholder":
                    raise KeyError(f"placeholder {n.name} needs a value in feed")
                cache[id(n)] = n.value if n.value is not None else \
                    KERNELS[n.op](*[ev(i) for i in n.inputs])
            return cache[id(n)]

        out = [ev(f) for f in fetches]
        new = [(var, var.value - LR * ev(g)) for var, g in updates]  # all read, then all write
        for var, v in new:
            var.value = v
        return out


rng = np.random.default_rng(0)
X_np = rng.standard_normal((64, 2))
y_np = np.sin(X_np[:, :1] * 2) * 0.5 + X_np[:, 1:] * 0.3
W1_0, b1_0 = rng.normal(0, 0.5, (2, 8)), np.zeros((1, 8))
W2_0, b2_0 = rng.normal(0, 0.5, (8, 1)), np.zeros((1, 1))

# 1) define the graph: nothing is computed here
x, t = placeholder("x"), placeholder("t")
W1, b1, W2, b2 = (variable(n, v) for n, v in
                  (("W1", W1_0), ("b1", b1_0), ("W2", W2_0), ("b2", b2_0)))
pred = tanh(x @ W1 + b1) @ W2 + b2
diff = pred - t
loss = mean(diff * diff)
grad_nodes = gradients(loss, [W1, b1, W2, b2])  # the backward graph, also defined up front
train = list(zip([W1, b1, W2, b2], grad_nodes))


def count_nodes(roots):
    seen, stack = set(), list(roots)
    while stack:
        n = stack.pop()
        if id(n) not in seen:
            seen.add(id(n))
            stack.extend(n.inputs)
    return len(seen)


print("Part 1: a graph defined first, then run in a session")
print(f"   forward graph: {count_nodes([loss])} nodes; with the gradient nodes built from it: "
      f"{count_nodes([loss, *grad_nodes])} nodes - all defined before any number is computed")
# 2) run it
sess = Session()
static_losses = []
for step in range(STEPS):
    (lv,) = sess.run([loss], feed={x: X_np, t: y_np}, updates=train)
    static_losses.append(float(lv))
print(f"   loss: step 1 {static_losses[0]:.5f} -> step {STEPS} {static_losses[-1]:.5f}")

# ============================================================= part 2: define-by-run, same model
print("\nPart 2: define-by-run with tinygrad_edu (same data, same start)")
params = [tg.Tensor(v.copy(), requires_grad=True) for v in (W1_0, b1_0, W2_0, b2_0)]
Xt, yt = tg.Tensor(X_np), tg.Tensor(y_np)
eager_losses = []
for step in range(STEPS):
    tW1, tb1, tW2, tb2 = params
    out = (Xt @ tW1 + tb1).tanh() @ tW2 + tb2  # real numbers now; the graph is recorded
    lv = ((out - yt) ** 2).mean()
    lv.backward()
    for p in params:
        p.data -= LR * p.grad.data
        p.grad = None
    eager_losses.append(lv.item())
print(f"   loss: step 1 {eager_losses[0]:.5f} -> step {STEPS} {eager_losses[-1]:.5f}")
np.testing.assert_allclose(eager_losses, static_losses, rtol=1e-10)
print("   the two approaches compute the same losses at every step (to 1e-10)")
assert eager_losses[-1] < eager_losses[0]

# ===================================================== part 3: what define-by-run makes natural
print("\nPart 3: the graph follows the Python code that ran")


def newton_sqrt(a, tol=1e-10):
    """sqrt(a) by Newton's iteration v <- (v + a / v) / 2, repeated until |v^2 - a| < tol.
    How many ops run depends on the value of a, so each call records a different graph; a
    static graph would need special loop and condition ops for this."""
    v, steps = (a + 1.0) * 0.5, 0
    while float(abs(v * v - a).item()) > tol:
        v = (v + a / v) * 0.5
        steps += 1
    return v, steps


for a0 in (2.0, 1000.0):
    a = tg.Tensor(np.array(a0), requires_grad=True)
    v, steps = newton_sqrt(a)
    v.backward()  # differentiates through exactly the iterations that ran
    n_ops = len([ln for ln in graph_text(v).splitlines() if "->" in ln])
    print(f"   sqrt({a0:g}) = {v.item():.6f} after {steps} iterations, a graph of {n_ops} ops; "
          f"d sqrt(a)/da = {a.grad.item():.6f} (exact 1/(2 sqrt a) = {0.5 / np.sqrt(a0):.6f})")
    assert abs(a.grad.item() - 0.5 / np.sqrt(a0)) < 1e-6

print("\n   the graph recorded by one forward pass of the network (text form):")
tW1, tb1, tW2, tb2 = params
small = ((tg.Tensor(X_np[:4]) @ tW1 + tb1).tanh() @ tW2 + tb2 - tg.Tensor(y_np[:4]))
small_loss = (small * small).mean()
names = {"W1": tW1, "b1": tb1, "W2": tW2, "b2": tb2}
for line in graph_text(small_loss, params=names).splitlines():
    print("     " + line)
with trace_backward(params=names) as tr:
    small_loss.backward()
print("\n   and its backward pass, step by step:")
for line in tr.table().splitlines():
    print("     " + line)
dot = to_dot(small_loss, show_backward=True, params=names)
print(f"\n   DOT text of the backward graph: {dot.count('->')} edges "
      "(teach.render(dot, 'backward.svg') draws it when Graphviz is installed)")
print("\nTakeaway: a static graph is described first and executed many times (easy to "
      "optimise and ship); define-by-run records the graph as the code runs, so loops, "
      "conditions and debugging are plain Python.")
