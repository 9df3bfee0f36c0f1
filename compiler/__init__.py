"""graphflow's compiler: the graph IR, the op set, symbolic autodiff and the executors.

Never imports `graphflow`; the user-facing library is built on top of this package.
"""

# graph_names attaches the lookups by name to Graph; operators attaches + - * / ... to tensors
from . import graph_names, operators  # noqa: F401
from .autodiff import gradients, hessians
from .graph import Graph, Node, Operation, get_default_graph, reset_default_graph
from .opdef import NOT_DIFFERENTIABLE, REGISTRY, OpDef, register

__all__ = ["Graph", "Node", "Operation", "get_default_graph", "reset_default_graph", "gradients",
           "hessians", "OpDef", "register", "REGISTRY", "NOT_DIFFERENTIABLE"]
