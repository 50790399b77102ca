"""ConstantLR, PolynomialLR, CosineAnnealingWarmRestarts and ChainedScheduler.

Import them from ``tinygrad_edu.optim.lr_scheduler``. As there, the first two are written in
the chainable form (the new lr from the current ``group["lr"]``) with the closed form in the
docstring, used by ``step(epoch)``.
"""

import math

from .lr_scheduler import (LRScheduler, _nested_load_state_dict, _nested_state_dict,
                           _positive_int)


class ConstantLR(LRScheduler):
    """Multiply the lr by ``factor`` for the first ``total_iters`` epochs, then restore it:

        lr = base_lr * factor  for epoch < total_iters,  base_lr  afterwards
    """

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {factor!r}")
        if isinstance(total_iters, bool) or not isinstance(total_iters, int) or total_iters < 0:
            raise ValueError(f"ConstantLR: total_iters must be an int >= 0, got {total_iters!r}")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups, e = self.optimizer.param_groups, self.last_epoch
        if e == 0:
            return [g["lr"] * self.factor for g in groups]
        if e != self.total_iters:
            return [g["lr"] for g in groups]
        if self.factor == 0:  # NOTE: lr / 0 cannot be undone: restore from base_lr instead
            return [b for b in self.base_lrs]
        return [g["lr"] * (1.0 / self.factor) for g in groups]

    def _get_closed_form_lr(self):
        f = 1.0 if self.last_epoch >= self.total_iters else self.factor
        return [b * f for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the lr to 0 over ``total_iters`` epochs along a polynomial, then keep it:

        lr = base_lr * (1 - min(epoch, total_iters) / total_iters) ** power

    The chainable step multiplies by ((1 - e/T) / (1 - (e-1)/T)) ** power.
    """

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        _positive_int("PolynomialLR", "total_iters", total_iters)
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups, e, T = self.optimizer.param_groups, self.last_epoch, self.total_iters
        if e == 0 or e > T:
            return [g["lr"] for g in groups]
        decay = ((1.0 - e / T) / (1.0 - (e - 1) / T)) ** self.power
        return [g["lr"] * decay for g in groups]

    def _get_closed_form_lr(self):
        f = (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
        return [b * f for b in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter): cosine annealing from base_lr to eta_min over a period
    T_i, then a restart at base_lr; the periods are T_0, T_0 T_mult, T_0 T_mult**2, ...

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    with T_cur the epochs since the last restart. ``step(epoch)`` accepts a fractional epoch
    (e.g. ``epoch + i / batches_per_epoch`` to anneal within an epoch)."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        _positive_int("CosineAnnealingWarmRestarts", "T_0", T_0)
        # NOTE: ValueError for a wrong type too, as PyTorch raises here
        if isinstance(T_mult, bool) or not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_mult must be an int >= 1, got "
                             f"{T_mult!r}")
        if isinstance(eta_min, bool) or not isinstance(eta_min, (int, float)):
            raise ValueError(f"CosineAnnealingWarmRestarts: eta_min must be a number, got "  # noqa: TRY004
                             f"{eta_min!r}")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        c = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (b - self.eta_min) * c for b in self.base_lrs]

    def _locate(self, epoch):
        """(T_cur, T_i) at ``epoch``: skip whole periods T_0, T_0 T_mult, ... (a loop, not
        log(): a logarithm can round 1.9999 down at an exact restart)."""
        if self.T_mult == 1:
            return epoch % self.T_0, self.T_0
        start, period = 0, self.T_0
        while epoch >= start + period:
            start, period = start + period, period * self.T_mult
        return epoch - start, period

    def step(self, epoch=None):
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:  # a restart
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts: epoch must be >= 0, got "
                                 f"{epoch!r}")
            self.T_cur, self.T_i = self._locate(epoch)
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


class ChainedScheduler(LRScheduler):
    """Step several chainable schedulers together: one ``step()`` calls each one's ``step()``
    in order, so their factors multiply (e.g. ConstantLR warm-up times ExponentialLR decay).
    The schedulers keep running from where their constructors left them."""

    def __init__(self, schedulers, optimizer=None):
        from ._lr_cyclic import ReduceLROnPlateau
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("ChainedScheduler: expects at least one scheduler")
        optimizer = optimizer if optimizer is not None else schedulers[0].optimizer
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):  # a ValueError, as in PyTorch
                raise ValueError(f"ChainedScheduler: schedulers[{i}] is ReduceLROnPlateau, "  # noqa: TRY004
                                 "whose step needs a metric; step it separately")
            if not isinstance(s, LRScheduler):
                raise TypeError(f"ChainedScheduler: schedulers[{i}] is a "
                                f"{type(s).__name__}, not a scheduler")
            if s.optimizer is not optimizer:
                raise ValueError(f"ChainedScheduler: schedulers[{i}] "
                                 f"({type(s).__name__}) belongs to another optimizer")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self):
        for s in self._schedulers:
            s.step()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    state_dict = _nested_state_dict
    load_state_dict = _nested_load_state_dict
