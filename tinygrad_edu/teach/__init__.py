"""Teaching tools: the engine explaining itself.

- ``gradgradcheck``: second derivatives (double backward) against finite differences.
- ``hessian``: Hessian-vector products, Lanczos eigenvalues, ``classify_critical_point``.
- ``graph``: ``to_dot`` (forward / backward graph as DOT), ``render``, ``print_graph``.
- ``trace``: ``trace_backward()`` — a step-by-step table of a backward pass.
- ``health``: ``GradientMonitor`` — vanishing/exploding gradients, dead/saturated units.
- ``anomaly``: ``detect_anomaly()`` — the first op that produced NaN/inf, and where.
- ``playground``: optimizers on small surfaces (2x^2, bowl, Rosenbrock, saddle).

``autograd.functional`` (vjp, jvp, jacobian, hessian, hvp, vhp) lives with the engine:
``tinygrad_edu.autograd.functional``.
"""

from . import playground
from .anomaly import AnomalyError, detect_anomaly
from .gradgradcheck import gradgradcheck
from .graph import graph_text, print_graph, render, to_dot
from .health import GradientHealthWarning, GradientMonitor, activation_stats
from .hessian import (HessianVectorProduct, classify_critical_point, dense_hessian,
                      hessian_eigs, lanczos)
from .trace import trace_backward

__all__ = [
    "gradgradcheck", "to_dot", "render", "print_graph", "graph_text", "trace_backward",
    "GradientMonitor", "GradientHealthWarning", "activation_stats", "detect_anomaly",
    "AnomalyError", "HessianVectorProduct", "hessian_eigs", "lanczos", "dense_hessian",
    "classify_critical_point", "playground",
]
