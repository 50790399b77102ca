"""SGD, Adagrad, RMSprop, Adam and AdamW with PyTorch's names, defaults and update rules.

Notation in the docstrings: p the parameter, g its gradient, lr the learning rate, t the
step count (from 1). ``maximize=True`` replaces g by -g first (gradient ascent). Each
``_update`` is one fused backend call (C kernel or numpy reference) that rewrites ``p.data``
and the state buffers in place.
"""

import numpy as np

from .. import backend
from .optimizer import Optimizer, check_nonneg, check_unit_interval


def _zeros(p):
    return np.zeros(p.shape, dtype=p.dtype)


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (PyTorch's form)::

        d = g + weight_decay * p                      (L2 penalty; skipped when 0)
        with momentum mu != 0:
            b = d                         on the first step
            b = mu * b + (1 - dampening) * d          afterwards
            d = d + mu * b  if nesterov  else  b
        p = p - lr * d

    NOTE: this is the "velocity without lr" form: lr multiplies the whole buffer, so changing
    lr mid-training changes the step at once (Sutskever et al. put lr inside the buffer).
    NOTE: ``maximize`` flips g's sign first, as PyTorch's code does; its SGD pseudo-code flips
    the sign of the final step instead, which would make weight decay grow the weights.
    """

    _array_state = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov,
                                  "maximize": maximize})

    def _check_group(self, group):
        check_nonneg(self, group, "lr", "momentum", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True requires momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']!r}, dampening={group['dampening']!r}")

    def _update(self, p, grad, group, state):
        momentum = group["momentum"]
        buf = None
        first = False
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = _zeros(p)
                first = True
        backend.sgd_step(p.data, grad, buf, group["lr"], momentum, group["dampening"],
                         group["nesterov"], group["weight_decay"], group["maximize"], first)


class Adagrad(Optimizer):
    """Adagrad: the step of each coordinate shrinks with its summed squared gradients::

        clr = lr / (1 + (t - 1) * lr_decay)
        d = g + weight_decay * p                      (skipped when 0)
        sum = sum + d * d                             (starts at initial_accumulator_value)
        p = p - clr * d / (sqrt(sum) + eps)
    """

    _array_state = ("sum",)
    _scalar_state = ("step",)

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False):
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "eps": eps, "maximize": maximize})

    def _check_group(self, group):
        check_nonneg(self, group, "lr", "lr_decay", "weight_decay",
                     "initial_accumulator_value", "eps")

    def _init_group_state(self, group):
        # As in PyTorch, Adagrad's state exists from construction (state_dict shows it).
        for p in group["params"]:
            if p not in self.state:
                self.state[p] = self._fresh(p, group)

    @staticmethod
    def _fresh(p, group):
        return {"step": 0, "sum": np.full(p.shape, group["initial_accumulator_value"],
                                          dtype=p.dtype)}

    def _update(self, p, grad, group, state):
        if "sum" not in state:
            state.update(self._fresh(p, group))
        state["step"] += 1
        backend.adagrad_step(p.data, grad, state["sum"], state["step"], group["lr"],
                             group["lr_decay"], group["weight_decay"], group["eps"],
                             group["maximize"])


class RMSprop(Optimizer):
    """RMSprop: divide the step by a running root-mean-square of the gradient::

        d = g + weight_decay * p                      (skipped when 0)
        v = alpha * v + (1 - alpha) * d^2
        centered:  a = alpha * a + (1 - alpha) * d;   den = sqrt(v - a^2) + eps
        otherwise: den = sqrt(v) + eps
        momentum mu > 0:  b = mu * b + d / den;  p = p - lr * b
        otherwise:        p = p - lr * d / den
    """

    _array_state = ("square_avg", "momentum_buffer", "grad_avg")
    _scalar_state = ("step",)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered, "maximize": maximize})

    def _check_group(self, group):
        check_nonneg(self, group, "lr", "eps", "weight_decay", "momentum", "alpha")
        if group["alpha"] > 1:
            raise ValueError(f"RMSprop: invalid alpha {group['alpha']!r} (must be in [0, 1])")

    def _update(self, p, grad, group, state):
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = _zeros(p)
        momentum, centered = group["momentum"], group["centered"]
        buf = avg = None
        if momentum > 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = _zeros(p)
        if centered:
            avg = state.get("grad_avg")
            if avg is None:
                avg = state["grad_avg"] = _zeros(p)
        state["step"] += 1
        backend.rmsprop_step(p.data, grad, state["square_avg"], avg, buf, group["lr"],
                             group["alpha"], group["eps"], group["weight_decay"], momentum,
                             centered, group["maximize"])


class Adam(Optimizer):
    """Adam: momentum on the gradient and on its square, both bias-corrected::

        d = g + weight_decay * p                      (L2 penalty; skipped when 0)
        m = beta1 * m + (1 - beta1) * d
        v = beta2 * v + (1 - beta2) * d^2
        amsgrad: v_max = max(v_max, v) and v_max replaces v below
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    NOTE: with amsgrad the running maximum is taken of the uncorrected v and then corrected
    with the current step's factor, as PyTorch does.
    """

    _array_state = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _scalar_state = ("step",)
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad,
                                  "maximize": maximize})

    def _check_group(self, group):
        check_nonneg(self, group, "lr", "eps", "weight_decay")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{self._name}: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = tuple(betas)
        check_unit_interval(self, "beta1", betas[0])
        check_unit_interval(self, "beta2", betas[1])

    def _update(self, p, grad, group, state):
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = _zeros(p)
            state["exp_avg_sq"] = _zeros(p)
        vmax = None
        if group["amsgrad"]:
            vmax = state.get("max_exp_avg_sq")
            if vmax is None:
                vmax = state["max_exp_avg_sq"] = _zeros(p)
        state["step"] += 1
        beta1, beta2 = group["betas"]
        backend.adam_step(p.data, grad, state["exp_avg"], state["exp_avg_sq"], vmax,
                          state["step"], group["lr"], beta1, beta2, group["eps"],
                          group["weight_decay"], group["amsgrad"], group["maximize"],
                          self._decoupled)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): the decay shrinks the weights
    directly instead of entering the gradient, so it is not rescaled by Adam's denominator::

        p = p * (1 - lr * weight_decay)
        then Adam's update with d = g (no L2 term)
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)
