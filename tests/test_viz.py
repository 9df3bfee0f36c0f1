"""graphflow.viz: Graphviz pictures of graphs (to_dot, forward, backward, optimized, save).

The DOT text is parsed here (a small parser for the DOT language, ports and HTML strings
included), its generated node and cluster ids replaced by the names their `id` attributes
carry, and compared with what the graph holds: its nodes by name and kind, its edges, its
clusters, the labels on nodes and edges. Every DOT a test makes is also handed to Graphviz's
`dot` program, which must render it without a single warning.
"""

import html
import re
import shutil
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest

import graphflow as gf
from graphflow import viz

# Looked up once, before any test patches shutil.which.
DOT = shutil.which("dot")
NO_DOT = "Graphviz's dot program is not installed (apt-get install graphviz)"

UPDATE_TYPES = ("assign", "assign_add", "assign_sub", "group")
FORWARD_KINDS = ("placeholder", "variable", "op")
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan"


# -- a parser for the DOT language (the part of it a Digraph's source can use) -------------------

class Html(str):
    """An HTML-like DOT string, <...>: its text without the outer angle brackets."""


_TOKEN = re.compile(r"""
    (?P<space>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<quoted>"(?:[^"\\]|\\.)*")
  | (?P<html><(?:[^<>]|<[^<>]*>)*>)
  | (?P<arrow>->|--)
  | (?P<punct>[{}\[\]=;,:])
  | (?P<id>[A-Za-z_\x80-\U0010ffff][0-9A-Za-z_\x80-\U0010ffff]*
          |-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?))
""", re.X | re.S)
_KEYWORDS = {"strict", "graph", "digraph", "subgraph", "node", "edge"}


def _tokens(source):
    pos, out = 0, []
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            raise ValueError(f"not DOT at {pos}: {source[pos:pos + 40]!r}")
        pos = m.end()
        kind, text = m.lastgroup, m.group()
        if kind == "space":
            continue
        if kind == "quoted":
            out.append(("id", text[1:-1].replace("\\\n", "").replace('\\"', '"')))
        elif kind == "html":
            out.append(("id", Html(text[1:-1])))
        elif kind == "id":
            out.append(("kw", text.lower()) if text.lower() in _KEYWORDS else ("id", text))
        else:
            out.append((kind, text))
    return out


class ParsedDot:
    """nodes: name -> attributes; edges: [(tail, head, attributes, subgraph)];
    clusters: subgraph name -> {"attrs", "parent", "nodes"}; graph_attrs: the root's."""

    def __init__(self, source):
        self.nodes, self.edges, self.clusters, self.graph_attrs = {}, [], {}, {}
        self._toks, self._i, self._anonymous = _tokens(source), 0, 0
        if self._peek() == ("kw", "strict"):
            self._take()
        assert self._take()[1] in ("digraph", "graph")
        if self._peek()[0] == "id":
            self._take()
        self._expect("{")
        self._statements(None)
        self._expect("}")
        assert self._i == len(self._toks), "text after the graph"

    def _peek(self):
        return self._toks[self._i] if self._i < len(self._toks) else ("end", "")

    def _take(self):
        tok = self._peek()
        assert tok[0] != "end", "unexpected end of the DOT text"
        self._i += 1
        return tok

    def _expect(self, punct):
        tok = self._take()
        assert tok == ("punct", punct), f"expected {punct!r}, got {tok!r}"

    def _take_id(self):
        kind, value = self._take()
        assert kind == "id", f"expected an ID, got {kind} {value!r}"
        return value

    def _attrs(self):
        attrs = {}
        while self._peek() == ("punct", "["):
            self._take()
            while self._peek() != ("punct", "]"):
                key = self._take_id()
                self._expect("=")
                attrs[key] = self._take_id()
                if self._peek() in (("punct", ","), ("punct", ";")):
                    self._take()
            self._take()
        return attrs

    def _node_ref(self):
        name = self._take_id()
        while self._peek() == ("punct", ":"):  # node:port[:compass]
            self._take()
            self._take_id()
        return name

    def _add_node(self, name, attrs, sub):
        self.nodes.setdefault(name, {}).update(attrs)
        if sub is not None and name not in self.clusters[sub]["nodes"]:
            self.clusters[sub]["nodes"].append(name)

    def _statements(self, sub):
        while self._peek() != ("punct", "}"):
            self._statement(sub)
            if self._peek() == ("punct", ";"):
                self._take()

    def _statement(self, sub):
        kind, value = self._peek()
        here = self.clusters[sub]["attrs"] if sub is not None else self.graph_attrs
        if kind == "kw" and value in ("graph", "node", "edge"):
            self._take()
            attrs = self._attrs()
            if value == "graph":
                here.update(attrs)
            return
        if kind == "kw" and value == "subgraph":
            self._take()
            if self._peek()[0] == "id":
                name = self._take_id()
            else:
                name = f"<anonymous {self._anonymous}>"
                self._anonymous += 1
            self.clusters[name] = {"attrs": {}, "parent": sub, "nodes": []}
            self._expect("{")
            self._statements(name)
            self._expect("}")
            return
        if kind == "id" and self._toks[self._i + 1] == ("punct", "="):
            key = self._take_id()
            self._take()
            here[key] = self._take_id()
            return
        ends = [self._node_ref()]
        while self._peek()[0] == "arrow":
            self._take()
            ends.append(self._node_ref())
        attrs = self._attrs()
        if len(ends) == 1:
            self._add_node(ends[0], attrs, sub)
            return
        for name in ends:
            self._add_node(name, {}, sub)
        for tail, head in zip(ends, ends[1:]):
            self.edges.append((tail, head, attrs, sub))

    # -- questions about the parsed picture -----------------------------------------------------
    def members(self, cluster):
        """The nodes in a subgraph and in the subgraphs nested in it."""
        found = set(self.clusters[cluster]["nodes"])
        for name, c in self.clusters.items():
            if c["parent"] == cluster:
                found |= self.members(name)
        return found

    def ancestors(self, cluster):
        chain = []
        while cluster is not None:
            chain.append(cluster)
            cluster = self.clusters[cluster]["parent"]
        return chain

    def clusters_of(self, node):
        """Every subgraph a node is in, the nested ones and those around them."""
        return {c for c in self.clusters if node in self.members(c)}

    def legend(self):
        return self.members("cluster_legend") if "cluster_legend" in self.clusters else set()

    def drawn_nodes(self):
        """The graph's nodes: name -> attributes, the legend left out."""
        legend = self.legend()
        return {n: a for n, a in self.nodes.items() if n not in legend}

    def drawn_edges(self):
        """The graph's edges: (tail, head) -> attributes, the legend's invisible edges left out."""
        legend = self.legend()
        pairs = [(t, h, a) for t, h, a, _ in self.edges if t not in legend and h not in legend]
        assert len({(t, h) for t, h, _ in pairs}) == len(pairs), "an edge is drawn twice"
        return {(t, h): a for t, h, a in pairs}


def drawn_text(value):
    """A quoted DOT string's text as Graphviz reads it: HTML entities decoded first, then the
    escString escapes (a backslash and the character after it stand for that character; the
    line breaks \\n, \\l, \\r are left to `lines`)."""
    return re.sub(r"\\([^nlr])", r"\1", html.unescape(str(value)))


def by_name(parsed):
    """`parsed` with its DOT ids replaced by the names in their `id` attributes: a node by its
    graph name ("node:<name>"), a collapsed scope as "scope:<scope>", a cluster ("scope:<scope>")
    as "cluster_<scope>"; the legend keeps its ids."""
    nodes = {}
    for node_id, attrs in parsed.nodes.items():
        named = drawn_text(attrs.get("id", "node:" + node_id))
        nodes[node_id] = named[len("node:"):] if named.startswith("node:") else named
    clusters = {}
    for name, cluster in parsed.clusters.items():
        named = drawn_text(cluster["attrs"].get("id", ""))
        clusters[name] = "cluster_" + named[len("scope:"):] if named.startswith("scope:") else name
    assert len(set(nodes.values())) == len(nodes), "two nodes have the same id attribute"
    assert len(set(clusters.values())) == len(clusters), "two clusters have the same id attribute"
    clusters[None] = None
    parsed.nodes = {nodes[n]: a for n, a in parsed.nodes.items()}
    parsed.edges = [(nodes[t], nodes[h], a, clusters[sub]) for t, h, a, sub in parsed.edges]
    parsed.clusters = {clusters[name]: {"attrs": c["attrs"], "parent": clusters[c["parent"]],
                                        "nodes": [nodes[n] for n in c["nodes"]]}
                       for name, c in parsed.clusters.items()}
    return parsed


def parse(dot):
    return by_name(ParsedDot(dot.source))


def lines(label):
    """A label's lines as Graphviz draws them: HTML entities decoded, then the escString read (a
    literal newline and \\n, \\l, \\r break lines; a backslash before any other character
    stands for that character)."""
    out = [""]
    for m in re.finditer(r"\\(.)|(.)", html.unescape(str(label)), re.S):
        escaped, char = m.groups()
        if char == "\n" or escaped in ("n", "l", "r"):
            out.append("")
        else:
            out[-1] += char if escaped is None else escaped
    return [s for s in out if s]


def label_of(parsed, name):
    return lines(parsed.nodes[name].get("label", name))


def kind_drawn(attrs):
    """Which of viz.STYLES a node's shape and fill colour are."""
    found = [k for k, (shape, fill, _) in viz.STYLES.items()
             if attrs.get("shape") == shape and attrs.get("fillcolor", "").lower() == fill.lower()]
    assert len(found) <= 1
    return found[0] if found else None


def line_starting(parsed, name, word):
    """The one line of a node's label that starts with `word` (None when there is none)."""
    found = [s for s in label_of(parsed, name) if s.split() and s.split()[0] == word]
    assert len(found) <= 1, found
    return found[0] if found else None


def number_after(text, word):
    m = re.search(rf"\b{word}\b\W*?({NUMBER})", text)
    assert m, f"no number after {word!r} in {text!r}"
    return float(m.group(1))


def assert_renders(*dots):
    """Graphviz's dot renders each DOT text to SVG without any warning (the SVGs are returned)."""
    if DOT is None:
        pytest.skip(NO_DOT)
    svgs = []
    for dot in dots:
        source = dot.source if hasattr(dot, "source") else dot
        run = subprocess.run([DOT, "-Tsvg"], input=source, capture_output=True, text=True,
                             timeout=120)
        assert run.returncode == 0, run.stderr
        assert run.stderr == "", f"dot warned:\n{run.stderr}"
        assert "<svg" in run.stdout
        svgs.append(run.stdout)
    return svgs


# -- graphs ---------------------------------------------------------------------------------

def node_of(t):
    return t.node if isinstance(t, gf.Operation) else t


def closure(fetches):
    """Every node the fetches need: the fetches and, recursively, their inputs (data and
    control)."""
    seen, stack = set(), [node_of(f) for f in fetches]
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(n.inputs)
            stack.extend(n.control_inputs)
    return seen


def expected_kind(node, made_by_gradients):
    if node.type in ("placeholder", "variable", "constant"):
        return node.type
    if node.type in UPDATE_TYPES:
        return "update"
    return "gradient" if node in made_by_gradients else "op"


def shape_text(shape):
    """(?, 3): the static shape, ? for an unknown size."""
    return str(tuple(shape)).replace("None", "?")


FORWARD = {"x": "placeholder", "layer1/W": "variable", "layer1/matmul": "op",
           "layer1/Relu": "op", "loss": "op"}
FORWARD_EDGES = {("x", "layer1/matmul"), ("layer1/W", "layer1/matmul"),
                 ("layer1/matmul", "layer1/Relu"), ("layer1/Relu", "loss")}
LAYER1 = {"layer1/W", "layer1/matmul", "layer1/Relu"}


def small_net(with_gradients=True):
    """The issue's graph: relu(x @ W) with W in scope layer1, a mean loss, dloss/dW and an
    assign_sub update grouped. `grad_nodes`: every node gf.gradients made."""
    graph = gf.get_default_graph()
    x = gf.placeholder(gf.float32, shape=(None, 3), name="x")
    with gf.name_scope("layer1"):
        w = gf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2) / 10 - 0.2, name="W")
        h = gf.relu(x @ w)
    loss = gf.reduce_mean(h, name="loss")
    net = SimpleNamespace(x=x, w=w, h=h, loss=loss, grad_nodes=set())
    if with_gradients:
        before = len(graph.nodes)
        (net.dw,) = gf.gradients(loss, [w])
        net.grad_nodes = set(graph.nodes[before:])
        net.update = w.assign_sub(0.1 * net.dw)
        net.train = gf.group(net.update, name="train")
    return net


XV = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], np.float32)


# -- structure ------------------------------------------------------------------------------

def test_forward_view_has_exactly_the_forward_nodes_and_edges():
    net = small_net()
    dot = gf.viz.forward(net.loss)
    p = parse(dot)
    nodes = p.drawn_nodes()
    assert set(nodes) == set(FORWARD)
    assert {n: kind_drawn(a) for n, a in nodes.items()} == FORWARD
    assert set(p.drawn_edges()) == FORWARD_EDGES
    assert p.graph_attrs.get("label") == "forward"
    assert_renders(dot)


def test_training_graph_has_exactly_its_nodes_kinds_and_edges():
    net = small_net()
    gf.reduce_max(net.x, name="unrelated")
    dot = gf.viz.to_dot([net.loss, net.train])
    p = parse(dot)
    needed = closure([net.loss, net.train])
    nodes = p.drawn_nodes()
    assert set(nodes) == {n.op_name for n in needed}
    assert set(FORWARD) | {"train", net.update.op_name} <= set(nodes)
    assert "unrelated" not in nodes
    kinds = {n.op_name: expected_kind(n, net.grad_nodes) for n in needed}
    assert {n: kind_drawn(a) for n, a in nodes.items()} == kinds
    assert kinds["train"] == kinds[net.update.op_name] == "update"
    assert "gradient" in kinds.values() and "constant" in kinds.values()
    # the gradient nodes the update does not need (d loss / d x) are not drawn
    assert net.grad_nodes - needed and not {n.op_name for n in net.grad_nodes - needed} & set(nodes)
    expected_edges = {(i.op_name, n.op_name) for n in needed for i in n.inputs}
    assert set(p.drawn_edges()) == expected_edges
    assert FORWARD_EDGES | {("layer1/W", net.update.op_name), (net.update.op_name, "train")} \
        <= expected_edges
    assert_renders(dot)


def test_the_legend_shows_every_kind_and_only_invisible_edges():
    net = small_net()
    dot = gf.viz.to_dot(net.loss)
    p = parse(dot)
    legend = p.legend()
    assert len({(shape, fill.lower()) for shape, fill, _ in viz.STYLES.values()}) == \
        len(viz.STYLES), "two kinds are drawn alike"
    assert sorted(kind_drawn(p.nodes[n]) for n in legend) == sorted(viz.STYLES)
    assert {lines(p.nodes[n]["label"])[0] for n in legend} == {t for _, _, t in
                                                               viz.STYLES.values()}
    legend_edges = [a for t, h, a, _ in p.edges if t in legend or h in legend]
    assert legend_edges and all(a.get("style") == "invis" for a in legend_edges)
    assert all(a.get("style") != "invis" for a in p.drawn_edges().values())
    assert_renders(dot)


def test_name_scopes_become_clusters_and_gradients_the_backward_cluster():
    net = small_net()
    dot = gf.viz.to_dot([net.loss, net.train])
    p = parse(dot)
    nodes = p.drawn_nodes()
    assert "cluster_layer1" in p.clusters
    assert p.members("cluster_layer1") == LAYER1
    assert p.clusters["cluster_layer1"]["attrs"].get("label") == "layer1"
    grad_names = {n for n, a in nodes.items() if kind_drawn(a) == "gradient"}
    backward = [c for c, v in p.clusters.items() if "backward" in v["attrs"].get("label", "")]
    assert backward == ["cluster_gradients"]
    in_gradients_scope = {n for n in nodes if n.startswith("gradients/")}
    assert grad_names and grad_names <= in_gradients_scope
    assert p.members("cluster_gradients") == in_gradients_scope
    for name in nodes.keys() - LAYER1 - in_gradients_scope:  # x, loss, the update...
        assert p.clusters_of(name) == set(), name
    assert_renders(dot)


def test_nested_name_scopes_become_nested_clusters():
    x = gf.placeholder(gf.float32, shape=(None, 4), name="x")
    with gf.name_scope("model"):
        with gf.name_scope("layer1"):
            h = gf.relu(x, name="act")
        with gf.name_scope("layer2"):
            y = gf.tanh(h, name="act")
    dot = gf.viz.to_dot(y)
    p = parse(dot)
    assert p.clusters["cluster_model/layer1"]["parent"] == "cluster_model"
    assert p.clusters["cluster_model/layer2"]["parent"] == "cluster_model"
    assert p.members("cluster_model/layer1") == {"model/layer1/act"}
    assert p.members("cluster_model/layer2") == {"model/layer2/act"}
    assert p.members("cluster_model") == {"model/layer1/act", "model/layer2/act"}
    assert p.clusters_of("x") == set()
    assert_renders(dot)


def test_edge_labels_carry_static_shapes_and_non_float32_dtypes():
    net = small_net()
    labels = gf.placeholder(gf.int64, shape=(None,), name="labels")
    onehot = gf.one_hot(labels, 3, name="onehot")
    mask = gf.cast(gf.greater(net.h, 0.0, name="positive"), gf.float32, name="mask")
    loss = net.loss + gf.reduce_sum(onehot * net.h[:, :1]) + gf.reduce_sum(mask)
    dot = gf.viz.to_dot([loss, net.train])
    p = parse(dot)
    edges = p.drawn_edges()
    by_name = {n.op_name: n for n in closure([loss, net.train])}
    assert edges[("x", "layer1/matmul")]["label"] == "(?, 3)"
    assert edges[("layer1/W", "layer1/matmul")]["label"] == "(3, 2)"
    assert edges[("layer1/Relu", "loss")]["label"] == "(?, 2)"
    assert edges[("labels", "onehot")]["label"] == "(?,) int64"
    assert edges[("positive", "mask")]["label"] == "(?, 2) bool"
    for (tail, head), attrs in edges.items():
        src = by_name[tail]
        dtype = "" if src.dtype == np.float32 else f" {src.dtype.name}"
        assert attrs.get("label") == shape_text(src.shape) + dtype, (tail, head)
    assert not any("float32" in a["label"] for a in edges.values())
    assert_renders(dot)


def test_an_edge_from_a_tensor_of_unknown_rank_is_labelled_unknown():
    u = gf.placeholder(gf.float32, shape=None, name="u")
    y = gf.relu(u, name="y")
    dot = gf.viz.to_dot(y)
    label = parse(dot).drawn_edges()[("u", "y")]["label"]
    assert not isinstance(label, Html), f"label {label!r} is read by dot as an HTML label"
    assert label == "<unknown>"
    (svg,) = assert_renders(dot)
    assert "&lt;unknown&gt;" in svg


def test_forward_values_read_by_gradient_ops_are_drawn_in_their_own_colour():
    net = small_net()
    dot = gf.viz.to_dot([net.loss, net.train])
    p = parse(dot)
    nodes, edges = p.drawn_nodes(), p.drawn_edges()
    kinds = {n: kind_drawn(a) for n, a in nodes.items()}
    crossing = {e for e in edges if kinds[e[1]] == "gradient" and kinds[e[0]] in FORWARD_KINDS}
    # dW = x^T g reads x; relu's gradient reads relu's input or output
    tails = {t for t, _ in crossing}
    assert "x" in tails and tails & {"layer1/matmul", "layer1/Relu"}
    colours = {edges[e].get("color") for e in crossing}
    assert len(colours) == 1, colours
    (colour,) = colours
    assert colour is not None and colour.lower() not in ("black", "#000000")
    for e, attrs in edges.items():
        if e not in crossing:
            assert attrs.get("color") != colour, e
    assert_renders(dot)


def test_control_dependencies_are_drawn_as_edges():
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    v = gf.Variable(np.zeros(2, np.float32), name="v")
    up = gf.assign_add(v, x, name="up")
    with gf.control_dependencies([up]):
        y = gf.identity(x, name="y")
    assert up in y.control_inputs
    dot = gf.viz.to_dot(y)
    p = parse(dot)
    needed = closure([y])
    assert set(p.drawn_nodes()) == {n.op_name for n in needed} >= {"x", "v", "up", "y"}
    data = {(i.op_name, n.op_name) for n in needed for i in n.inputs}
    control = {(c.op_name, n.op_name) for n in needed for c in n.control_inputs}
    assert ("up", "y") in control
    assert set(p.drawn_edges()) == data | control
    assert_renders(dot)


def test_gradient_ops_of_a_second_gradients_call_are_gradient_nodes():
    net = small_net()
    graph = gf.get_default_graph()
    before = len(graph.nodes)
    (dx,) = gf.gradients(net.loss, [net.x])
    second = set(graph.nodes[before:])
    dot = gf.viz.to_dot(dx)
    p = parse(dot)
    kinds = {n: kind_drawn(a) for n, a in p.drawn_nodes().items()}
    drawn_second = [n for n in second if n.op_name in kinds and n.type != "constant"]
    assert drawn_second
    for n in drawn_second:
        assert gf.viz.kind(n) == "gradient", n.op_name
        assert kinds[n.op_name] == "gradient", n.op_name
        assert any("backward" in p.clusters[c]["attrs"].get("label", "")
                   for c in p.clusters_of(n.op_name)), n.op_name
    assert_renders(dot)


def test_names_that_dot_treats_specially_are_drawn_as_one_node():
    names, xs = [], []
    for name in ["in:put", "node", "a b", 'q"uote']:
        try:
            xs.append(gf.placeholder(gf.float32, shape=(2,), name=name))
        except ValueError:  # a graph may refuse ':' (TF1 reserves it for "x:0")
            assert ":" in name
            continue
        names.append(name)
    y = gf.add_n(xs, name="out")
    assert [x.op_name for x in xs] == names
    dot = gf.viz.to_dot(y)
    p = parse(dot)
    assert set(p.drawn_nodes()) == set(names) | {"out"}
    assert set(p.drawn_edges()) == {(n, "out") for n in names}
    assert_renders(dot)


# -- values and gradients ------------------------------------------------------------------

def assert_summarises(line, value):
    """`line` shows an array as its shape and min/mean/max."""
    value = np.asarray(value, np.float64)
    assert line is not None
    assert shape_text(value.shape) in line, line
    for word, want in (("min", value.min()), ("mean", value.mean()), ("max", value.max())):
        assert number_after(line, word) == pytest.approx(want, rel=5e-3, abs=1e-6), (word, line)


def test_values_from_sess_run_over_the_same_fetches():
    net = small_net()
    fetches = [net.loss, net.w, net.h, net.train]
    with gf.Session() as sess:
        values = sess.run(fetches, feed_dict={net.x: XV})
    assert values[-1] is None
    dot = gf.viz.to_dot(fetches, values=values)
    p = parse(dot)
    loss_line = line_starting(p, "loss", "data")
    assert loss_line is not None
    assert number_after(loss_line, "data") == pytest.approx(float(values[0]), rel=5e-4)
    assert "min" not in loss_line  # a scalar is a number, not a summary
    assert_summarises(line_starting(p, "layer1/W", "data"), values[1])
    assert_summarises(line_starting(p, "layer1/Relu", "data"), values[2])
    for name in ("train", "x", "layer1/matmul", net.dw.op_name):
        assert line_starting(p, name, "data") is None, name
    assert_renders(dot)


def test_values_as_a_dict_of_tensor_to_array():
    net = small_net()
    xv = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    dot = gf.viz.to_dot(net.loss, values={net.x: xv, net.loss: np.float32(0.25)})
    p = parse(dot)
    assert_summarises(line_starting(p, "x", "data"), xv)
    line = line_starting(p, "x", "data")
    assert (number_after(line, "min"), number_after(line, "mean"),
            number_after(line, "max")) == (1.0, 3.5, 6.0)
    assert number_after(line_starting(p, "loss", "data"), "data") == 0.25
    assert line_starting(p, "layer1/Relu", "data") is None
    assert_renders(dot)


def test_grads_overlay_on_micrograds_readme_expression():
    a = gf.Variable(-4.0, dtype=gf.float64, name="a")
    b = gf.Variable(2.0, dtype=gf.float64, name="b")
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + gf.relu(b + a)
    d = d + 3 * d + gf.relu(b - a)
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = gf.add(g, 10.0 / f, name="g")
    ga, gb = gf.gradients(g, [a, b])
    with gf.Session() as sess:
        gv, av, bv, dav, dbv = sess.run([g, a, b, ga, gb])
    dot = gf.viz.to_dot(g, values={a: av, b: bv, g: gv}, grads={a: dav, b: dbv, g: 1.0})
    p = parse(dot)
    shown = {}
    for name in ("a", "b", "g"):
        for word in ("data", "grad"):
            line = line_starting(p, name, word)
            assert line is not None, (name, word, label_of(p, name))
            shown[name, word] = number_after(line, word)
    # micrograd's README: g.data 24.7041, a.grad 138.8338, b.grad 645.5773 (4 decimals)
    want = {("a", "data"): -4.0, ("a", "grad"): 138.8338, ("b", "data"): 2.0,
            ("b", "grad"): 645.5773, ("g", "data"): 24.7041, ("g", "grad"): 1.0}
    for key, value in want.items():
        assert abs(shown[key] - value) <= 5e-5 + 1e-9, (key, shown[key], label_of(p, key[0]))
    lines_a = label_of(p, "a")
    assert lines_a.index(line_starting(p, "a", "data")) < lines_a.index(
        line_starting(p, "a", "grad"))
    assert line_starting(p, "add", "grad") is None
    assert_renders(dot)


# -- collapsing scopes ----------------------------------------------------------------------

def test_collapse_replaces_a_scope_by_one_node_that_takes_its_edges():
    net = small_net()
    fetches = [net.loss, net.train]
    full_dot = gf.viz.to_dot(fetches)
    dot = gf.viz.to_dot(fetches, collapse=["layer1"])
    full, p = parse(full_dot), parse(dot)
    nodes = p.drawn_nodes()
    assert not any(n.startswith("layer1/") for n in nodes)
    new = set(nodes) - set(full.drawn_nodes())
    assert len(new) == 1, new
    (scope,) = new
    assert "layer1" in " ".join(label_of(p, scope))
    assert set(nodes) == set(full.drawn_nodes()) - LAYER1 | {scope}
    assert "cluster_layer1" not in p.clusters

    def moved(name):
        return scope if name in LAYER1 else name

    expected = {(moved(t), moved(h)) for t, h in full.drawn_edges()} - {(scope, scope)}
    assert set(p.drawn_edges()) == expected
    assert {("x", scope), (scope, "loss"), (scope, net.update.op_name)} <= expected
    assert any(h.startswith("gradients/") for t, h in expected if t == scope)
    assert_renders(full_dot, dot)


def test_a_collapsed_nested_scope_stays_inside_its_parent_cluster():
    x = gf.placeholder(gf.float32, shape=(None, 4), name="x")
    with gf.name_scope("model"):
        with gf.name_scope("layer1"):
            h = gf.relu(x @ gf.Variable(np.eye(4, dtype=np.float32), name="W"))
        with gf.name_scope("layer2"):
            y = gf.tanh(h)
    dot = gf.viz.to_dot(y, collapse=["model/layer1"])
    p = parse(dot)
    nodes = p.drawn_nodes()
    (scope,) = set(nodes) - {"x", "model/layer2/Tanh"}
    assert "layer1" in " ".join(label_of(p, scope))
    assert "cluster_model/layer1" not in p.clusters
    assert p.clusters_of(scope) == {"cluster_model"}
    assert set(p.drawn_edges()) == {("x", scope), (scope, "model/layer2/Tanh")}
    assert_renders(dot)


def test_a_500_node_mlp_collapses_to_a_small_picture():
    depth = 40
    x = gf.placeholder(gf.float32, shape=(None, 8), name="x")
    h = x
    for i in range(depth):
        with gf.name_scope(f"layer{i}"):
            w = gf.Variable(np.full((8, 8), 0.1, np.float32), name="W")
            b = gf.Variable(np.zeros(8, np.float32), name="b")
            h = gf.relu(h @ w + b)
    loss = gf.reduce_mean(h, name="loss")
    train = gf.train.GradientDescentOptimizer(0.1).minimize(loss)
    needed = closure([train])
    assert len(needed) >= 500
    scopes = sorted({n.op_name.split("/")[0] for n in needed if "/" in n.op_name})
    assert {f"layer{i}" for i in range(depth)} <= set(scopes)
    dot = gf.viz.to_dot(train, collapse=scopes)
    p = parse(dot)
    nodes, edges = p.drawn_nodes(), p.drawn_edges()
    assert len(nodes) <= len(scopes) + 10
    assert len(edges) <= 6 * len(nodes)
    assert not any("/" in n for n in nodes if n in {m.op_name for m in needed})
    made = set(nodes) - {m.op_name for m in needed}  # the collapsed scopes' nodes
    by_scope = {}
    for scope in scopes:
        mention = re.compile(rf"(?<![\w/]){re.escape(scope)}(?![\w/])")
        (by_scope[scope],) = [n for n in made if mention.search(" ".join(label_of(p, n)))]
    assert len(set(by_scope.values())) == len(scopes) == len(made)
    for i in range(depth - 1):
        assert (by_scope[f"layer{i}"], by_scope[f"layer{i + 1}"]) in edges, i
    assert ("x", by_scope["layer0"]) in edges
    assert (by_scope[f"layer{depth - 1}"], "loss") in edges
    assert_renders(dot)


# -- the three views ------------------------------------------------------------------------

def check_backward_view(net, dot, made):
    """backward(): the gradient nodes (kind gradient, in the backward cluster) and the forward
    nodes they read, nothing else; `made`: the nodes the backward() call added."""
    p = parse(dot)
    nodes = p.drawn_nodes()
    assert p.graph_attrs.get("label") == "backward"
    made_names = {n.op_name for n in made}
    drawn_made = [n for n in made if n.op_name in nodes]
    assert drawn_made
    assert set(nodes) <= made_names | set(FORWARD)
    for n in drawn_made:
        if n.type == "constant":
            continue
        assert kind_drawn(nodes[n.op_name]) == "gradient", n.op_name
        assert any("backward" in p.clusters[c]["attrs"].get("label", "")
                   for c in p.clusters_of(n.op_name)), n.op_name
    read = {i.op_name for n in drawn_made for i in n.inputs if i.op_name in FORWARD}
    assert "x" in read and read & {"layer1/matmul", "layer1/Relu"}
    assert read <= set(nodes)
    # the gradient: a (3, 2) node that no drawn node consumes
    consumed = {i for n in drawn_made for i in n.inputs}
    assert any(n.shape == (3, 2) and n not in consumed for n in drawn_made)
    by_name = {n.op_name: n for n in made} | {n.op_name: n for n in closure([net.loss])}
    assert set(p.drawn_edges()) == {(i.op_name, m) for m in nodes for i in by_name[m].inputs}
    return p


def test_backward_view_of_a_graph_without_gradients_yet():
    net = small_net(with_gradients=False)
    gf.reduce_max(net.x, name="unrelated")
    graph = gf.get_default_graph()
    before = len(graph.nodes)
    dot = gf.viz.backward(net.loss, [net.w])
    p = check_backward_view(net, dot, set(graph.nodes[before:]))
    assert "unrelated" not in p.drawn_nodes()
    assert_renders(dot)


def test_backward_view_of_the_training_graph():
    net = small_net()
    graph = gf.get_default_graph()
    before = len(graph.nodes)
    dot = gf.viz.backward(net.loss, [net.w])
    p = check_backward_view(net, dot, set(graph.nodes[before:]))
    nodes = p.drawn_nodes()
    assert not {n.op_name for n in net.grad_nodes} & set(nodes)  # the first gradients call's
    assert "train" not in nodes and net.update.op_name not in nodes
    assert_renders(dot)


def test_backward_view_defaults_to_the_trainable_variables():
    net = small_net(with_gradients=False)
    graph = gf.get_default_graph()
    before = len(graph.nodes)
    dot = gf.viz.backward(net.loss)
    check_backward_view(net, dot, set(graph.nodes[before:]))
    assert_renders(dot)


def test_optimized_view_shows_what_the_compiler_runs_with_pass_tags():
    x = gf.placeholder(gf.float32, shape=(None, 4), name="x")
    y = gf.placeholder(gf.float32, shape=(None, 4), name="y")
    w = gf.Variable(np.full((4, 4), 0.1, np.float32), name="W")
    scale = gf.exp(gf.constant(np.float32(0.5)), name="scale")  # constant-only: folded
    p = gf.sigmoid((x @ w) * scale, name="p")
    loss = gf.negative(gf.reduce_mean(y * gf.log(p) + (1.0 - y) * gf.log(1.0 - p)), name="bce")
    (dw,) = gf.gradients(loss, [w])
    train = gf.group(w.assign_sub(0.1 * dw), name="train")
    program = gf.Session().make_callable([loss, train], [x, y])
    program(np.full((2, 4), 0.5, np.float32), np.ones((2, 4), np.float32))
    user_types = {n.type for n in closure([loss, train])}
    assert "log" in user_types and "softplus" not in user_types

    dot = gf.viz.optimized(program)
    parsed = parse(dot)
    nodes = parsed.drawn_nodes()
    fn = program.function
    needed = closure(fn.outputs)
    assert set(nodes) == {n.op_name for n in needed}
    assert parsed.graph_attrs.get("label") == "optimized"
    types = {n.type for n in needed}
    # the losses pass fused the hand-written BCE into TF's stable op
    assert "sigmoid_cross_entropy_with_logits" in types and "log" not in types
    tags = {}
    for name in nodes:
        found = [s for s in label_of(parsed, name) if re.fullmatch(r"\[.+\]", s)]
        assert len(found) <= 1, (name, found)
        if found:
            tags[name] = found[0]
    assert set(tags.values()) <= {"[fold]", "[cse]", "[simplify]", "[losses]", "[stabilize]",
                                  "[epilogues]"}
    assert "[losses]" in tags.values() and "[fold]" in tags.values()
    assert tags == {n.op_name: f"[{t}]" for n, t in fn.origin.items() if n in needed}
    assert tags["scale"] == "[fold]"
    assert all(tags.get(n.op_name) == "[losses]" for n in needed
               if n.type == "sigmoid_cross_entropy_with_logits")
    assert_renders(dot)


# -- save -----------------------------------------------------------------------------------

def test_save_dot_writes_the_source_as_text(tmp_path):
    dot = gf.viz.to_dot(small_net().loss)
    path = tmp_path / "pictures" / "graph.dot"
    assert gf.viz.save(dot, str(path)) == str(path)
    assert path.read_text() == dot.source
    assert list(path.parent.iterdir()) == [path]
    assert_renders(dot)


@pytest.mark.parametrize("ext", ["svg", "png", "pdf"])
def test_save_renders_with_dot(tmp_path, ext):
    if DOT is None:
        pytest.skip(NO_DOT)
    dot = gf.viz.to_dot([small_net().loss])
    path = tmp_path / "pictures" / f"graph.{ext}"
    assert gf.viz.save(dot, str(path)) == str(path)
    data = path.read_bytes()
    assert data
    if ext == "svg":
        text = data.decode()
        assert text.startswith("<?xml") or "<svg" in text
        assert "<svg" in text and "layer1" in text
    elif ext == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert data.startswith(b"%PDF")
    assert (tmp_path / "pictures" / "graph.dot").read_text() == dot.source
    assert_renders(dot)


@pytest.mark.parametrize("name", ["graph.txt", "graph.jpeg", "graph"])
def test_save_to_an_unknown_extension_raises_value_error(tmp_path, name):
    dot = gf.viz.to_dot(small_net().loss)
    with pytest.raises(ValueError):
        gf.viz.save(dot, str(tmp_path / name))
    assert not (tmp_path / name).exists()
    assert_renders(dot)


def test_save_without_the_dot_program_writes_the_dot_and_says_how_to_install(tmp_path,
                                                                              monkeypatch):
    dot = gf.viz.to_dot(small_net().loss)
    monkeypatch.setattr("graphflow.viz.shutil.which", lambda *args, **kwargs: None)
    with pytest.raises(gf.viz.GraphvizMissing) as info:
        gf.viz.save(dot, str(tmp_path / "graph.svg"))
    assert "apt-get install graphviz" in str(info.value)
    assert (tmp_path / "graph.dot").read_text() == dot.source
    assert not (tmp_path / "graph.svg").exists()
    assert_renders(dot)
