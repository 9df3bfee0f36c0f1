"""What every pass shares: a Rewriter that builds the next version of a Function node by node into
a fresh graph (passes never change their input), and a hashable key of a node's attributes.

A pass may also give `fires(rw, node)`: a test without side effects that holds wherever its rule
might do something (it may hold too often, never too rarely). The rule then runs only there, and
`fires_anywhere` tells, without copying anything, that the pass would leave a function as it is:
the pipeline then keeps the function it has (passes/__init__.py)."""

from __future__ import annotations

from typing import Callable, Dict, Optional

import numpy as np

from ..errors import DTypeError, ShapeError
from ..function import Function, copy_node
from ..graph import Graph, Node

Rule = Callable[["Rewriter", Node], Optional[Node]]
Fires = Callable[["Rewriter", Node], bool]


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
        self.in_scope = False  # a rule is running inside the name scope of the node it replaces

    def __getitem__(self, old: Node) -> Node:
        return self.new[old]

    def copy(self, node: Node) -> Node:
        inputs = [self.new[i] for i in node.inputs]
        controls = [self.new[c] for c in node.control_inputs]
        if self.in_scope:
            with self.graph.within_scope(""):  # a copy keeps its full name as it is
                new = copy_node(self.graph, node, inputs, control_inputs=controls)
        else:
            new = copy_node(self.graph, node, inputs, control_inputs=controls)
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


class _Same:
    """The identity mapping, standing for a Rewriter where a `fires` test looks at a function as
    it is (before any copy)."""

    def __getitem__(self, node: Node) -> Node:
        return node


SAME = _Same()


def fires_anywhere(fn: Function, fires: Fires) -> bool:
    """Whether `fires` holds for some node that rewrite() would hand to its rule; where it holds
    nowhere, rewrite(fn, ...) would be a plain copy of fn."""
    inputs = set(fn.inputs)
    for node in fn.nodes:
        if not (node in inputs or node.control_inputs) and _holds(fires, SAME, node):
            return True
    return False


def rewrite(fn: Function, rule: Rule, name: str, fires: Optional[Fires] = None) -> Function:
    """Apply `rule` to every node in order (only where `fires` holds, when given). The rule sees
    the old node (its inputs already mapped: use rw[input]) and returns a replacement in the new
    graph, or None to keep a copy.

    A replacement must have the old node's shape and dtype; one that does not is a bug in the rule
    and raises, rather than silently changing what the function computes. A rule whose new nodes
    are ill-typed (a reshape that cannot work) leaves the node as it was: running it reports the
    error against the user's node. Nodes the rule makes are tagged with the pass `name`.
    """
    rw = Rewriter(fn)
    inputs = set(fn.inputs)
    for node in fn.nodes:
        # Inputs are kept, and so are nodes ordered after other work (rewriting could lose that).
        kept = node in inputs or bool(node.control_inputs)
        if kept or (fires is not None and not _holds(fires, rw, node)):
            rw.new[node] = rw.copy(node)
            continue
        made = len(rw.graph.nodes)
        try:
            scope = node.op_name.rpartition("/")[0]
            with rw.graph.creation_site(node.site), rw.graph.within_scope(scope):
                rw.in_scope = True
                new = rule(rw, node)
        except (ShapeError, DTypeError):
            new = None  # the node cannot work with these shapes: keep it, it will fail at run time
        finally:
            rw.in_scope = False
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


def _holds(fires: Fires, rw, node: Node) -> bool:
    try:
        return fires(rw, node)
    except (ShapeError, DTypeError):
        return True  # the rule would see the same error: let it


def attr_key(value):
    """A hashable, value-based key of an attribute (arrays by content, slices by their fields)."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, slice):
        return ("slice", value.start, value.stop, value.step)
    if isinstance(value, (tuple, list)):
        return tuple(attr_key(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, attr_key(v)) for k, v in value.items())) if value else ()
    if isinstance(value, np.dtype):
        return ("dtype", value.str)
    return value


def signature(fn: Function):
    """A structural fingerprint: equal for two functions that compute the same way."""
    index = {n: i for i, n in enumerate(fn.nodes)}
    return (tuple((n.type, tuple(index[i] for i in n.inputs), attr_key(n.attrs), n.op_name)
                  for n in fn.nodes), tuple(index[o] for o in fn.outputs))


def same_signature(a: Function, b: Function) -> bool:
    """signature(a) == signature(b), without building either: it stops at the first difference
    and compares attributes by content only where they are not the very same objects (a copy
    shares its node's attribute values)."""
    if len(a.nodes) != len(b.nodes) or len(a.outputs) != len(b.outputs):
        return False
    index_a = {n: k for k, n in enumerate(a.nodes)}
    index_b = {n: k for k, n in enumerate(b.nodes)}
    for x, y in zip(a.nodes, b.nodes):
        if x.type != y.type or x.op_name != y.op_name or len(x.inputs) != len(y.inputs):
            return False
        if any(index_a[i] != index_b[j] for i, j in zip(x.inputs, y.inputs)):
            return False
        if not _same_attrs(x.attrs, y.attrs):
            return False
    return all(index_a[o] == index_b[p] for o, p in zip(a.outputs, b.outputs))


def _same_attrs(x: dict, y: dict) -> bool:
    if x.keys() != y.keys():
        return False
    return all(x[k] is y[k] for k in x) or attr_key(x) == attr_key(y)
