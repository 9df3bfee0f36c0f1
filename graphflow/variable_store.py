"""The store behind gf.get_variable: one per graph, holding the variables get_variable made by
their full names, with TF 1.15's rules for making, sharing and refusing them (its
`_VariableStore`). The scopes that choose the names and the reuse flag are in variable_scope.py.

The store lives in a private collection of its graph, as TF1 keeps it, so a new graph starts
empty and nothing is cached on the Graph object itself.
"""

from __future__ import annotations

import enum
import inspect
from typing import Dict, Optional, Tuple

from compiler import dtypes as _dt
from compiler.graph import Graph, Node
from compiler.ops.core import _as_array  # the dtype a constant gets, without making a node
from compiler.ops.state import GLOBAL_VARIABLES, Variable

from .initializers import glorot_uniform_initializer, zeros_initializer
from .variables import GraphKeys, make_local

__all__ = ["VariableSynchronization", "VariableAggregation", "store_of", "get_or_create"]

_VARSTORE_KEY = ("__variable_store",)  # a tuple, so no user's string key can collide with it


class VariableSynchronization(enum.Enum):
    """TF1's tf.VariableSynchronization: when a distributed variable is synchronized. With one
    device there is nothing to synchronize; ON_READ still makes `trainable` default to False."""

    AUTO = 0
    NONE = 1
    ON_WRITE = 2
    ON_READ = 3


class VariableAggregation(enum.Enum):
    """TF1's tf.VariableAggregation (no effect on one device)."""

    NONE = 0
    SUM = 1
    MEAN = 2
    ONLY_FIRST_REPLICA = 3


class VariableStore:
    """The variables made by get_variable in one graph, by full name."""

    def __init__(self):
        self.vars: Dict[str, Variable] = {}


def store_of(graph: Graph) -> VariableStore:
    """The graph's store, made on first use."""
    return collection_singleton(graph, _VARSTORE_KEY, VariableStore)


def collection_singleton(graph: Graph, key: tuple, make):
    """The one object kept in the graph's collection `key`, made by `make()` on first use (as
    TF1 keeps its variable stores in private collections, not on the Graph)."""
    found = graph.get_collection(key)
    if found:
        return found[0]
    value = make()
    graph.add_to_collection(key, value)
    return value


def get_or_create(graph: Graph, name: str, shape=None, dtype=_dt.float32, initializer=None,
                  regularizer=None, reuse=None, trainable=None, collections=None,
                  validate_shape: bool = True, synchronization=VariableSynchronization.AUTO):
    """The variable `name` (a full name) of the graph's store: the stored one where reuse allows
    (True or AUTO_REUSE), else a new one (reuse None/False or AUTO_REUSE); ValueError otherwise,
    with TF1's messages."""
    from_value = initializer is not None and not callable(initializer)
    if shape is not None and from_value:
        raise ValueError(f"get_variable '{name}': if initializer is a constant, do not specify "
                         f"shape (the variable takes the shape of the value); drop shape= or "
                         f"pass an initializer object such as gf.constant_initializer(...)")
    dtype = _dt.as_dtype(dtype)
    shape = _as_shape(shape, name)
    found = store_of(graph).vars.get(name)
    if found is not None:
        return _shared(found, name, shape, dtype, reuse)
    if reuse is True:
        raise ValueError(f"Variable {name} does not exist, or was not created with "
                         f"tf.get_variable(). Did you mean to set reuse=tf.AUTO_REUSE in "
                         f"VarScope?")
    if synchronization == VariableSynchronization.ON_READ:
        if trainable:
            raise ValueError(f"get_variable '{name}': synchronization=ON_READ is only for "
                             f"non-trainable variables; pass trainable=False")
        trainable = False
    variable = _create(graph, name, shape, dtype, initializer, from_value,
                       True if trainable is None else bool(trainable), collections)
    store_of(graph).vars[name] = variable
    if regularizer is not None:
        # TF1 names the loss under '<variable>/Regularizer/', whatever the current name scope.
        with graph.within_scope(name + "/Regularizer"):
            loss = regularizer(variable)
        if loss is not None:
            graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
    return variable


def _as_shape(shape, name: str) -> Optional[Tuple]:
    """None (unknown), or a tuple of ints and Nones; an int is a 1-D shape, as TF1's
    TensorShape(5)."""
    if shape is None:
        return None
    if hasattr(shape, "as_list") and getattr(shape, "ndims", 0) is None:
        return None
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    for d in dims:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 0):
            raise ValueError(f"get_variable '{name}': shape must be a list of non-negative ints "
                             f"(or None for an unknown size), got {shape!r}")
    return tuple(None if d is None else int(d) for d in dims)


def _shown(shape) -> str:
    """A shape as TF1 prints it: (3, 2), (?, 2), <unknown>."""
    if shape is None:
        return "<unknown>"
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + (
        ",)" if len(shape) == 1 else ")")


def _shared(found: Variable, name: str, shape, dtype, reuse) -> Variable:
    """The stored variable, checked against what this call asks for."""
    if not reuse:
        raise ValueError(f"Variable {name} already exists, disallowed. Did you mean to set "
                         f"reuse=True or reuse=tf.AUTO_REUSE in VarScope? Originally defined "
                         f"at: {found.site}")
    if shape is not None and (len(shape) != len(found.shape) or any(
            d is not None and d != f for d, f in zip(shape, found.shape))):
        raise ValueError(f"Trying to share variable {name}, but specified shape {_shown(shape)} "
                         f"and found shape {_shown(found.shape)} (made at {found.site}); ask "
                         f"for the same shape, or shape=None to take it as it is")
    if dtype != found.dtype:
        raise ValueError(f"Trying to share variable {name}, but specified dtype {dtype.name} "
                         f"and found dtype {found.dtype.name} (made at {found.site}); pass "
                         f"dtype={found.dtype.name}")
    return found


def _create(graph: Graph, name: str, shape, dtype, initializer, from_value: bool,
            trainable: bool, collections) -> Variable:
    """A new variable named exactly `name` (outside any name scope, as TF1)."""
    if from_value:
        value, variable_dtype = initializer, None  # the value's own dtype, as TF1
    else:
        if initializer is None:
            initializer = _default_initializer(name, dtype)
        if inspect.isclass(initializer):
            initializer = initializer()
        if shape is None or None in shape:
            raise ValueError(f"get_variable '{name}': the shape of a new variable must be fully "
                             f"known to call its initializer, got {_shown(shape)}; pass "
                             f"shape=[...] or a constant initializer")
        value, variable_dtype = _call_initializer(initializer, shape, dtype), dtype
    targets = _collections(collections)
    with graph.within_scope(""):
        variable = Variable(value, name=name, trainable=trainable, dtype=variable_dtype)
    local = collections is not None and GLOBAL_VARIABLES not in targets
    # by identity: == on a tensor builds an op; each collection once, as TF1's set of names
    targets = [k for k in dict.fromkeys(targets)
               if not any(v is variable for v in graph.get_collection(k))]
    if local:
        # TF1 puts it only in the given collections (and TRAINABLE_VARIABLES when trainable)
        return make_local(variable, targets)
    for key in targets:
        graph.add_to_collection(key, variable)
    return variable


def _call_initializer(initializer, shape, dtype):
    try:
        takes_partition = "partition_info" in inspect.signature(initializer).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        takes_partition = False
    if takes_partition:  # TF1 passes it to initializers that take it: one partition here
        return initializer(list(shape), dtype=dtype, partition_info=None)
    return initializer(list(shape), dtype=dtype)


def _default_initializer(name: str, dtype):
    """TF1's default: glorot_uniform for floats, zeros for ints and bools."""
    if _dt.is_floating(dtype):
        return glorot_uniform_initializer()
    if dtype.kind in "iub":
        return zeros_initializer()
    raise ValueError(f"An initializer for variable {name} of {dtype.name} is required; pass "
                     f"initializer=...")


def _collections(collections) -> list:
    """The collections besides TF1's defaults; without GLOBAL_VARIABLES in them, the variable is
    local: out of global_variables(), the global initializer and Saver's default list."""
    return [] if collections is None else list(collections)


def initial_dtype(initializer) -> Optional[object]:
    """The dtype a constant initializer (a value or a tensor) gives its variable."""
    if isinstance(initializer, Node):
        return initializer.dtype
    return _as_array(initializer, None).dtype
