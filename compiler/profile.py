"""Profiling a compiled program: where the time of one step goes, node by node.

    prog = sess.make_callable([loss, train_op], [x, y])
    print(prog.profile(xb, yb))          # one row per node, slowest first

The generated source of the specialization is instrumented, not re-generated: a clock reading
after each node's statements (and the `del`s that follow them, so freeing a value counts to the
node that used it last), compiled in a copy of the program's namespace so it runs on the same
preallocated buffers and constants:

    step:     layer1_matmul = np.matmul(x, layer1_W1, out=_buf0)
              del x
    profiled: layer1_matmul = np.matmul(x, layer1_W1, out=_buf0)
              del x
              _profile_t[1] = _profile_clock()

Every run works on copies of the variables, reset before each run (and on copies of the random
streams), so profiling a training step does not train and each run does the same work. The plain
generated function is timed on the same copies, interleaved with the instrumented one, so that
the sum of the node times can be compared with the step time it explains.
"""

from __future__ import annotations

import copy
import gc
import itertools
import re
import statistics
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import interrupts
from .codegen import Generated, compile_function, node_at
from .errors import GraphflowError, OpError
from .graph import Node
from .store import VariableStore

# Statements that belong to no node: copies of fetched variables and the return.
OUTPUTS = "(outputs)"
_TARGET = re.compile(r"^\s+([A-Za-z_]\w*) = ")
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
class _Block:
    node: Optional[Node]        # None: OUTPUTS
    lines: List[str]            # the node's own statements
    frees: List[str]            # the `del`s after them
    target: Optional[str]       # the name its value is bound to


def _blocks(gen: Generated) -> Tuple[str, List[_Block]]:
    """The header and the body of the generated function, cut into one block per statement group
    of a node (its lines, then the `del`s after them)."""
    lines = gen.source.splitlines()
    blocks: List[_Block] = []
    for number, line in enumerate(lines[1:], start=2):
        node = gen.line_nodes.get(number)
        if node is None and line.strip().startswith("del ") and blocks:
            blocks[-1].frees.append(line)
        elif node is not None and blocks and blocks[-1].node is node and not blocks[-1].frees:
            blocks[-1].lines.append(line)  # a node emitted on several lines (variable updates)
        else:
            blocks.append(_Block(node, [line], [], None))
    for b in blocks:
        if b.node is not None:
            names = [m.group(1) for m in map(_TARGET.match, b.lines) if m]
            b.target = names[-1] if names else None
    return lines[0], blocks


def _free_name(base: str, taken: str) -> str:
    name, k = base, 1
    while re.search(rf"\b{name}\b", taken):
        name, k = f"{base}{k}", k + 1
    return name


@dataclass
class Instrumented:
    """An instrumented copy of a generated function. `records` is filled by each call: len(blocks)
    + 1 clock readings (block k took records[k + 1] - records[k]), or with sizes, the byte count
    of each block's output. `filename` and `line_nodes` locate a failing line (codegen.node_at)."""

    function: callable
    blocks: List[_Block]
    records: list
    filename: str
    line_nodes: Dict[int, Node]


def instrument(gen: Generated, sizes: bool = False) -> Instrumented:
    """The generated function with a clock reading after each block (with sizes=True, the byte
    count of the block's output instead), run in a copy of its namespace: the same buffers and
    constants."""
    header, blocks = _blocks(gen)
    clock = _free_name("_profile_clock", gen.source)
    record = _free_name("_profile_t", gen.source)
    result = _free_name("_profile_ret", gen.source)
    out = [header]
    line_nodes: Dict[int, Node] = {}

    def add(line: str, node: Optional[Node] = None) -> None:
        out.append(line)
        if node is not None:
            line_nodes[len(out)] = node

    returns = False
    if not sizes:
        add(f"    {record}[0] = {clock}()")
    for k, b in enumerate(blocks):
        for line in b.lines:
            if b.node is None and line.strip().startswith("return ") and not sizes:
                line = line.replace("return ", f"{result} = ", 1)  # returned after the clock
                returns = True
            add(line, b.node)
        if sizes:
            size = f"getattr({b.target}, 'nbytes', 0)" if b.target else "0"
            add(f"    {record}[{k}] = {size}")
        for line in b.frees:
            add(line)
        if not sizes:
            add(f"    {record}[{k + 1}] = {clock}()")
    if returns:
        add(f"    return {result}")
    source = "\n".join(out) + "\n"
    filename = f"{gen.filename[:-1]}-profile-{next(_profile_ids)}>"
    namespace = dict(gen.function.__globals__)
    records = [0] * (len(blocks) + (0 if sizes else 1))
    namespace[clock] = time.perf_counter
    namespace[record] = records
    function = compile_function(source, filename, namespace, header[len("def "):header.index("(")])
    return Instrumented(function, blocks, records, filename, line_nodes)


# -- running ---------------------------------------------------------------------------------------
class _Runner:
    """Calls a function of the generated code on fresh copies of the variables (and of the
    random streams) each time."""

    def __init__(self, gen: Generated, arrays: Sequence[np.ndarray],
                 variables: Sequence[np.ndarray], store: VariableStore):
        self.arrays = list(arrays)
        self.originals = list(variables)
        self.copies = [np.array(v) for v in variables]
        self.store = store if gen.needs_state else None

    def reset(self) -> list:
        for c, v in zip(self.copies, self.originals):
            np.copyto(c, v)
        if self.store is None:
            return self.copies
        twin = copy.copy(self.store)  # the same values; its own streams
        twin._generators = copy.deepcopy(self.store._generators)
        return self.copies + [twin.begin()]

    def call(self, function, located) -> float:
        """Seconds of one call; `located` names the node of a failing line (node_at)."""
        args = self.arrays + self.reset()
        mark = interrupts.depth()
        try:
            t0 = time.perf_counter()
            function(*args)
            return time.perf_counter() - t0
        except GraphflowError:
            raise
        except Exception as exc:
            node = node_at(located, exc.__traceback__)
            where = node.describe() if node is not None else "generated code"
            raise OpError(f"{where} failed while profiling: {type(exc).__name__}: {exc}") from exc
        finally:
            interrupts.release(mark)  # the code holds Ctrl-C from its first write


def run(gen: Generated, arrays: Sequence[np.ndarray], variables: Sequence[np.ndarray],
        store: VariableStore, repeat: int = 10) -> Profile:
    """Profile the generated function `gen` on feed `arrays` (checked) and the session's current
    `variables` (passed in gen.variables' order; never changed)."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    timed, sized = instrument(gen), instrument(gen, sizes=True)
    runner = _Runner(gen, arrays, variables, store)
    per_block: List[List[float]] = [[] for _ in timed.blocks]
    steps: List[float] = []
    enabled = gc.isenabled()
    gc.disable()  # a collection would land in whichever node happens to run (timeit does this)
    try:
        with np.errstate(all="ignore"):  # inf/NaN come back as values, as in a plain run
            runner.call(gen.function, gen)  # warm up: first touches of the buffers
            runner.call(sized.function, sized)
            for _ in range(repeat):
                steps.append(runner.call(gen.function, gen))
                runner.call(timed.function, timed)
                clock = timed.records
                for k, times in enumerate(per_block):
                    times.append(clock[k + 1] - clock[k])
    finally:
        if enabled:
            gc.enable()
    seconds: Dict[object, float] = {}
    nbytes: Dict[object, int] = {}
    for b, times, size in zip(timed.blocks, per_block, sized.records):
        key = b.node if b.node is not None else OUTPUTS
        seconds[key] = seconds.get(key, 0.0) + statistics.median(times)
        nbytes[key] = nbytes.get(key, 0) + int(size)
    total = sum(seconds.values()) or 1.0
    rows = [ProfileRow(OUTPUTS if key is OUTPUTS else key.name,
                       "return" if key is OUTPUTS else key.opdef.name,
                       s, s / total, nbytes[key]) for key, s in seconds.items()]
    rows.sort(key=lambda r: -r.seconds)
    return Profile(rows, statistics.median(steps), repeat)
