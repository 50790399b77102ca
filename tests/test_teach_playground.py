"""Optimizer playground: trajectories against hand-computed update rules."""

import sys

import numpy as np
import pytest

from tinygrad_edu.teach import playground as pg

S = pg.SURFACES


class HandSGD:
    """The smallest optimizer with PyTorch's interface: x <- x - lr * grad."""

    def __init__(self, params, lr=0.1):
        self.params, self.param_groups = list(params), [{"lr": lr}]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for p in self.params:
            p.data = p.data - self.param_groups[0]["lr"] * p.grad.data


def test_run_with_any_optimizer_class_records_the_path():
    tr = pg.run(S["2x^2"], HandSGD, steps=5, lr=0.1)
    # dy/dx = 4x, so x_{k+1} = (1 - 4 lr) x_k = 0.6 x_k from x_0 = 3
    np.testing.assert_allclose(tr.points[:, 0], 3.0 * 0.6 ** np.arange(6))
    np.testing.assert_allclose(tr.losses, 2 * tr.points[:, 0] ** 2)
    np.testing.assert_allclose(tr.lrs, 0.1)
    assert tr.name == "HandSGD" and not tr.diverged


def test_divergence_is_detected_and_the_saddle_is_escaped():
    tr = pg.run(S["2x^2"], HandSGD, steps=200, lr=0.6, max_abs=1e3)  # |1 - 2.4| > 1
    assert tr.diverged and len(tr.points) < 201 and np.isnan(tr.losses[-1])
    tr = pg.run(S["saddle"], HandSGD, steps=40, lr=0.1)
    assert abs(tr.final[0]) < 1e-3  # x -> 0 (curvature +2)
    assert abs(tr.final[1]) > 1.0  # y grows by 1.2 per step from 1e-3 (curvature -2)
    np.testing.assert_allclose(tr.points[:, 1], 1e-3 * 1.2 ** np.arange(41))


def test_compare_and_table():
    runs = pg.compare(S["bowl"], {"slow": (HandSGD, {"lr": 0.01}), "fast": (HandSGD, {"lr": 0.09})},
                      steps=60)
    assert set(runs) == {"slow", "fast"}
    assert runs["fast"].losses[-1] < runs["slow"].losses[-1]
    text = pg.table(runs, target=(0.0, 0.0), tol=1e-2)
    assert "fast" in text and "not reached" in text  # slow does not get there in 60 steps
    assert runs["fast"].steps_to((0.0, 0.0), 1e-2) is not None
    with pytest.raises(ValueError, match="coordinates"):
        pg.run(S["bowl"], HandSGD, start=(1.0,))
    with pytest.raises(ValueError, match="unknown optimizer"):
        pg.run(S["bowl"], "lbfgs")


def test_surface_evaluates_on_grids():
    X, Y = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 4))
    np.testing.assert_allclose(S["rosenbrock"](X, Y), (1 - X) ** 2 + 100 * (Y - X**2) ** 2)
    assert S["rosenbrock"](1.0, 1.0) == 0.0


# ---- with the package's optimizers (tinygrad_edu.optim)

optim = pytest.importorskip("tinygrad_edu.optim")


def test_package_sgd_matches_the_closed_form():
    tr = pg.run(S["2x^2"], "sgd", steps=8, lr=0.2)
    np.testing.assert_allclose(tr.points[:, 0], 3.0 * (1 - 0.8) ** np.arange(9), rtol=1e-12)


def test_momentum_matches_hand_rule():
    tr = pg.run(S["bowl"], "momentum", steps=6, lr=0.01, momentum=0.9)
    p = np.array(S["bowl"].start)
    b = np.zeros(2)
    for k in range(6):
        g = np.array([2 * p[0], 20 * p[1]])
        b = g if k == 0 else 0.9 * b + g  # PyTorch's form: lr outside the buffer
        p = p - 0.01 * b
        np.testing.assert_allclose(tr.points[k + 1], p, rtol=1e-12)


def test_adam_first_step_moves_each_coordinate_by_lr():
    tr = pg.run(S["bowl"], "adam", steps=1, lr=0.05)
    # m_hat / sqrt(v_hat) = g / |g| on step 1: every coordinate moves by lr against its sign
    np.testing.assert_allclose(tr.points[1] - tr.points[0], [0.05, -0.05], rtol=1e-6)


@pytest.mark.parametrize("name, lr", [("sgd", 0.05), ("momentum", 0.01), ("nesterov", 0.01),
                                      ("adagrad", 0.5), ("rmsprop", 0.05), ("adam", 0.1),
                                      ("adamw", 0.1)])
def test_every_named_optimizer_descends_the_bowl(name, lr):
    tr = pg.run(S["bowl"], name, steps=100, lr=lr)
    assert not tr.diverged and tr.losses[-1] < 0.05 * tr.losses[0]


def test_schedulers_are_stepped_and_recorded():
    tr = pg.run(S["bowl"], "sgd", steps=25, lr=0.08,
                scheduler=lambda o: optim.lr_scheduler.StepLR(o, step_size=10, gamma=0.5))
    np.testing.assert_allclose(tr.lrs, [0.08] * 10 + [0.04] * 10 + [0.02] * 5)
    plateau = getattr(optim.lr_scheduler, "ReduceLROnPlateau", None)
    if plateau is not None:  # step(metrics): the playground passes the loss
        tr = pg.run(S["saddle"], "sgd", steps=10, lr=0.1, scheduler=lambda o: plateau(o))
        assert len(tr.lrs) == 10


def test_plot_writes_a_png_or_explains_what_is_missing(tmp_path, monkeypatch):
    runs = pg.compare(S["rosenbrock"], {"adam": ("adam", {"lr": 0.05})}, steps=20)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install matplotlib"):
            pg.plot(S["rosenbrock"], runs, str(tmp_path / "r.png"))
        return
    pg.plot(S["rosenbrock"], runs, str(tmp_path / "r.png"))
    pg.plot(S["2x^2"], {"sgd": pg.run(S["2x^2"], "sgd", steps=5, lr=0.1)}, str(tmp_path / "x.png"))
    for name in ("r.png", "x.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    with pytest.raises(ImportError, match="pip install matplotlib"):
        pg.plot(S["rosenbrock"], runs, str(tmp_path / "r2.png"))
