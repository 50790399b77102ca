"""Gradient health: is the network learning, or are its gradients vanishing or exploding?

    mon = GradientMonitor(model)          # anything with named_parameters()
    mon.watch_activations(model)          # dead ReLUs / saturated sigmoid & tanh (if hooks exist)
    for x, y in loader:
        loss = loss_fn(model(x), y)
        opt.zero_grad(); loss.backward()
        mon.before_step()                 # gradient norms + a snapshot of the weights
        opt.step()
        mon.after_step()                  # update-to-weight ratios, then the checks
    print(mon.summary())

What it measures, per layer (parameters grouped by name prefix: "fc1.weight" -> "fc1"):
- gradient norm ||dL/dW||: tiny in the first layers but not the last = vanishing gradients;
  huge or non-finite = exploding gradients.
- update-to-weight ratio ||W_after - W_before|| / ||W_before||: about 1e-3 per step is healthy
  (a rule of thumb); much larger: the learning rate is too high; much smaller: too low.
- dead ReLUs: units whose output is 0 for every example of the batch (they get no gradient).
- saturated sigmoid/tanh: outputs near 0/1 (sigmoid) or -1/1 (tanh), where the slope is ~0.
Each problem is reported once per layer with a concrete suggestion.

As a training callback (``fit(..., callbacks=[mon])``): ``on_batch_end()`` / ``on_epoch_end()``
also work when only those are called (the update is then measured between consecutive batch
ends); the other hooks of the callback protocol are accepted and do nothing.
"""

import warnings
from dataclasses import dataclass

import numpy as np


class GradientHealthWarning(UserWarning):
    """A gradient-health problem (vanishing/exploding gradients, dead or saturated units)."""


@dataclass
class HealthIssue:
    kind: str  # "exploding" | "vanishing" | "lr_high" | "lr_low" | "dead_relu" | "saturated"
    where: str  # layer or activation name
    value: float
    message: str
    step: int

    def __str__(self):
        return f"[step {self.step}] {self.kind} at {self.where}: {self.message}"


_SUGGEST = {
    "exploding": "clip the gradients (e.g. clip_grad_norm_(params, max_norm=1.0)), lower the "
                 "learning rate, or start from smaller weights (Xavier/Kaiming init)",
    "nonfinite": "a NaN/inf gradient: lower the learning rate, clip gradients, and run one "
                 "step under teach.detect_anomaly() to find the op that made it",
    "vanishing": "use ReLU/GELU instead of sigmoid/tanh in hidden layers, Xavier (tanh) or "
                 "Kaiming (ReLU) initialisation, fewer layers or skip connections",
    "lr_high": "the learning rate is probably too high (updates are a large fraction of the "
               "weights): lower it, or add warm-up",
    "lr_low": "the learning rate is probably too low (weights barely move): raise it",
    "dead_relu": "many ReLUs never fire: lower the learning rate, use Kaiming init, a small "
                 "positive bias, or LeakyReLU/GELU",
    "saturated": "sigmoid/tanh units are saturated (slope ~0): standardise the inputs, use "
                 "Xavier init, or switch hidden activations to ReLU/GELU",
}

_ACTIVATION_KINDS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}


def _layer_of(name):
    return name.rsplit(".", 1)[0] if "." in name else name


def _named_params(model):
    if hasattr(model, "named_parameters"):
        return list(model.named_parameters())
    if isinstance(model, dict):
        return list(model.items())
    return list(model)  # an iterable of (name, tensor)


def activation_stats(kind, out, sat=0.99, sat_sigmoid=0.01):
    """Fraction of dead units (relu) or saturated outputs (sigmoid/tanh) in an activation.

    relu: a unit (feature on axis -1 for 2-D outputs, channel on axis 1 for 3-D or more) is
    dead when it is 0 for every example of the batch. sigmoid: outputs < 0.01 or > 0.99.
    tanh: |output| > 0.99. ``out``: a Tensor or array.
    """
    a = np.asarray(getattr(out, "data", out))
    if kind == "relu":
        if a.ndim <= 1:
            return float(np.mean(a <= 0)) if a.size else 0.0
        unit_axis = a.ndim - 1 if a.ndim == 2 else 1
        other = tuple(i for i in range(a.ndim) if i != unit_axis)
        return float(np.mean(np.all(a <= 0, axis=other)))
    if kind == "sigmoid":
        return float(np.mean((a < sat_sigmoid) | (a > 1 - sat_sigmoid))) if a.size else 0.0
    if kind == "tanh":
        return float(np.mean(np.abs(a) > sat)) if a.size else 0.0
    raise ValueError(f"activation_stats: kind must be relu, sigmoid or tanh, got {kind!r}")


class GradientMonitor:
    """Tracks gradient norms, update ratios and activation health; warns with suggestions."""

    def __init__(self, model, vanish=1e-7, explode=1e3, depth_ratio=1e-3, ratio_low=1e-6,
                 ratio_high=1e-1, dead_frac=0.5, sat_frac=0.5, warn=True):
        self.model = model
        self.vanish, self.explode, self.depth_ratio = vanish, explode, depth_ratio
        self.ratio_low, self.ratio_high = ratio_low, ratio_high
        self.dead_frac, self.sat_frac = dead_frac, sat_frac
        self.warn = warn
        self.step = 0
        self.grad_norms = {}  # layer -> [norm per step]
        self.update_ratios = {}  # layer -> [ratio per step]
        self.activations = {}  # activation name -> [dead / saturated fraction per batch]
        self.epochs = []  # per-epoch means of the above
        self.issues = []  # every HealthIssue found (each kind/place reported once)
        self._reported = set()
        self._snapshot = None
        self._pending = False  # before_step ran, after_step not yet
        self._handles = []
        self._weak = {}  # layer -> its gradient norm / the largest layer's, when < 1e-2

    # ------------------------------------------------------------------ measuring
    def _params(self):
        return [(n, p) for n, p in _named_params(self.model)]

    def _layer_norms(self, arrays):
        sq = {}
        for name, arr in arrays:
            layer = _layer_of(name)
            sq[layer] = sq.get(layer, 0.0) + float(np.sum(np.square(arr, dtype=np.float64)))
        return {k: float(np.sqrt(v)) for k, v in sq.items()}

    def record_gradients(self):
        """Per-layer gradient norms of the current ``.grad`` values (None counts as missing)."""
        grads = [(n, p.grad.data) for n, p in self._params() if p.grad is not None]
        norms = self._layer_norms(grads)
        for layer, v in norms.items():
            self.grad_norms.setdefault(layer, []).append(v)
        return norms

    def snapshot(self):
        self._snapshot = {n: np.array(p.data, dtype=np.float64) for n, p in self._params()}

    def record_updates(self):
        """||W_now - W_snapshot|| / ||W_snapshot|| per layer (needs a snapshot)."""
        if self._snapshot is None:
            return {}
        diffs, olds = [], []
        for n, p in self._params():
            old = self._snapshot.get(n)
            if old is None or old.shape != p.data.shape:
                continue
            diffs.append((n, p.data - old))
            olds.append((n, old))
        d, w = self._layer_norms(diffs), self._layer_norms(olds)
        ratios = {k: d[k] / w[k] if w[k] > 0 else (float("inf") if d[k] > 0 else 0.0)
                  for k in d}
        for layer, r in ratios.items():
            self.update_ratios.setdefault(layer, []).append(r)
        return ratios

    def record_activation(self, name, out, kind):
        """Inspect an activation output yourself (when modules have no forward hooks)."""
        frac = activation_stats(kind, out)
        self.activations.setdefault(f"{name} ({kind})", []).append(frac)
        issue = "dead_relu" if kind == "relu" else "saturated"
        limit = self.dead_frac if kind == "relu" else self.sat_frac
        if frac > limit:
            what = "dead" if kind == "relu" else "saturated"
            self._issue(issue, name, frac, f"{frac:.0%} of the units are {what}")
        return frac

    def watch_activations(self, model):
        """Attach forward hooks to ReLU/Sigmoid/Tanh modules (by class name) of ``model``.

        Needs ``model.named_modules()`` and ``module.register_forward_hook``; returns the
        number of modules watched (0 when the model offers no hooks: then pass activations
        to ``record_activation`` yourself)."""
        if not hasattr(model, "named_modules"):
            return 0
        count = 0
        for name, mod in model.named_modules():
            kind = _ACTIVATION_KINDS.get(type(mod).__name__.lower())
            if kind is None or not hasattr(mod, "register_forward_hook"):
                continue

            def hook(module, inputs, output, _name=name or type(mod).__name__, _kind=kind):
                self.record_activation(_name, output, _kind)

            self._handles.append(mod.register_forward_hook(hook))
            count += 1
        return count

    def remove_hooks(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    # ------------------------------------------------------------------ the protocol
    def before_step(self):
        """Call after backward, before optimizer.step(): gradient norms + weight snapshot."""
        self.step += 1
        norms = self.record_gradients()
        self.snapshot()
        self._pending = True
        self._check_gradients(norms)
        return norms

    def after_step(self):
        """Call after optimizer.step(): update-to-weight ratios and their checks."""
        ratios = self.record_updates()
        self._pending = False
        self._check_updates(ratios)
        return ratios

    def on_batch_end(self, *args, **kwargs):
        """Callback form. After a before_step it is after_step; alone, it reads the gradients
        (if not zeroed yet) and measures the update since the previous batch end."""
        if self._pending:
            return self.after_step()
        self.step += 1
        self._check_gradients(self.record_gradients())
        self._check_updates(self.record_updates())
        self.snapshot()
        return None

    def on_epoch_end(self, *args, **kwargs):
        """Store per-epoch means (of the steps since the last epoch end) in ``.epochs``."""
        start = self.epochs[-1]["step"] if self.epochs else 0
        n = self.step - start

        def tail_mean(d):
            return {k: float(np.mean(v[-n:])) for k, v in d.items() if v and n > 0}

        self.epochs.append({"step": self.step, "grad_norm": tail_mean(self.grad_norms),
                            "update_ratio": tail_mean(self.update_ratios),
                            "activations": {k: float(np.mean(v)) for k, v in
                                            self.activations.items() if v}})
        return self.epochs[-1]

    # the rest of the fit-callback protocol (Trainer calls these; nothing to do here)
    def on_train_begin(self, *args, **kwargs):
        pass

    def on_epoch_begin(self, *args, **kwargs):
        pass

    def on_train_end(self, *args, **kwargs):
        pass

    def state_dict(self):
        return {}  # statistics are not part of a checkpoint

    def load_state_dict(self, state):
        pass

    # ------------------------------------------------------------------ checks
    def _issue(self, kind, where, value, what):
        key = (kind, where)
        if key in self._reported:
            return
        self._reported.add(key)
        suggestion = _SUGGEST.get(kind, "")
        issue = HealthIssue(kind, where, float(value), f"{what}. Suggestion: {suggestion}",
                            self.step)
        self.issues.append(issue)
        if self.warn:
            warnings.warn(str(issue), GradientHealthWarning, stacklevel=3)

    def _check_gradients(self, norms):
        for layer, v in norms.items():
            if not np.isfinite(v):
                self._issue("nonfinite", layer, v, "the gradient contains NaN or inf")
            elif v > self.explode:
                self._issue("exploding", layer, v, f"gradient norm {v:.3g} > {self.explode:g}")
            elif v < self.vanish:
                self._issue("vanishing", layer, v, f"gradient norm {v:.3g} < {self.vanish:g}")
        finite = [(k, v) for k, v in norms.items() if np.isfinite(v)]
        top = max((v for _, v in finite), default=0.0)
        # layers whose gradient is tiny next to the largest: their small updates are a
        # gradient problem, not a learning-rate one (used by _check_updates)
        self._weak = {k: v / top for k, v in finite if top > 0 and v < 1e-2 * top}
        if len(finite) >= 2:  # parameters come input-first: compare the ends of the network
            (first, g0), (last, g1) = finite[0], finite[-1]
            if g1 > 0 and g0 / g1 < self.depth_ratio:
                self._issue("vanishing", first, g0 / g1,
                            f"the first layer's gradient is {g0 / g1:.2g} times the last "
                            f"layer's ({last}): it shrinks on the way back through the network")
            elif g0 > 0 and g1 / g0 < self.depth_ratio:
                self._issue("exploding", first, g0 / g1,
                            f"the first layer's gradient is {g0 / g1:.2g} times the last "
                            f"layer's ({last}): it grows on the way back through the network")

    def _check_updates(self, ratios):
        for layer, r in ratios.items():
            if r > self.ratio_high:
                self._issue("lr_high", layer, r, f"update/weight ratio {r:.3g} > {self.ratio_high:g}")
            elif 0 <= r < self.ratio_low and layer in self._weak:
                self._issue("vanishing", layer, r,
                            f"update/weight ratio {r:.3g} < {self.ratio_low:g} because this "
                            f"layer's gradient is only {self._weak[layer]:.2g} of the largest "
                            "layer's (raising the learning rate would blow up the others)")
            elif 0 <= r < self.ratio_low:
                self._issue("lr_low", layer, r, f"update/weight ratio {r:.3g} < {self.ratio_low:g}")

    # ------------------------------------------------------------------ report
    def summary(self):
        """A text table: per layer the last and mean gradient norm and update ratio."""
        rows = [("layer", "grad norm (last)", "grad norm (mean)", "update/weight (last)")]
        for layer in sorted(set(self.grad_norms) | set(self.update_ratios),
                            key=lambda k: list(self.grad_norms).index(k)
                            if k in self.grad_norms else 10**6):
            g = self.grad_norms.get(layer, [])
            u = self.update_ratios.get(layer, [])
            rows.append((layer, f"{g[-1]:.3e}" if g else "-", f"{np.mean(g):.3e}" if g else "-",
                         f"{u[-1]:.3e}" if u else "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        for name, v in self.activations.items():
            lines.append(f"activation {name}: {v[-1]:.0%} dead/saturated (last batch)")
        lines.append("issues: none" if not self.issues else "issues:")
        lines.extend(f"  {i}" for i in self.issues)
        return "\n".join(lines)

    def __repr__(self):
        return f"GradientMonitor(step={self.step}, layers={len(self.grad_norms)}, " \
               f"issues={len(self.issues)})"
