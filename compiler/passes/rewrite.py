"""What every pass shares: a Rewriter that builds the next version of a Function node by node into
a fresh graph (passes never change their input), and a hashable key of a node's attributes."""

from __future__ import annotations

from typing import Callable, Dict, Optional

import numpy as np

from ..errors import DTypeError, ShapeError
from ..function import Function, copy_node
from ..graph import Graph, Node

Rule = Callable[["Rewriter", Node], Optional[Node]]


class Rewriter:
    """Maps each node of the old function to its counterpart in a new graph.

    `rw[old]` is the new node standing for `old`. Nodes that a rule builds (with the ordinary op
    functions, whose inputs are new nodes) land in the new graph and carry the replaced node's
    creation site, so errors and pictures still point at the user's line.
    """

    def __init__(self, fn: Function):
        self.fn = fn
        self.graph = Graph()
        self.new: Dict[Node, Node] = {}
        self.origin: Dict[Node, str] = {}
        self.stands_for: Dict[Node, str] = {}
        self._copies = set()

    def __getitem__(self, old: Node) -> Node:
        return self.new[old]

    def copy(self, node: Node) -> Node:
        with self.graph.within_scope(""):  # a copy keeps its full name as it is
            new = copy_node(self.graph, node, [self.new[i] for i in node.inputs],
                            control_inputs=[self.new[c] for c in node.control_inputs])
        self._copies.add(new)
        if node in self.fn.origin:
            self.origin[new] = self.fn.origin[node]
        if node in self.fn.stands_for:
            self.stands_for[new] = self.fn.stands_for[node]
        return new

    def finish(self) -> Function:
        return Function(self.graph, tuple(self.new[n] for n in self.fn.inputs),
                        tuple(self.new[n] for n in self.fn.outputs), self.origin,
                        self.stands_for)


def rewrite(fn: Function, rule: Rule, name: str) -> Function:
    """Apply `rule` to every node in order. The rule sees the old node (its inputs already mapped:
    use rw[input]) and returns a replacement in the new graph, or None to keep a copy.

    A replacement must have the old node's shape and dtype; one that does not is a bug in the rule
    and raises, rather than silently changing what the function computes. A rule whose new nodes
    are ill-typed (a reshape that cannot work) leaves the node as it was: running it reports the
    error against the user's node. Nodes the rule makes are tagged with the pass `name`.
    """
    rw = Rewriter(fn)
    for node in fn.nodes:
        if node in fn.inputs:
            rw.new[node] = rw.copy(node)
            continue
        made = len(rw.graph.nodes)
        if node.control_inputs:  # ordered after other work: rewriting it could lose that
            rw.new[node] = rw.copy(node)
            continue
        try:
            scope = node.name.rpartition("/")[0]
            with rw.graph.creation_site(node.site), rw.graph.within_scope(scope):
                new = rule(rw, node)
        except (ShapeError, DTypeError):
            new = None  # the node cannot work with these shapes: keep it, it will fail at run time
        if new is None:
            new = rw.copy(node)
        elif new.shape != node.shape or new.dtype != node.dtype:
            raise AssertionError(f"rewrite of {node.describe()} changed its type from "
                                 f"{node.dtype} {node.shape} to {new.dtype} {new.shape}")
        rw.new[node] = new
        for n in rw.graph.nodes[made:]:
            if n not in rw._copies:
                rw.origin.setdefault(n, name)
                rw.stands_for.setdefault(n, fn.user_name(node))
    return rw.finish()


def attr_key(value):
    """A hashable, value-based key of an attribute (arrays by content, slices by their fields)."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, slice):
        return ("slice", value.start, value.stop, value.step)
    if isinstance(value, (tuple, list)):
        return tuple(attr_key(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, attr_key(v)) for k, v in value.items()))
    if isinstance(value, np.dtype):
        return ("dtype", value.str)
    return value


def signature(fn: Function):
    """A structural fingerprint: equal for two functions that compute the same way."""
    index = {n: i for i, n in enumerate(fn.nodes)}
    return (tuple((n.type, tuple(index[i] for i in n.inputs), attr_key(n.attrs), n.name)
                  for n in fn.nodes), tuple(index[o] for o in fn.outputs))
