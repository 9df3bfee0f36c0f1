"""Code generation, step 2: the statements of an optimized Function (statements.py) rendered to
one straight-line Python function by the backend's lowering table, and compiled with `exec`.

    def step(x, y, W1, b1, W2, b2):
        matmul = np.matmul(x, W1, out=_buf0)
        add = np.add(matmul, b1, out=_buf0)      # in place: matmul dies here
        ...
        W1 -= multiply_2                         # variables are updated in place
        return (loss, None)

A rule is source text with the statement's names filled in, a function bound by name, or the
op's reference kernel (compiler/backends/lowering.py). The source is registered with linecache,
so tracebacks show the generated line; each statement keeps its lines (the profiler instruments
statements, not text).
"""

from __future__ import annotations

import functools
import itertools
import linecache
import weakref
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import dtypes as _dt
from . import interrupts, numerics
from .atomic import stage_assigns
from .backends import NUMPY, REFERENCE, Backend, Template
from .errors import OpError
from .function import Function
from .graph import Node
from .planning import SOURCES, CompileError
from .shapes import num_elements
from .statements import Listing, Statement, make_listing

__all__ = ["CompileError", "Generated", "generate", "compile_function", "node_at", "assemble"]

_program_ids = itertools.count()


@dataclass
class Generated:
    """The result of code generation."""

    source: str
    function: Callable
    filename: str
    header: str                        # the `def` line
    statements: List[Statement]        # with their rendered code
    returns: str                       # the return statement
    variables: Tuple[Node, ...]        # passed after the feeds, in this order
    variable_names: Tuple[str, ...]    # their names (the keys of the variable store)
    undo: Tuple[int, ...]              # variables to copy first: computation follows an update
    needs_state: bool                  # takes the session's store last (random ops)
    ops: Tuple[str, ...]               # op types executed, in order
    line_nodes: Dict[int, Node]        # source line -> node computed there
    buffers: Dict[str, np.ndarray] = field(default_factory=dict)
    compiled_source: str = ""          # source of what the backend compiled for runs (native)


def generate(fn: Function, reuse_memory: bool = True, name: str = "step",
             none_outputs: Sequence[bool] = (), check_numerics: bool = False,
             backend: Backend = NUMPY) -> Generated:
    """Turn `fn` into a compiled Python function taking (*inputs, *variables[, state]) returning a
    tuple of the outputs (None where none_outputs says so; 0-d values as numpy scalars).

    `backend` renders the statements with its lowering table; an op the table lacks raises
    BackendError naming the op and the node, before anything else is done."""
    reuse_memory = reuse_memory and backend.reuse_memory
    if not reuse_memory:  # no values computed straight into variables: let writes wait
        fn = stage_assigns(fn)
    # Nodes on strings run their reference kernel on host objects (never out=, never a device).
    rules = {n: REFERENCE if _dt.touches_strings(n) else backend.rule(n) for n in fn.nodes
             if n.opdef not in SOURCES and n.dtype is not None}

    def writes_out(node: Node) -> bool:
        rule = rules.get(node)
        return isinstance(rule, Template) and "{out}" in rule.text

    listing = make_listing(fn, writes_out, reuse_memory, none_outputs, check_numerics,
                           tuple(backend.modules))
    renderer = _Renderer(backend, listing, fn, check_numerics)
    for stmt in listing.statements:
        stmt.code = renderer.statement(stmt, rules.get(stmt.node))
    compiled = ""
    if not check_numerics:  # a backend may compile runs of statements as one (native)
        listing.statements, compiled = backend.regroup(listing, fn, renderer.bind)
    generated = renderer.finish(name)
    generated.compiled_source = compiled
    return generated


class _Renderer:
    """Renders statements for one backend; binds what the code refers to by name."""

    def __init__(self, backend: Backend, listing: Listing, fn: Function, check_numerics: bool):
        self.backend, self.listing, self.fn = backend, listing, fn
        self.check_numerics = check_numerics
        self.names = listing.names
        self.namespace: Dict[str, object] = dict(backend.modules)
        self.namespace.update(listing.objects)
        self.namespace.update({k: backend.constant(v) for k, v in listing.constants.items()})
        self.buffers = _allocate(listing.buffers, backend)
        self.namespace.update(self.buffers)
        self.bound: Dict[int, str] = {}
        self.needs_state = False

    def bind(self, obj, prefix: str) -> str:
        """A name for `obj` in the generated code's globals."""
        if id(obj) not in self.bound:
            self.bound[id(obj)] = self.names.make(f"_{prefix}{len(self.bound)}")
            self.namespace[self.bound[id(obj)]] = obj
        return self.bound[id(obj)]

    def statement(self, stmt: Statement, rule) -> List[str]:
        """The source lines of one statement."""
        if stmt.hold:
            return [f"{self.bind(interrupts.hold, 'hold')}()"]
        if stmt.node is None:
            code = []
        elif isinstance(rule, Template):
            code = self._template(stmt, rule)
        else:
            code = [f"{stmt.target} = {self._call(stmt, rule)}"]
        if stmt.node is not None and self.check_numerics:  # stop at the first inf/NaN
            code.append(self._numerics_check(stmt))
        if stmt.snapshot:
            code.append(f"{stmt.snapshot} = {self.backend.copy.format(stmt.target)}")
        return code

    def _template(self, stmt: Statement, rule: Template) -> List[str]:
        node = stmt.node
        attrs = {k: self._literal(v) for k, v in node.attrs.items()}
        if "{kernel}" in rule.text:
            attrs["kernel"] = self.bind(node.opdef.kernel, "k_" + node.opdef.name + "_")
        if "{prepared}" in rule.text:  # a callable the backend made for this very node
            attrs["prepared"] = self.bind(self.backend.prepare(node), "k_" + node.opdef.name + "_")
        args = list(stmt.args) + list(stmt.shapes)
        expr = rule.text.format(*args, args=", ".join(args),
                                out=f", out={stmt.out}" if stmt.out else "",
                                odtype=self._literal(node.dtype), **attrs)
        if not node.opdef.updates:
            return [f"{stmt.target} = {expr}"]
        if stmt.written:  # the value is already in the variable
            return [f"{stmt.target} = {args[0]}"]
        return [expr, f"{stmt.target} = {args[0]}"]

    def _call(self, stmt: Statement, rule) -> str:
        """A call of a lowering function, or of the op's reference kernel."""
        op = stmt.node.opdef
        args = list(stmt.args) + list(stmt.shapes)
        if rule is REFERENCE and op.stateful_kernel:  # kernel(state, node, ...): random draws
            fn = self.backend.reference(op.kernel, stateful=True)
            args = ["_state", self.bind(stmt.node, "node")] + args
            self.needs_state = True
        else:
            fn = op.kernel if rule is REFERENCE else rule
            if stmt.node.attrs:
                fn = functools.partial(fn, **stmt.node.attrs)
            if _dt.is_string(stmt.node.dtype):
                fn = _string_result(fn)
            if rule is REFERENCE:  # attributes first: a backend's wrapper passes inputs only
                fn = self.backend.reference(fn, stateful=False)
        return f"{self.bind(fn, 'k_' + op.name + '_')}({', '.join(args)})"

    def _numerics_check(self, stmt: Statement) -> str:
        node = stmt.node
        shown = ", ".join(f"({i.op_name!r}, {a})" for i, a in zip(node.inputs, stmt.args))
        check = self.bind(self.backend.check_numerics(numerics.check), "check")
        return (f"{check}({stmt.target}, {self.bind(node, 'node')}, "
                f"{self.fn.user_name(node)!r}, [{shown}])")

    def _literal(self, value) -> str:
        """An attribute as source text: literals as themselves, anything else bound by name."""
        if isinstance(value, float) and not np.isfinite(value):
            return self.bind(value, "c")  # inf and nan have no literal
        if value is None or isinstance(value, (bool, int, float, str)):
            return repr(value)
        if isinstance(value, tuple) and all(v is None or isinstance(v, (bool, int))
                                            for v in value):
            return repr(value)
        if isinstance(value, np.dtype):
            return self.backend.dtype(value)
        return self.bind(value, "c")

    def returns(self) -> str:
        results = []
        for r in self.listing.results:
            v = r.name or "None"
            if r.copy and r.string:  # a host object array, whatever the backend
                v = f"{self.bind(np.array, 'host_copy')}({v})"
            elif r.copy:  # never hand out an array the program or session keeps
                v = self.backend.copy.format(v)
            if r.scalar and r.name and self.backend.scalar_results:
                v = f"{v}[()]"  # a numpy scalar, as TF1 returns it
            results.append(v)
        return f"return ({', '.join(results)}{',' if len(results) == 1 else ''})"

    def finish(self, name: str) -> Generated:
        listing = self.listing
        params = list(listing.params) + (["_state"] if self.needs_state else [])
        header = f"def {name}({', '.join(params)}):"
        returns = self.returns()
        source, line_nodes = assemble(header, listing.statements, returns)
        filename = f"<graphflow-program-{next(_program_ids)}>"
        function = compile_function(source, filename, self.namespace, name)
        ops = tuple(n.opdef.name for s in listing.statements
                    for n in (s.nodes or ((s.node,) if s.node is not None else ())))
        return Generated(source, function, filename, header, listing.statements, returns,
                         listing.variables, tuple(v.key for v in listing.variables),
                         listing.undo, self.needs_state, ops, line_nodes, self.buffers)


def _string_result(kernel: Callable) -> Callable:
    """`kernel` returning an object array: a bare bytes would become an 'S' array downstream."""
    def run(*args):
        return np.asarray(kernel(*args), dtype=object)
    run.__name__ = getattr(kernel, "__name__", "string_kernel")
    return run


def assemble(header: str, statements: Sequence[Statement], returns: str,
             after: Optional[Callable[[int, Statement], List[str]]] = None,
             first: Sequence[str] = ()) -> Tuple[str, Dict[int, Node]]:
    """The function's source from its statements (with `first` lines before them, and
    `after(k, statement)`'s lines after the k-th statement and its frees), and which node each
    source line computes."""
    lines = [header] + [f"    {line}" for line in first]
    line_nodes: Dict[int, Node] = {}
    for k, stmt in enumerate(statements):
        for line in stmt.code:
            lines.append(f"    {line}")
            if stmt.node is not None:
                line_nodes[len(lines)] = stmt.node
        if stmt.frees:
            lines.append(f"    del {', '.join(stmt.frees)}")
        if after is not None:
            lines.extend(f"    {line}" for line in after(k, stmt))
    lines.append(f"    {returns}")
    return "\n".join(lines) + "\n", line_nodes


def compile_function(source: str, filename: str, namespace: dict, name: str):
    """The function `name` defined by `source`, with `namespace` as its globals. Its source is
    registered with linecache (tracebacks show the generated line) for as long as the function
    lives, and no longer: programs made and dropped in a loop leave nothing behind."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    function = namespace.pop(name)  # not in its own globals: no cycle, freed with its Program
    weakref.finalize(function, linecache.cache.pop, filename, None)
    return function


def _allocate(buffers, backend: Backend) -> Dict[str, np.ndarray]:
    """The preallocated buffers; one that cannot be allocated is reported against the first node
    planned into it (op, name, the user's file:line, the bytes asked for)."""
    arrays = {}
    for name, (shape, dtype, node) in buffers.items():
        try:
            arrays[name] = backend.allocate(shape, dtype)
        except (MemoryError, ValueError) as exc:
            nbytes = num_elements(shape) * np.dtype(dtype).itemsize
            raise OpError(f"{node.describe()}: cannot allocate {nbytes:,} bytes for its "
                          f"{np.dtype(dtype).name} output of shape {shape} "
                          f"({type(exc).__name__}: {exc})") from exc
    return arrays


def node_at(generated: Generated, tb) -> Optional[Node]:
    """The node whose generated line raised, from a traceback."""
    node = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == generated.filename:
            node = generated.line_nodes.get(tb.tb_lineno, node)
        tb = tb.tb_next
    return node
