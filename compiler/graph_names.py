"""TF1's lookups of graph elements by name: 'op_name:0' names a tensor, 'op_name' an operation.

    g.get_tensor_by_name("scope/v:0")       # the tensor (a Node)
    g.get_operation_by_name("train")        # the Operation
    g.as_graph_element("y:0")               # either, from a name, a tensor or an operation

The methods are attached to Graph here (as compiler.operators attaches operators to Node), so
that graph.py stays about the IR. Every node has one output, so ':0' is the only tensor index.
"""

from __future__ import annotations

from typing import Optional, Union

from .graph import Graph, Node, Operation

Element = Union[Node, Operation]
_FORM = "tensor names have the form '<op_name>:<output_index>', e.g. 'x:0'"


def _find(graph: Graph, op_name: str) -> Optional[Node]:
    """The node named op_name, or None. A scan: a lookup by name is rare next to running."""
    return next((n for n in graph.nodes if n.op_name == op_name), None)


def _tensor_from_name(graph: Graph, name: str) -> Node:
    op_name, _, index = name.rpartition(":")
    if not op_name or not index.isdigit():
        raise ValueError(f"the name {name!r} looks like a tensor name but is not a valid one; "
                         f"{_FORM}")
    node = _find(graph, op_name)
    if node is None:
        raise KeyError(f"the name {name!r} refers to a tensor which does not exist: the "
                       f"operation {op_name!r} is not in the graph")
    if node.dtype is None:
        raise KeyError(f"the name {name!r} refers to a tensor which does not exist: the "
                       f"operation {node.describe()} produces no value; fetch the operation "
                       f"by its name {op_name!r}")
    if int(index) != 0:
        raise KeyError(f"the name {name!r} refers to a tensor which does not exist: the "
                       f"operation {node.describe()} has one output, '{op_name}:0'")
    return node


def _from_name(graph: Graph, name: str, allow_tensor: bool, allow_operation: bool,
               wanted: str) -> Element:
    if ":" in name:
        if not allow_tensor:
            raise ValueError(f"the name {name!r} refers to a tensor, not an {wanted}; an "
                             f"operation's name has no ':<output_index>'")
        return _tensor_from_name(graph, name)
    node = _find(graph, name)
    if allow_operation:
        if node is None:
            raise KeyError(f"the name {name!r} refers to an operation not in the graph")
        return node.op
    found = node is not None
    what = "refers to an operation" if found else "looks like an (invalid) operation name"
    raise ValueError(f"the name {name!r} {what}, not a {wanted}; {_FORM}")


def as_graph_element(self: Graph, obj, allow_tensor: bool = True,
                     allow_operation: bool = True) -> Element:
    """TF1's Graph.as_graph_element: the tensor or operation of this graph that obj is or names
    (a Tensor, an Operation, a 'op_name:0' tensor name or an 'op_name' operation name).

    Raises TypeError for an obj of another kind, ValueError for a malformed name or an element of
    another graph, KeyError for a name that this graph does not hold."""
    if allow_tensor and allow_operation:
        wanted = "Tensor or Operation"
    elif allow_tensor or allow_operation:
        wanted = "Tensor" if allow_tensor else "Operation"
    else:
        raise ValueError("allow_tensor and allow_operation can't both be False")
    convert = getattr(obj, "_as_graph_element", None)
    if callable(convert):
        obj = convert()
    if isinstance(obj, bytes):
        obj = obj.decode("utf-8")
    if isinstance(obj, str):
        return _from_name(self, obj, allow_tensor, allow_operation, wanted)
    if (isinstance(obj, Node) and allow_tensor) or (isinstance(obj, Operation)
                                                    and allow_operation):
        if obj.graph is not self:
            raise ValueError(f"{obj!r} is not an element of this graph")
        return obj
    raise TypeError(f"can not convert a {type(obj).__name__} into a {wanted}")


def get_tensor_by_name(self: Graph, name: str) -> Node:
    """TF1's Graph.get_tensor_by_name: the tensor named name ('op_name:0'); KeyError when this
    graph has none, ValueError for a name that is not of that form (such as an op's name)."""
    if not isinstance(name, (str, bytes)):
        raise TypeError(f"Tensor names are strings, not {type(name).__name__}")
    return as_graph_element(self, name, allow_tensor=True, allow_operation=False)


def get_operation_by_name(self: Graph, name: str) -> Operation:
    """TF1's Graph.get_operation_by_name: the operation named name; KeyError when this graph has
    none, ValueError for a tensor name ('x:0')."""
    if not isinstance(name, (str, bytes)):
        raise TypeError(f"Operation names are strings, not {type(name).__name__}")
    return as_graph_element(self, name, allow_tensor=False, allow_operation=True)


Graph.as_graph_element = as_graph_element
Graph.get_tensor_by_name = get_tensor_by_name
Graph.get_operation_by_name = get_operation_by_name
