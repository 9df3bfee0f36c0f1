"""Code generation, step 1: an optimized Function as a list of statements, for any backend.

    x, W1 (params)  ->  Statement(node=matmul, target="matmul", args=("x", "W1"), out="_buf0")
                        Statement(node=add, target="add", args=("matmul", "b1"), out="_buf0",
                                  frees=("matmul",))
                        ...
                        Statement(node=None, hold=True)      # Ctrl-C waits from here on
                        Statement(node=assign_sub, target="W1_update", args=("W1", "mul_3"))

The schedule and the memory plan come from planning.py (updates last, `out=` buffers reused,
values computed straight into the variables they are assigned to); atomic.py says which
variables a failed run must put back. Each backend renders the statements to source
(compiler/codegen.py with the backend's lowering table); the profiler instruments statements.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .atomic import undo_list, write_positions
from .function import Function
from .graph import Node
from .ops.core import CONSTANT, PLACEHOLDER
from .ops.state import VARIABLE
from .planning import (
    SOURCES,
    CompileError,
    check_updates,
    direct_writes,
    is_update,
    plan_memory,
    schedule,
    storage_roots,
    value_inputs,
)
from .shapes import ShapeOf

_IDENT = re.compile(r"[^0-9a-zA-Z_]")


class Names:
    """Python identifiers for the generated code: made from node names, never taken twice."""

    def __init__(self, taken: Sequence[str] = ()):
        self.taken = set(taken)

    def make(self, hint: str) -> str:
        base = _IDENT.sub("_", hint) or "v"
        if base[0].isdigit() or keyword.iskeyword(base):
            base = "v_" + base
        name, k = base, 1
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name


@dataclass
class Statement:
    """One step of the generated function: a node's computation (node set), or a step of the
    program's own: holding Ctrl-C before its first in-place write (hold), or copying a fetched
    variable before it is updated (target and snapshot only). `code` is filled by rendering."""

    node: Optional[Node] = None
    target: Optional[str] = None       # the name the node's value is bound to
    args: Tuple[str, ...] = ()         # its value inputs, by name
    shapes: Tuple[str, ...] = ()       # its inputs read for their shape only (bound ShapeOfs)
    out: Optional[str] = None          # the buffer or variable its value is written into
    written: bool = False              # an update whose value is already in the variable
    snapshot: Optional[str] = None     # a copy of the value, taken right after it
    frees: List[str] = field(default_factory=list)  # names that die after it
    hold: bool = False
    code: List[str] = field(default_factory=list)
    nodes: Tuple[Node, ...] = ()       # what a backend's compiled run of statements computes


@dataclass
class Result:
    """One output: the name holding it (None: the fetch has no value), whether to hand out a copy
    (the program or the session keeps the array), whether it is 0-d."""

    name: Optional[str]
    copy: bool = False
    scalar: bool = False
    string: bool = False               # a host object array (string dtype) on any backend


@dataclass
class Listing:
    """A function's statements and what rendering them needs."""

    params: Tuple[str, ...]               # feeds, then variables
    variables: Tuple[Node, ...]           # passed after the feeds, in this order
    statements: List[Statement]
    results: List[Result]
    constants: Dict[str, object]          # name -> a constant's value (the backend converts it)
    objects: Dict[str, object]            # name -> an object bound as it is (ShapeOf)
    buffers: Dict[str, Tuple[tuple, np.dtype, Node]]  # name -> (shape, dtype, first node in it)
    undo: Tuple[int, ...]                 # variables to copy first (atomic.py)
    names: Names


def make_listing(fn: Function, writes_out: Callable[[Node], bool], reuse_memory: bool,
                 none_outputs: Sequence[bool] = (), check_numerics: bool = False,
                 modules: Sequence[str] = ()) -> Listing:
    """The statements computing `fn` (module docstring). `writes_out(node)`: the backend's rule
    for the node can write into `out=` (used only with reuse_memory)."""
    order = schedule(fn)
    if len(order) != len(fn.nodes):
        raise CompileError("updates read each other's start-of-run values in a cycle (a swap)")
    roots = storage_roots(order)
    check_updates(order, roots)
    if not reuse_memory:
        writes_out = _never
    direct = direct_writes(order, fn.outputs, roots, writes_out) if reuse_memory else {}
    assignment, buffers, names_die = plan_memory(order, fn.outputs, roots, writes_out, direct)
    return _Lister(fn, order, roots, direct, assignment, buffers, modules).run(
        names_die, none_outputs, check_numerics)


def _never(node: Node) -> bool:
    return False


class _Lister:
    """Names every value and makes the statements, in schedule order."""

    def __init__(self, fn, order, roots, direct, assignment, buffers, modules):
        self.fn, self.order, self.roots, self.direct = fn, order, roots, direct
        self.assignment = assignment
        self.names = Names(modules)
        self.value: Dict[Node, str] = {}
        self.constants: Dict[str, object] = {}
        self.objects: Dict[str, object] = {}
        self.buffer_names = {b: self.names.make(f"_buf{b}") for b in buffers}
        first: Dict[int, Node] = {}  # each buffer's first node, named if it cannot be allocated
        for node, b in assignment.items():
            first.setdefault(b, node)
        self.buffers = {self.buffer_names[b]: (shape, dtype, first[b])
                        for b, (shape, dtype) in buffers.items()}

    def run(self, names_die, none_outputs, check_numerics) -> Listing:
        fn, order = self.fn, self.order
        variables = tuple(n for n in order if n.opdef is VARIABLE)
        params = tuple(self.value.setdefault(n, self.names.make(n.op_name))
                       for n in list(fn.inputs) + list(variables))
        # Fetched values of variables this run updates in place are copied before the update:
        # a read sees the value at the start of the run.
        # (Not for fetches whose value is not returned: an op fetched as an op.)
        updated = {self.roots[n] for n in order if is_update(n)}
        returned = [not none for none in none_outputs] if none_outputs else [True] * len(
            fn.outputs)
        snapshots = {o: self.names.make(o.op_name + "_value")
                     for o, wanted in zip(fn.outputs, returned)
                     if wanted and self.roots[o] in updated}
        first_write = min(write_positions(order, self.roots, self.direct).values(), default=-1)
        statements: List[Statement] = []
        for p, node in enumerate(order):
            if p == first_write:  # from here to the end of the run, Ctrl-C waits (atomic.py)
                statements.append(Statement(hold=True))
            stmt = self._statement(node)
            if stmt is None and node in snapshots:  # a fetched variable: only its copy
                stmt = Statement(target=self.value[node])
            if stmt is not None:
                stmt.snapshot = snapshots.get(node)
                statements.append(stmt)
            self._free(statements, names_die.get(p, ()))
        undo = undo_list(order, variables, self.roots, check_numerics, self.direct,
                         set(self.assignment) | set(self.direct))
        return Listing(params, variables, statements,
                       self._results(none_outputs, snapshots), self.constants, self.objects,
                       self.buffers, undo, self.names)

    def _statement(self, node: Node) -> Optional[Statement]:
        op = node.opdef
        if op is PLACEHOLDER or op is VARIABLE:
            return None
        if op is CONSTANT:
            self.value[node] = self.names.make(f"_c{len(self.constants)}")
            self.constants[self.value[node]] = node.attrs["value"]
            return None
        if node.dtype is None:  # group: its inputs already ran
            self.value[node] = "None"
            return None
        args = tuple(self.value[i] for i in value_inputs(node))
        shapes = tuple(self._bind_shape(i) for i in node.inputs[len(args):])
        target = self.value.setdefault(node, self.names.make(node.op_name))
        if node in self.direct:  # computed straight into the variable it is assigned to
            out = self.value[self.direct[node]]
        elif node in self.assignment:
            out = self.buffer_names[self.assignment[node]]
        else:
            out = None
        written = is_update(node) and node.inputs[-1] in self.direct
        return Statement(node, target, args, shapes, out, written)

    def _bind_shape(self, node: Node) -> str:
        name = self.names.make(f"_shape{len(self.objects)}")
        self.objects[name] = ShapeOf(node.shape, node.dtype)
        return name

    def _free(self, statements: List[Statement], dead: Sequence[Node]) -> None:
        """Names dead after this point, deleted after the last statement so far."""
        names = [self.value[n] for n in dead
                 if self.value.get(n, "None") != "None" and not self.value[n].startswith("_")]
        if not names:
            return
        if not statements:
            statements.append(Statement())
        # A value dies at one position only: names from different positions never repeat.
        statements[-1].frees.extend(dict.fromkeys(names))

    def _results(self, none_outputs, snapshots) -> List[Result]:
        fn, roots = self.fn, self.roots
        none_outputs = tuple(none_outputs) or (False,) * len(fn.outputs)
        results = []
        for o, is_none in zip(fn.outputs, none_outputs):
            if is_none or o.dtype is None:
                results.append(Result(None))
                continue
            name = snapshots.get(o) or self.value[o]
            kept = roots[o].opdef in SOURCES or o in self.assignment or roots[o] is not o
            copy = o not in snapshots and name != "None" and kept
            results.append(Result(name, copy, o.shape == (), o.dtype == np.dtype(object)))
        return results
