"""Native segments: each maximal run of statements the native backend compiles (emit.py) becomes
one C function of one extension module per program, called from the generated Python code with
the arrays the run reads and writes; everything else stays the numpy backend's code.

    before:  matmul = np.matmul(x, W1, out=_buf0)
             add = np.add(matmul, b1, out=_buf0)
             Relu = np.maximum(add, 0, out=_buf1)
    after:   # native: matmul, add, relu
             _native_seg0(_c(x), W1, b1, _buf0, _buf1)
             Relu = _buf1                          (names still read after the run)

Shapes are static (the code is generated per feed signature); each C function checks its
arguments' dtypes, sizes and layout before computing anything, and releases the GIL while it
computes. Feeds and values numpy code made are passed through `_c` (a C-contiguous array: no
copy when they are one already); planned buffers and variables are passed as they are.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from ...statements import Statement
from ..numpy import blas
from . import build, emit
from .emit import Val, contiguous_strides
from .kernel import Kernel
from .module import ITEMSIZE, module_source
from .scalar import C_TYPES, literal

MIN_STATEMENTS = 2  # a run computing fewer ops stays numpy code (one call either way)
_VIEWS = {"identity", "stop_gradient", "reshape", "expand_dims", "squeeze", "transpose"}


def contiguous(value) -> np.ndarray:
    """`value` as a C-contiguous ndarray (itself where it is one; 0-d values stay 0-d)."""
    if type(value) is np.ndarray and value.flags.c_contiguous:
        return value
    return np.array(value, order="C", copy=True)


@dataclass
class _Arg:
    expr: str            # the Python expression passed
    ctype: str
    nbytes: int
    written: bool = False
    strides: Optional[Tuple[int, ...]] = None  # a view's, in elements (None: C-contiguous)
    shape: Tuple[int, ...] = ()


@dataclass
class _Block:
    """C lines that are not a flat loop (GEMM calls, reductions, strided loops), with the memory
    they read and write."""

    lines: List[str]
    reads: set
    writes: set


SINK_WINDOW = 64  # how far back a loop is looked for to merge with (compile time stays linear)


@dataclass
class _Run:
    statements: List[Statement] = field(default_factory=list)
    holds: List[Statement] = field(default_factory=list)  # Ctrl-C holds met inside the run
    args: List[_Arg] = field(default_factory=list)
    index: Dict[str, int] = field(default_factory=dict)   # Python expression -> argument
    vals: Dict[str, Val] = field(default_factory=dict)    # names defined in the run
    code: list = field(default_factory=list)  # _Blocks and FlatLoops (merged as they come)
    computing: int = 0
    ctypes: Dict[str, str] = field(default_factory=dict)  # memory written -> its C type
    scratch: int = 0  # bytes of scratch memory its kernels need (kernel.Kernel): one more argument
    helpers: Dict[str, None] = field(default_factory=dict)  # C helper functions they call

    def _movable(self, n: int, untouched: set = frozenset()):
        """The positions, latest first, of flat loops over `n` elements that can move to the end
        of the run: nothing after them touches what they write or writes what they read (nor
        touches `untouched`)."""
        for k in range(len(self.code) - 1, max(-1, len(self.code) - 1 - SINK_WINDOW), -1):
            earlier = self.code[k]
            if not isinstance(earlier, emit.FlatLoop) or earlier.n != n:
                continue
            if all(not (earlier.writes & (x.reads | x.writes)) and not (earlier.reads & x.writes)
                   and not untouched & (x.reads | x.writes) for x in self.code[k + 1:]):
                yield k

    def _to_end(self, k: int) -> None:
        self.code.append(self.code.pop(k))

    def place(self, loop) -> None:
        """Append a flat loop, merged into an earlier loop over as many elements if that one can
        move here: one pass over memory instead of two."""
        for k in self._movable(loop.n):
            if self.code[k].merge(loop):
                self._to_end(k)
                return
        self.code.append(loop)

    def place_sum(self, s, comment: str) -> None:
        """Column sums taken into the flat loop that makes (or reads) their array, if that loop
        can move here; else their own code."""
        for k in self._movable(s.rows * s.cols, {s.out_base}):
            earlier = self.code[k]
            earlier.body.append(comment)
            if earlier.take_sum(s):
                self._to_end(k)
                return
            earlier.body.pop()
        self.code.append(_Block([comment] + s.lines, s.reads, s.writes))

    def drop_dead_stores(self, live: set) -> None:
        """Planned buffers a merged loop writes that nothing else reads (no other item of the
        run, nothing after it: not in `live`) stay in registers."""
        for k, item in enumerate(self.code):
            if not isinstance(item, emit.FlatLoop):
                continue
            others = [x for j, x in enumerate(self.code) if j != k]
            for base in sorted(item.writes):
                if (base.startswith("_buf") and base not in live
                        and not any(base in x.reads or base in x.writes for x in others)):
                    item.keep_in_registers(base, self.ctypes[base])


class Segmenter:
    """Finds the runs of one listing and rewrites its statements (module docstring)."""

    def __init__(self, listing, fn, bind: Callable[[object, str], str]):
        self.listing = listing
        self.c = bind(contiguous, "c")
        self.bind = bind
        n_feeds = len(listing.params) - len(listing.variables)
        self.variable_names = set(listing.params[n_feeds:])
        self.position = {id(s): k for k, s in enumerate(listing.statements)}
        self.defined: Dict[str, Tuple[object, Statement]] = {}
        self.nodes: Dict[str, object] = {}
        for stmt in listing.statements:
            if stmt.node is not None and stmt.target:
                self.nodes[stmt.target] = stmt.node
                self.defined[stmt.target] = (stmt.node, stmt)
        self.param_nodes = dict(zip(listing.params, list(fn.inputs) + list(listing.variables)))
        self.functions: List[Tuple[str, _Run]] = []
        # names a run bound to strided views (transposes) of memory it was passed: their dtype,
        # shape, strides and the memory they are of, so a later run reads them without a copy
        self.views: Dict[str, tuple] = {}

    # -- operands ---------------------------------------------------------------------------------
    def _node_of(self, name: str):
        node = self.nodes.get(name)
        return self.param_nodes.get(name) if node is None else node

    def _arg(self, run: _Run, expr: str, dtype, shape, written: bool = False,
             strides: Optional[Tuple[int, ...]] = None) -> Optional[str]:
        """The C pointer of argument `expr` (added if new), or None (not compilable)."""
        ctype = C_TYPES.get(np.dtype(dtype))
        if ctype is None:
            return None
        nbytes = int(np.prod(shape, dtype=np.int64)) * ITEMSIZE[ctype]
        if expr not in run.index:
            run.index[expr] = len(run.args)
            run.args.append(_Arg(expr, ctype, nbytes, written, strides, tuple(shape)))
        arg = run.args[run.index[expr]]
        if arg.ctype != ctype or arg.strides != strides:
            return None
        arg.nbytes = max(arg.nbytes, nbytes)
        arg.written = arg.written or written
        return f"a{run.index[expr]}"

    def _outside(self, run: _Run, name: str) -> Optional[Val]:
        """A value made before the run, as an operand."""
        if name in self.views:  # passed as it is; its strides are checked
            dtype, shape, strides, root = self.views[name]
            ptr = self._arg(run, name, dtype, shape, strides=strides)
            return None if ptr is None else Val(dtype, shape, ptr, strides, base=root, py=name)
        constants = self.listing.constants
        base = None
        if name in constants:
            value = np.asarray(constants[name])
            if value.dtype not in C_TYPES:
                return None
            if value.size == 1:
                return Val(value.dtype, value.shape, literal=literal(value.reshape(()),
                                                                     value.dtype))
            dtype, shape, expr = value.dtype, tuple(value.shape), f"{self.c}({name})"
        else:
            node = self._node_of(name)
            if node is None or node.dtype is None:
                return None
            dtype, shape = node.dtype, tuple(node.shape)
            made = self.defined.get(name)
            if name in self.variable_names:
                expr = name
            elif made is not None and made[1].out is not None and made[0].type not in _VIEWS:
                expr, base = name, made[1].out  # its planned buffer (aliasing checks)
            else:
                expr = f"{self.c}({name})"
        ptr = self._arg(run, expr, dtype, shape)
        if ptr is None:
            return None
        return Val(np.dtype(dtype), shape, ptr, contiguous_strides(shape), base=base or expr,
                   py=expr)

    def _operand(self, run: _Run, name: str) -> Optional[Val]:
        val = run.vals.get(name)
        return self._outside(run, name) if val is None else val

    def _output(self, run: _Run, stmt: Statement) -> Optional[Val]:
        node = stmt.node
        if stmt.out is None:
            return None
        shape = tuple(node.shape)
        ptr = self._arg(run, stmt.out, node.dtype, shape, written=True)
        if ptr is None:
            return None
        return Val(np.dtype(node.dtype), shape, ptr, contiguous_strides(shape), base=stmt.out,
                   py=stmt.out)

    # -- statements -------------------------------------------------------------------------------
    def _view(self, node, x: Val) -> Optional[Val]:
        shape = tuple(node.shape)
        if x.literal is not None:
            return None
        if node.type == "transpose":
            perm = node.attrs.get("perm")
            perm = tuple(range(len(x.shape)))[::-1] if perm is None else tuple(perm)
            return Val(x.dtype, shape, x.ptr, tuple(x.strides[p] for p in perm), base=x.base,
                       py=f"np.transpose({x.py}, {perm})")
        if not x.contiguous:
            return None
        if node.type in ("identity", "stop_gradient"):
            return x
        return Val(x.dtype, shape, x.ptr, contiguous_strides(shape), base=x.base,
                   py=f"np.reshape({x.py}, {shape})")

    def _take(self, run: _Run, stmt: Statement) -> bool:
        """Add `stmt` to `run` if it can be compiled; False (run unchanged) otherwise."""
        node = stmt.node
        if (node is None or stmt.hold or stmt.snapshot or not stmt.target
                or node.dtype is None or node.shape is None or None in node.shape):
            return False
        if node.type not in emit.EMITTERS and node.type not in _VIEWS:
            return False
        if node.type in emit.USES_GEMM and blas.gemm(node.dtype) is None:
            return False
        mark = (len(run.args), dict(run.index), [replace(a) for a in run.args])
        ins = [self._operand(run, a) for a in stmt.args]
        if ((stmt.shapes and node.type not in emit.SHAPE_INPUTS_KNOWN)
                or any(v is None for v in ins)):
            self._undo(run, mark)
            return False
        if node.type in _VIEWS:
            out = self._view(node, ins[0])
            code: Optional[List[str]] = []
        else:
            out = ins[0] if node.opdef.updates else self._output(run, stmt)
            code = None if out is None else emit.EMITTERS[node.type](node, out, ins, stmt)
        if out is None or code is None:
            self._undo(run, mark)
            return False
        if node.opdef.updates:
            self._arg(run, out.base, out.dtype, out.shape, written=True)
        run.statements.append(stmt)
        run.vals[stmt.target] = out
        comment = f"/* {node.type} {node.op_name} */"
        if isinstance(code, emit.FlatLoop):
            code.body.insert(0, comment)
            run.place(code)
        elif isinstance(code, emit.RowSum):
            run.place_sum(code, comment)
        else:
            if isinstance(code, Kernel):  # C lines with a scratch size and helper functions
                run.scratch = max(run.scratch, code.scratch)
                if code.helpers:
                    run.helpers.setdefault(code.helpers)
                code = code.lines
            if code:
                run.code.append(_Block([comment] + code,
                                       {v.base for v in ins if v.literal is None}, {out.base}))
        run.ctypes[out.base] = C_TYPES[out.dtype]
        # a fused chain counts by its ops: compiled alone, it is still one pass instead of several
        run.computing += (len(node.attrs["steps"]) if node.type == "fused" else 1) if code else 0
        return True

    @staticmethod
    def _undo(run: _Run, mark) -> None:
        count, index, args = mark
        run.args, run.index = args[:count], index

    # -- the rewrite ------------------------------------------------------------------------------
    def statements(self) -> List[Statement]:
        out: List[Statement] = []
        run = _Run()
        for stmt in self.listing.statements:
            if stmt.hold and run.statements:  # held from the start of the run: a little earlier
                run.holds.append(stmt)
                continue
            if self._take(run, stmt):
                continue
            out += self._flush(run)
            run = _Run()
            if self._take(run, stmt):
                continue
            out.append(stmt)
        out += self._flush(run)
        return out

    def _flush(self, run: _Run) -> List[Statement]:
        if run.computing < MIN_STATEMENTS:
            return self._in_order(run)
        k = len(self.functions)
        self.functions.append((f"seg{k}", run))
        defined = {s.target for s in run.statements}
        freed = [n for s in run.statements for n in s.frees]
        run.drop_dead_stores({run.vals[s.target].base for s in run.statements
                              if s.target not in freed})
        args = [a.expr for a in run.args]
        if run.scratch:  # the program's own: runs of one session take turns (Program's lock)
            args.append(self.bind(np.empty(run.scratch, np.uint8), "scratch"))
        call = f"@SEG{k}@({', '.join(args)})"
        code = [f"# native: {', '.join(s.node.type for s in run.statements)}", call]
        for s in run.statements:
            if s.target not in freed:
                val = run.vals[s.target]
                code.append(f"{s.target} = {val.py}")
                if s.node.type in _VIEWS and not val.contiguous:
                    self.views[s.target] = (val.dtype, val.shape, val.strides, val.base)
        frees = [n for n in dict.fromkeys(freed) if n not in defined]
        return run.holds[:1] + [Statement(code=code, frees=frees,
                                          nodes=tuple(s.node for s in run.statements))]

    def _in_order(self, run: _Run) -> List[Statement]:
        """A run left as numpy code: its statements, with any hold where it was."""
        if not run.holds:
            return run.statements
        return sorted(run.statements + run.holds, key=lambda s: self.position[id(s)])


def regroup(listing, fn, bind: Callable[[object, str], str]) -> Tuple[List[Statement], str]:
    """The listing's statements with its native runs as calls of one compiled module, and the
    module's C source."""
    seg = Segmenter(listing, fn, bind)
    statements = seg.statements()
    if not seg.functions:
        return statements, ""
    found = [blas.gemm(np.float32), blas.gemm(np.float64)]
    integer = next((f[1] for f in found if f is not None), ctypes.c_int)
    source = module_source(seg.functions, "int64_t" if ctypes.sizeof(integer) == 8 else "int")
    module = build.load("gf_native", source)
    module.set_gemm(*[(ctypes.cast(f[0], ctypes.c_void_p).value or 0) if f else 0
                      for f in found])
    names = {f"@SEG{k}@": bind(getattr(module, name), f"native_{name}_")
             for k, (name, _) in enumerate(seg.functions)}
    for stmt in statements:
        for k, line in enumerate(stmt.code):
            if line.startswith("@SEG"):
                token = line[:line.index("(")]
                stmt.code[k] = names[token] + line[len(token):]
    return statements, source
