"""Learning-rate schedules (PyTorch's names, arguments and values).

A scheduler rewrites ``group["lr"]`` of every parameter group of its optimizer each time its
``step()`` is called (usually once per epoch, after the optimizer's steps; OneCycleLR and
CyclicLR once per batch). Construction performs step 0, so the first lr is set at once.

Most schedules are written, as in PyTorch, in a *chainable* (recursive) form: the new lr is
computed from the current ``group["lr"]``, so two schedulers on one optimizer multiply their
effects. The closed forms (e.g. ``base_lr * gamma ** epoch``) are given in the docstrings and
used by ``step(epoch)``; the tests check the two agree.
"""

import math
from bisect import bisect_right
from collections import Counter

from .optimizer import Optimizer


def _per_group(name, optimizer, value):
    """One value per parameter group: a scalar is repeated, a list must have the right size."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"expected {n} values for {name} (one per parameter group), "
                             f"got {len(value)}")
        return list(value)
    return [value] * n


def _positive_int(who, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{who}: {name} must be a positive int, got {value!r}")


class LRScheduler:
    """Base class: ``last_epoch`` counts the steps taken (0 after construction), ``base_lrs``
    are the groups' initial lrs, ``get_last_lr()`` the lrs set by the last step."""

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an "
                            "Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no "
                                   "'initial_lr', needed to resume with last_epoch="
                                   f"{last_epoch}; load the optimizer's state dict first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self.step()

    def get_lr(self):
        """The lrs for ``self.last_epoch`` (chainable form). Subclasses define it."""
        raise NotImplementedError

    def get_last_lr(self):
        return list(self._last_lr)

    def step(self, epoch=None):
        """Advance one step (or jump to ``epoch``, using the closed form where there is one)."""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    # ------------------------------------------------------------------ state dicts
    _not_state = ("optimizer",)

    def state_dict(self):
        """Plain values only (numbers, lists, dicts): save it with tinygrad_edu.save."""
        return {k: _copy(v) for k, v in self.__dict__.items()
                if k not in self._not_state and not callable(v)}

    def load_state_dict(self, state_dict):
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{who}: expected a dict, got {type(state_dict).__name__}")
        known = set(self.state_dict())
        unknown = sorted(set(state_dict) - known)
        if unknown:
            raise ValueError(f"{who}: unknown keys {unknown}; was it saved by another "
                             "scheduler?")
        for key in ("base_lrs", "_last_lr"):
            if key in state_dict and len(state_dict[key]) != len(self.optimizer.param_groups):
                raise ValueError(f"{who}: {key} has {len(state_dict[key])} entries, the "
                                 f"optimizer has {len(self.optimizer.param_groups)} groups")
        self.__dict__.update({k: _copy(v) for k, v in state_dict.items()})


def _copy(v):
    if isinstance(v, list):
        return [_copy(x) for x in v]
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    return v


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch); one function, or one per group."""

    _not_state = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambdas = _per_group("lr_lambda", optimizer, lr_lambda)
        for f in self.lr_lambdas:
            if not callable(f):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {f!r}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas)]


class StepLR(LRScheduler):
    """Multiply the lr by gamma every step_size epochs: base_lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        _positive_int("StepLR", "step_size", step_size)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma for g in groups]

    def _get_closed_form_lr(self):
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by gamma at each milestone: base_lr * gamma ** (milestones passed)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = list(milestones)
        for m in milestones:
            if isinstance(m, bool) or not isinstance(m, int) or m < 0:
                raise ValueError(f"MultiStepLR: milestones must be ints >= 0, got {m!r}")
        self.milestones = dict(Counter(milestones))  # a repeated milestone applies gamma twice
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch not in self.milestones:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma ** self.milestones[self.last_epoch] for g in groups]

    def _get_closed_form_lr(self):
        ms = sorted(Counter(self.milestones).elements())
        return [b * self.gamma ** bisect_right(ms, self.last_epoch) for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by gamma every epoch: base_lr * gamma ** epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma for g in groups]

    def _get_closed_form_lr(self):
        return [b * self.gamma ** self.last_epoch for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from base_lr down to eta_min over T_max epochs (then back up, and so on):

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _positive_int("CosineAnnealingLR", "T_max", T_max)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups, e, T, lo = self.optimizer.param_groups, self.last_epoch, self.T_max, self.eta_min
        if e == 0:
            return [g["lr"] for g in groups]
        if self._step_count == 1 and e > 0:  # resumed: jump straight to the closed form
            return self._get_closed_form_lr()
        if (e - 1 - T) % (2 * T) == 0:  # leaving the bottom: the ratio below would be 0/0
            return [g["lr"] + (b - lo) * (1 - math.cos(math.pi / T)) / 2
                    for b, g in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (g["lr"] - lo) + lo for g in groups]

    def _get_closed_form_lr(self):
        c = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (b - self.eta_min) * c for b in self.base_lrs]


class LinearLR(LRScheduler):
    """Warm-up: scale the lr linearly from start_factor to end_factor over total_iters epochs:

        lr = base_lr * (start + (end - start) * min(epoch, total_iters) / total_iters)
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        _positive_int("LinearLR", "total_iters", total_iters)
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups, e = self.optimizer.param_groups, self.last_epoch
        if e == 0:
            return [g["lr"] * self.start_factor for g in groups]
        if e > self.total_iters:
            return [g["lr"] for g in groups]
        s, d = self.start_factor, self.end_factor - self.start_factor
        ratio = 1.0 + d / (self.total_iters * s + (e - 1) * d)
        return [g["lr"] * ratio for g in groups]

    def _get_closed_form_lr(self):
        f = self.start_factor + (self.end_factor - self.start_factor) * min(
            self.total_iters, self.last_epoch) / self.total_iters
        return [b * f for b in self.base_lrs]


def _nested_state_dict(self):
    """state_dict of a scheduler made of schedulers (SequentialLR, ChainedScheduler): its own
    attributes plus each inner scheduler's state."""
    state = {k: _copy(v) for k, v in self.__dict__.items()
             if k not in ("optimizer", "_schedulers")}
    state["_schedulers"] = [s.state_dict() for s in self._schedulers]
    return state


def _nested_load_state_dict(self, state_dict):
    subs = state_dict.get("_schedulers") if isinstance(state_dict, dict) else None
    if subs is None or len(subs) != len(self._schedulers):
        raise ValueError(f"{type(self).__name__}.load_state_dict: expected the states of "
                         f"{len(self._schedulers)} schedulers")
    for s, sd in zip(self._schedulers, subs):
        s.load_state_dict(sd)
    self.__dict__.update({k: _copy(v) for k, v in state_dict.items() if k != "_schedulers"})


class SequentialLR(LRScheduler):
    """Run ``schedulers[i]`` between ``milestones[i-1]`` and ``milestones[i]`` (e.g. LinearLR
    warm-up, then CosineAnnealingLR). At a milestone the next scheduler restarts at epoch 0."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ValueError("SequentialLR: expects at least one scheduler")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler) or isinstance(s, ReduceLROnPlateau):
                raise TypeError(f"SequentialLR: schedulers[{i}] is not a chainable scheduler")
            if s.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: schedulers[{i}] belongs to another optimizer")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expects {len(schedulers) - 1} milestones for "
                             f"{len(schedulers)} schedulers, got {len(milestones)}")
        self.optimizer = optimizer
        self._schedulers, self._milestones = schedulers, milestones
        self.last_epoch = last_epoch + 1
        # Undo what the schedulers' constructors did, then start only the first one.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for s in schedulers:
            s.last_epoch -= 1
        schedulers[0]._initial_step()
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self._last_lr = schedulers[0].get_last_lr()

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler.step(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    state_dict = _nested_state_dict
    load_state_dict = _nested_load_state_dict


# CyclicLR, OneCycleLR and ReduceLROnPlateau live in a second file, ConstantLR, PolynomialLR,
# CosineAnnealingWarmRestarts and ChainedScheduler in a third, to keep each file short.
from ._lr_cyclic import CyclicLR, OneCycleLR, ReduceLROnPlateau  # noqa: E402
from ._lr_more import (  # noqa: E402
    ChainedScheduler,
    ConstantLR,
    CosineAnnealingWarmRestarts,
    PolynomialLR,
)

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR",
           "CosineAnnealingLR", "LinearLR", "SequentialLR", "CyclicLR", "OneCycleLR",
           "ReduceLROnPlateau", "ConstantLR", "PolynomialLR", "CosineAnnealingWarmRestarts",
           "ChainedScheduler"]
