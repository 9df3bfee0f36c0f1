"""graphflow.viz with hostile names: each name is drawn as its own text, never read as DOT.

Graphviz's `dot` renders every picture; the SVG is read as XML (which undoes its escaping) and
must show each name as gf.viz documents drawing it (a control character as Python writes it in a
string literal, NUL as \\x00; everything else as it is), on the node or cluster whose `id` names
it, with no link anywhere. The DOT text must use generated ids and give each node, cluster and
edge only the attributes viz sets.
"""

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_viz import DOT, NO_DOT, ParsedDot

import graphflow as gf

SVG = "{http://www.w3.org/2000/svg}"
XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"
NODE_ATTRS = {"label", "shape", "style", "fillcolor", "tooltip", "id"}
CLUSTER_ATTRS = {"label", "style", "color", "id"}
EDGE_ATTRS = {"label", "style", "arrowhead", "color", "penwidth"}

INJECTION = "<p> [URL=<evil.html>] <q>"  # read as DOT, a node p with a link, and a node q
HOSTILE = [
    "it's", 'say "hi"', "ends with \\", "mid\\dle", "\\l \\n \\N \\G \\E \\T \\H \\L \\",
    "a<b", "b>a", "x & y &amp; &lt; &#92;", "{re|cord}", "[x]", "a;b=c", "-->", "<<", "]]>",
    "<b>x</b>", INJECTION, "nul\x00byte", "tab\there", "cr\rhere", "new\nline", "emoji \U0001f389",
    "RTL \u05e2\u05d1\u05e8\u05d9\u05ea \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u202eevil",
    "node", "subgraph", "\"\\", "del\x7f nel\x85", "surrogate \ud800", "x" * 5000,
]


def drawn(text):
    """What gf.viz documents a picture shows for `text`: each control character (C0, DEL, C1)
    and lone surrogate as Python's repr writes it, every other character as it is."""
    def one(c):
        code = ord(c)
        control = code < 0x20 or 0x7f <= code < 0xa0 or 0xd800 <= code < 0xe000
        return repr(c)[1:-1] if control else c
    return "".join(one(c) for c in text)


# -- checks ---------------------------------------------------------------------------------

def assert_safe_dot(dot, graph):
    """Every node and cluster has a generated, bare DOT id (no graph name is one), and nothing
    carries an attribute viz does not set."""
    parsed = ParsedDot(dot.source)
    names = {n.op_name for n in graph.nodes}
    for node_id, attrs in parsed.nodes.items():
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", node_id) and node_id not in names, node_id
        assert set(attrs) <= NODE_ATTRS, (node_id, attrs)
    for name, cluster in parsed.clusters.items():
        assert re.fullmatch(r"cluster_[A-Za-z0-9_]*", name) and name not in names, name
        assert set(cluster["attrs"]) <= CLUSTER_ATTRS, (name, cluster["attrs"])
    for tail, head, attrs, _ in parsed.edges:
        assert set(attrs) <= EDGE_ATTRS, (tail, head, attrs)


def render(dot):
    """The SVG (an XML tree) `dot` makes of a picture, which it must accept without a word."""
    if DOT is None:
        pytest.skip(NO_DOT)
    run = subprocess.run([DOT, "-Tsvg"], input=dot.source.encode("utf-8"), capture_output=True,
                         timeout=120)
    stderr = run.stderr.decode("utf-8", "replace")
    assert run.returncode == 0, stderr
    assert "syntax" not in stderr.lower() and stderr == "", f"dot warned:\n{stderr}"
    return ET.fromstring(run.stdout)


def assert_no_links(svg):
    """No link anywhere: the only <a> Graphviz makes here holds a node's tooltip, nothing else."""
    for element in svg.iter():
        local = {key.rsplit("}", 1)[-1] for key in element.attrib}
        assert not local & {"href", "target"}, (element.tag, element.attrib)
        if element.tag == SVG + "a":
            assert set(element.attrib) <= {XLINK_TITLE}, element.attrib


def spaces(text):
    """Graphviz writes a space that follows a space as a no-break space, so SVG keeps both."""
    return text.replace("\xa0", " ")


def groups(svg, cls):
    """id -> the text lines drawn in each SVG group of class `cls` (node, cluster, graph)."""
    return {spaces(g.get("id")): [spaces(t.text or "") for t in g.iter(SVG + "text")]
            for g in svg.iter(SVG + "g") if g.get("class") == cls}


def check_view(dot, graph, title=None, collapse=()):
    """`dot` draws the picture without a word or a link; every graph node drawn shows its short
    name (its first line; a constant shows its value), every cluster its scope, every collapsed
    scope its name. Returns the graph nodes drawn."""
    assert_safe_dot(dot, graph)
    svg = render(dot)
    assert_no_links(svg)
    by_id = {"node:" + drawn(n.op_name): n for n in graph.nodes}
    shown = groups(svg, "node")
    nodes = [by_id[i] for i in shown if i.startswith("node:")]
    clusters = groups(svg, "cluster")
    for node in nodes:
        *scope, short = node.op_name.split("/")
        short = short or node.op_name  # a name ending in "/" is shown whole
        if node.type != "constant":
            assert shown["node:" + drawn(node.op_name)][:1] == [drawn(short)], node.op_name
        for k in range(1, len(scope) + 1):
            path = drawn("/".join(scope[:k]))
            label = path or "/"  # the scope "" of a name "/x" is labelled "/"
            assert clusters["scope:" + path] in ([label], [f"backward ({path})"]), path
    for scope in collapse:
        assert shown["scope:" + drawn(scope)] == [drawn(scope), "(collapsed)"], scope
    if title is not None:
        (graph_texts,) = groups(svg, "graph").values()
        assert drawn(title) in graph_texts
    return nodes


# -- tests ----------------------------------------------------------------------------------

def test_a_name_shaped_like_dot_attributes_injects_no_link():
    graph = gf.get_default_graph()
    x = gf.placeholder(gf.float32, shape=(2,), name=INJECTION)
    with gf.name_scope("s" + INJECTION):
        y = gf.identity(x, name=INJECTION)
    dot = gf.viz.to_dot(y, title=INJECTION)
    assert_safe_dot(dot, graph)
    svg = render(dot)
    assert_no_links(svg)
    nodes = groups(svg, "node")
    assert nodes["node:" + INJECTION] == [INJECTION]
    assert nodes[f"node:s{INJECTION}/{INJECTION}"] == [INJECTION, "identity"]
    assert groups(svg, "cluster")["scope:s" + INJECTION] == ["s" + INJECTION]
    assert INJECTION in next(iter(groups(svg, "graph").values()))


@pytest.mark.parametrize("name", ["ends with \\", "\\", "<b>x</b>", "nul\x00byte", "two\nlines",
                                  "q\"uo'te\\\"", "unicode \u00e9 \U0001f389 \u05e2\u05d1",
                                  "long " * 2000])
def test_a_hard_name_is_drawn_as_its_text_in_every_file_save_writes(tmp_path, name):
    graph = gf.get_default_graph()
    x = gf.placeholder(gf.float32, shape=(2,), name=name)
    with gf.name_scope("s"):
        v = _variable_or_constant(np.ones(2, np.float32), name)
    y = gf.multiply(x, v, name="y")
    dot = gf.viz.to_dot(y, title=name)
    check_view(dot, graph, title=name)
    for ext in ("dot", "svg"):
        path = gf.viz.save(dot, str(tmp_path / f"picture.{ext}"))
    assert (tmp_path / "picture.dot").read_text(encoding="utf-8") == dot.source
    nodes = groups(ET.parse(path).getroot(), "node")
    short = drawn(name.rsplit("/", 1)[-1])  # a '/' in a name starts a scope
    assert nodes["node:" + drawn(name)] == [short]
    assert nodes["node:s/" + drawn(name)][0] == short  # a constant also shows its value


@pytest.mark.parametrize("name", ["ends with \\", "<b>x</b>", "nul\x00byte", "new\nline"])
def test_a_hard_scope_name_is_drawn_as_its_cluster_label(name):
    graph = gf.get_default_graph()
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    with gf.name_scope(name):
        y = gf.negative(x, name="neg")
    nodes = check_view(gf.viz.to_dot(y), graph)
    assert y in nodes and len(y.op_name.split("/")) == len(name.split("/")) + 1


def test_a_nul_is_drawn_as_backslash_x00():
    assert gf.viz.shown("a\x00b\tc\nd\\e\u00e9") == "a\\x00b\\tc\\nd\\e\u00e9"


def test_save_writes_utf8_whatever_the_locale(tmp_path):
    path = tmp_path / "picture.dot"
    code = ("import graphflow as gf, sys\n"
            "x = gf.placeholder(gf.float32, shape=(2,), name='caf\\u00e9 \\U0001f389')\n"
            "dot = gf.viz.to_dot(x)\n"
            "gf.viz.save(dot, sys.argv[1])\n"
            "sys.stdout.buffer.write(dot.source.encode('utf-8'))\n")
    env = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": "utf-8"}
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         env=env, timeout=300)
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    assert path.read_bytes() == run.stdout
    assert "caf\u00e9 \U0001f389" in run.stdout.decode("utf-8")


def _variable_or_constant(value, name):
    """A variable of that name; a constant where the full name holds a NUL byte, which a
    variable refuses (a checkpoint could not store it)."""
    full = gf.get_default_graph()._scope + [name]
    if any("\x00" in part for part in full):
        return gf.constant(value, name=name)
    return gf.Variable(value, name=name)


def hostile_graph():
    """Every HOSTILE name as a placeholder, and as a scope holding a variable and a multiply of
    that name; returns (placeholders, multiplies, loss)."""
    xs = [gf.placeholder(gf.float32, shape=(2,), name=name) for name in HOSTILE]
    h, ops = gf.add_n(xs), []
    for name in HOSTILE:
        with gf.name_scope(name):
            w = _variable_or_constant(np.full(2, 0.5, np.float32), name)
            h = gf.multiply(h, w, name=name)
        ops.append(h)
    return xs, ops, gf.reduce_sum(h, name=HOSTILE[0])


def test_hostile_names_through_every_view():
    graph = gf.get_default_graph()
    xs, ops, loss = hostile_graph()
    feeds = [np.full(2, i, np.float32) for i in range(len(xs))]
    forward = check_view(gf.viz.forward(loss, title=HOSTILE[1]), graph, HOSTILE[1])
    assert set(xs) | set(ops) <= set(forward)
    backward = check_view(gf.viz.backward(loss, title=HOSTILE[2]), graph, HOSTILE[2])
    assert any(gf.viz.kind(n) == "gradient" for n in backward)
    with gf.Session() as sess:
        (value,) = sess.run([loss], feed_dict=dict(zip(xs, feeds)))
    dot = gf.viz.to_dot(loss, values={loss: value, xs[0]: feeds[0]},
                        grads={xs[0]: np.ones(2, np.float32)}, title=HOSTILE[3])
    check_view(dot, graph, HOSTILE[3])
    hidden = [ops[HOSTILE.index(name)] for name in (INJECTION, "nul\x00byte", "ends with \\")]
    scopes = [op.name.rsplit("/", 1)[0] for op in hidden]
    collapsed = check_view(gf.viz.to_dot(loss, collapse=scopes), graph, collapse=scopes)
    assert not set(hidden) & set(collapsed) and set(xs) <= set(collapsed)
    program = gf.Session().make_callable([loss], xs)
    program(*feeds)
    optimized = check_view(gf.viz.optimized(program, title=HOSTILE[4]),
                           program.function.graph, HOSTILE[4])
    assert {x.op_name for x in xs} <= {n.op_name for n in optimized}


NAMES = st.text(alphabet="'\"\\<>&{}|[];=-/ \t\r\n\x00lNGx#\U0001f389\u05e2\u0628\u202e",
                min_size=1, max_size=16)


@pytest.mark.skipif(DOT is None, reason=NO_DOT)
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(NAMES, min_size=1, max_size=4))
def test_random_hostile_names_and_scopes_are_drawn_as_their_text(names):
    graph = gf.Graph()
    with graph.as_default():
        h = gf.placeholder(gf.float32, shape=(2,), name=names[0])
        for name in names[1:]:
            with gf.name_scope(name):
                h = gf.identity(h, name=name)
        nodes = check_view(gf.viz.to_dot(h, title=names[-1]), graph, names[-1])
    assert set(nodes) == set(graph.nodes)


def test_importing_graphflow_does_not_import_graphviz_until_something_is_drawn():
    code = ("import sys, graphflow as gf\n"
            "before = 'graphviz' in sys.modules\n"
            "source = gf.viz.to_dot(gf.constant(1.0, name='c')).source\n"
            "from graphflow import viz\n"
            "print(before, 'graphviz' in sys.modules, viz is gf.viz, 'c' in source)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.split() == ["False", "True", "True", "True"], out.stdout + out.stderr
