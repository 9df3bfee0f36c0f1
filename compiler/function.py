"""Function: the part of a graph that one (fetches, feeds) pair needs, copied into a private graph
and specialised to the concrete shapes and dtypes of the feeds. It is what the passes transform.

    extract(fetches=[loss], feeds={x: ((32, 784), float32)})
    -> Function(graph=<copy>, inputs=(x,), outputs=(loss,))   with every static shape known
"""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass, field
from typing import Dict, Sequence, Tuple

import numpy as np

from .graph import Graph, Node
from .ops.core import PLACEHOLDER
from .ops.state import VARIABLE, Variable
from .traversal import plan


@dataclass(frozen=True)
class Function:
    """A graph with its signature: `inputs` are fed at run time, `outputs` are returned.

    The graph holds the function's nodes only, in a topological order; inputs are placeholders.
    """

    graph: Graph
    inputs: Tuple[Node, ...]
    outputs: Tuple[Node, ...]
    # node -> the pass that made it (a fold's constant, a stabilized log_softmax); copies keep it
    origin: Dict[Node, str] = field(default_factory=dict, compare=False)
    # node a pass made -> the name of the user's node it stands for (errors name that one)
    stands_for: Dict[Node, str] = field(default_factory=dict, compare=False)

    def user_name(self, node: Node) -> str:
        """The name the user gave the node this one computes (after rewrites, the original)."""
        return self.stands_for.get(node, node.op_name)

    @property
    def nodes(self):
        return self.graph.nodes

    def __str__(self) -> str:
        ins = ", ".join(n.op_name for n in self.inputs)
        outs = ", ".join(n.op_name for n in self.outputs)
        return f"function({ins}) -> ({outs})\n{self.graph}"


def copy_node(graph: Graph, node: Node, inputs: Sequence[Node], name: str = None,
              control_inputs: Sequence[Node] = ()) -> Node:
    """A copy of `node` in `graph` with new inputs (and control inputs): same op, attrs and
    creation site; shape and dtype are inferred again where the new inputs' differ from the old
    inputs' (so concrete feed shapes propagate)."""
    if node.opdef is VARIABLE:
        var = Variable.__new__(Variable)
        graph.add_node(VARIABLE, [], node.attrs, name=name or node.op_name, node=var,
                       site=node.site)
        var.initial_value, var.trainable, var.key = node.initial_value, node.trainable, node.key
        var._initializer = None
        return var
    if not _same_types(graph, inputs, node.inputs):
        return graph.add_node(node.opdef, inputs, node.attrs, name=name or node.op_name,
                              site=node.site, control_inputs=control_inputs)
    # Inputs of the very shapes and dtypes of the node's own: the op's rule (a function of those
    # and of the attributes) would give the node's shape and dtype again, so it is not asked.
    new = Node.__new__(Node)
    Node.__init__(new, graph, node.opdef, inputs, dict(node.attrs),
                  graph.unique_name(name or node.op_name), node.shape, node.dtype, node.site,
                  control_inputs)
    graph.nodes.append(new)
    return new


def _same_types(graph: Graph, inputs: Sequence[Node], old: Sequence[Node]) -> bool:
    """Whether the new inputs belong to `graph` and have the shapes and dtypes of the old ones."""
    for a, b in zip(inputs, old):  # a plain loop: this runs for every node every pass copies
        if a.graph is not graph or a.shape != b.shape or a.dtype != b.dtype:
            return False
    return len(inputs) == len(old)


@contextlib.contextmanager
def collection_paused():
    """Python's cycle collector paused while compiling copies whole graphs (extract, each pass):
    every full collection walks the whole heap again, which took a third of the compile time of
    a 40k-node graph. The cyclic garbage the passes leave (a graph and its nodes refer to each
    other) goes at the first collection after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def extract(fetches: Sequence[Node], feeds: Dict[Node, Tuple[tuple, np.dtype]]) -> Function:
    """Copy what `fetches` need into a new graph; each fed node becomes a placeholder of its fed
    shape and dtype (feeding an intermediate tensor cuts the graph there)."""
    with collection_paused():
        return _extract(fetches, feeds)


def _extract(fetches: Sequence[Node], feeds: Dict[Node, Tuple[tuple, np.dtype]]) -> Function:
    graph = Graph()
    copies: Dict[Node, Node] = {}
    fed_variables: Dict[Node, Node] = {}  # a fed variable is still the target of its updates
    needed = set(plan(fetches, feeds)) | set(feeds)  # a feed the fetches ignore is still an input
    for node in sorted(needed, key=lambda n: n.id):
        if node in feeds:
            shape, dtype = feeds[node]
            copies[node] = graph.add_node(PLACEHOLDER, [], {"dtype": dtype, "shape": tuple(shape)},
                                          name=node.op_name, site=node.site)
            continue
        inputs = [copies[i] for i in node.inputs]
        controls = [copies[c] for c in node.control_inputs]
        if node.opdef.updates and node.inputs[0] in feeds:
            var = node.inputs[0]
            if var not in fed_variables:
                fed_variables[var] = copy_node(graph, var, [], name=var.op_name + "/ref")
            inputs[0] = fed_variables[var]
        copies[node] = copy_node(graph, node, inputs, control_inputs=controls)
    return Function(graph, tuple(copies[n] for n in feeds), tuple(copies[n] for n in fetches))
