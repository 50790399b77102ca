"""Optimizer playground: watch optimizers walk on small surfaces you can draw.

    from tinygrad_edu.teach import playground as pg
    runs = pg.compare(pg.SURFACES["rosenbrock"], {
        "SGD":      ("sgd", dict(lr=1e-3)),
        "momentum": ("momentum", dict(lr=1e-3, momentum=0.9)),
        "Adam":     ("adam", dict(lr=0.05)),
    }, steps=300)
    print(pg.table(runs))
    pg.plot(pg.SURFACES["rosenbrock"], runs, "rosenbrock.png")   # needs matplotlib

The surfaces are written in Tensor ops and the optimizers are the package's own
(``tinygrad_edu.optim``), driven exactly as in training: zero_grad, forward, backward, step,
and an optional learning-rate scheduler stepped after each update.
"""

import inspect
from dataclasses import dataclass, field

import numpy as np

from ..tensor import Tensor


@dataclass
class Surface:
    """f(*coords) in Tensor ops (coords are Tensors of any one shape), a start point, the
    plotting window and the minimiser (None for unbounded surfaces like the saddle)."""

    name: str
    fn: object
    start: tuple
    xlim: tuple
    ylim: tuple = None
    minimum: tuple = None
    about: str = ""

    @property
    def dim(self):
        return len(self.start)

    def __call__(self, *coords):
        """Evaluate on numbers or numpy arrays (broadcast together) -> numpy array."""
        ts = [Tensor(np.asarray(c, dtype=np.float64)) for c in coords]
        return self.fn(*ts).data


SURFACES = {
    "2x^2": Surface("2x^2", lambda x: 2 * x * x, (3.0,), (-4.0, 4.0), minimum=(0.0,),
                    about="the course's first example: y = 2x^2, dy/dx = 4x; lr > 0.5 "
                          "diverges, lr = 0.25 jumps to the minimum in one step"),
    "bowl": Surface("bowl", lambda x, y: x * x + 10 * y * y, (-4.0, 2.0), (-5.0, 5.0),
                    (-3.0, 3.0), (0.0, 0.0),
                    about="an elongated quadratic bowl: curvature 2 along x, 20 along y; "
                          "plain SGD zig-zags across the valley, momentum and Adam do not"),
    "rosenbrock": Surface("rosenbrock",
                          lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2,
                          (-1.5, 2.0), (-2.0, 2.0), (-1.0, 3.0), (1.0, 1.0),
                          about="a curved, narrow valley; the minimum (1, 1) is easy to "
                                "reach and slow to follow"),
    "saddle": Surface("saddle", lambda x, y: x * x - y * y, (-2.0, 1e-3), (-2.5, 2.5),
                      (-2.5, 2.5), None,
                      about="x^2 - y^2: a saddle at the origin; the loss decreases forever "
                            "along y, and a start near y = 0 shows how long escaping takes"),
}


@dataclass
class Trajectory:
    name: str
    points: np.ndarray  # (steps + 1, dim)
    losses: np.ndarray  # (steps + 1,)
    lrs: np.ndarray  # learning rate used at each step, (steps,)
    diverged: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def final(self):
        return self.points[-1]

    def steps_to(self, target, tol=1e-3):
        """First step at which the point is within ``tol`` of ``target`` (None if never)."""
        d = np.linalg.norm(self.points - np.asarray(target, dtype=np.float64), axis=1)
        hit = np.nonzero(d < tol)[0]
        return int(hit[0]) if hit.size else None


_NAMED = {  # name -> (optim class name, default keyword arguments)
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {}),
}


def make_optimizer(spec, params, **kwargs):
    """An optimizer from a name ("adam"), an optim class, or a callable(params)."""
    if isinstance(spec, str):
        key = spec.lower()
        if key not in _NAMED:
            raise ValueError(f"playground: unknown optimizer {spec!r}; choose one of "
                             f"{sorted(_NAMED)} or pass an optimizer class")
        try:
            from .. import optim
        except ImportError as exc:
            raise ImportError("playground: tinygrad_edu.optim is not available; pass an "
                              "optimizer class or a callable(params) instead") from exc
        cls_name, defaults = _NAMED[key]
        return getattr(optim, cls_name)(params, **{**defaults, **kwargs})
    return spec(params, **kwargs)


def run(surface, optimizer="sgd", steps=100, start=None, scheduler=None, name=None,
        max_abs=1e6, **opt_kwargs):
    """Run ``steps`` updates from ``start`` (default: the surface's start) and record them.

    ``optimizer``: a name, an optim class or a callable(params) (keyword arguments go to it).
    ``scheduler``: optional callable(optimizer) -> an LR scheduler, stepped after each update
    (e.g. ``lambda o: optim.lr_scheduler.StepLR(o, step_size=20, gamma=0.5)``); one whose
    ``step`` takes ``metrics`` (ReduceLROnPlateau) is given the loss.
    Stops early (``diverged=True``) when the point leaves |coord| < max_abs or becomes NaN.
    """
    start = surface.start if start is None else tuple(start)
    if len(start) != surface.dim:
        raise ValueError(f"playground: surface {surface.name} has {surface.dim} coordinates, "
                         f"the start point has {len(start)}")
    params = [Tensor(np.array(c, dtype=np.float64), requires_grad=True) for c in start]
    opt = make_optimizer(optimizer, params, **opt_kwargs)
    sched = scheduler(opt) if scheduler is not None else None
    needs_metric = sched is not None and "metrics" in inspect.signature(sched.step).parameters
    points, losses, lrs = [np.array(start, dtype=np.float64)], [], []
    diverged = False
    for _ in range(steps):
        opt.zero_grad()
        loss = surface.fn(*params)
        losses.append(float(loss.data))
        loss.backward()
        lrs.append(float(opt.param_groups[0]["lr"]) if hasattr(opt, "param_groups") else np.nan)
        opt.step()
        if sched is not None:
            if needs_metric:  # ReduceLROnPlateau-style: step(metrics)
                sched.step(losses[-1])
            else:
                sched.step()
        p = np.array([float(t.data) for t in params])
        points.append(p)
        if not np.all(np.isfinite(p)) or np.abs(p).max() > max_abs:
            diverged = True
            break
    losses.append(float(surface(*points[-1])) if not diverged else np.nan)
    label = name or (optimizer if isinstance(optimizer, str) else
                     getattr(optimizer, "__name__", "optimizer"))
    return Trajectory(label, np.array(points), np.array(losses), np.array(lrs), diverged)


def compare(surface, optimizers, steps=100, start=None):
    """Run several optimizers on one surface.

    ``optimizers``: {label: spec} where spec is a name/class/callable, or a tuple
    (spec, kwargs) or (spec, kwargs, scheduler_factory). Returns {label: Trajectory}.
    """
    out = {}
    for label, spec in optimizers.items():
        kwargs, sched = {}, None
        if isinstance(spec, tuple):
            spec, kwargs, *rest = spec
            sched = rest[0] if rest else None
        out[label] = run(surface, spec, steps, start, sched, name=label, **kwargs)
    return out


def table(trajectories, target=None, tol=1e-3):
    """Text summary: final point, final loss, and steps to reach ``target`` (if given)."""
    rows = [("optimizer", "final point", "final loss", "steps to target")]
    for label, tr in trajectories.items():
        pt = "(" + ", ".join(f"{v:.4g}" for v in tr.final) + ")"
        hit = "diverged" if tr.diverged else (
            "-" if target is None else str(tr.steps_to(target, tol) or "not reached"))
        rows.append((label, pt, f"{tr.losses[-1]:.4g}", hit))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def plot(surface, trajectories, path=None, levels=30, ax=None):
    """Contour of the surface with the trajectories on it (a curve for 1-D surfaces).

    Needs matplotlib (``pip install matplotlib``); saves to ``path`` if given; returns the
    matplotlib Figure.
    """
    try:
        import matplotlib

        if ax is None and path is not None:
            matplotlib.use("Agg", force=False)  # NOTE: no display needed to save a file
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("playground.plot needs matplotlib: pip install matplotlib (or the "
                          "package's [plot] extra); table(trajectories) works without it") from exc
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 5))
    else:
        fig = ax.figure
    if surface.dim == 1:
        xs = np.linspace(*surface.xlim, 400)
        ax.plot(xs, surface(xs), color="0.3")
        for label, tr in trajectories.items():
            ax.plot(tr.points[:, 0], surface(tr.points[:, 0]), "o-", ms=3, label=label)
        ax.set_xlim(*surface.xlim)
        ax.set_xlabel("x")
        ax.set_ylabel(surface.name)
    else:
        xs = np.linspace(*surface.xlim, 200)
        ys = np.linspace(*surface.ylim, 200)
        X, Y = np.meshgrid(xs, ys)
        Z = surface(X, Y)
        if surface.name == "rosenbrock":  # log levels show the curved valley
            ax.contour(X, Y, np.log1p(Z), levels=levels, cmap="viridis")
        else:
            ax.contour(X, Y, Z, levels=levels, cmap="viridis")
        for label, tr in trajectories.items():
            ax.plot(tr.points[:, 0], tr.points[:, 1], "o-", ms=2, lw=1, label=label)
        if surface.minimum is not None:
            ax.plot(*surface.minimum, "k*", ms=12)
        ax.set_xlim(*surface.xlim)
        ax.set_ylim(*surface.ylim)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    ax.set_title(surface.name)
    ax.legend(loc="best", fontsize=8)
    if path is not None:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    return fig
