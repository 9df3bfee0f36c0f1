"""The IR: a Graph of Nodes. Each node is one op application with exactly one output, so a node
and the tensor it produces are the same object (users see it as `gf.Tensor`).

Nodes are immutable once made and are appended in creation order, so the creation order is always a
topological order: a node's inputs were made before it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from . import device_spec
from . import dtypes as _dt
from .errors import DTypeError, GraphMismatchError, ShapeError
from .opdef import OpDef
from .printing import format_node
from .shapes import fmt
from .traversal import to_networkx

_PACKAGE_DIRS = tuple(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), d) + os.sep
    for d in ("compiler", "graphflow")
)
_ids = itertools.count()


def user_site() -> str:
    """file:line of the innermost frame outside graphflow (where the user made the op)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_DIRS) and not filename.startswith("<frozen"):
            return f"{os.path.basename(filename)}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


class Node:
    """One node of the graph and the tensor it produces.

    Attributes: op_name (the op's name, unique in its graph), opdef, inputs, attrs, shape (tuple
    with None for unknown sizes, or None for unknown rank), dtype (a numpy dtype; None for ops
    that produce no value), site (the user's file:line where it was created), graph, device
    (TF1's requested device from `gf.device` blocks, '' if none; recorded, not used for placement).
    `name` is TF1's tensor name, 'op_name:0' (a node that produces no value stands for its
    operation and is named 'op_name'). Internals name nodes by op_name (codegen, errors, printing).
    Hashable and compared by identity, so tensors work as feed_dict keys; use gf.equal for values.
    """

    __slots__ = ("graph", "opdef", "inputs", "attrs", "op_name", "shape", "dtype", "site", "id",
                 "control_inputs", "device", "__weakref__")
    # numpy must hand mixed expressions (array + tensor) to our reflected operators.
    __array_ufunc__ = None

    def __init__(self, graph, opdef, inputs, attrs, name, shape, dtype, site, control_inputs=()):
        self.graph = graph
        self.opdef = opdef
        self.inputs = tuple(inputs)
        self.attrs = attrs
        self.op_name = name
        # A tuple that also answers TF1's tensor.shape.as_list() / .ndims; None: unknown rank.
        self.shape = None if shape is None else TensorShape(shape)
        self.dtype = dtype
        self.site = site
        self.control_inputs = tuple(control_inputs)
        self.device = ""
        self.id = next(_ids)

    @property
    def name(self) -> str:
        """TF1's tensor name: 'op_name:0', the first (only) output of the op; a node that makes no
        value stands for its operation and is named 'op_name'."""
        return self.op_name if self.dtype is None else f"{self.op_name}:0"

    @property
    def op(self) -> "Operation":
        """The operation that produces this tensor (TF1's `tensor.op`)."""
        return Operation(self)

    @property
    def type(self) -> str:
        return self.opdef.name

    @property
    def ndim(self) -> Optional[int]:
        return None if self.shape is None else len(self.shape)

    def get_shape(self) -> "TensorShape":
        """TF1's tensor.get_shape(): the static shape, with .as_list() and .ndims."""
        return TensorShape(self.shape)

    def describe(self) -> str:
        """`add 'logits' (model.py:14)`: how errors name a node."""
        return f"{self.opdef.name} '{self.op_name}' ({self.site})"

    def __repr__(self) -> str:
        dtype = self.dtype.name if self.dtype is not None else "none"
        return f"<gf.Tensor '{self.name}' shape={fmt(self.shape)} dtype={dtype}>"

    def __bool__(self):
        raise TypeError(
            f"tensor '{self.op_name}' has no truth value while the graph is being built; "
            "use gf.where / gf.equal for elementwise logic, or sess.run it first")

    def __iter__(self) -> Iterator["Node"]:
        if self.shape is None or not self.shape or self.shape[0] is None:
            raise TypeError(f"cannot iterate over tensor '{self.op_name}' of shape "
                            f"{fmt(self.shape)}")
        return (self[i] for i in range(self.shape[0]))

    def __len__(self) -> int:
        if self.shape is None or not self.shape or self.shape[0] is None:
            raise TypeError(f"tensor '{self.op_name}' of shape {fmt(self.shape)} has no static "
                            f"length")
        return self.shape[0]

    # Arithmetic operators are attached by compiler.operators once the ops exist.


class TensorShape(tuple):
    """A static shape as TF1 code reads it: a tuple with .as_list() and .ndims (None for unknown
    sizes; an unknown rank is an empty shape whose ndims is None)."""

    def __new__(cls, shape):
        obj = super().__new__(cls, () if shape is None else shape)
        obj.known_rank = shape is not None
        return obj

    @property
    def ndims(self) -> Optional[int]:
        return len(self) if self.known_rank else None

    def as_list(self) -> list:
        if not self.known_rank:
            raise ValueError("as_list() is not defined on an unknown rank")
        return list(self)


def _seed_bits(seed) -> int:
    """A seed as numpy takes it: TF1 allows negative seeds; their two's complement is used."""
    return int(seed) & 0xFFFFFFFFFFFFFFFF


class Operation:
    """TF1's view of the op that makes a tensor. Fetching an Operation runs it and returns None."""

    __slots__ = ("node",)

    def __init__(self, node: Node):
        self.node = node

    name = property(lambda self: self.node.op_name)
    # TF1's op type ("MatMul"); graphflow's own op name is node.type
    type = property(lambda self: self.node.opdef.tf_type or self.node.opdef.name)
    graph = property(lambda self: self.node.graph)
    inputs = property(lambda self: list(self.node.inputs))
    outputs = property(lambda self: [self.node] if self.node.dtype is not None else [])
    device = property(lambda self: self.node.device)
    node_def = property(lambda self: device_spec.node_def(self.node), doc="TF1's NodeDef view.")

    def __eq__(self, other):
        return isinstance(other, Operation) and other.node is self.node

    def __hash__(self):
        return hash(self.node)

    def __repr__(self) -> str:
        return f"<gf.Operation '{self.node.op_name}' type={self.node.opdef.name}>"


class Graph:
    """A dataflow graph. Use `with g.as_default():` to build into it."""

    def __init__(self):
        self.nodes: List[Node] = []
        self.collections: Dict[str, list] = {}
        self.seed: Optional[int] = None  # graph-level random seed (gf.set_random_seed)
        self._draws = 0  # random draws made so far: the default op-level seed, as in TF1
        self._names: Dict[str, int] = {}
        self._scope: List[str] = []
        self._site: Optional[str] = None
        self._control: List[List[Node]] = []  # the stack of control_dependencies blocks
        self._devices: list = []  # the stack of device blocks: canonical strings, functions, None

    # -- building -------------------------------------------------------------------------------
    def unique_name(self, base: str) -> str:
        """Prefix `base` with the current name scope and make it unique: x, x_1, x_2, ...
        Names are unique ignoring case, as in TF1 ("MatMul" then "matmul" gives "matmul_1")."""
        if ":" in base:
            raise ValueError(f"invalid name {base!r}: ':' is reserved (TF1 writes 'x:0' for the "
                             f"first output of op x)")
        if self._scope:
            base = "/".join(self._scope) + "/" + base
        key = base.lower()
        if key not in self._names:
            self._names[key] = 0
            return base
        while True:
            self._names[key] += 1
            suffix = f"_{self._names[key]}"
            if key + suffix not in self._names:
                self._names[key + suffix] = 0
                return base + suffix

    @contextlib.contextmanager
    def name_scope(self, name: str):
        """Prefix the names of nodes created inside with `name/` (nested scopes join with '/')."""
        if not name:
            yield ""
            return
        scoped = "/".join(self._scope + [name])
        if scoped.lower() in self._names:  # a second "layer" scope becomes "layer_1", as in TF1
            name = self.unique_name(name).rsplit("/", 1)[-1]
        else:
            self._names[scoped.lower()] = 0
        self._scope.append(name)
        try:
            yield "/".join(self._scope)
        finally:
            self._scope.pop()

    @contextlib.contextmanager
    def within_scope(self, scope: str):
        """Nodes made inside are named under `scope` as it is (no renaming of the scope): passes
        keep the nodes they make next to the node they replace."""
        outer, self._scope = self._scope, [scope] if scope else []
        try:
            yield
        finally:
            self._scope = outer

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        """Nodes made inside the block run after `control_inputs` (tensors or ops). None clears
        the outer blocks' dependencies, as in TF1."""
        if control_inputs is None:
            outer, self._control = self._control, []
            try:
                yield
            finally:
                self._control = outer
            return
        deps = []
        for c in control_inputs:
            node = c.node if isinstance(c, Operation) else c
            if not isinstance(node, Node):
                raise TypeError(f"control_dependencies: {c!r} is not a tensor or an operation")
            if node.graph is not self:
                raise GraphMismatchError(f"control_dependencies: '{node.op_name}' belongs to "
                                         f"another graph")
            deps.append(node)
        self._control.append(deps)
        try:
            yield
        finally:
            self._control.pop()

    def current_control_inputs(self) -> List[Node]:
        """The control inputs a node made now gets (from every enclosing block)."""
        return list(dict.fromkeys(n for deps in self._control for n in deps))

    @contextlib.contextmanager
    def device(self, device_name_or_function):
        """Nodes made inside record this device (TF1's `op.device`): a string such as '/gpu:0'
        (its fields merge over the outer blocks'), a function of the Operation returning one, or
        None (clears the outer blocks). graphflow runs every node on the session's backend."""
        self._devices.append(device_spec.block_entry(device_name_or_function))
        try:
            yield
        finally:
            self._devices.pop()

    @contextlib.contextmanager
    def creation_site(self, site: str):
        """Nodes made inside the block record `site` instead of the caller's file:line, so that a
        compiler pass rewriting a user's node leaves the user's site on its replacement."""
        outer, self._site = self._site, site
        try:
            yield
        finally:
            self._site = outer

    def add_node(self, opdef: OpDef, inputs: Sequence[Node], attrs: Optional[dict] = None,
                 name: Optional[str] = None, node: Optional[Node] = None,
                 site: Optional[str] = None,
                 control_inputs: Optional[Sequence[Node]] = None) -> Node:
        """Create a node: check its inputs belong here, infer its shape and dtype, record the site.

        `node` lets a Node subclass (Variable) initialize an instance it has already made; `site`
        overrides the creation site (passes copy the user's site onto the nodes they make);
        `control_inputs` defaults to those of the enclosing control_dependencies blocks.
        """
        attrs = dict(attrs or {})
        site = site or self._site or user_site()
        for x in inputs:
            if not isinstance(x, Node):
                raise TypeError(f"{opdef.name} ({site}): input {x!r} is not a tensor")
            if x.graph is not self:
                raise GraphMismatchError(
                    f"{opdef.name} ({site}): input '{x.op_name}' belongs to another graph than the "
                    f"other inputs/the default graph; tensors from two graphs cannot be mixed "
                    f"('{x.op_name}' made at {x.site})")
        self._check_strings(opdef, name, site, inputs, None)
        try:
            shape, dtype = opdef.infer(list(inputs), **attrs)
        except (ShapeError, DTypeError):
            raise
        except TypeError as exc:
            raise DTypeError(self._build_error(opdef, name, site, inputs, exc)) from None
        except ValueError as exc:
            raise ShapeError(self._build_error(opdef, name, site, inputs, exc)) from None
        self._check_strings(opdef, name, site, inputs, dtype)
        node = Node.__new__(Node) if node is None else node
        if control_inputs is None:
            control_inputs = [c for c in self.current_control_inputs() if c not in inputs]
        name = self.unique_name(name or opdef.tf_type or opdef.name)  # TF1's default: the op type
        Node.__init__(node, self, opdef, inputs, attrs, name,
                      shape, None if dtype is None else np.dtype(dtype), site, control_inputs)
        if self._devices:
            device_spec.place(node, Operation(node), self._devices)
        self.nodes.append(node)
        return node

    def _check_strings(self, opdef, name, site, inputs, dtype) -> None:
        """Only ops marked `strings` take or make strings: no string value ever reaches a numeric
        kernel, generated numeric code or a device."""
        if opdef.strings:
            return
        bad = [x for x in inputs if _dt.is_string(x.dtype)]
        if not bad and (dtype is None or np.dtype(dtype) != _dt.string):
            return
        what = (f"input '{bad[0].op_name}' is a string tensor" if bad
                else "it cannot make a string tensor")
        exc = TypeError(f"{opdef.name} does not work on strings ({what}); strings support "
                        f"identity, equal, not_equal, + (concatenation), gf.strings.join, "
                        f"reshape, concat, stack, gather and slicing; gf.as_string turns "
                        f"numbers into strings")
        raise DTypeError(self._build_error(opdef, name, site, inputs, exc))

    def _build_error(self, opdef, name, site, inputs, exc) -> str:
        shown = ", ".join(f"'{x.op_name}' {fmt(x.shape)} {_dt.short_name(x.dtype)}" for x in inputs)
        label = f" '{name}'" if name else ""
        return f"{opdef.name}{label} ({site}): {exc}; inputs: {shown or 'none'}"

    # -- randomness -------------------------------------------------------------------------------
    # TF 1.15's rule (tensorflow/python/framework/random_seed.py, get_seed): graph seed and op
    # seed -> both; graph seed only -> a per-graph counter as op seed; op seed only ->
    # (DEFAULT_GRAPH_SEED, op seed); neither -> (None, None), fresh randomness.
    DEFAULT_GRAPH_SEED = 87654321  # TF1's, used when only an op seed is given

    def random_state(self, op_seed: Optional[int] = None) -> np.random.Generator:
        """A generator for one random draw (an initializer, a random op), seeded with the pair
        `op_seed(op_seed)` gives: with a graph seed or an op seed, the same program built again
        in a fresh graph draws the same numbers; with neither, every draw is fresh."""
        seeds = self.op_seed(op_seed)
        return np.random.default_rng(None if seeds is None else list(seeds))

    def op_seed(self, op_seed: Optional[int] = None) -> Optional[Tuple[int, int]]:
        """The (graph seed, op seed) pair of a new random op, TF1's rules: None when neither is
        set (fresh randomness); a per-graph counter stands in for a missing op seed."""
        self._draws += 1
        if self.seed is None and op_seed is None:
            return None
        graph_seed = self.DEFAULT_GRAPH_SEED if self.seed is None else self.seed
        return (_seed_bits(graph_seed), _seed_bits(self._draws if op_seed is None else op_seed))

    # -- collections ------------------------------------------------------------------------------
    def add_to_collection(self, key: str, value) -> None:
        self.collections.setdefault(key, []).append(value)

    def get_collection(self, key: str) -> list:
        return list(self.collections.get(key, []))

    # -- default graph --------------------------------------------------------------------------
    @contextlib.contextmanager
    def as_default(self):
        """Make this the graph that ops are built into for the duration of the `with` block."""
        _stack().append(self)
        try:
            yield self
        finally:
            _stack().pop()

    def to_networkx(self):
        """The graph as a networkx.MultiDiGraph, for analysing it with networkx's algorithms.

            G = gf.get_default_graph().to_networkx()
            nx.is_directed_acyclic_graph(G)                     # True
            nx.ancestors(G, "loss")                             # the names `loss` depends on

        One graph node per IR node, keyed by its op_name (unique in a Graph), with attributes op
        (the op's name), shape, dtype and node (the Node itself). One edge input -> consumer per
        input, keyed and attributed by its position (add(x, x) is two edges, hence a multigraph),
        `control=False`; one edge per control input, keyed "control", position None,
        `control=True`.
        """
        return to_networkx(self.nodes)

    def __str__(self) -> str:
        return "\n".join(format_node(n) for n in self.nodes)

    def __repr__(self) -> str:
        return f"<gf.Graph with {len(self.nodes)} nodes>"


# -- the default-graph stack, one per thread -------------------------------------------------
_local = threading.local()
_global_default: List[Graph] = [Graph()]


def _stack() -> List[Graph]:
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def get_default_graph() -> Graph:
    """The graph new ops go into: the innermost `as_default()` graph, else the global default."""
    stack = _stack()
    return stack[-1] if stack else _global_default[0]


def reset_default_graph() -> None:
    """Replace the global default graph by a new, empty one."""
    if _stack():
        raise RuntimeError(
            "reset_default_graph() cannot be called inside a `with graph.as_default()` block")
    _global_default[0] = Graph()


def graph_of(values: Sequence) -> Graph:
    """The graph that a list of operands belongs to: their common graph, else the default graph."""
    first = None
    for v in values:
        if isinstance(v, Node):
            if first is None:
                first = v
            elif v.graph is not first.graph:
                raise GraphMismatchError(
                    f"tensors '{first.op_name}' ({first.site}) and '{v.op_name}' ({v.site}) come "
                    f"from "
                    f"different graphs; build all tensors of one computation in the same graph")
    return first.graph if first is not None else get_default_graph()
