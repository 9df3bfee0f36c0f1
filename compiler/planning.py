"""Scheduling and memory planning for code generation.

1. schedule  a topological order in which variable updates come as late as possible, after every
             read of the variable they overwrite (reads see the value at the start of the run);
             an update that reads another variable's start value goes before that variable's
             update. Reads that cannot be ordered so make the Program use the interpreter.
2. memory    liveness over the schedule: a value dies after its last use (views keep their base
             alive); each op that can write into `out=` gets a buffer preallocated once for this
             shape signature, reusing buffers of dead values; elementwise ops write over an input
             that dies there; a value assigned to a variable is computed straight into it where
             nothing reads the old value later. Outputs never live in buffers.
"""

from __future__ import annotations

import heapq
from collections import Counter
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from .errors import GraphflowError
from .function import Function
from .graph import Node
from .ops.core import CONSTANT, PLACEHOLDER
from .ops.state import VARIABLE
from .shapes import is_fully_known
from .traversal import consumers, reachable

SOURCES = (PLACEHOLDER, CONSTANT, VARIABLE)


class CompileError(GraphflowError):
    """The function cannot be turned into code (the Session then uses the interpreter)."""


# -- 1. schedule ---------------------------------------------------------------------------------
def is_update(node: Node) -> bool:
    return node.opdef.updates


def schedule(fn: Function) -> List[Node]:
    """Topological order, taking variable updates (and what needs them) only when nothing else is
    ready; ties go by the original order. An update that reads another variable's start-of-run
    value (w_old.assign(w)) goes before the in-place update of that variable; where that cannot
    be (a swap), some node is left out and generate() hands the signature to the interpreter."""
    index = {n: i for i, n in enumerate(fn.nodes)}
    roots = storage_roots(fn.nodes)
    old_readers = _old_value_readers(fn.nodes, roots)
    users: Dict[Node, List[Node]] = {n: [] for n in fn.nodes}  # with the extra ordering edges
    waiting = {}
    for n in fn.nodes:
        deps = set(n.inputs) | set(n.control_inputs)
        if is_update(n):  # the updates reading this variable's start value go first
            deps.update(w for w in old_readers.get(roots[n.inputs[0]], ()) if w is not n)
        waiting[n] = len(deps)
        for d in deps:
            users[d].append(n)
    ready = [(is_update(n), index[n], n) for n in fn.nodes if waiting[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, _, node = heapq.heappop(ready)
        order.append(node)
        for c in users[node]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, (is_update(c), index[c], c))
    return order


def _old_value_readers(nodes: Sequence[Node], roots: Dict[Node, Node]) -> Dict[Node, List[Node]]:
    """Variable -> the updates that read (as a value, not as their target) its start-of-run
    value: they must run before the in-place updates of that variable."""
    start = start_values(nodes)
    readers: Dict[Node, List[Node]] = {}
    for w in nodes:
        if is_update(w):
            for i in value_inputs(w)[1:]:
                if start[i]:
                    readers.setdefault(roots[i], []).append(w)
    return readers


def storage_root(node: Node, roots: Dict[Node, Node]) -> Node:
    """The node whose storage `node`'s value lives in (through views)."""
    return roots[node.inputs[0]] if node.opdef.view or node.opdef.updates else node


def storage_roots(nodes: Sequence[Node]) -> Dict[Node, Node]:
    """storage_root of every node of a topological order, in one walk."""
    roots: Dict[Node, Node] = {}
    for n in nodes:
        roots[n] = storage_root(n, roots)
    return roots


def _reads_old_value(node: Node) -> bool:
    """Whether `node` (a variable, or a view of one) stands for the variable's value at the start
    of the run, rather than for the value an update gave it."""
    while True:
        if node.opdef is VARIABLE:
            return True
        if is_update(node):
            return False
        if not node.opdef.view:
            return False
        node = node.inputs[0]


def start_values(nodes: Sequence[Node]) -> Dict[Node, bool]:
    """_reads_old_value of every node of a topological order, in one walk (each view asks its
    source, already known, instead of walking the whole chain of views again)."""
    start: Dict[Node, bool] = {}
    for n in nodes:
        if n.opdef is VARIABLE:
            start[n] = True
        elif is_update(n) or not n.opdef.view:
            start[n] = False
        else:
            src = n.inputs[0]
            start[n] = start[src] if src in start else _reads_old_value(src)
    return start


def check_updates(order: List[Node], roots: Dict[Node, Node]) -> None:
    """Every read of a variable's old value (the variable or a view of it, as opposed to what
    an update returns) must come before the in-place update of it; otherwise the Program runs
    this signature in the interpreter.

    One walk: each variable's first update is remembered; a later read of its old value is a
    violation. The error names the violation met first by scanning, update by update in order,
    the nodes after each update: the earliest first update with a late reader, and its first
    late reader."""
    start = start_values(order)
    first_update: Dict[Node, Tuple[int, Node]] = {}  # variable -> (position, its first update)
    found = None  # (position of the update, reader, variable, update)
    for p, node in enumerate(order):
        if node.type != "read_variable":  # reads the value as it is now, by design
            for k, i in enumerate(value_inputs(node)):
                if is_update(node) and k == 0:
                    continue  # the variable an update writes, not a read of it
                upd = first_update.get(roots[i])
                if upd is not None and start[i] and (found is None or upd[0] < found[0]):
                    found = (upd[0], node, roots[i], upd[1])
        if is_update(node):
            first_update.setdefault(roots[node.inputs[0]], (p, node))
    if found is not None:
        _, node, var, upd = found
        raise CompileError(f"{node.describe()} reads the start-of-run value of variable "
                           f"'{var.op_name}' after its in-place update {upd.describe()}")


def value_inputs(node: Node):
    n = node.opdef.value_inputs
    return node.inputs if n is None else node.inputs[:n]


# -- 2. memory -----------------------------------------------------------------------------------
def direct_writes(order: List[Node], outputs: Tuple[Node, ...], roots: Dict[Node, Node],
                  writes_out: Callable[[Node], bool]) -> Dict[Node, Node]:
    """Values computed straight into the variable they are assigned to (node -> variable), so
    `v.assign(b1 * v + (1 - b1) * g)` costs no copy: the last op writes with out=<v>. Only where
    the backend's rule for that op can write into `out=` (writes_out), and nothing reads the
    variable's old value after that op (other than what follows the assign)."""
    position = {n: i for i, n in enumerate(order)}
    users = consumers(order)
    updates = [n for n in order if is_update(n)]
    writes = Counter(roots[u.inputs[0]] for u in updates)
    readers = _readers(order, roots, {roots[u.inputs[0]] for u in updates})
    base = view_bases(order)
    direct: Dict[Node, Node] = {}
    for a in updates:
        var, value = roots[a.inputs[0]], a.inputs[1]
        if (a.type != "assign" or writes[var] != 1
                or not writes_out(value)
                or value in outputs or roots[value] is not value or value.control_inputs
                or value.shape != var.shape or value.dtype != var.dtype
                or users.get(value) != [a]):
            continue
        reads_var = any(roots[i] is var for i in value_inputs(value))
        if reads_var and not value.opdef.inplace:
            continue  # e.g. a matmul must not write over its own operand
        late = (r for r in readers[var] if r is not a and position[r] > position[value])
        if all(_follows(a, r, position, users, base) for r in late):
            direct[value] = var
    return direct


def view_bases(nodes: Sequence[Node]) -> Dict[Node, Node]:
    """Node -> the node at the bottom of its chain of views (itself where it is no view)."""
    base: Dict[Node, Node] = {}
    for n in nodes:
        base[n] = base.get(n.inputs[0], n.inputs[0]) if n.opdef.view else n
    return base


def _readers(order, roots, variables) -> Dict[Node, List[Node]]:
    """Variable -> the nodes having a value input stored in it (the variable, a view of it, what
    an update of it returns), in order."""
    readers: Dict[Node, List[Node]] = {v: [] for v in variables}
    for r in order:
        for var in dict.fromkeys(roots[i] for i in value_inputs(r)):
            if var in readers:
                readers[var].append(r)
    return readers


def _follows(a: Node, r: Node, position, users, base) -> bool:
    """Whether `r` depends on `a` (follows what the assign computes)."""
    if position[r] < position[a]:
        return False  # a topological order puts whatever depends on `a` after it
    if any(base[i] is a for i in value_inputs(r)):
        return True  # reads what the assign returns, or a view of it
    # Rare (a read_variable after the assign; any other read of the old value there is an
    # error of check_updates): search from `a`, no further than `r`'s position.
    return r in reachable([a], lambda n: [c for c in users.get(n, ())
                                          if c is r or position[c] < position[r]])


def plan_memory(order: List[Node], outputs: Tuple[Node, ...], roots: Dict[Node, Node],
                writes_out: Callable[[Node], bool], direct: Dict[Node, Node]
                ) -> Tuple[Dict[Node, int], Dict[int, Tuple[tuple, np.dtype]],
                           Dict[int, List[Node]]]:
    """Buffers for nodes whose backend rule can write into `out=` (writes_out; never for
    outputs): (node -> buffer id, buffer id -> (shape, dtype), position -> nodes whose names can
    be deleted after that position)."""
    position = {n: i for i, n in enumerate(order)}
    end = len(order)
    last_use: Dict[Node, int] = {}
    for n in order:
        for i in value_inputs(n):
            last_use[i] = position[n]
    for o in outputs:
        last_use[o] = end
    # A storage root lives as long as the longest-lived view of it.
    root_end: Dict[Node, int] = {}
    for n in order:
        r = roots[n]
        root_end[r] = max(root_end.get(r, -1), last_use.get(n, position[n]))
    dies_at: Dict[int, List[Node]] = {}
    for r, e in root_end.items():
        dies_at.setdefault(e, []).append(r)
    names_die: Dict[int, List[Node]] = {}
    for n, e in last_use.items():
        if e < end:
            names_die.setdefault(e, []).append(n)

    assignment: Dict[Node, int] = {}
    buffers: Dict[int, Tuple[tuple, np.dtype]] = {}
    free: Dict[Tuple[tuple, str], List[int]] = {}

    def release(nodes):
        for r in nodes:
            if r in assignment:
                b = assignment[r]
                free.setdefault((buffers[b][0], buffers[b][1].str), []).append(b)

    out_set = set(outputs)
    for p, node in enumerate(order):
        dying = dies_at.get(p, [])
        wants = (writes_out(node) and node not in out_set and node not in direct
                 and is_fully_known(node.shape))
        if wants and node.opdef.inplace:
            # Write over an input that dies here, if it owns its buffer and has our shape.
            release([r for r in dying if r in node.inputs and r.shape == node.shape])
            dying = [r for r in dying if not (r in node.inputs and r.shape == node.shape)]
        if wants:
            pool = free.get((node.shape, node.dtype.str))
            if pool:
                assignment[node] = pool.pop()
            else:
                assignment[node] = len(buffers)
                buffers[assignment[node]] = (node.shape, node.dtype)
        release(dying)
    return assignment, buffers, names_die
