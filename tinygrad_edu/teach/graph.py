"""Pictures of the graph a forward pass recorded, and of the backward graph.

Define-by-run: every op a tensor went through left a node (``tensor._ctx``) holding its input
tensors (``node.parents``). Walking those links from the loss reaches every op and every leaf.

- ``to_dot(loss)``: the forward graph in Graphviz DOT text. Ellipses are ops (with the shape
  and dtype of what they produced), boxes are leaves: parameters (leaves that require grad) in
  green, constants/data in grey.
- ``to_dot(loss, show_backward=True)``: the backward graph: each op becomes "<Op>Backward",
  arrows run from the loss towards the leaves, labelled with the shape of the gradient that
  travels along them; leaves show the shape of their accumulated ``.grad``.
- ``render(dot, "graph.svg")``: draws it through the ``graphviz`` package or the ``dot``
  program if one is installed. ``print_graph(loss)``: a plain-text tree, no tools needed.
"""

import os
import shutil
import subprocess

import numpy as np

from ..tensor import Tensor


def _walk(root):
    """(nodes in forward order, leaves in first-seen order, output tensor per node).

    Iterative, so deep graphs do not hit the recursion limit."""
    nodes, leaves, out_of = [], [], {}
    seen_nodes, seen_leaves = set(), set()
    if root._ctx is None:
        return nodes, [root], out_of
    out_of[id(root._ctx)] = root
    stack = [(root._ctx, False)]
    while stack:
        node, done = stack.pop()
        if done:
            nodes.append(node)
            continue
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        stack.append((node, True))
        for p in reversed(node.parents or ()):
            if p._ctx is None:
                if id(p) not in seen_leaves:
                    seen_leaves.add(id(p))
                    leaves.append(p)
            else:
                out_of.setdefault(id(p._ctx), p)
                if id(p._ctx) not in seen_nodes:
                    stack.append((p._ctx, False))
    return nodes, leaves, out_of


def _shape(shape):
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _esc(text):
    """Text -> the inside of a DOT string: escape backslashes and quotes, newlines as \\n."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _names(params):
    return {} if not params else {id(t): name for name, t in dict(params).items()}


def to_dot(tensor, show_backward=False, params=None, title=None):
    """DOT text of the graph that produced ``tensor`` (forward, or backward when asked).

    ``params``: optional ``{name: tensor}`` (e.g. ``dict(model.named_parameters())``) so
    leaves are labelled by name; unnamed leaves that require grad are still highlighted.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    nodes, leaves, out_of = _walk(tensor)
    names = _names(params)
    ids = {}
    lines = ["digraph " + ("backward" if show_backward else "forward") + " {",
             "  rankdir=BT;" if not show_backward else "  rankdir=TB;",
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    if title:
        lines.append(f'  label="{_esc(title)}"; labelloc=t;')
    for i, leaf in enumerate(leaves):
        ids[id(leaf)] = f"t{i}"
        if show_backward and not leaf.requires_grad:
            continue  # no gradient reaches constants: they are not in the backward graph
        name = names.get(id(leaf), "param" if leaf.requires_grad else "const")
        label = f"{name}\n{_shape(leaf.shape)} {leaf.dtype}"
        if show_backward:
            g = leaf.grad
            label += "\n.grad: " + ("None" if g is None else f"{_shape(g.shape)}")
        if leaf.requires_grad:
            style = 'shape=box, style="filled,bold", fillcolor="#b7e4b0"'
        else:
            style = 'shape=box, style=filled, fillcolor="#e6e6e6"'
        lines.append(f'  {ids[id(leaf)]} [label="{_esc(label)}", {style}];')
    for i, node in enumerate(nodes):
        ids[id(node)] = f"n{i}"
        out = out_of.get(id(node))
        shp = "?" if out is None else f"{_shape(out.shape)} {out.dtype}"
        if show_backward:
            label = f"{node.name}Backward\ngrad_output {shp}"
        else:
            label = f"{node.name}\n{shp}"
        extra = ""
        if node is tensor._ctx:
            extra = ', peripheries=2'  # the tensor we started from
        lines.append(f'  {ids[id(node)]} [label="{_esc(label)}", shape=ellipse, '
                     f'style=filled, fillcolor="#cfe2f3"{extra}];')
    for node in nodes:
        for k, p in enumerate(node.parents or ()):
            src = ids[id(p._ctx)] if p._ctx is not None else ids[id(p)]
            dst = ids[id(node)]
            if not show_backward:
                lines.append(f'  {src} -> {dst} [label="{k}"];')
                continue
            if not node.needs_input_grad[k]:
                continue  # no gradient flows to this input
            # the gradient for input k has that input's shape (the engine checks it)
            lines.append(f'  {dst} -> {src} [label="grad {_esc(_shape(p.shape))}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot, path, format=None):
    """Draw DOT text to ``path`` (svg or png, from the suffix unless ``format`` is given).

    Uses the ``graphviz`` Python package if importable, else the ``dot`` program. Raises
    RuntimeError with install instructions when neither is there. Returns the path.
    """
    fmt = format or os.path.splitext(path)[1].lstrip(".").lower() or "svg"
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"render: format must be svg, png or pdf, got {fmt!r}")
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(
            "render: Graphviz is not installed (no `dot` program on PATH); the DOT text is "
            "still available from to_dot(). Install it with `apt install graphviz` / "
            "`brew install graphviz` (the `graphviz` pip package also needs that program), "
            "or paste the DOT text into an online viewer.")
    try:
        import graphviz  # optional: same program underneath, nicer errors
    except ImportError:
        graphviz = None
    if graphviz is not None:
        data = graphviz.Source(dot).pipe(format=fmt)
    else:
        proc = subprocess.run([exe, f"-T{fmt}"], input=dot.encode(), capture_output=True,
                              check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"render: dot failed: {proc.stderr.decode(errors='replace')}")
        data = proc.stdout
    with open(path, "wb") as fh:
        fh.write(data)
    return path


_MAX_INDENT = 4 * 32  # deeper levels are printed at this indentation


def graph_text(tensor, params=None, show_grad=False):
    """The graph as an indented text tree, the loss at the top and leaves at the bottom.

    A node reached a second time (a tensor used twice: a fan-out) is printed once and then
    referred to as "(see #k above)". Below 32 levels the indentation stops growing.
    """
    names = _names(params)
    lines, numbers = [], {}

    def describe(t):
        s = f"{_shape(t.shape)} {t.dtype}"
        if t._ctx is None:
            kind = names.get(id(t), "param" if t.requires_grad else "const")
            s = f"{kind} {s}"
            if t.requires_grad:
                s += " [requires grad]"
                if show_grad:
                    s += " grad=" + ("None" if t.grad is None else _summary(t.grad.data))
        else:
            s = f"{t._ctx.name} -> {s}"
        return s

    # iterative pre-order: (tensor, prefix, is_last, is_root)
    stack = [(tensor, "", True, True)]
    while stack:
        t, prefix, last, is_root = stack.pop()
        branch = "" if is_root else ("`-- " if last else "|-- ")
        key = id(t._ctx) if t._ctx is not None else id(t)
        if key in numbers:
            lines.append(f"{prefix}{branch}(see #{numbers[key]} above)")
            continue
        numbers[key] = len(numbers) + 1
        lines.append(f"{prefix}{branch}#{numbers[key]} {describe(t)}")
        if t._ctx is None or not t._ctx.parents:
            continue
        child_prefix = prefix + ("" if is_root else ("    " if last else "|   "))
        if len(child_prefix) > _MAX_INDENT:  # a 100k-op chain would print O(depth^2) text
            child_prefix = child_prefix[:_MAX_INDENT]
        kids = list(t._ctx.parents)
        for i in range(len(kids) - 1, -1, -1):
            stack.append((kids[i], child_prefix, i == len(kids) - 1, False))
    return "\n".join(lines)


def print_graph(tensor, params=None, show_grad=False, file=None):
    """Print ``graph_text``; returns nothing."""
    print(graph_text(tensor, params, show_grad), file=file)


def _summary(arr):
    arr = np.asarray(arr)
    if arr.size <= 4:
        return np.array2string(arr, precision=4, separator=", ")
    return f"{_shape(arr.shape)} |.|={float(np.linalg.norm(arr)):.4g}"
