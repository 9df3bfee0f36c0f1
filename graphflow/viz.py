"""Graphviz pictures of graphs: the forward pass, the backward pass, what the compiler runs.

    dot = gf.viz.to_dot(loss)                 # a graphviz.Digraph; dot.source is the DOT text
    gf.viz.save(dot, "out/forward.svg")       # .dot always; .svg/.png/.pdf rendered by `dot`

Node kinds are drawn distinctly (see the legend): placeholders, variables, constants, ops,
gradient ops (made by gf.gradients, in the "gradients" scope) and updates (assignments). Name
scopes become clusters; edges carry static shapes, `?` for an unknown size.

Names are drawn as text and never read as DOT: nodes get generated DOT ids (n0, n1, ...; s0, ...
for a collapsed scope), clusters cluster_0, ...; a name reaches the file only inside an escaped,
quoted string: the label, and the `id` attribute that SVG output keeps on the element
("node:<name>" for a node, "scope:<scope>" for a cluster or a collapsed scope). Control characters
in a name are drawn as Python writes them in a string literal (NUL as \\x00, a newline as \\n, a
tab as \\t), so a name is always one visible line.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from typing import Dict, Iterable, List, Optional, Sequence

import graphviz
import numpy as np
from graphviz import nohtml

from compiler.autodiff import gradients
from compiler.graph import Graph, Node, Operation, get_default_graph
from compiler.ops.state import TRAINABLE_VARIABLES
from compiler.shapes import fmt
from compiler.traversal import plan

__all__ = ["to_dot", "save", "forward", "backward", "optimized", "shown", "GraphvizMissing"]

# kind -> (shape, fill colour, legend text)
STYLES = {
    "placeholder": ("ellipse", "#cfe8fc", "placeholder (fed)"),
    "variable": ("cylinder", "#ffd8a8", "variable"),
    "constant": ("note", "#eeeeee", "constant"),
    "op": ("box", "#ffffff", "op"),
    "gradient": ("box", "#fcc2d7", "gradient op"),
    "update": ("octagon", "#ffa8a8", "update (assign)"),
}
_UPDATES = {"assign", "assign_add", "assign_sub", "group"}
_GRADIENT_SCOPE = re.compile(r"gradients(_\d+)?")  # gf.gradients builds in these scopes
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # controls, lone surrogates


class GraphvizMissing(RuntimeError):
    """Graphviz's `dot` program is not installed; the .dot file was still written."""


def kind(node: Node) -> str:
    """Which of STYLES a node is drawn as."""
    if node.type in ("placeholder", "variable", "constant"):
        return node.type
    if node.type in _UPDATES:
        return "update"
    if any(_GRADIENT_SCOPE.fullmatch(part) for part in node.op_name.split("/")[:-1]):
        return "gradient"
    return "op"


def shown(text: str) -> str:
    """`text` as a picture draws it: control characters and lone surrogates as Python escapes
    (NUL as \\x00, newline as \\n, tab as \\t, \\ud800), everything else as it is."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _text(text: str) -> str:
    """`text` as a quoted DOT string that Graphviz draws literally (labels, tooltips, ids).

    Graphviz decodes HTML entities first (&amp; -> &), then escString sequences (\\N, \\l, \\\\),
    so & becomes &amp; and a backslash \\\\; a quote becomes &quot;, leaving the DOT lexer no quote
    or backslash to misread; nohtml stops a <...> text from being taken for an HTML label."""
    return nohtml(shown(text).replace("&", "&amp;").replace('"', "&quot;").replace("\\", "\\\\"))


def _lines(lines: Sequence[str]) -> str:
    """A label of several lines, each drawn literally."""
    return nohtml("\n".join(_text(line) for line in lines))


def _nodes(fetches, graph: Optional[Graph]) -> List[Node]:
    if fetches is None:
        return list((graph or get_default_graph()).nodes)
    flat = fetches if isinstance(fetches, (list, tuple)) else [fetches]
    nodes = [f.node if isinstance(f, Operation) else f for f in flat]
    return plan(nodes, ())


def _number(v) -> str:
    """Four decimals as micrograd prints them (24.7041), or 4 significant digits when tiny/huge."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, float):
        return str(v)
    return f"{v:.4f}" if v == 0 or 1e-3 <= abs(v) < 1e6 else f"{v:.4g}"


def _summary(value) -> str:
    arr = np.asarray(value)
    if arr.size == 1:
        return _number(arr.reshape(()).item())
    if arr.size == 0 or arr.dtype.kind not in "fiub":
        return f"shape {arr.shape}"
    a = arr.astype(np.float64)
    return f"{arr.shape} min {a.min():.3g} mean {a.mean():.3g} max {a.max():.3g}"


def _label(node: Node, values: Dict[Node, object], grads: Dict[Node, object],
           tags: Dict[Node, str]) -> List[str]:
    # "a/" ends in an empty part: show it all
    short = node.op_name.rsplit("/", 1)[-1] or node.op_name
    plain = node.type in ("placeholder", "variable") or short.rstrip("_0123456789") == node.type
    lines = [short] if plain else [short, node.type]
    if node.type == "constant" and node.attrs["value"].size == 1:
        lines = [_number(node.attrs["value"].item())]
    if node in values and node.type != "constant":
        lines.append(f"data {_summary(values[node])}")
    if node in grads:
        lines.append(f"grad {_summary(grads[node])}")
    if node in tags:
        lines.append(f"[{tags[node]}]")
    return lines


def _scope_of(node: Node, collapse: Sequence[str]) -> List[str]:
    parts = node.op_name.split("/")[:-1]
    for k in range(1, len(parts) + 1):
        if "/".join(parts[:k]) in collapse:
            return parts[:k]
    return parts


def to_dot(fetches=None, graph: Optional[Graph] = None, *, shapes: bool = True,
           values=None, grads=None, title: Optional[str] = None,
           collapse: Iterable[str] = (), tags: Optional[Dict[Node, str]] = None
           ) -> graphviz.Digraph:
    """A picture of what `fetches` need (or of the whole graph when fetches is None).

    values: a dict tensor -> array (or a list parallel to `fetches`, as sess.run returns it):
        each such node shows its value (a scalar, or shape and min/mean/max).
    grads: a dict tensor -> gradient array, shown under the value (micrograd's data | grad).
    collapse: name scopes drawn as one node each (keeps 500-node graphs readable).
    tags: a note per node, shown in brackets (the optimized view: which pass made the node).
    """
    nodes = _nodes(fetches, graph)
    dot = graphviz.Digraph("graphflow", graph_attr={"rankdir": "TB", "fontname": "Helvetica",
                                                    "label": _text(title or ""),
                                                    "labelloc": "t"},
                           node_attr={"fontname": "Helvetica", "fontsize": "10"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "8"})
    values, grads = _as_mapping(values, fetches), _as_mapping(grads, None)
    labels = {node: _label(node, values, grads, tags or {}) for node in nodes}
    ident = _add_nodes(dot, nodes, labels, tuple(collapse))
    _add_edges(dot, nodes, ident, shapes)
    _add_legend(dot)
    return dot


def _add_nodes(dot: graphviz.Digraph, nodes: List[Node], labels: Dict[Node, List[str]],
               collapse: Sequence[str]) -> Dict[Node, str]:
    """Draw each node (or the one node of its collapsed scope) in its scope's cluster, under a
    generated DOT id; returns node -> that id."""
    ident: Dict[Node, str] = {}
    collapsed: Dict[str, str] = {}  # collapsed scope -> its node's id
    clusters: Dict[tuple, List[str]] = {}
    for i, node in enumerate(nodes):
        scope = tuple(_scope_of(node, collapse))
        if scope and "/".join(scope) in collapse:
            ident[node] = collapsed.setdefault("/".join(scope), f"s{len(collapsed)}")
            continue
        ident[node] = f"n{i}"
        shape, fill, _ = STYLES[kind(node)]
        clusters.setdefault(scope, []).append(ident[node])
        style = "filled,rounded" if shape == "box" else "filled"
        dot.node(ident[node], _lines(labels[node]), shape=shape, style=style, fillcolor=fill,
                 tooltip=_text(node.site), id=_text("node:" + node.op_name))
    for name in collapse:
        if name in collapsed:
            dot.node(collapsed[name], _lines([name, "(collapsed)"]), shape="box3d",
                     style="filled", fillcolor="#e9ecef", id=_text("scope:" + name))
            clusters.setdefault(tuple(name.split("/")[:-1]), []).append(collapsed[name])
    _add_clusters(dot, clusters)
    return ident


def _add_edges(dot: graphviz.Digraph, nodes: List[Node], ident: Dict[Node, str],
               shapes: bool) -> None:
    """Data edges labelled with static shapes, control edges dashed; one edge per pair of ids."""
    seen = set()
    for node in nodes:
        edges = [(inp, False) for inp in node.inputs] + [(c, True) for c in node.control_inputs]
        for inp, control in edges:
            if inp not in ident:
                continue
            a, b = ident[inp], ident[node]
            if a == b or (a, b) in seen:
                continue
            seen.add((a, b))
            attrs = {}
            if control:  # runs after, reads nothing
                attrs.update(style="dashed", arrowhead="odot", color="#868e96")
            elif shapes and inp.dtype is not None:
                attrs["label"] = _text(fmt(inp.shape) + ("" if inp.dtype == np.float32
                                                         else f" {inp.dtype.name}"))
            if not control and kind(node) == "gradient" and kind(inp) not in ("gradient",
                                                                             "constant"):
                attrs.update(color="#c2255c", penwidth="1.5")  # a forward value kept for backward
            dot.edge(a, b, **attrs)


def _as_mapping(values, fetches) -> Dict[Node, object]:
    if values is None:
        return {}
    if isinstance(values, dict):
        return {(k.node if isinstance(k, Operation) else k): v for k, v in values.items()}
    flat = fetches if isinstance(fetches, (list, tuple)) else [fetches]
    vals = values if isinstance(values, (list, tuple)) else [values]
    return {f: v for f, v in zip(flat, vals) if isinstance(f, Node) and v is not None}


def _add_clusters(dot: graphviz.Digraph, clusters: Dict[tuple, List[str]]) -> None:
    """Nested subgraphs, one per name scope; the "gradients" scope is labelled backward.
    `clusters`: scope (a tuple of names) -> the DOT ids of the nodes drawn directly in it."""
    tree: dict = {}
    for scope, ids in clusters.items():
        branch = tree
        for part in scope:
            branch = branch.setdefault(part, {})
        branch.setdefault(None, []).extend(ids)
    count = itertools.count()  # cluster ids: cluster_0, cluster_1, ...

    def emit(parent, branch, path):
        for node_id in branch.get(None, []):
            parent.node(node_id)
        for part, sub in branch.items():
            if part is None:
                continue
            full = "/".join(path + [part])
            backward = bool(_GRADIENT_SCOPE.fullmatch(part))
            label = f"backward ({full})" if backward else full or "/"  # "/x": a root scope ""
            with parent.subgraph(name=f"cluster_{next(count)}") as c:
                c.attr(label=_text(label), style="rounded,dashed" if backward else "rounded",
                       color="#c2255c" if backward else "#868e96", id=_text("scope:" + full))
                emit(c, sub, path + [part])
    emit(dot, tree, [])


def _add_legend(dot: graphviz.Digraph) -> None:
    with dot.subgraph(name="cluster_legend") as legend:
        legend.attr(label="legend", style="rounded", color="#adb5bd")
        previous = None
        for key, (shape, fill, text) in STYLES.items():
            legend.node(f"legend_{key}", _text(text), shape=shape, style="filled", fillcolor=fill)
            if previous:
                legend.edge(previous, f"legend_{key}", style="invis")
            previous = f"legend_{key}"


def forward(loss, **kwargs) -> graphviz.Digraph:
    """The forward graph: everything `loss` needs."""
    return to_dot(loss, title=kwargs.pop("title", "forward"), **kwargs)


def backward(loss, var_list=None, **kwargs) -> graphviz.Digraph:
    """The gradient subgraph of d loss / d var_list, with the forward nodes it reads."""
    var_list = var_list or loss.graph.get_collection(TRAINABLE_VARIABLES)
    grads = [g for g in gradients(loss, var_list) if g is not None]
    return to_dot(grads, title=kwargs.pop("title", "backward"), **kwargs)


def optimized(program, **kwargs) -> graphviz.Digraph:
    """What the compiler actually runs for a Program (after folding, CSE, pruning...), each node
    made by a pass tagged with its name ([fold], [cse], [simplify], [stabilize])."""
    fn = program.function
    return to_dot(list(fn.outputs), fn.graph, title=kwargs.pop("title", "optimized"),
                  tags=fn.origin, **kwargs)


def save(obj, path: str) -> str:
    """Write a Digraph (or anything with .source) to `path`: .dot as text; .svg/.png/.pdf rendered
    by Graphviz's `dot` program (the .dot beside it is written first, whatever happens)."""
    source = obj.source if hasattr(obj, "source") else str(obj)
    root, ext = os.path.splitext(path)
    ext = ext.lstrip(".").lower()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    dot_path = path if ext == "dot" else root + ".dot"
    with open(dot_path, "w", encoding="utf-8") as f:  # what `dot` reads, whatever the locale
        f.write(source)
    if ext == "dot":
        return path
    if ext not in ("svg", "png", "pdf"):
        raise ValueError(f"cannot write {path!r}: use .dot, .svg, .png or .pdf")
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(f"wrote {dot_path}, but rendering {path} needs Graphviz's `dot` "
                              f"program, which is not installed: apt-get install graphviz")
    run = subprocess.run([exe, f"-T{ext}", dot_path, "-o", path], capture_output=True,
                         text=True)
    if run.returncode != 0:
        raise RuntimeError(f"dot failed on {dot_path}: {run.stderr.strip()}")
    return path
