"""Variables and their updates. Values live in the session's variable store, not in the graph.

Stateful kernels are called as kernel(state, node, *input_values), where `state` offers
read(var) (the value at the start of the run), latest(var) (including this run's earlier writes)
and write(var, value).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..graph import Node, Operation, graph_of
from ..opdef import NOT_DIFFERENTIABLE, OpDef, register
from ..shapes import fmt
from .core import _as_array, apply, constant
from .elementwise import cast

__all__ = ["Variable", "assign", "assign_add", "assign_sub", "group"]

GLOBAL_VARIABLES = "variables"
TRAINABLE_VARIABLES = "trainable_variables"


def _variable_infer(inputs, shape, dtype):
    return shape, dtype


def _variable_kernel(state, node):
    return state.read(node)


VARIABLE = register(OpDef("variable", tf_type="VariableV2", infer=_variable_infer,
                          kernel=_variable_kernel,
                          grad=lambda node, g: (), stateful=True, stateful_kernel=True))


class Variable(Node):
    """A tensor whose value is kept by the session between runs.

    `initial_value` is an array, a Python number (a float makes a float32 variable, as in TF1), or
    a tensor of fully known shape (gf.random_normal([784, 256])), which is evaluated once, when
    the session first needs the variable. Running gf.global_variables_initializer() (or
    `var.initializer`) sets it to its initial value again.
    """

    __slots__ = ("initial_value", "trainable", "key", "_initializer")

    def __init__(self, initial_value, name: Optional[str] = None, trainable: bool = True,
                 dtype=None):
        if isinstance(initial_value, Node):
            value = _initial_tensor(initial_value, dtype)
            graph = value.graph
        else:
            value = np.array(_as_array(initial_value, dtype))  # own copy, frozen
            value.flags.writeable = False
            graph = graph_of(())
        full = "/".join(graph._scope + [name or "Variable"])
        if "\x00" in full:  # a zip entry name (a checkpoint's) ends at NUL
            raise ValueError(f"invalid variable name {full!r}: it contains a NUL byte ('\\x00'), "
                             f"which a checkpoint cannot store; choose a name without it")
        with graph.control_dependencies(None):
            graph.add_node(VARIABLE, [], {"shape": value.shape, "dtype": value.dtype},
                           name=name or "Variable", node=self)
        self.initial_value = value
        self.trainable = bool(trainable)
        self.key = self.op_name  # where a session keeps its value (compiled copies share it)
        self._initializer = None
        graph.add_to_collection(GLOBAL_VARIABLES, self)
        if self.trainable:
            graph.add_to_collection(TRAINABLE_VARIABLES, self)

    @property
    def initializer(self) -> Operation:
        """The op that sets the variable back to its initial value."""
        if self._initializer is None:
            with self.graph.name_scope(self.op_name), self.graph.control_dependencies(None):
                init = self.initial_value
                if not isinstance(init, Node):
                    init = constant(init, name="initial_value", graph=self.graph)
                self._initializer = apply(ASSIGN, [self, init], "Assign").op
        return self._initializer

    def assign(self, value, name: Optional[str] = None) -> Node:
        return assign(self, value, name)

    def assign_add(self, delta, name: Optional[str] = None) -> Node:
        return assign_add(self, delta, name)

    def assign_sub(self, delta, name: Optional[str] = None) -> Node:
        return assign_sub(self, delta, name)

    def __repr__(self) -> str:
        return f"<gf.Variable '{self.name}' shape={fmt(self.shape)} dtype={self.dtype.name}>"


def _initial_tensor(tensor: Node, dtype) -> Node:
    """A tensor initial value: of fully known shape, cast to `dtype` when one is asked."""
    if tensor.shape is None or None in tensor.shape:
        raise ValueError(f"the initial value of a variable needs a fully known shape; "
                         f"'{tensor.op_name}' has shape {fmt(tensor.shape)}")
    if dtype is not None and tensor.dtype != np.dtype(dtype):
        tensor = cast(tensor, dtype)
    return tensor


def _assign_infer(inputs):
    var, value = inputs
    if not isinstance(var, Variable):
        raise TypeError(f"'{var.op_name}' is not a variable; only variables can be assigned to")
    if value.dtype != var.dtype:
        raise TypeError(f"cannot assign a {value.dtype.name} value to {var.dtype.name} variable "
                        f"'{var.op_name}'; use gf.cast")
    if value.shape is not None and (
            len(value.shape) != len(var.shape)
            or any(v is not None and v != s for v, s in zip(value.shape, var.shape))):
        raise ValueError(f"value of shape {fmt(value.shape)} does not fit variable '{var.op_name}' "
                         f"of shape {fmt(var.shape)}")
    return var.shape, var.dtype


def _checked(var, value):
    if value.shape != var.shape:
        raise ValueError(f"value of shape {value.shape} does not fit variable '{var.op_name}' "
                         f"of shape {var.shape}")
    return value


def _assign_kernel(state, node, old, value):
    var = node.inputs[0]
    return state.write(var, np.array(_checked(var, value), dtype=var.dtype))


def _assign_add_kernel(state, node, old, delta):
    var = node.inputs[0]
    return state.write(var, state.latest(var) + _checked(var, np.broadcast_to(delta, var.shape)))


def _assign_sub_kernel(state, node, old, delta):
    var = node.inputs[0]
    return state.write(var, state.latest(var) - _checked(var, np.broadcast_to(delta, var.shape)))


def _state_op(name, tf_type, kernel):
    """A variable update. Generated code updates the variable's array in place (its storage never
    moves: CUDA graphs rely on it)."""
    return register(OpDef(name, tf_type=tf_type, infer=_assign_infer, kernel=kernel,
                          grad=NOT_DIFFERENTIABLE,
                          stateful=True, stateful_kernel=True, updates=True, never_raises=True))


ASSIGN = _state_op("assign", "Assign", _assign_kernel)
ASSIGN_ADD = _state_op("assign_add", "AssignAdd", _assign_add_kernel)
ASSIGN_SUB = _state_op("assign_sub", "AssignSub", _assign_sub_kernel)


def assign(ref, value, name: Optional[str] = None) -> Node:
    """Set variable `ref` to `value`; the result holds the new value and its .op is the update."""
    return apply(ASSIGN, [ref, value], name or "Assign")


def assign_add(ref, value, name: Optional[str] = None) -> Node:
    """ref += value; the result holds the new value."""
    return apply(ASSIGN_ADD, [ref, value], name or "AssignAdd")


def assign_sub(ref, value, name: Optional[str] = None) -> Node:
    """ref -= value; the result holds the new value."""
    return apply(ASSIGN_SUB, [ref, value], name or "AssignSub")


def _group_infer(inputs):
    return None, None


def _group_kernel(*values):
    return None


GROUP = register(OpDef("group", tf_type="NoOp", strings=True,
                       never_raises=True, infer=_group_infer, kernel=_group_kernel,
                       grad=NOT_DIFFERENTIABLE, stateful=True))


def group(*inputs, name: Optional[str] = None) -> Operation:
    """One op that runs all of `inputs` (tensors or ops); fetching it returns None."""
    nodes = []
    for x in inputs:
        node = x.node if isinstance(x, Operation) else x
        if not isinstance(node, Node):
            raise TypeError(f"group: {x!r} is not a tensor or an operation")
        nodes.append(node)
    graph = graph_of(nodes)
    return graph.add_node(GROUP, nodes, name=name or "group_deps").op

