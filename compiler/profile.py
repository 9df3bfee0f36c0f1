"""Profiling a compiled program: where the time of one step goes, node by node.

    prog = sess.make_callable([loss, train_op], [x, y])
    print(prog.profile(xb, yb))          # one row per node, slowest first

The statements of the specialization (compiler/statements.py, each with its rendered code) are
instrumented, not generated again: a clock reading after each statement (and the `del` that
follows it, so freeing a value counts to the node that used it last), compiled in a copy of the
program's namespace so it runs on the same preallocated buffers and constants:

    step:     layer1_matmul = np.matmul(x, layer1_W1, out=_buf0)
              del x
    profiled: layer1_matmul = np.matmul(x, layer1_W1, out=_buf0)
              del x
              _profile_t[1] = _profile_clock()

Every run works on copies of the variables, reset before each run (and on copies of the random
streams), so profiling a training step does not train and each run does the same work. The plain
generated function is timed on the same copies, interleaved with the instrumented one, so that
the sum of the node times can be compared with the step time it explains. The clock is the
backend's (on a CUDA device it waits for the kernels issued so far).
"""

from __future__ import annotations

import gc
import itertools
import re
import statistics
import time
from dataclasses import dataclass, replace
from typing import Callable, Dict, List, Sequence, Tuple

from . import interrupts
from .backends import Backend
from .codegen import Generated, assemble, compile_function, node_at
from .errors import GraphflowError, OpError
from .graph import Node
from .statements import Names, Statement
from .store import VariableStore

# Statements that belong to no node: copies of fetched variables and the return.
OUTPUTS = "(outputs)"
_profile_ids = itertools.count()


@dataclass(frozen=True)
class ProfileRow:
    """One node of the generated code: median seconds over the runs, share of the sum of all
    rows, and the bytes of its output (0 for ops without a value)."""

    name: str
    op: str
    seconds: float
    share: float
    bytes: int


class Profile:
    """The result of `Program.profile`: `rows` (slowest first), `step_seconds` (median of the
    plain, uninstrumented step), `total_seconds` (sum of the rows). Printable as a table."""

    def __init__(self, rows: List[ProfileRow], step_seconds: float, repeat: int):
        self.rows = rows
        self.step_seconds = step_seconds
        self.repeat = repeat

    @property
    def total_seconds(self) -> float:
        return sum(r.seconds for r in self.rows)

    def by_op(self) -> Dict[str, float]:
        """Seconds per op type, largest first."""
        totals: Dict[str, float] = {}
        for r in self.rows:
            totals[r.op] = totals.get(r.op, 0.0) + r.seconds
        return dict(sorted(totals.items(), key=lambda kv: -kv[1]))

    def __str__(self) -> str:
        width = max([len("sum of nodes")] + [len(r.name) for r in self.rows])
        ops = max([len("op")] + [len(r.op) for r in self.rows])
        lines = [f"{'node':<{width}}  {'op':<{ops}}  {'µs':>9}  {'share':>6}  {'output':>10}"]
        for r in self.rows:
            lines.append(f"{r.name:<{width}}  {r.op:<{ops}}  {r.seconds * 1e6:9.1f}  "
                         f"{r.share:6.1%}  {_fmt_bytes(r.bytes):>10}")
        ratio = self.total_seconds / self.step_seconds if self.step_seconds > 0 else float("nan")
        lines.append(f"{'sum of nodes':<{width}}  {'':<{ops}}  {self.total_seconds * 1e6:9.1f}  "
                     f"{ratio:6.2f}x of the step")
        lines.append(f"{'step (plain)':<{width}}  {'':<{ops}}  {self.step_seconds * 1e6:9.1f}  "
                     f"median of {self.repeat} runs")
        return "\n".join(lines)

    __repr__ = __str__


def _fmt_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 ** 2:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024 ** 2:.1f} MiB"


# -- instrumenting ---------------------------------------------------------------------------------
@dataclass
class Instrumented:
    """An instrumented copy of a generated function. `records` is filled by each call: one clock
    reading before the first statement and one after each (statement k took records[k + 1] -
    records[k]), or with sizes, the byte count of each statement's output. `filename` and
    `line_nodes` locate a failing line (codegen.node_at)."""

    function: Callable
    statements: List[Statement]
    records: list
    filename: str
    line_nodes: Dict[int, Node]


def instrument(gen: Generated, sizes: bool = False,
               clock: Callable[[], float] = time.perf_counter) -> Instrumented:
    """The generated function with a `clock()` reading after each statement and the names it
    frees (with sizes=True, the byte count of the statement's output instead), run in a copy of
    its namespace: the same buffers and constants. The return is a statement of its own."""
    names = Names(set(gen.function.__globals__) | set(re.findall(r"[A-Za-z_]\w*", gen.source)))
    clock_name, record, result = (names.make("_profile_clock"), names.make("_profile_t"),
                                  names.make("_profile_ret"))
    ret = Statement(code=[gen.returns.replace("return ", f"{result} = ", 1)])
    statements = list(gen.statements) + [ret]  # returning copies takes time too
    if sizes:  # the output's size, read before the names it frees are deleted
        statements = [replace(stmt, code=stmt.code + [f"{record}[{k}] = " + (
            f"getattr({stmt.target}, 'nbytes', 0)" if stmt.target else "0")])
            for k, stmt in enumerate(statements)]
        source, line_nodes = assemble(gen.header, statements, f"return {result}")
    else:
        source, line_nodes = assemble(
            gen.header, statements, f"return {result}",
            after=lambda k, stmt: [f"{record}[{k + 1}] = {clock_name}()"],
            first=[f"{record}[0] = {clock_name}()"])
    filename = f"{gen.filename[:-1]}-profile-{next(_profile_ids)}>"
    namespace = dict(gen.function.__globals__)
    records = [0] * (len(statements) + (0 if sizes else 1))
    namespace[clock_name] = clock
    namespace[record] = records
    function_name = gen.header[len("def "):gen.header.index("(")]
    return Instrumented(compile_function(source, filename, namespace, function_name),
                        statements, records, filename, line_nodes)


# -- running ---------------------------------------------------------------------------------------
class _Runner:
    """Calls a function of the generated code on fresh copies of the variables (and of the
    random streams) each time."""

    def __init__(self, gen: Generated, arrays: Sequence, variables: Sequence,
                 store: VariableStore, backend: Backend):
        self.arrays = list(arrays)
        self.originals = list(variables)
        self.backend = backend
        self.copies = [backend.snapshot(v) for v in variables]
        self.store = store if gen.needs_state else None

    def reset(self) -> list:
        for c, v in zip(self.copies, self.originals):
            self.backend.restore(c, v)
        if self.store is None:
            return self.copies
        return self.copies + [self.store.twin().begin()]  # the same values; its own streams

    def call(self, function, located) -> float:
        """Seconds of one call; `located` names the node of a failing line (node_at)."""
        args = self.arrays + self.reset()
        mark = interrupts.depth()
        try:
            t0 = self.backend.clock()
            function(*args)
            return self.backend.clock() - t0
        except GraphflowError:
            raise
        except Exception as exc:
            node = node_at(located, exc.__traceback__)
            where = node.describe() if node is not None else "generated code"
            raise OpError(f"{where} failed while profiling: {type(exc).__name__}: {exc}") from exc
        finally:
            interrupts.release(mark)  # the code holds Ctrl-C from its first write


def run(gen: Generated, arrays: Sequence, variables: Sequence, store: VariableStore,
        backend: Backend, repeat: int = 10) -> Profile:
    """Profile the generated function `gen` on feed `arrays` (checked, the backend's values) and
    the session's current `variables` (passed in gen.variables' order; never changed)."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    timed = instrument(gen, clock=backend.clock)
    sized = instrument(gen, sizes=True)
    runner = _Runner(gen, arrays, variables, store, backend)
    per_statement: List[List[float]] = [[] for _ in timed.statements]
    steps: List[float] = []
    enabled = gc.isenabled()
    gc.disable()  # a collection would land in whichever node happens to run (timeit does this)
    try:
        with backend.errstate():  # inf/NaN come back as values, as in a plain run
            runner.call(gen.function, gen)  # warm up: first touches of the buffers
            runner.call(sized.function, sized)
            for _ in range(repeat):
                steps.append(runner.call(gen.function, gen))
                runner.call(timed.function, timed)
                clock = timed.records
                for k, times in enumerate(per_statement):
                    times.append(clock[k + 1] - clock[k])
    finally:
        if enabled:
            gc.enable()
    return _profile(timed.statements, per_statement, sized.records, steps, repeat)


def _profile(statements, per_statement, sizes, steps, repeat) -> Profile:
    """One row per node (statements of no node: OUTPUTS; a backend's compiled run of statements:
    one row named after its nodes), slowest first."""
    seconds: Dict[object, float] = {}
    nbytes: Dict[object, int] = {}
    labels: Dict[object, Tuple[str, str]] = {OUTPUTS: (OUTPUTS, "return")}
    for stmt, times, size in zip(statements, per_statement, sizes):
        if stmt.nodes:
            key = stmt.nodes
            labels[key] = (f"{stmt.nodes[0].op_name} .. {stmt.nodes[-1].op_name}",
                           f"{len(stmt.nodes)} ops compiled")
        elif stmt.node is not None:
            key = stmt.node
            labels[key] = (key.op_name, key.opdef.name)
        else:
            key = OUTPUTS
        seconds[key] = seconds.get(key, 0.0) + statistics.median(times)
        nbytes[key] = nbytes.get(key, 0) + int(size)
    total = sum(seconds.values()) or 1.0
    rows = [ProfileRow(*labels[key], s, s / total, nbytes[key]) for key, s in seconds.items()]
    rows.sort(key=lambda r: -r.seconds)
    return Profile(rows, statistics.median(steps), repeat)
