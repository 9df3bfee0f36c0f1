"""Variable collections and the initializer op."""

from __future__ import annotations

from typing import List

from compiler.graph import Graph, Operation, get_default_graph
from compiler.ops.state import GLOBAL_VARIABLES, TRAINABLE_VARIABLES, Variable, group


def global_variables(graph: Graph = None) -> List[Variable]:
    """Every variable of the (default) graph, in creation order."""
    return (graph or get_default_graph()).get_collection(GLOBAL_VARIABLES)


def trainable_variables(graph: Graph = None) -> List[Variable]:
    """The variables made with trainable=True, in creation order."""
    return (graph or get_default_graph()).get_collection(TRAINABLE_VARIABLES)


def variables_initializer(var_list, name: str = "init") -> Operation:
    """One op that sets each variable of var_list to its initial value."""
    return group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer() -> Operation:
    """One op that resets every variable of the default graph to its initial value."""
    return variables_initializer(global_variables(), name="init")
