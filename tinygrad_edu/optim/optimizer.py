"""The Optimizer base class: parameter groups, per-parameter state, zero_grad, step, state dicts.

An optimizer owns ``param_groups``: a list of dicts, each with a ``"params"`` list of Tensors
and that group's hyperparameters (``lr``, ``momentum``, ...; defaults filled in). LR schedulers
change ``group["lr"]`` between steps. ``state`` maps each parameter to a dict of its own buffers
(momentum, running averages, step count), created on the first step that needs them.

``step()`` walks the parameters that have a gradient and calls the subclass's ``_update``, which
makes ONE fused backend call (``backend.adam_step`` etc.) that rewrites ``p.data`` and the
state arrays in place. No Tensor ops are used, so no graph is recorded.
"""

import math

import numpy as np

from ..autograd import enable_grad
from ..tensor import Tensor


class Optimizer:
    """Base of every optimizer. Subclasses set ``_array_state`` / ``_scalar_state`` (the names
    of their per-parameter state entries), implement ``_check_group(group)`` (validate the
    hyperparameters) and ``_update(p, grad, group, state)`` (update one parameter)."""

    _array_state = ()   # per-parameter buffers, arrays of the parameter's shape and dtype
    _scalar_state = ()  # per-parameter Python numbers (e.g. "step")

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}  # parameter Tensor -> dict of its state (keys hash by identity)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(f"{self._name}: params must be an iterable of Tensors or of dicts, "
                            "got a single Tensor. Hint: wrap it in a list, [p]")
        if isinstance(params, dict):
            params = [params]
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{self._name}: parameters must be given in an ordered collection "
                            "(a set's order changes between runs); use a list")
        groups = list(params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self):
        return type(self).__name__

    def add_param_group(self, param_group):
        """Add a group (a dict with "params" and optional hyperparameters overriding the
        defaults), e.g. to unfreeze layers during fine-tuning."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{self._name}.add_param_group: a parameter group must be a dict, "
                            f"got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{self._name}.add_param_group: the group has no 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{self._name}: parameters must be given in an ordered collection "
                            "(a set's order changes between runs); use a list")
        else:
            params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name}: can only optimize Tensors, but parameter {i} of "
                                f"the group is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{self._name}: can't optimize a non-leaf Tensor (parameter {i}, "
                                 f"shape {p.shape}); optimize the leaf it was computed from")
            if p.dtype.kind != "f":
                raise TypeError(f"{self._name}: parameter {i} has dtype {p.dtype}; only float32 "
                                "and float64 tensors can be optimized")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{self._name}: a parameter group contains the same parameter more "
                             "than once")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{self._name}: some parameters appear in more than one parameter "
                             "group")
        group = dict(param_group)
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group)
        self.param_groups.append(group)
        self._init_group_state(group)

    def _init_group_state(self, group):
        """Hook for optimizers that create their state eagerly (Adagrad)."""

    def _check_group(self, group):
        raise NotImplementedError

    def _update(self, p, grad, group, state):
        raise NotImplementedError

    # ------------------------------------------------------------------ the training loop
    def zero_grad(self, set_to_none=True):
        """Forget the gradients: ``p.grad = None`` (default; the next backward allocates
        fresh ones), or fill them with zeros in place when ``set_to_none=False``."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif g._ctx is None and g.data.flags.writeable:
                    g.data.fill(0)
                    g._version += 1
                else:  # a graph-linked or read-only gradient: replace it
                    p.grad = Tensor._wrap(np.zeros(g.shape, g.dtype), False)

    def step(self, closure=None):
        """Update every parameter that has a gradient. ``closure`` (optional) re-evaluates
        the model and returns the loss; it runs with grad enabled and its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        state = self.state
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                s = state.get(p)
                if s is None:
                    s = state[p] = {}
                self._update(p, g.data, group, s)
                p._version += 1  # an in-place change: autograd's saved-tensor check sees it
        return loss

    # ------------------------------------------------------------------ state dicts
    def state_dict(self):
        """``{"state": {index: {name: value}}, "param_groups": [{..., "params": [index]}]}``.

        Parameters are numbered in group order, so the dict does not depend on object
        identity and can be saved with ``tinygrad_edu.save``. Arrays are copies."""
        index, groups, start = {}, [], 0
        for group in self.param_groups:
            packed = {k: (list(v) if isinstance(v, list) else v)
                      for k, v in group.items() if k != "params"}
            packed["params"] = list(range(start, start + len(group["params"])))
            for i, p in enumerate(group["params"]):
                index[id(p)] = start + i
            start += len(group["params"])
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                       for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by ``state_dict`` (possibly from another
        process). Everything is checked first; on any error nothing is changed."""
        who = f"{self._name}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            keys = sorted(map(str, state_dict)) if isinstance(state_dict, dict) else None
            raise ValueError(f"{who}: expected a dict with keys 'state' and 'param_groups', got "
                             f"{keys if keys is not None else type(state_dict).__name__}")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{who}: the state dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        by_index, new_groups = {}, []
        for gi, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if not isinstance(saved, dict) or "params" not in saved:
                raise ValueError(f"{who}: parameter group {gi} of the state dict is malformed")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{who}: parameter group {gi} has {len(saved['params'])} "
                                 f"parameters in the state dict but {len(group['params'])} here")
            for idx, p in zip(saved["params"], group["params"]):
                by_index[_as_index(idx, who)] = p
            new = dict(self.defaults)
            new.update({k: (tuple(v) if k == "betas" else v)
                        for k, v in saved.items() if k != "params"})
            new["params"] = group["params"]
            self._check_group(new)
            new_groups.append(new)
        new_state = {}
        for key, entries in dict(state_dict["state"]).items():
            idx = _as_index(key, who)
            if idx not in by_index:
                raise ValueError(f"{who}: the state dict has state for parameter {idx}, which "
                                 "is in none of its parameter groups")
            new_state[by_index[idx]] = self._restore_entry(by_index[idx], idx, entries, who)
        self.state = new_state
        self.param_groups[:] = new_groups

    def _restore_entry(self, p, idx, entries, who):
        if not isinstance(entries, dict):
            raise TypeError(f"{who}: state of parameter {idx} must be a dict, got "
                             f"{type(entries).__name__}")
        out = {}
        for name, value in entries.items():
            if isinstance(value, Tensor):
                value = value.data
            if name in self._scalar_state:
                value = np.asarray(value)
                if value.size != 1 or not np.isfinite(value).all():
                    raise ValueError(f"{who}: state '{name}' of parameter {idx} must be one "
                                     f"finite number, got {value!r}")
                out[name] = value.item()
                if name == "step":
                    out[name] = int(out[name])
            elif name in self._array_state:
                value = np.asarray(value)
                if value.shape != p.shape:
                    raise ValueError(f"{who}: state '{name}' of parameter {idx} has shape "
                                     f"{value.shape}, but the parameter has shape {p.shape}")
                if value.dtype.kind not in "fiu":
                    raise TypeError(f"{who}: state '{name}' of parameter {idx} has dtype "
                                    f"{value.dtype}; expected a float array")
                out[name] = np.array(value, dtype=p.dtype, order="C")  # an owned copy
            else:
                known = ", ".join(self._scalar_state + self._array_state) or "none"
                raise ValueError(f"{who}: unknown state '{name}' for parameter {idx} (a "
                                 f"{self._name} keeps: {known}). Was the state dict saved by "
                                 "another optimizer?")
        return out

    def __repr__(self):
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _as_index(key, who):
    try:
        idx = int(key)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: parameter keys must be integers, got {key!r}") from None
    if idx != key and str(idx) != key:
        raise ValueError(f"{who}: parameter keys must be integers, got {key!r}")
    return idx


# ---------------------------------------------------------------------- validation helpers


def check_nonneg(opt, group, *names):
    """ValueError naming the optimizer, the hyperparameter and its value unless each of
    ``names`` is a finite number >= 0 (eps may be 0; lr = 0 freezes the group)."""
    for name in names:
        value = group[name]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"{opt._name}: {name} must be a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{opt._name}: invalid {name} {value!r} (must be a finite number "
                             ">= 0)")


def check_unit_interval(opt, name, value):
    """ValueError unless 0 <= value < 1 (betas, alpha)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{opt._name}: {name} must be a number, got {value!r}")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{opt._name}: invalid {name} {value!r} (must be in [0, 1))")
