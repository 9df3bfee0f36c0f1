"""Walking the IR, in one place: what a set of fetches needs, who uses a node, what is reachable
from where. Every walk is iterative (deep graphs would pass Python's recursion limit). Used by the
interpreter, extract, autodiff, the prune pass, planning, Session and viz; Graph.to_networkx()
hands the same structure to networkx for users who analyse their graphs.

    plan([loss], fed=[x, y])          # the nodes loss needs, in a topological order
    consumers(fn.nodes)[node]         # the nodes using node, in order
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Set

if TYPE_CHECKING:  # graph.py uses this module: types only
    from .graph import Node

__all__ = ["plan", "reachable", "consumers", "to_networkx"]


def reachable(starts: Iterable["Node"], step: Callable[["Node"], Iterable["Node"]]) -> Set["Node"]:
    """Every node reachable from `starts` (included) by following `step(node)`."""
    seen: Set["Node"] = set()
    stack = list(starts)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(step(node))
    return seen


def plan(fetches: Iterable["Node"], fed: Iterable["Node"]) -> List["Node"]:
    """The nodes needed to compute `fetches`, in a topological order, stopping at fed tensors."""
    fed = set(fed)
    needed = reachable(fetches, lambda n: () if n in fed else (*n.inputs, *n.control_inputs))
    return sorted(needed, key=lambda n: n.id)  # creation order is topological


def consumers(nodes: Iterable["Node"]) -> Dict["Node", List["Node"]]:
    """Node -> the nodes of `nodes` using it (as an input or a control input), in the order of
    `nodes`; built in one walk."""
    users: Dict["Node", List["Node"]] = {}
    for n in nodes:
        for i in (*n.inputs, *n.control_inputs):
            users.setdefault(i, []).append(n)
    return users


def to_networkx(nodes: Iterable["Node"]):
    """`nodes` as a networkx.MultiDiGraph (see Graph.to_networkx)."""
    import networkx as nx  # only here: `import graphflow` does not need networkx

    G = nx.MultiDiGraph()
    for node in nodes:
        if node.op_name in G:
            raise ValueError(f"to_networkx: two nodes of this graph are named '{node.op_name}' "
                             f"({node.site}); node names must be unique in a Graph")
        G.add_node(node.op_name, op=node.type, shape=node.shape, dtype=node.dtype, node=node)
        for position, x in enumerate(node.inputs):
            G.add_edge(x.op_name, node.op_name, key=position, position=position, control=False)
        for c in node.control_inputs:
            G.add_edge(c.op_name, node.op_name, key="control", position=None, control=True)
    return G
