"""Graph pictures: the DOT text is parsed structurally (nodes, edges, labels), never compared
with a stored snapshot."""

import re
import shutil

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.teach import graph_text, render, to_dot
from tinygrad_edu.teach import graph as graph_mod

NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$')
EDGE = re.compile(r'^\s*(\w+) -> (\w+) \[label="((?:[^"\\]|\\.)*)"\];$')


def parse(dot):
    """(header, {id: (label, attrs)}, [(src, dst, label)]); asserts every line is understood."""
    lines = dot.strip().splitlines()
    header = re.match(r"^digraph (\w+) \{$", lines[0])
    assert header and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if m := EDGE.match(line):
            edges.append((m.group(1), m.group(2), m.group(3)))
        elif m := NODE.match(line):
            assert m.group(1) not in nodes, f"node {m.group(1)} declared twice"
            nodes[m.group(1)] = (m.group(2).replace("\\n", "\n"), m.group(3))
        else:
            assert re.match(r'^\s*(rankdir=\w+|node \[.*\]|edge \[.*\]|label=".*"; labelloc=t);$',
                            line), f"unexpected DOT line: {line!r}"
    for s, d, _ in edges:
        assert s in nodes and d in nodes, f"edge {s} -> {d} names an undeclared node"
    return header.group(1), nodes, edges


def _mlp():
    x = tg.Tensor(np.ones((4, 3)))
    w = tg.Tensor(np.full((3, 2), 0.1), requires_grad=True)
    b = tg.Tensor(np.zeros(2), requires_grad=True)
    h = (x @ w + b).tanh()
    loss = (h * h).sum()  # h used twice: a fan-out
    return x, w, b, loss


def test_forward_graph_structure():
    x, w, b, loss = _mlp()
    kind, nodes, edges = parse(to_dot(loss, params={"w": w, "b": b}))
    assert kind == "forward"
    ops = [lab.split("\n")[0] for lab, attrs in nodes.values() if "ellipse" in attrs]
    assert sorted(ops) == sorted(["MatMul", "Add", "Tanh", "Mul", "Sum"])
    leaves = {lab.split("\n")[0]: attrs for lab, attrs in nodes.values() if "box" in attrs}
    assert set(leaves) == {"w", "b", "const"}
    assert "#b7e4b0" in leaves["w"] and "#b7e4b0" in leaves["b"]  # parameters highlighted
    assert "#b7e4b0" not in leaves["const"]
    # one edge per op input: MatMul 2, Add 2, Tanh 1, Mul 2 (the same tensor twice), Sum 1
    assert len(edges) == 8
    labels = {lab.split("\n")[0]: lab for lab, _ in nodes.values()}
    assert "(4, 2) float64" in labels["Tanh"] and "(3, 2) float64" in labels["w"]
    by_id = {k: v[0].split("\n")[0] for k, v in nodes.items()}
    assert sum(1 for s, d, _ in edges if by_id[s] == "Tanh" and by_id[d] == "Mul") == 2
    # the starting tensor is marked
    assert "peripheries=2" in [a for lab, a in nodes.values() if lab.startswith("Sum")][0]


def test_backward_graph_after_backward_shows_gradient_shapes():
    x, w, b, loss = _mlp()
    loss.backward()
    kind, nodes, edges = parse(to_dot(loss, show_backward=True, params={"w": w, "b": b}))
    assert kind == "backward"
    names = {k: v[0].split("\n")[0] for k, v in nodes.items()}
    assert {"MatMulBackward", "AddBackward", "TanhBackward", "MulBackward",
            "SumBackward"} <= set(names.values())
    assert "const" not in names.values()  # no gradient reaches the data
    # edges run from the loss side towards the leaves, labelled with gradient shapes
    to_w = [lab for s, d, lab in edges if names[d] == "w"]
    assert to_w == ["grad (3, 2)"] and names[[s for s, d, _ in edges if names[d] == "w"][0]] \
        == "MatMulBackward"
    assert [lab for s, d, lab in edges if names[d] == "b"] == ["grad (2,)"]
    w_label = [v[0] for k, v in nodes.items() if names[k] == "w"][0]
    assert ".grad: (3, 2)" in w_label
    # 7 gradient edges: Sum->Mul, Mul->Tanh twice, Tanh->Add, Add->MatMul, Add->b, MatMul->w
    assert len(edges) == 7


def test_leaf_only_and_names_with_quotes_are_escaped():
    t = tg.Tensor(np.ones(2), requires_grad=True)
    kind, nodes, edges = parse(to_dot(t, params={'my "w"': t}, title='a "title"'))
    assert len(nodes) == 1 and not edges
    assert list(nodes.values())[0][0].startswith('my \\"w\\"')


def test_deep_chain_does_not_recurse():
    x = tg.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    _, nodes, edges = parse(to_dot(y))
    # Mul nodes, x, and one constant: a Python scalar is lifted once and shared (cached)
    assert len(nodes) == 3000 + 1 + 1
    assert len(edges) == 2 * 3000
    assert len(graph_text(y).splitlines()) >= 3000 + 1


def test_text_tree_marks_the_fan_out():
    x, w, b, loss = _mlp()
    text = graph_text(loss, params={"w": w, "b": b})
    lines = text.splitlines()
    assert lines[0].startswith("#1 Sum")
    assert any("see #" in ln for ln in lines)  # h = tanh(...) reached twice
    assert sum("Tanh" in ln for ln in lines) == 1
    assert any(ln.strip().endswith("[requires grad]") and " w " in ln for ln in lines)
    loss.backward()
    assert "grad=" in graph_text(loss, params={"w": w}, show_grad=True)


def test_render_without_graphviz_gives_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setattr(graph_mod.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz is not installed"):
        render(to_dot(_mlp()[3]), str(tmp_path / "g.svg"))
    with pytest.raises(ValueError, match="format"):
        render("digraph g {}", str(tmp_path / "g.gif"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")
def test_render_svg_with_dot(tmp_path):
    path = render(to_dot(_mlp()[3]), str(tmp_path / "g.svg"))
    assert open(path).read().lstrip().startswith(("<?xml", "<svg"))
