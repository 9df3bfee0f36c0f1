"""Graph.to_networkx, and networkx as an independent oracle for our own traversal: the graph is a
DAG, graph.nodes is a topological order, and traversal.plan is the ancestors of the fetches with
the fed tensors cutting the walk."""

import subprocess
import sys

import networkx as nx
import numpy as np
import pytest

import graphflow as gf
from compiler.traversal import plan


@pytest.fixture
def mlp():
    """A two-layer MLP with its gradients, a repeated input (add(h, h)) and a control input."""
    g = gf.Graph()
    with g.as_default():
        x = gf.placeholder(gf.float32, (None, 4), name="x")
        y = gf.placeholder(gf.float32, (None, 2), name="y")
        w1 = gf.Variable(np.full((4, 8), 0.1, np.float32), name="W1")
        b1 = gf.Variable(np.zeros(8, np.float32), name="b1")
        w2 = gf.Variable(np.full((8, 2), 0.1, np.float32), name="W2")
        b2 = gf.Variable(np.zeros(2, np.float32), name="b2")
        h = gf.relu(gf.matmul(x, w1) + b1, name="h")
        doubled = gf.add(h, h, name="doubled")
        with gf.control_dependencies([doubled]):
            out = gf.add(gf.matmul(h, w2), b2, name="out")
        loss = gf.reduce_mean(gf.square(out - y), name="loss")
        grads = gf.gradients(loss, [w1, b1, w2, b2])
    return {"graph": g, "x": x, "y": y, "h": h, "doubled": doubled, "out": out, "loss": loss,
            "grads": grads}


def test_one_graph_node_per_ir_node_with_its_attributes(mlp):
    graph = mlp["graph"]
    G = graph.to_networkx()
    assert isinstance(G, nx.MultiDiGraph)
    assert G.number_of_nodes() == len(graph.nodes)  # names are unique: no node was merged
    for node in graph.nodes:
        data = G.nodes[node.op_name]
        assert data["node"] is node
        assert (data["op"], data["shape"], data["dtype"]) == (node.type, node.shape, node.dtype)


def test_one_edge_per_input_with_its_position(mlp):
    graph = mlp["graph"]
    G = graph.to_networkx()
    data_edges = [(u, v, d["position"]) for u, v, d in G.edges(data=True) if not d["control"]]
    wanted = [(i.op_name, n.op_name, k) for n in graph.nodes for k, i in enumerate(n.inputs)]
    assert sorted(data_edges) == sorted(wanted)
    control = [(u, v) for u, v, d in G.edges(data=True) if d["control"]]
    assert sorted(control) == sorted((c.op_name, n.op_name) for n in graph.nodes
                                     for c in n.control_inputs)
    assert ("doubled", "out") in control


def test_a_repeated_input_is_two_edges(mlp):
    G = mlp["graph"].to_networkx()
    edges = G.get_edge_data("h", "doubled")
    assert sorted(d["position"] for d in edges.values()) == [0, 1]


def test_the_graph_is_a_dag_and_creation_order_is_topological(mlp):
    graph = mlp["graph"]
    G = graph.to_networkx()
    assert nx.is_directed_acyclic_graph(G)
    position = {n.op_name: k for k, n in enumerate(graph.nodes)}
    assert all(position[u] < position[v] for u, v in G.edges())


def _needed_by_networkx(G, fetches, fed):
    """The fetches and their ancestors once the edges into fed tensors are cut."""
    cut = G.copy()
    cut.remove_edges_from(list(cut.in_edges([f.op_name for f in fed], keys=True)))
    needed = {f.op_name for f in fetches}
    for f in fetches:
        needed |= nx.ancestors(cut, f.op_name)
    return needed


@pytest.mark.parametrize("fetch_names, fed_names", [
    (["loss"], []),
    (["loss"], ["x", "y"]),
    (["grads"], ["x", "y"]),
    (["grads"], ["h", "y"]),      # feeding an intermediate cuts the first layer away
    (["out", "doubled"], ["h"]),
])
def test_plan_is_the_ancestors_of_the_fetches_stopping_at_feeds(mlp, fetch_names, fed_names):
    graph = mlp["graph"]
    fetches = [t for name in fetch_names
               for t in (mlp[name] if isinstance(mlp[name], list) else [mlp[name]])]
    fed = [mlp[name] for name in fed_names]
    planned = plan(fetches, fed)
    assert {n.op_name for n in planned} == _needed_by_networkx(graph.to_networkx(), fetches, fed)
    order = [n for n in graph.nodes if n in set(planned)]
    assert planned == order  # in the graph's (topological) order


def test_the_default_graph_exports_too():
    with gf.Graph().as_default():
        a = gf.constant(1.0, name="a")
        gf.add(a, a, name="b")
        G = gf.get_default_graph().to_networkx()
    assert set(G.nodes) == {"a", "b"} and G.number_of_edges("a", "b") == 2


def test_importing_graphflow_does_not_import_networkx():
    code = "import sys, graphflow; print('networkx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
