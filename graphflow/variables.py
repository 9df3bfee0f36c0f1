"""Variable collections, TF1's GraphKeys and the initializer op."""

from __future__ import annotations

import re
from typing import List, Optional

from compiler.graph import Graph, Operation, get_default_graph
from compiler.ops.state import GLOBAL_VARIABLES, TRAINABLE_VARIABLES, Variable, group


class GraphKeys:
    """TF1's standard collection names."""

    GLOBAL_VARIABLES = GLOBAL_VARIABLES
    TRAINABLE_VARIABLES = TRAINABLE_VARIABLES
    UPDATE_OPS = "update_ops"
    REGULARIZATION_LOSSES = "regularization_losses"
    LOSSES = "losses"
    GLOBAL_STEP = "global_step"
    SUMMARIES = "summaries"
    LOCAL_VARIABLES = "local_variables"
    METRIC_VARIABLES = "metric_variables"


def add_to_collection(name: str, value) -> None:
    """Add value to the default graph's collection `name`."""
    get_default_graph().add_to_collection(name, value)


def get_collection(key: str, scope: Optional[str] = None) -> list:
    """The default graph's collection `key` (a copy), keeping items whose name matches the regular
    expression `scope` from the start, when given (as TF1)."""
    return _scoped(get_default_graph().get_collection(key), scope)


def global_variables(scope: Optional[str] = None, graph: Graph = None) -> List[Variable]:
    """Every variable of the (default) graph, in creation order; with `scope`, those whose name
    matches it from the start (TF1). A Graph given first is taken as `graph`."""
    if isinstance(scope, Graph):
        scope, graph = None, scope
    return _scoped((graph or get_default_graph()).get_collection(GLOBAL_VARIABLES), scope)


def trainable_variables(scope: Optional[str] = None, graph: Graph = None) -> List[Variable]:
    """The variables made with trainable=True, in creation order (filtered by `scope`, TF1)."""
    if isinstance(scope, Graph):
        scope, graph = None, scope
    return _scoped((graph or get_default_graph()).get_collection(TRAINABLE_VARIABLES), scope)


def local_variables(scope: Optional[str] = None, graph: Graph = None) -> List[Variable]:
    """The variables in GraphKeys.LOCAL_VARIABLES (per-session state such as tf.metrics
    counters), in creation order, filtered by `scope` (TF1)."""
    if isinstance(scope, Graph):
        scope, graph = None, scope
    graph = graph or get_default_graph()
    return _scoped(graph.get_collection(GraphKeys.LOCAL_VARIABLES), scope)


def make_local(variable: Variable, collections=(GraphKeys.LOCAL_VARIABLES,)) -> Variable:
    """Move a new, non-trainable `variable` out of GLOBAL_VARIABLES into `collections`, as TF1's
    collections=[LOCAL_VARIABLES, ...] does (so savers and global initializers skip it)."""
    held = variable.graph.collections.get(GLOBAL_VARIABLES, [])
    held[:] = [v for v in held if v is not variable]  # by identity: == on a tensor builds an op
    for key in collections:
        variable.graph.add_to_collection(key, variable)
    return variable


def _scoped(items: list, scope: Optional[str]) -> list:
    if scope is None:
        return items
    pattern = re.compile(scope)
    return [i for i in items if hasattr(i, "name") and pattern.match(i.name)]


def variables_initializer(var_list, name: str = "init") -> Operation:
    """One op that sets each variable of var_list to its initial value."""
    return group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer() -> Operation:
    """One op that resets every variable of the default graph to its initial value."""
    return variables_initializer(global_variables(), name="init")


def local_variables_initializer() -> Operation:
    """One op that resets every local variable of the default graph (e.g. tf.metrics state)."""
    return variables_initializer(local_variables(), name="init")
