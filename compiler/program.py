"""Program: fetches and feeds compiled into generated code, specialised per feed shape signature.

    prog = Program(graph, fetches=[loss, train_op], feeds=[x, y], store=store)
    loss_value, _ = prog(x_batch, y_batch)      # compiles for these shapes on first use
    print(prog.source)                          # the generated Python
    prog.ops                                    # ("matmul", "add", "relu", ...)
    print(prog.report())                        # per pass: nodes before/after, time
"""

from __future__ import annotations

import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from . import interrupts
from .backends import NUMPY, Backend
from .codegen import CompileError, Generated, generate, node_at
from .errors import GraphflowError, OpError, ShapeError
from .feeds import missing_feeds_error
from .function import Function, collection_paused, extract
from .graph import Node
from .interpreter import execute
from .ops.core import PLACEHOLDER
from .ops.iterators import ITERATOR_GET_NEXT, take_elements
from .passes import PassRecord, optimize
from .profile import Profile
from .profile import run as run_profile
from .store import VariableStore
from .traversal import plan


@dataclass
class Specialization:
    """The compiled code for one signature of feed shapes and dtypes."""

    function: Function          # after the passes
    generated: Optional[Generated]  # None: the interpreter runs this signature
    records: List[PassRecord]
    extract_seconds: float
    codegen_seconds: float
    nodes_in: int
    key: tuple = ()                 # the feed signature it was compiled for


class Report:
    """What compiling did: one row per pass application (nodes before -> after, milliseconds)."""

    def __init__(self, spec: Specialization, nodes_in: int):
        self.records = spec.records
        self.nodes_in = nodes_in
        self.nodes_out = len(spec.function.nodes)
        self.extract_seconds = spec.extract_seconds
        self.codegen_seconds = spec.codegen_seconds

    @property
    def total_seconds(self) -> float:
        return (self.extract_seconds + self.codegen_seconds
                + sum(r.seconds for r in self.records))

    def __str__(self) -> str:
        rows = [f"{'pass':<10} {'round':>5} {'nodes before':>12} {'after':>6} {'ms':>7}",
                f"{'extract':<10} {'':>5} {'':>12} {self.nodes_in:>6} "
                f"{self.extract_seconds * 1e3:7.2f}"]
        for r in self.records:
            rows.append(f"{r.name:<10} {r.round:>5} {r.before:>12} {r.after:>6} "
                        f"{r.seconds * 1e3:7.2f}")
        rows.append(f"{'codegen':<10} {'':>5} {'':>12} {self.nodes_out:>6} "
                    f"{self.codegen_seconds * 1e3:7.2f}")
        rows.append(f"{'total':<10} {'':>5} {'':>12} {'':>6} {self.total_seconds * 1e3:7.2f}")
        return "\n".join(rows)

    __repr__ = __str__


DEFAULT_CACHE_SIZE = 32  # feed signatures a Program keeps compiled


def check_cache_size(cache_size) -> None:
    """A cache size is a positive int (ValueError otherwise)."""
    if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
        raise ValueError(f"cache_size must be a positive int, got {cache_size!r}")


class Program:
    """A callable for fixed fetches and feeds: takes the feed values positionally.

    Each new signature of feed shapes and dtypes is compiled once (extract, passes, codegen) and
    cached; later calls with that signature run the generated function directly. The cache keeps
    the `cache_size` signatures used most recently (DEFAULT_CACHE_SIZE); the code and buffers of
    the one used least recently are dropped when a new one would exceed it.
    """

    def __init__(self, fetches: Sequence[Node], feeds: Sequence[Node], store: VariableStore,
                 passes: Optional[Sequence[str]] = None, check: bool = False,
                 reuse_memory: bool = True, rebuild: Optional[Callable] = None,
                 before_run: Optional[Callable[[], None]] = None,
                 op_outputs: Optional[Sequence[bool]] = None, check_numerics: bool = False,
                 backend: Backend = NUMPY, return_tensors: bool = False,
                 cache_size: int = DEFAULT_CACHE_SIZE):
        check_cache_size(cache_size)
        self.cache_size = cache_size
        self.fetches = tuple(fetches)
        self.backend = backend
        self._return_tensors = return_tensors
        self.feeds = tuple(feeds)
        self._store = store
        self._passes = passes
        self._check = check
        # Checking numerics reports each node's inputs, so none may be overwritten in place.
        self._reuse_memory = reuse_memory and not check_numerics
        self._check_numerics = check_numerics
        self._rebuild = rebuild
        self._before_run = before_run
        # Fetches that are ops: the program returns None for them.
        self._op_outputs = tuple(op_outputs or [n.dtype is None for n in self.fetches])
        self._specs: "OrderedDict[tuple, Specialization]" = OrderedDict()  # least recent first
        self._last: Optional[Specialization] = None
        needed = plan(self.fetches, self.feeds)
        missing = [n for n in needed if n.opdef is PLACEHOLDER and n not in self.feeds]
        # Input pipelines' get_next tensors: taken before each run and given to the code as
        # feeds are, so it is compiled for their shapes (ops/iterators.py).
        self._pulls = tuple(n for n in needed if n.opdef is ITERATOR_GET_NEXT)
        self._inputs = self.feeds + self._pulls
        if missing:
            raise missing_feeds_error(missing)

    # -- running ----------------------------------------------------------------------------------
    def __call__(self, *values):
        if self._before_run is not None:
            self._before_run()
        # Fast path: values the backend knows need no checking, of a signature seen before.
        key = self.backend.signature(values) if not self._pulls else None
        spec = self._specs.get(key) if key is not None else None
        if spec is not None and len(values) == len(self.feeds):
            self._touch(spec)
            return self._run(spec, values)
        if len(values) != len(self.feeds):
            raise TypeError(f"this program takes {len(self.feeds)} feed values "
                            f"({', '.join(t.op_name for t in self.feeds)}), got {len(values)}")
        feed = self.backend.feed
        return self.run_checked([feed(node, v) for node, v in zip(self.feeds, values)])

    def run_checked(self, arrays: List[np.ndarray]):
        """Run with feed arrays already checked (right dtype, fitting shape; the backend's arrays:
        numpy arrays or torch tensors on the device)."""
        if self._pulls:
            return self._run_pulling(arrays)
        return self._run(self._specialization(arrays), arrays)

    def _run_pulling(self, arrays):
        """Take this run's elements from the input pipelines, then run with them as feeds; a
        run that fails puts them back."""
        with self._store.lock:
            run = self._store.begin()
            try:
                arrays = list(arrays) + self._pulled(run)
                return self._run(self._specialization(arrays), arrays)
            except BaseException:
                run.rollback()
                raise

    def _pulled(self, run) -> list:
        host = self.backend.host_store(run.store)
        values = take_elements(self._pulls, run, lambda node: host.evaluate(node, host))
        return [self.backend.feed(n, v) for n, v in zip(self._pulls, values)]

    def _specialization(self, arrays) -> Specialization:
        """The compiled code for these feeds' signature: cached, or compiled and cached (dropping
        the least recently used signature beyond cache_size)."""
        key = tuple([(a.shape, a.dtype) for a in arrays])
        spec = self._specs.get(key)
        if spec is not None:
            self._touch(spec)
            return spec
        spec = self._compile(arrays)
        spec.key = key
        self._specs[key] = spec
        while len(self._specs) > self.cache_size:
            self._specs.popitem(last=False)  # its code and buffers go with it
        return spec

    def _touch(self, spec: Specialization) -> None:
        try:
            self._specs.move_to_end(spec.key)
        except KeyError:  # dropped meanwhile by another thread's compile: still runs
            pass

    def _run(self, spec: Specialization, arrays):
        self._last = spec
        gen = spec.generated
        if gen is None:
            return self._interpret(arrays)
        with self._store.lock:  # runs of one session take turns (buffers, in-place updates)
            outs = self._run_generated(gen, arrays)
        return self._rebuild(outs) if self._rebuild is not None else outs

    def _run_generated(self, gen: Generated, arrays):
        """One call of the generated code. A run that raises, for any reason, leaves every
        variable and random stream as it was (compiler/atomic.py)."""
        backend, store = self.backend, self._store
        values = store.values
        try:
            variables = [values[name] for name in gen.variable_names]
        except KeyError:  # first use: the store sets them to their initial values
            variables = [store.read(v) for v in gen.variables]
        # Where a statement that can raise follows an in-place update, copies to undo it.
        saved = [backend.snapshot(variables[i]) for i in gen.undo] if gen.undo else None
        state = store.begin() if gen.needs_state else None
        mark = interrupts.depth()
        try:
            try:
                with backend.errstate():  # inf/NaN come back as values, as in TF
                    if state is not None:
                        variables.append(state)
                    outs = gen.function(*arrays, *variables)
            except BaseException as exc:
                interrupts.hold()  # Ctrl-C must not cut the undo short
                if saved is not None:
                    for i, value in zip(gen.undo, saved):
                        backend.restore(variables[i], value)
                if state is not None:
                    state.rollback()
                if isinstance(exc, GraphflowError) or not isinstance(exc, Exception):
                    raise
                node = node_at(gen, exc.__traceback__)
                where = node.describe() if node is not None else "generated code"
                raise OpError(f"{where} failed: {type(exc).__name__}: {exc}") from exc
            outs = backend.results(outs, self._return_tensors)
        finally:
            interrupts.release(mark)
        return outs

    def _interpret(self, arrays):
        """Run the reference interpreter (numpy) for a signature codegen could not order."""
        backend = self.backend
        store = backend.host_store(self._store)
        feeds = {n: np.asarray(backend.to_numpy(a)) for n, a in zip(self._inputs, arrays)}
        values = execute(plan(self.fetches, self._inputs), feeds, store, self._check_numerics)
        # Copies: the caller may keep or change them without touching the session.
        outs = [None if op else _scalar(np.array(values[n]))
                for n, op in zip(self.fetches, self._op_outputs)]
        if self._return_tensors:
            outs = [None if o is None else backend.from_numpy(o) for o in outs]
        return self._rebuild(outs) if self._rebuild is not None else outs

    def _compile(self, arrays) -> Specialization:
        with collection_paused():  # compiling copies whole graphs; see function.py
            return self._compile_paused(arrays)

    def _compile_paused(self, arrays) -> Specialization:
        t0 = time.perf_counter()
        try:
            fn = extract(self.fetches, {n: (tuple(a.shape), n.dtype) for n, a in
                                        zip(self._inputs, arrays)})
        except ShapeError as exc:  # the graph cannot run with these fed shapes
            fed = ", ".join(f"{n.op_name}: {a.shape}" for n, a in zip(self._inputs, arrays))
            raise OpError(f"{exc} (with fed shapes {fed})") from exc
        t1 = time.perf_counter()
        nodes_in = len(fn.nodes)
        fn, records = optimize(fn, self._passes, check=self._check)
        t2 = time.perf_counter()
        try:
            generated = generate(fn, reuse_memory=self._reuse_memory,
                                 none_outputs=self._op_outputs,
                                 check_numerics=self._check_numerics, backend=self.backend)
        except CompileError as exc:
            warnings.warn(f"graphflow: running {self!r} in the reference interpreter: {exc}",
                          stacklevel=3)
            generated = None
        t3 = time.perf_counter()
        return Specialization(fn, generated, records, t1 - t0, t3 - t2, nodes_in)

    # -- inspecting -------------------------------------------------------------------------------
    def _spec(self) -> Specialization:
        if self._last is None:
            if all(n.shape is not None and None not in n.shape for n in self._inputs):
                dummies = [self.backend.feed(n, np.zeros(n.shape, n.dtype)) for n in self._inputs]
                self._last = self._specialization(dummies)
            else:
                unknown = [n.op_name for n in self._inputs if n.shape is None or None in n.shape]
                raise RuntimeError(f"the code is generated per feed shape and {unknown} have "
                                   f"unknown sizes: call the program once first")
        return self._last

    @property
    def source(self) -> str:
        """The generated Python source (of the most recently used feed shapes), followed by the
        source of any kernel the backend compiles for it (fused loops)."""
        spec = self._spec()
        extra = self.backend.kernel_sources(spec.function.nodes)
        if spec.generated.compiled_source:
            extra = spec.generated.compiled_source + ("\n" + extra if extra else "")
        return spec.generated.source + ("\n\n" + extra if extra else "")

    @property
    def ops(self) -> Tuple[str, ...]:
        """The op types the generated code executes, in order."""
        return self._spec().generated.ops

    @property
    def function(self) -> Function:
        """The optimized graph the code was generated from."""
        return self._spec().function

    def report(self) -> Report:
        """Per pass: nodes before/after and time taken (printable)."""
        spec = self._spec()
        return Report(spec, spec.nodes_in)

    def profile(self, *values, repeat: int = 10) -> Profile:
        """Time each node of the generated code for these feed values: the median over `repeat`
        runs, its share and its output bytes, slowest first (printable), with the median time of
        the plain step. Runs on copies of the variables: profiling a training step does not
        train."""
        if self._before_run is not None:
            self._before_run()
        if len(values) != len(self.feeds):
            raise TypeError(f"this program takes {len(self.feeds)} feed values "
                            f"({', '.join(t.op_name for t in self.feeds)}), got {len(values)}")
        arrays = [self.backend.feed(node, v) for node, v in zip(self.feeds, values)]
        if self._pulls:  # looked at, not taken: profiling leaves the pipelines as they were
            arrays += self._pulled(self._store.twin().begin())
        spec = self._specialization(arrays)
        if spec.generated is None:
            raise RuntimeError(f"{self!r} runs these feed shapes in the reference interpreter: "
                               f"there is no generated code to profile")
        self._last = spec  # .source now shows the code profiled
        variables = [self._store.read(v) for v in spec.generated.variables]
        with self._store.lock:  # the buffers are shared with the program's own runs
            return run_profile(spec.generated, arrays, variables, self._store, self.backend,
                               repeat)

    def __repr__(self) -> str:
        return (f"<gf.Program fetches=[{', '.join(n.op_name for n in self.fetches)}] "
                f"feeds=[{', '.join(n.op_name for n in self.feeds)}]>")


def _scalar(value):
    """A 0-d result as a numpy scalar, as TF1 returns it."""
    return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value
