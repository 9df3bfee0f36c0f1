"""Code generation: an optimized Function becomes one straight-line Python function, one numpy call
per node, named after the nodes, compiled with `exec`.

    def step(x, y, W1, b1, W2, b2):
        matmul = np.matmul(x, W1, out=_buf0)
        add = np.add(matmul, b1, out=_buf0)      # in place: matmul dies here
        ...
        W1 -= multiply_2                         # variables are updated in place
        return (loss, None)

Three steps:
1. schedule  a topological order in which variable updates come as late as possible, after every
             read of the variable they overwrite (reads see the value at the start of the run).
2. memory    liveness over the schedule: a value dies after its last use (views keep their base
             alive); each op that can write into `out=` gets a buffer preallocated once for this
             shape signature, reusing buffers of dead values, and elementwise ops write over an
             input that dies at that node. Outputs never live in buffers, so arrays returned to
             the caller are never overwritten by a later run.
3. emit      the source text, registered with linecache so tracebacks show the generated line.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import keyword
import linecache
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import numerics
from .errors import GraphflowError
from .function import Function
from .graph import Node
from .ops.core import CONSTANT, PLACEHOLDER
from .ops.state import VARIABLE
from .shapes import ShapeOf, is_fully_known, num_elements

_SOURCES = (PLACEHOLDER, CONSTANT, VARIABLE)
_program_ids = itertools.count()


class CompileError(GraphflowError):
    """The function cannot be turned into code (the Session then uses the interpreter)."""


@dataclass
class Generated:
    """The result of code generation."""

    source: str
    function: callable
    filename: str
    variables: Tuple[Node, ...]        # passed after the feeds, in this order
    variable_names: Tuple[str, ...]    # their names (the keys of the variable store)
    undo: Tuple[int, ...]              # variables to copy first: computation follows an update
    needs_state: bool                  # takes the session's store last (random ops)
    ops: Tuple[str, ...]               # op types executed, in order
    line_nodes: Dict[int, Node]        # source line -> node computed there
    buffers: Dict[str, np.ndarray] = field(default_factory=dict)


# -- 1. schedule ---------------------------------------------------------------------------------
def _is_update(node: Node) -> bool:
    return node.opdef.emit_update


def schedule(fn: Function) -> List[Node]:
    """Topological order, taking variable updates (and what needs them) only when nothing else is
    ready; ties go by the original order. An update that reads another variable's start-of-run
    value (w_old.assign(w)) goes before the in-place update of that variable; where that cannot
    be (a swap), some node is left out and generate() hands the signature to the interpreter."""
    index = {n: i for i, n in enumerate(fn.nodes)}
    roots: Dict[Node, Node] = {}
    for n in fn.nodes:
        roots[n] = _root(n, roots)
    writers: Dict[Node, List[Node]] = {}
    for n in fn.nodes:
        if _is_update(n):
            writers.setdefault(roots[n.inputs[0]], []).append(n)
    consumers: Dict[Node, List[Node]] = {n: [] for n in fn.nodes}
    waiting = {}
    for n in fn.nodes:
        deps = set(n.inputs) | set(n.control_inputs)
        for later in _old_value_readers_first(n, roots, writers):
            deps.add(later)
        waiting[n] = len(deps)
        for d in deps:
            consumers[d].append(n)
    ready = [(_is_update(n), index[n], n) for n in fn.nodes if waiting[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, _, node = heapq.heappop(ready)
        order.append(node)
        for c in consumers[node]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, (_is_update(c), index[c], c))
    return order


def _old_value_readers_first(node: Node, roots, writers) -> List[Node]:
    """For an update `node`: the other updates that read (as a value, not as their target) the
    start-of-run value of the variable `node` writes; they must run before it."""
    if not _is_update(node):
        return []
    var = roots[node.inputs[0]]
    return [w for ws in writers.values() for w in ws
            if w is not node and any(roots[i] is var and _reads_old_value(i)
                                     for i in _value_inputs(w)[1:])]


def _root(node: Node, roots: Dict[Node, Node]) -> Node:
    """The node whose storage `node`'s value lives in (through views)."""
    return roots[node.inputs[0]] if node.opdef.view or node.opdef.emit_update else node


def _reads_old_value(node: Node) -> bool:
    """Whether `node` (a variable, or a view of one) stands for the variable's value at the start
    of the run, rather than for the value an update gave it."""
    while True:
        if node.opdef is VARIABLE:
            return True
        if _is_update(node):
            return False
        if not node.opdef.view:
            return False
        node = node.inputs[0]


def _check_updates(order: List[Node], roots: Dict[Node, Node]) -> None:
    """Every read of a variable's old value (the variable or a view of it, as opposed to what
    an update returns) must come before the in-place update of it; otherwise the Program runs
    this signature in the interpreter."""
    position = {n: i for i, n in enumerate(order)}
    for upd in (n for n in order if _is_update(n)):
        var = roots[upd.inputs[0]]
        for node in order[position[upd] + 1:]:
            if node.type == "read_variable":
                continue  # reads the value as it is now, by design (control dependencies)
            for k, i in enumerate(_value_inputs(node)):
                if _is_update(node) and k == 0:
                    continue  # the variable an update writes, not a read of it
                if roots[i] is var and _reads_old_value(i):
                    raise CompileError(f"{node.describe()} reads the start-of-run value of "
                                       f"variable '{var.name}' after its in-place update "
                                       f"{upd.describe()}")


def _descendants(node: Node) -> set:
    out, stack = set(), [node]
    graph_nodes = node.graph.nodes
    consumers: Dict[Node, List[Node]] = {}
    for n in graph_nodes:
        for i in n.inputs + n.control_inputs:
            consumers.setdefault(i, []).append(n)
    while stack:
        for c in consumers.get(stack.pop(), ()):
            if c not in out:
                out.add(c)
                stack.append(c)
    return out


def _value_inputs(node: Node):
    n = node.opdef.value_inputs
    return node.inputs if n is None else node.inputs[:n]


# -- 2. memory -----------------------------------------------------------------------------------
def _direct_writes(order: List[Node], outputs: Tuple[Node, ...], roots: Dict[Node, Node]
                   ) -> Dict[Node, Node]:
    """Values computed straight into the variable they are assigned to (node -> variable), so
    `v.assign(b1 * v + (1 - b1) * g)` costs no copy: the last op writes with out=<v>. Only where
    nothing reads the variable's old value after that op (other than what follows the assign)."""
    position = {n: i for i, n in enumerate(order)}
    users: Dict[Node, List[Node]] = {}
    for n in order:
        for i in list(n.inputs) + list(n.control_inputs):
            users.setdefault(i, []).append(n)
    updates = [n for n in order if _is_update(n)]
    direct: Dict[Node, Node] = {}
    for a in updates:
        var, value = roots[a.inputs[0]], a.inputs[1]
        if (a.type != "assign" or sum(roots[u.inputs[0]] is var for u in updates) != 1
                or not value.opdef.emit or "{out}" not in value.opdef.emit
                or value in outputs or roots[value] is not value or value.control_inputs
                or value.shape != var.shape or value.dtype != var.dtype
                or users.get(value) != [a]):
            continue
        reads_var = any(roots[i] is var for i in _value_inputs(value))
        if reads_var and not value.opdef.inplace:
            continue  # e.g. a matmul must not write over its own operand
        after = _descendants(a)
        late_readers = [r for r in order[position[value] + 1:]
                        if r is not a and r not in after
                        and any(roots[i] is var for i in _value_inputs(r))]
        if not late_readers:
            direct[value] = var
    return direct


def _plan_memory(order: List[Node], outputs: Tuple[Node, ...], roots: Dict[Node, Node],
                 reuse: bool, direct: Dict[Node, Node]
                 ) -> Tuple[Dict[Node, int], Dict[int, Tuple[tuple, np.dtype]],
                            Dict[int, List[Node]]]:
    """Buffers for nodes: (node -> buffer id, buffer id -> (shape, dtype), position -> nodes whose
    names can be deleted after that position)."""
    position = {n: i for i, n in enumerate(order)}
    end = len(order)
    last_use: Dict[Node, int] = {}
    for n in order:
        for i in _value_inputs(n):
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
        wants = (reuse and node.opdef.emit and "{out}" in node.opdef.emit
                 and node not in out_set and node not in direct and is_fully_known(node.shape))
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


# -- 3. emit -------------------------------------------------------------------------------------
_IDENT = re.compile(r"[^0-9a-zA-Z_]")


class _Names:
    def __init__(self):
        self.taken = {"np"}

    def make(self, hint: str) -> str:
        base = _IDENT.sub("_", hint) or "v"
        if base[0].isdigit() or keyword.iskeyword(base):
            base = "v_" + base
        name, k = base, 1
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name


def _render(value, bind) -> str:
    """An attribute as source text: literals as themselves, anything else bound by name."""
    if isinstance(value, float) and not np.isfinite(value):
        return bind(value, "c")  # inf and nan have no literal
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, tuple) and all(v is None or isinstance(v, (bool, int)) for v in value):
        return repr(value)
    if isinstance(value, np.dtype):
        return f"np.{value.name}"
    return bind(value, "c")


def generate(fn: Function, reuse_memory: bool = True, name: str = "step",
             none_outputs: Sequence[bool] = (), check_numerics: bool = False) -> Generated:
    """Turn `fn` into a compiled Python function taking (*inputs, *variables[, state]) returning a
    tuple of the outputs (None where none_outputs says so; 0-d values as numpy scalars)."""
    order = schedule(fn)
    if len(order) != len(fn.nodes):
        raise CompileError("updates read each other's start-of-run values in a cycle (a swap)")
    roots: Dict[Node, Node] = {}
    for n in order:
        roots[n] = _root(n, roots)
    _check_updates(order, roots)
    direct = _direct_writes(order, fn.outputs, roots) if reuse_memory else {}
    assignment, buffers, names_die = _plan_memory(order, fn.outputs, roots, reuse_memory,
                                                  direct)

    names = _Names()
    namespace: Dict[str, object] = {"np": np}
    bound: Dict[int, str] = {}

    def bind(obj, prefix: str) -> str:
        if id(obj) not in bound:
            bound[id(obj)] = names.make(f"_{prefix}{len(bound)}")
            namespace[bound[id(obj)]] = obj
        return bound[id(obj)]

    buffer_names = {b: names.make(f"_buf{b}") for b in buffers}
    buffer_arrays = {buffer_names[b]: np.empty(shape, dtype) for b, (shape, dtype) in
                     buffers.items()}
    namespace.update(buffer_arrays)

    var_nodes = tuple(n for n in order if n.opdef is VARIABLE)
    value_name: Dict[Node, str] = {}
    for n in list(fn.inputs) + list(var_nodes):
        value_name[n] = names.make(n.name)
    needs_state = any(n.opdef.stateful_kernel and n.opdef.emit is None for n in order
                      if n.opdef not in _SOURCES)
    params = [value_name[n] for n in list(fn.inputs) + list(var_nodes)]
    params += ["_state"] if needs_state else []  # random ops draw from the session's streams
    header = f"def {name}({', '.join(params)}):"
    lines: List[str] = [header]
    line_nodes: Dict[int, Node] = {}
    ops: List[str] = []
    # Fetched values of variables that this run updates in place are copied before the update:
    # a read sees the value at the start of the run.
    updated = {roots[n] for n in order if _is_update(n)}
    snapshot = {o: names.make(o.name + "_value") for o in fn.outputs if roots[o] in updated}

    for p, node in enumerate(order):
        op = node.opdef
        if op is PLACEHOLDER or op is VARIABLE:
            pass
        elif op is CONSTANT:
            value_name[node] = bind(node.attrs["value"], "c")
        elif node.dtype is None:  # group: its inputs already ran
            value_name[node] = "None"
        else:
            args = [value_name[i] for i in _value_inputs(node)]
            args += [bind(ShapeOf(i.shape, i.dtype), "shape") for i in
                     node.inputs[len(args):]]
            target = value_name.setdefault(node, names.make(node.name))
            if op.emit is None and op.stateful_kernel:  # random ops: kernel(state, node, ...)
                call = ", ".join(["_state", bind(node, "node")] + args)
                text = f"{target} = {bind(op.kernel, 'k_' + op.name + '_')}({call})"
            elif op.emit is None:
                kernel = functools.partial(op.kernel, **node.attrs) if node.attrs else op.kernel
                text = f"{target} = {bind(kernel, 'k_' + op.name + '_')}({', '.join(args)})"
            else:
                if node in direct:  # computed straight into the variable it is assigned to
                    out = f", out={value_name[direct[node]]}"
                elif node in assignment:
                    out = f", out={buffer_names[assignment[node]]}"
                else:
                    out = ""
                attrs = {k: _render(v, bind) for k, v in node.attrs.items()}
                if "{kernel}" in op.emit:
                    attrs["kernel"] = bind(op.kernel, "k_" + op.name + "_")
                expr = op.emit.format(*args, args=", ".join(args), out=out,
                                      odtype=_render(node.dtype, bind), **attrs)
                if op.emit_update and node.inputs[-1] in direct:
                    text = f"{target} = {args[0]}"  # the value is already in the variable
                elif op.emit_update:
                    text = f"{expr}\n    {target} = {args[0]}"
                else:
                    text = f"{target} = {expr}"
            if check_numerics:  # stop at the first inf/NaN, naming the user's node
                shown = ", ".join(f"({i.name!r}, {a})" for i, a in zip(node.inputs, args))
                text += (f"\n    {bind(numerics.check, 'check')}({target}, {bind(node, 'node')}, "
                         f"{fn.user_name(node)!r}, [{shown}])")
            for k, line in enumerate(text.split("\n")):
                lines.append(line if k else f"    {line}")
                line_nodes[len(lines)] = node
            ops.append(op.name)
        if node in snapshot:
            lines.append(f"    {snapshot[node]} = np.array({value_name[node]})")
        dead = [value_name[n] for n in names_die.get(p, ())
                if value_name.get(n, "None") != "None" and not value_name[n].startswith("_")]
        if dead:
            lines.append(f"    del {', '.join(dict.fromkeys(dead))}")
    results = []
    none_outputs = tuple(none_outputs) or (False,) * len(fn.outputs)
    for o, is_none in zip(fn.outputs, none_outputs):
        if is_none or o.dtype is None:
            results.append("None")
            continue
        v = snapshot.get(o) or value_name[o]
        kept = roots[o].opdef in _SOURCES or o in assignment or roots[o] is not o
        if o not in snapshot and v != "None" and kept:
            v = f"np.array({v})"  # never hand out an array the program or session keeps
        if o.shape == ():
            v = f"{v}[()]"  # a numpy scalar, as TF1 returns it
        results.append(v)
    lines.append(f"    return ({', '.join(results)}{',' if len(results) == 1 else ''})")
    source = "\n".join(lines) + "\n"
    filename = f"<graphflow-program-{next(_program_ids)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    return Generated(source, namespace[name], filename, var_nodes,
                     tuple(v.key for v in var_nodes),
                     _undo(order, var_nodes, roots, check_numerics, direct), needs_state,
                     tuple(ops), line_nodes, buffer_arrays)


_EMPTY_FAILS = ("reduce_max", "reduce_min", "argmax", "argmin")  # no identity: empty raises


def _can_fail(node: Node, check_numerics: bool) -> bool:
    """Whether running this node's statement can raise although the shapes are right."""
    if node.opdef.may_fail or (check_numerics and node.dtype is not None):
        return True
    return node.type in _EMPTY_FAILS and num_elements(node.inputs[0].shape) == 0


def _undo(order: List[Node], var_nodes: Tuple[Node, ...], roots: Dict[Node, Node],
          check_numerics: bool, direct: Dict[Node, Node]):
    """Indices (in var_nodes) of the variables a failure could leave half-updated: those updated
    in place before a node that can raise. A training step (updates last, or only arithmetic
    after them) needs none, so it pays for no copies."""
    last_fallible = max((p for p, n in enumerate(order) if n.opdef not in _SOURCES
                         and not _is_update(n) and _can_fail(n, check_numerics)), default=-1)
    if last_fallible < 0:
        return ()
    early = {roots[n] for n in order[:last_fallible] if _is_update(n)}
    early |= {var for n, var in direct.items() if n in order[:last_fallible]}
    return tuple(i for i, v in enumerate(var_nodes) if v in early)


def node_at(generated: Generated, tb) -> Optional[Node]:
    """The node whose generated line raised, from a traceback."""
    node = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == generated.filename:
            node = generated.line_nodes.get(tb.tb_lineno, node)
        tb = tb.tb_next
    return node
