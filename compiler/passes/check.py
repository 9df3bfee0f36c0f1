"""check_graph: a function is well formed: topologically ordered, inputs and outputs belong to it,
every node's recorded shape and dtype are what its op's rule gives. Passes run it in debug mode."""

from ..function import Function
from ..graph import Node
from ..ops.core import PLACEHOLDER


def check_graph(fn: Function, after: str = "") -> None:
    """Raise AssertionError naming the first problem found."""
    where = f" after pass {after!r}" if after else ""
    seen = set()
    for node in fn.nodes:
        if node.graph is not fn.graph:
            raise AssertionError(f"{node.describe()} belongs to another graph{where}")
        for inp in node.inputs:
            if inp not in seen:
                raise AssertionError(f"{node.describe()} uses '{inp.op_name}' before it is "
                                     f"computed{where}")
        if node.opdef is not PLACEHOLDER and node.type != "variable":
            shape, dtype = node.opdef.infer(list(node.inputs), **node.attrs)
            if tuple(shape or ()) != tuple(node.shape or ()) or dtype != node.dtype:
                raise AssertionError(f"{node.describe()} records {node.dtype} {node.shape} but "
                                     f"its rule gives {dtype} {shape}{where}")
        seen.add(node)
    for node in fn.inputs:
        if node.opdef is not PLACEHOLDER:
            raise AssertionError(f"input '{node.op_name}' is not a placeholder{where}")
    for node in fn.inputs + fn.outputs:
        if not isinstance(node, Node) or node not in seen:
            raise AssertionError(f"'{node.op_name}' is not a node of the function{where}")
