"""Code generation: an optimized Function becomes one straight-line Python function, one numpy call
per node, named after the nodes, compiled with `exec`.

    def step(x, y, W1, b1, W2, b2):
        matmul = np.matmul(x, W1, out=_buf0)
        add = np.add(matmul, b1, out=_buf0)      # in place: matmul dies here
        ...
        W1 -= multiply_2                         # variables are updated in place
        return (loss, None)

The schedule and the memory plan come from planning.py (in-place variable updates last, `out=`
buffers preallocated per shape signature and reused, elementwise ops over dying inputs, outputs
never in buffers). This module emits the source text and registers it with linecache, so
tracebacks show the generated line.
"""

from __future__ import annotations

import functools
import itertools
import keyword
import linecache
import re
import weakref
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import interrupts, numerics
from .atomic import stage_assigns, undo_list, write_positions
from .backends import NUMPY
from .errors import OpError
from .function import Function
from .graph import Node
from .opdef import HOST
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
from .shapes import ShapeOf, num_elements

_program_ids = itertools.count()


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


# -- 3. emit -------------------------------------------------------------------------------------
_IDENT = re.compile(r"[^0-9a-zA-Z_]")


class _Names:
    def __init__(self, modules=("np",)):
        self.taken = set(modules)

    def make(self, hint: str) -> str:
        base = _IDENT.sub("_", hint) or "v"
        if base[0].isdigit() or keyword.iskeyword(base):
            base = "v_" + base
        name, k = base, 1
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name


def _render(value, bind, dtype=NUMPY.dtype) -> str:
    """An attribute as source text: literals as themselves, anything else bound by name."""
    if isinstance(value, float) and not np.isfinite(value):
        return bind(value, "c")  # inf and nan have no literal
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, tuple) and all(v is None or isinstance(v, (bool, int)) for v in value):
        return repr(value)
    if isinstance(value, np.dtype):
        return dtype(value)
    return bind(value, "c")


def generate(fn: Function, reuse_memory: bool = True, name: str = "step",
             none_outputs: Sequence[bool] = (), check_numerics: bool = False,
             backend=NUMPY) -> Generated:
    """Turn `fn` into a compiled Python function taking (*inputs, *variables[, state]) returning a
    tuple of the outputs (None where none_outputs says so; 0-d values as numpy scalars).

    `backend` spells the code (compiler/backends): numpy by default; the torch backend takes each
    op's `torch` rule and raises BackendError, naming the op, where one is missing."""
    reuse_memory = reuse_memory and backend.reuse_memory
    if not reuse_memory:  # no values computed straight into variables: let writes wait
        fn = stage_assigns(fn)
    rules = {n: backend.rule(n) for n in fn.nodes if n.opdef not in SOURCES
             and n.dtype is not None}  # first: a missing rule is reported before anything else
    order = schedule(fn)
    if len(order) != len(fn.nodes):
        raise CompileError("updates read each other's start-of-run values in a cycle (a swap)")
    roots = storage_roots(order)
    check_updates(order, roots)
    direct = direct_writes(order, fn.outputs, roots) if reuse_memory else {}
    assignment, buffers, names_die = plan_memory(order, fn.outputs, roots, reuse_memory,
                                                  direct)

    names = _Names(backend.modules)
    namespace: Dict[str, object] = dict(backend.modules)
    bound: Dict[int, str] = {}

    def bind(obj, prefix: str) -> str:
        if id(obj) not in bound:
            bound[id(obj)] = names.make(f"_{prefix}{len(bound)}")
            namespace[bound[id(obj)]] = obj
        return bound[id(obj)]

    buffer_names = {b: names.make(f"_buf{b}") for b in buffers}
    buffer_arrays = _allocate(buffers, buffer_names, assignment)
    namespace.update(buffer_arrays)

    var_nodes = tuple(n for n in order if n.opdef is VARIABLE)
    value_name: Dict[Node, str] = {}
    for n in list(fn.inputs) + list(var_nodes):
        value_name[n] = names.make(n.name)
    needs_state = any(n.opdef.stateful_kernel and rules[n] in (None, HOST) for n in rules)
    params = [value_name[n] for n in list(fn.inputs) + list(var_nodes)]
    params += ["_state"] if needs_state else []  # random ops draw from the session's streams
    header = f"def {name}({', '.join(params)}):"
    lines: List[str] = [header]
    line_nodes: Dict[int, Node] = {}
    ops: List[str] = []
    # Fetched values of variables that this run updates in place are copied before the update:
    # a read sees the value at the start of the run.
    updated = {roots[n] for n in order if is_update(n)}
    snapshot = {o: names.make(o.name + "_value") for o in fn.outputs if roots[o] in updated}
    render_dtype = backend.dtype
    writes = write_positions(order, roots, direct)
    first_write = min(writes.values(), default=-1)

    for p, node in enumerate(order):
        op = node.opdef
        if p == first_write:  # from here to the end of the run, Ctrl-C waits (atomic.py)
            lines.append(f"    {bind(interrupts.hold, 'hold')}()")
        if op is PLACEHOLDER or op is VARIABLE:
            pass
        elif op is CONSTANT:
            value_name[node] = bind(backend.constant(node.attrs["value"]), "c")
        elif node.dtype is None:  # group: its inputs already ran
            value_name[node] = "None"
        else:
            args = [value_name[i] for i in value_inputs(node)]
            args += [bind(ShapeOf(i.shape, i.dtype), "shape") for i in
                     node.inputs[len(args):]]
            target = value_name.setdefault(node, names.make(node.name))
            rule = rules[node]
            if rule is HOST or callable(rule):
                text = f"{target} = {_call(node, rule, args, backend, bind)}"
            elif rule is None and op.stateful_kernel:  # random ops: kernel(state, node, ...)
                call = ", ".join(["_state", bind(node, "node")] + args)
                text = f"{target} = {bind(op.kernel, 'k_' + op.name + '_')}({call})"
            elif rule is None:
                kernel = functools.partial(op.kernel, **node.attrs) if node.attrs else op.kernel
                text = f"{target} = {bind(kernel, 'k_' + op.name + '_')}({', '.join(args)})"
            else:
                if node in direct:  # computed straight into the variable it is assigned to
                    out = f", out={value_name[direct[node]]}"
                elif node in assignment:
                    out = f", out={buffer_names[assignment[node]]}"
                else:
                    out = ""
                attrs = {k: _render(v, bind, render_dtype) for k, v in node.attrs.items()}
                if "{kernel}" in rule:
                    attrs["kernel"] = bind(op.kernel, "k_" + op.name + "_")
                expr = rule.format(*args, args=", ".join(args), out=out,
                                   odtype=_render(node.dtype, bind, render_dtype), **attrs)
                if op.emit_update and node.inputs[-1] in direct:
                    text = f"{target} = {args[0]}"  # the value is already in the variable
                elif op.emit_update:
                    text = f"{expr}\n    {target} = {args[0]}"
                else:
                    text = f"{target} = {expr}"
            if check_numerics:  # stop at the first inf/NaN, naming the user's node
                shown = ", ".join(f"({i.name!r}, {a})" for i, a in zip(node.inputs, args))
                check = bind(backend.check_numerics(numerics.check), "check")
                text += (f"\n    {check}({target}, {bind(node, 'node')}, "
                         f"{fn.user_name(node)!r}, [{shown}])")
            for k, line in enumerate(text.split("\n")):
                lines.append(line if k else f"    {line}")
                line_nodes[len(lines)] = node
            ops.append(op.name)
        if node in snapshot:
            lines.append(f"    {snapshot[node]} = {backend.copy.format(value_name[node])}")
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
        kept = roots[o].opdef in SOURCES or o in assignment or roots[o] is not o
        if o not in snapshot and v != "None" and kept:
            v = backend.copy.format(v)  # never hand out an array the program or session keeps
        if o.shape == () and backend.scalar_results:
            v = f"{v}[()]"  # a numpy scalar, as TF1 returns it
        results.append(v)
    lines.append(f"    return ({', '.join(results)}{',' if len(results) == 1 else ''})")
    source = "\n".join(lines) + "\n"
    filename = f"<graphflow-program-{next(_program_ids)}>"
    return Generated(source, compile_function(source, filename, namespace, name), filename,
                     var_nodes,
                     tuple(v.key for v in var_nodes),
                     undo_list(order, var_nodes, roots, check_numerics, direct,
                               set(assignment) | set(direct)), needs_state,
                     tuple(ops), line_nodes, buffer_arrays)


def compile_function(source: str, filename: str, namespace: dict, name: str):
    """The function `name` defined by `source`, with `namespace` as its globals. Its source is
    registered with linecache (tracebacks show the generated line) for as long as the function
    lives, and no longer: programs made and dropped in a loop leave nothing behind."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    function = namespace.pop(name)  # not in its own globals: no cycle, freed with its Program
    weakref.finalize(function, linecache.cache.pop, filename, None)
    return function


def _allocate(buffers, buffer_names, assignment) -> Dict[str, np.ndarray]:
    """The preallocated buffers; one that cannot be allocated is reported against the first node
    planned into it (op, name, the user's file:line, the bytes asked for)."""
    arrays = {}
    for b, (shape, dtype) in buffers.items():
        try:
            arrays[buffer_names[b]] = np.empty(shape, dtype)
        except (MemoryError, ValueError) as exc:
            node = next(n for n, k in assignment.items() if k == b)
            nbytes = num_elements(shape) * np.dtype(dtype).itemsize
            raise OpError(f"{node.describe()}: cannot allocate {nbytes:,} bytes for its "
                          f"{np.dtype(dtype).name} output of shape {shape} "
                          f"({type(exc).__name__}: {exc})") from exc
    return arrays


def _call(node: Node, rule, args, backend, bind) -> str:
    """A call of a kernel function: a backend's callable rule, or a numpy kernel run on host
    copies (HOST)."""
    op = node.opdef
    if rule is HOST:
        if op.stateful_kernel:  # random draws: kernel(state, node, ...) on the session's streams
            fn = backend.host(op.kernel, stateful=True)
            args = ["_state", bind(node, "node")] + list(args)
        else:
            kernel = functools.partial(op.kernel, **node.attrs) if node.attrs else op.kernel
            fn = backend.host(kernel, stateful=False)
    else:
        fn = functools.partial(rule, **node.attrs) if node.attrs else rule
    return f"{bind(fn, 'k_' + op.name + '_')}({', '.join(args)})"


def node_at(generated: Generated, tb) -> Optional[Node]:
    """The node whose generated line raised, from a traceback."""
    node = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == generated.filename:
            node = generated.line_nodes.get(tb.tb_lineno, node)
        tb = tb.tb_next
    return node
