"""GradientMonitor: vanishing/exploding gradients, update ratios, dead and saturated units."""

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.teach import GradientHealthWarning, GradientMonitor, activation_stats


class Chain:
    """A duck-typed model: layers x -> act(x @ W_i + b_i); has named_parameters()."""

    def __init__(self, sizes, scale, act, seed=0):
        rng = np.random.default_rng(seed)
        self.Ws = [tg.Tensor(scale * rng.standard_normal((a, b)), requires_grad=True)
                   for a, b in zip(sizes[:-1], sizes[1:])]
        self.bs = [tg.Tensor(np.zeros(b), requires_grad=True) for b in sizes[1:]]
        self.act = act

    def named_parameters(self):
        out = []
        for i, (W, b) in enumerate(zip(self.Ws, self.bs)):
            out += [(f"layer{i}.weight", W), (f"layer{i}.bias", b)]
        return out

    def __call__(self, x, record=None):
        for i, (W, b) in enumerate(zip(self.Ws, self.bs)):
            x = x @ W + b
            if i < len(self.Ws) - 1 and self.act is not None:
                x = getattr(x, self.act)()
                if record is not None:
                    record(f"act{i}", x, self.act)
        return x


def _backward(model, seed=1):
    rng = np.random.default_rng(seed)
    x = tg.Tensor(rng.standard_normal((16, model.Ws[0].shape[0])))
    for p in [*model.Ws, *model.bs]:
        p.grad = None
    out = model(x)
    (out * out).mean().backward()


def _sgd(model, lr):
    for p in [*model.Ws, *model.bs]:
        p.data = p.data - lr * p.grad.data


def test_vanishing_gradients_in_a_deep_sigmoid_stack_are_reported_with_advice():
    model = Chain([8] * 10, scale=0.1, act="sigmoid")
    mon = GradientMonitor(model, warn=False)
    _backward(model)
    norms = mon.before_step()
    assert list(norms) == [f"layer{i}" for i in range(9)]  # grouped by layer, input first
    assert norms["layer0"] / norms["layer8"] < 1e-3
    kinds = {(i.kind, i.where) for i in mon.issues}
    assert ("vanishing", "layer0") in kinds
    msg = [i.message for i in mon.issues if i.kind == "vanishing"][0]
    assert "ReLU" in msg and "init" in msg
    # the first layers barely move, but the advice is not "raise the learning rate"
    _sgd(model, 0.1)
    mon.after_step()
    assert not [i for i in mon.issues if i.kind == "lr_low"]
    assert any(i.kind == "vanishing" and "update/weight" in i.message for i in mon.issues)


def test_exploding_gradients_are_reported_with_clipping_advice():
    model = Chain([8] * 6, scale=3.0, act=None)  # linear stack with large weights
    mon = GradientMonitor(model, warn=False)
    _backward(model)
    mon.before_step()
    issues = [i for i in mon.issues if i.kind == "exploding"]
    assert issues and "clip" in issues[0].message


def test_healthy_network_has_no_issues():
    model = Chain([8, 16, 16, 4], scale=0.35, act="tanh")
    mon = GradientMonitor(model, warn=False)
    _backward(model)
    mon.before_step()
    _sgd(model, 1e-3)
    mon.after_step()
    assert mon.issues == [], [str(i) for i in mon.issues]


def test_update_ratio_is_the_relative_size_of_the_step():
    model = Chain([4, 3], scale=1.0, act=None)
    mon = GradientMonitor(model, warn=False)
    _backward(model)
    mon.before_step()
    W, b = model.Ws[0], model.bs[0]
    old = np.concatenate([W.data.ravel(), b.data.ravel()])
    _sgd(model, 0.5)
    new = np.concatenate([W.data.ravel(), b.data.ravel()])
    ratios = mon.after_step()
    assert ratios["layer0"] == pytest.approx(np.linalg.norm(new - old) / np.linalg.norm(old))
    assert any(i.kind == "lr_high" for i in mon.issues)  # a 0.5 step is far too large here
    mon2 = GradientMonitor(model, warn=False)
    _backward(model)
    mon2.before_step()
    _sgd(model, 1e-9)
    mon2.after_step()
    assert [i.kind for i in mon2.issues] == ["lr_low"]


def test_callback_protocol_measures_updates_between_batch_ends():
    model = Chain([4, 3, 2], scale=0.5, act="relu")
    mon = GradientMonitor(model, warn=False)
    for step in range(3):
        _backward(model, seed=step)
        _sgd(model, 1e-2)
        mon.on_batch_end(batch=step)
    assert len(mon.grad_norms["layer0"]) == 3
    assert len(mon.update_ratios["layer0"]) == 2  # the first batch end has no earlier snapshot
    ep = mon.on_epoch_end(epoch=0)
    assert ep["step"] == 3 and ep["grad_norm"]["layer1"] == pytest.approx(
        np.mean(mon.grad_norms["layer1"]))
    assert "layer0" in mon.summary()


def test_activation_statistics():
    relu_out = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 0.5]])  # unit 0 dead for all examples
    assert activation_stats("relu", relu_out) == pytest.approx(1 / 3)
    conv = np.zeros((2, 4, 3, 3))
    conv[:, 1] = 1.0  # channels 0, 2, 3 dead
    assert activation_stats("relu", conv) == pytest.approx(3 / 4)
    assert activation_stats("sigmoid", np.array([0.001, 0.5, 0.999, 0.2])) == pytest.approx(0.5)
    assert activation_stats("tanh", tg.Tensor(np.array([0.995, -0.999, 0.1]))) == \
        pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="relu, sigmoid or tanh"):
        activation_stats("gelu", relu_out)


def test_dead_relus_and_saturation_warn_once_per_place():
    model = Chain([4, 6, 6, 2], scale=0.5, act="relu")
    model.bs[0].data = np.full(6, -100.0)  # every unit of the first hidden layer is dead
    mon = GradientMonitor(model)
    x = tg.Tensor(np.random.default_rng(0).standard_normal((8, 4)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            model(x, record=mon.record_activation)
    dead = [str(w.message) for w in caught if issubclass(w.category, GradientHealthWarning)]
    # act1 gets only zeros (bias 0) so it is dead too; each place warned once over 3 batches
    assert len(dead) == 2 and "act0" in dead[0] and "100%" in dead[0] and "act1" in dead[1]
    assert mon.activations["act0 (relu)"] == [1.0, 1.0, 1.0]
    sat = Chain([4, 6, 2], scale=20.0, act="sigmoid")
    mon2 = GradientMonitor(sat, warn=False)
    sat(x, record=mon2.record_activation)
    assert [i.kind for i in mon2.issues] == ["saturated"]


def test_forward_hooks_on_activation_modules_when_nn_is_available():
    nn = pytest.importorskip("tinygrad_edu.nn")
    if not all(hasattr(nn, n) for n in ("Sequential", "Linear", "ReLU")):
        pytest.skip("nn.Sequential/Linear/ReLU not available yet")
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 1))
    mon = GradientMonitor(model, warn=False)
    assert mon.watch_activations(model) == 1
    out = model(tg.Tensor(np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)))
    assert len(list(mon.activations.values())[0]) == 1
    out.sum().backward()
    assert mon.before_step()  # named_parameters of a real Module
    mon.remove_hooks()
    model(tg.Tensor(np.ones((2, 4), dtype=np.float32)))
    assert len(list(mon.activations.values())[0]) == 1


def test_monitor_as_a_fit_callback():
    train = pytest.importorskip("tinygrad_edu.train")
    nn = pytest.importorskip("tinygrad_edu.nn")
    optim = pytest.importorskip("tinygrad_edu.optim")
    data = pytest.importorskip("tinygrad_edu.data")
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-1.0], [0.5]])).astype(np.float32)
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=16, shuffle=True, seed=0)
    mon = GradientMonitor(model, warn=False)
    mon.watch_activations(model)
    train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.05), loader, epochs=2,
              callbacks=[mon], verbose=False)
    assert mon.step == 8 and len(mon.epochs) == 2  # 4 batches per epoch
    assert len(mon.update_ratios["0"]) == 7 and all(r > 0 for r in mon.update_ratios["0"])
    assert list(mon.activations) == ["1 (tanh)"]
