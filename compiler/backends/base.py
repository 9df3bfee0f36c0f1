"""The Backend interface: everything Program, Session, capture and the profiler ask of a backend.

A backend is one package under compiler/backends/ holding its lowering table (how it runs each
op) and its runtime (variable store, feed and result conversion, copies for undo, random
streams), registered by name in compiler/backends/__init__.py. Nothing outside the package asks
which backend it is: the differences are the answers to the questions below.

Code generation (compiler/codegen.py renders each planned statement with these):
    table          the LoweringTable: one rule per op (compiler/backends/lowering.py)
    modules        the names the generated code uses ({"np": numpy, ...}), bound in its globals
    reuse_memory   whether values may be written into planned buffers (`out=`) and over dying
                   inputs; a backend with its own caching allocator says False
    allocate(shape, dtype)  one planned buffer (reuse_memory only)
    copy           the expression copying a value: "np.array({})"
    scalar_results 0-d results become numpy scalars inside the generated code
    dtype(d)       a numpy dtype as source text in this backend's spelling
    constant(v)    a constant's value as this backend's array (bound by name)
    reference(kernel, stateful)  a callable running a numpy reference kernel on this backend's
                   values (REFERENCE rules)
    check_numerics(check)  numerics.check adapted to this backend's values

Running:
    make_store()   the session's VariableStore
    feed(node, v)  a fed value, checked (FeedError naming the node) and converted
    signature(vs)  the cache key of already-checked feed values, or None where every feed must be
                   checked first (the numpy fast path)
    errstate()     the context the generated code runs in
    results(outs, as_tensors)  what a run returns
    snapshot(v) / restore(target, v)  a copy for undo, and putting it back in place
    to_numpy(v), from_numpy(a)  between this backend's values and numpy arrays
    host_store(store)  the store the reference interpreter runs against
    clock()        a time reading after the work issued so far has finished (profiling)
    has_tensors    results can stay this backend's own arrays (return_tensors=True)
    interprets     the session can run unoptimized in the reference interpreter (optimize=False)
    fuses          it runs `fused` nodes (compiler/passes/fuse.py) well: Session(fuse=True) is
                   refused on backends that do not; fuses_by_default: Session(fuse=None) fuses
    prepare(node)  a callable made for one node at code generation ({prepared} templates)
    kernel_sources(nodes)  the source of the kernels it compiles for them (Program.source)
    regroup(listing, fn, bind)  runs of rendered statements replaced by calls of code it compiled
                   for them (the native backend), with that code's source
    captured_program(...)  a Program recording its steps into a device graph (capture=True)
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any, Callable, Dict, Optional

import numpy as np

from ..store import VariableStore
from .lowering import LoweringTable


class Backend(ABC):
    """What the compiler needs from a backend (module docstring)."""

    name: str = ""
    device: Any = "cpu"
    table: LoweringTable
    modules: Dict[str, object] = {}
    reuse_memory: bool = False
    scalar_results: bool = False
    copy: str = ""
    has_tensors: bool = False
    fuses: bool = False  # runs the fuse pass's fused nodes as compiled loops (Session(fuse=True))
    fuses_by_default: bool = False  # Session(fuse=None) adds the fuse pass
    interprets: bool = False

    # -- code generation ---------------------------------------------------------------------------
    def rule(self, node):
        """The lowering rule of `node` (BackendError naming the op and node if there is none)."""
        return self.table.rule(node)

    @abstractmethod
    def dtype(self, dtype: np.dtype) -> str:
        """`dtype` as source text."""

    @abstractmethod
    def constant(self, value):
        """A constant as this backend's value."""

    @abstractmethod
    def reference(self, kernel: Callable, stateful: bool) -> Callable:
        """A callable running numpy `kernel` on this backend's values; stateful kernels take
        (state, node, *inputs)."""

    def check_numerics(self, check: Callable) -> Callable:
        return check

    def allocate(self, shape: tuple, dtype: np.dtype):
        """A buffer the memory plan writes values of this shape and dtype into."""
        return np.empty(shape, dtype)

    # -- running -----------------------------------------------------------------------------------
    @abstractmethod
    def make_store(self) -> VariableStore:
        """A session's variable store."""

    @abstractmethod
    def feed(self, node, value):
        """`value` checked against placeholder `node` and converted to this backend's value."""

    def signature(self, values) -> Optional[tuple]:
        """The compiled-code cache key of these feed values when they need no checking, else
        None (every value is then checked and converted by feed())."""
        return None

    def errstate(self):
        return np.errstate(all="ignore")  # inf/NaN come back as values, as in TF

    @abstractmethod
    def results(self, outs, as_tensors: bool = False):
        """The run's results as the caller gets them."""

    @abstractmethod
    def snapshot(self, value):
        """A copy of `value` (undo)."""

    @abstractmethod
    def restore(self, target, value) -> None:
        """Copy `value` back into `target` in place."""

    @abstractmethod
    def to_numpy(self, value):
        """A value as numpy (0-d as a numpy scalar)."""

    def from_numpy(self, array: np.ndarray):
        return self.constant(array)

    def host_store(self, store: VariableStore) -> VariableStore:
        """The store the reference interpreter (numpy) runs against."""
        return store

    def prepare(self, node):
        """A callable computing `node` (its inputs' shapes and dtypes are static), for a rule
        whose template says {prepared}; only backends with such rules need it."""
        raise NotImplementedError(f"the {self.name} backend prepares no kernels")

    def regroup(self, listing, fn, bind):
        """(statements, source): the listing's rendered statements, runs of them possibly
        replaced by one statement calling code this backend compiled for them (its `nodes` say
        which), and that code's source; `bind(obj, hint)` names an object in the generated code.
        Default: the statements as they are, no source."""
        return listing.statements, ""

    def kernel_sources(self, nodes) -> str:
        """Source of kernels this backend compiles for some of `nodes` (fused loops), shown after
        the step's own source by Program.source; "" where there are none."""
        return ""

    def clock(self) -> float:
        return time.perf_counter()

    def captured_program(self, fetches, feeds, store, **options):
        raise ValueError(f"capture=True records the step into a CUDA graph: it needs "
                         f"gf.Session(backend='torch', device='cuda'); this session uses the "
                         f"{self.name} backend")

    def __repr__(self) -> str:
        return f"<graphflow {self.name} backend on {self.device}>"
