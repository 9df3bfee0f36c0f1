"""C code for one statement of a native segment, from what its operands are: a `Val` is an array
the segment reads or writes (a pointer, a dtype, a static shape and static strides in elements),
or a size-1 constant written as a literal.

    EMITTERS[op](node, out, ins, stmt) -> C lines, or None (the statement stays numpy code)

Elementwise ops and fused chains become one loop over the output (flat where every operand is
the output's shape and contiguous, or one value; nested with static strides otherwise: bias
rows, columns, transposed operands); matmul and matmul_accumulate one call of numpy's own BLAS
GEMM (transposed operands as its flags); reduce_sum/reduce_mean a zeroed output and one pass;
variable updates a loop into the variable; max pooling and its gradient loops over the windows
(pool.py); convolutions im2col/col2im in C around GEMMs (conv.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from ...opdef import REGISTRY
from . import conv, gemm, pool, scalar
from .scalar import C_TYPES, TEMP_TYPES

# Each element is computed from the same element of its operands (or from values the loop does
# not write): no iteration depends on another, also where the output is one of the inputs (an
# in-place op), which GCC cannot prove and would otherwise check at run time, falling back to
# scalar code when the two are the same array.
_IVDEP = "#pragma GCC ivdep"


def contiguous_strides(shape: Sequence[int]) -> Tuple[int, ...]:
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= max(d, 1)
    return tuple(reversed(strides))


@dataclass(frozen=True)
class Val:
    """An operand: `ptr` (a C pointer variable) with `shape` and `strides` (elements), or a
    `literal` (one value). `base` names the argument it lives in (aliasing checks); `py` is a
    Python expression for it (binding a view that outlives the segment)."""

    dtype: np.dtype
    shape: Tuple[int, ...]
    ptr: Optional[str] = None
    strides: Tuple[int, ...] = ()
    literal: Optional[str] = None
    base: Optional[str] = None
    py: Optional[str] = None

    @property
    def contiguous(self) -> bool:
        return self.literal is None and all(
            s == c for s, c, d in zip(self.strides, contiguous_strides(self.shape), self.shape)
            if d != 1)

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def _broadcast_strides(v: Val, shape: Tuple[int, ...]) -> Optional[Tuple[int, ...]]:
    """`v`'s strides read as an operand of `shape` (0 along broadcast axes), or None."""
    if len(v.shape) > len(shape):
        return None
    pad = len(shape) - len(v.shape)
    out = [0] * pad
    for d, s, o in zip(v.shape, v.strides, shape[pad:]):
        if d == o:
            out.append(s if d != 1 else 0)
        elif d == 1:
            out.append(0)
        else:
            return None
    return tuple(out)


@dataclass
class FlatLoop:
    """A loop over `n` elements reading and writing each array at [i] (or one value at [0]):
    segments.py merges consecutive ones into one pass. `reads_one` and `writes` name the
    memory (Val.base) read at [0] and written at [i]."""

    n: int
    body: List[str]
    writes: Set[str] = field(default_factory=set)
    reads_one: Set[str] = field(default_factory=set)
    reads: Set[str] = field(default_factory=set)   # everything read, at [i] or [0]
    ptrs: Dict[str, Set[str]] = field(default_factory=dict)  # base -> the C pointers to it
    locals_: List[str] = field(default_factory=list)   # declarations at the top of the loop
    rows: int = 1         # > 1: run as rows x (n / rows), for the column sums it took in
    partial: Set[str] = field(default_factory=set)     # sums it accumulates (not final inside)
    prologue: List[str] = field(default_factory=list)  # before the loop (zeroing the sums)
    epilogue: List[str] = field(default_factory=list)  # after it (a mean's division)

    def lines(self) -> List[str]:
        if self.rows == 1:
            head = [_IVDEP, f"for (npy_intp i = 0; i < {self.n}; i++) {{"]
        else:  # each row's columns are independent; the rows accumulate the sums in order
            cols = self.n // self.rows
            head = [f"for (npy_intp r = 0; r < {self.rows}; r++)", _IVDEP,
                    f"for (npy_intp c = 0; c < {cols}; c++) {{",
                    f"npy_intp i = r * {cols} + c;"]
        return ["{"] + self.prologue + head + self.locals_ + self.body + ["}"] + \
            self.epilogue + ["}"]

    def merge(self, other: "FlatLoop") -> bool:
        """Append `other`'s body to this loop's if that computes the same (module docstring of
        segments.py): same length, no array this loop reads at [0] written by `other`
        (iteration i would read what `other` wrote at iteration 0), no sum read before it is
        complete, and row structures that agree."""
        if (other.n != self.n or self.reads_one & other.writes
                or self.partial & (other.reads | other.writes) or other.partial & self.reads
                or (self.rows != other.rows and 1 not in (self.rows, other.rows))):
            return False
        self.body += other.body
        self.writes |= other.writes
        self.reads_one |= other.reads_one
        self.reads |= other.reads
        self.partial |= other.partial
        self.prologue += other.prologue
        self.epilogue += other.epilogue
        self.rows = max(self.rows, other.rows)
        for base, ptrs in other.ptrs.items():
            self.ptrs.setdefault(base, set()).update(ptrs)
        return True

    def take_sum(self, s: "RowSum") -> bool:
        """Accumulate the column sums `s` of an array this loop reads or writes at [i], as it
        goes: one pass instead of two. False (nothing done) where it cannot."""
        if (self.n != s.rows * s.cols or self.rows not in (1, s.rows)
                or s.x_ptr not in self.ptrs.get(s.x_base, ()) or s.x_base in self.reads_one
                or s.x_base in self.partial
                or s.out_base in self.reads | self.writes | self.partial):
            return False
        self.rows = s.rows
        self.body.append(f"{s.out_ptr}[c] += {s.x_ptr}[i];")
        self.prologue.append(f"for (npy_intp c = 0; c < {s.cols}; c++) {s.out_ptr}[c] = 0;")
        if s.mean:
            self.epilogue.append(f"for (npy_intp c = 0; c < {s.cols}; c++) {s.out_ptr}[c] = "
                                 f"({s.ctype})({s.out_ptr}[c] / ({s.ctype}){s.rows});")
        self.writes.add(s.out_base)
        self.partial.add(s.out_base)
        self.reads.add(s.x_base)
        self.ptrs.setdefault(s.out_base, set()).add(s.out_ptr)
        return True

    def keep_in_registers(self, base: str, ctype: str) -> bool:
        """Stop storing `base` (a buffer nothing reads after this loop): its element becomes a
        local of the loop body, read from memory only before the body first writes it. False
        (nothing done) where the loop reaches that memory through more than one pointer."""
        if len(self.ptrs.get(base, ())) != 1 or base in self.reads_one or base in self.partial:
            return False
        (ptr,) = self.ptrs[base]
        name = f"r_{ptr}"
        store = f"{ptr}[i] = "
        written = False
        for k, line in enumerate(self.body):
            if written:
                line = line.replace(f"{ptr}[i]", name)
            if line.startswith(store):
                line = f"{name} = " + line[len(store):]
                written = True
            self.body[k] = line
        self.locals_.append(f"{ctype} {name};")
        self.writes.discard(base)
        return True


@dataclass
class RowSum:
    """reduce_sum / reduce_mean of a contiguous array over its leading axes: out[c] = the sum
    over r of x[r, c] (over `rows`; divided by it for a mean), rows added in order, as numpy
    adds them. A flat loop making or reading x can take it in (FlatLoop.take_sum); `lines` is
    the code on its own."""

    rows: int
    cols: int
    x_base: str
    x_ptr: str
    out_base: str
    out_ptr: str
    ctype: str
    mean: bool
    lines: List[str]

    @property
    def reads(self) -> Set[str]:
        return {self.x_base}

    @property
    def writes(self) -> Set[str]:
        return {self.out_base}


MIN_SUM_COLUMNS = 16  # fewer columns: the merged loop's rows would be too short to vectorize


def _pointers(vals: Sequence[Val]) -> Dict[str, Set[str]]:
    found: Dict[str, Set[str]] = {}
    for v in vals:
        found.setdefault(v.base, set()).add(v.ptr)
    return found


def elementwise_loop(out: Val, leaves: Sequence[Val], body: Callable[[List[str]], Tuple[
        List[str], str]]):
    """A loop writing every element of `out` (contiguous) from `leaves` (broadcast to its shape):
    `body(element_exprs)` gives (lines computing temporaries, the value's expression). A
    FlatLoop where every leaf is read at [i] or is one value, else C lines (nested loops with
    static strides), or None where it cannot be compiled."""
    if not out.contiguous or out.literal is not None:
        return None
    shape = out.shape
    # the output's own layout, as _broadcast_strides writes strides (0 along size-1 axes)
    flat = tuple(0 if d == 1 else s for d, s in zip(shape, contiguous_strides(shape)))
    reads = []
    for v in leaves:
        if v.literal is not None:
            reads.append(None)
            continue
        strides = _broadcast_strides(v, shape)
        if strides is None:
            return None
        if v.base == out.base and strides != flat:
            return None  # reads the output's memory in another order: not elementwise in place
        reads.append(strides)
    t = C_TYPES[out.dtype]
    if all(r is None or r == flat or not any(r) for r in reads):
        exprs = [v.literal if r is None else (f"{v.ptr}[0]" if not any(r) else f"{v.ptr}[i]")
                 for v, r in zip(leaves, reads)]
        temps, value = body(exprs)
        arrays = [v for v, r in zip(leaves, reads) if r is not None]
        return FlatLoop(out.size, ["{"] + temps + [f"{out.ptr}[i] = ({t})({value});", "}"],
                        {out.base}, {v.base for v, r in zip(leaves, reads)
                                     if r is not None and not any(r)},
                        {v.base for v in arrays}, _pointers(arrays + [out]))
    lines = ["{"]
    for k, d in enumerate(shape):
        if k == len(shape) - 1:
            lines.append(_IVDEP)
        lines.append(f"for (npy_intp i{k} = 0; i{k} < {d}; i{k}++)")
    lines.append("{")
    exprs = []
    for v, r in zip(leaves, reads):
        if r is None:
            exprs.append(v.literal)
        else:
            terms = [f"i{k} * {s}" for k, s in enumerate(r) if s]
            exprs.append(f"{v.ptr}[{' + '.join(terms) or '0'}]")
    target = f"{out.ptr}[{' + '.join(f'i{k} * {s}' for k, s in enumerate(flat) if s) or '0'}]"
    temps, value = body(exprs)
    return lines + temps + [f"{target} = ({t})({value});", "}", "}"]


def _one_op(node, out: Val, ins: Sequence[Val], stmt) -> Optional[List[str]]:
    dtypes = [v.dtype for v in ins]
    if scalar.expr(node.type, ["x"] * len(ins), out.dtype, dtypes) is None:
        return None
    return elementwise_loop(out, ins, lambda e: ([], scalar.expr(node.type, e, out.dtype,
                                                                  dtypes)))


def _fused(node, out: Val, ins: Sequence[Val], stmt) -> Optional[List[str]]:
    steps = node.attrs["steps"]
    dtypes = [v.dtype for v in ins] + [np.dtype(s.dtype) for s in steps]
    for k, s in enumerate(steps):
        if scalar.expr(s.op, ["x"] * len(s.args), dtypes[len(ins) + k],
                       [dtypes[a] for a in s.args]) is None:
            return None

    def body(exprs: List[str]) -> Tuple[List[str], str]:
        names, lines = list(exprs), []
        for k, s in enumerate(steps):
            dt = dtypes[len(ins) + k]
            name = f"s{k}"
            e = scalar.expr(s.op, [names[a] for a in s.args], dt, [dtypes[a] for a in s.args])
            lines.append(f"{TEMP_TYPES[dt]} {name} = {e};")
            names.append(name)
        return lines, names[-1]
    return elementwise_loop(out, ins, body)


def _update(sign: Optional[str]):
    def emit(node, out, ins, stmt):
        var, delta = ins
        if stmt.written:
            return []
        if delta.dtype != var.dtype or var.dtype not in C_TYPES or delta.base == var.base:
            return None
        if sign is None:
            return elementwise_loop(var, [delta], lambda e: ([], e[0]))
        t = C_TYPES[var.dtype]
        return elementwise_loop(var, [var, delta],
                                lambda e: ([], f"(({t})(({e[0]}) {sign} ({e[1]})))"))
    return emit


def _reduce(mean: bool):
    def emit(node, out, ins, stmt):
        (x,) = ins
        if x.literal is not None or x.dtype != out.dtype or x.dtype.kind != "f":
            return None
        if not out.contiguous or x.base == out.base:
            return None
        axes = node.attrs.get("axis")
        axes = tuple(range(len(x.shape))) if axes is None else tuple(
            a % len(x.shape) for a in (axes if isinstance(axes, tuple) else (axes,)))
        kept = [k for k in range(len(x.shape)) if k not in axes]
        kept_shape = [x.shape[k] for k in kept]
        if math.prod(kept_shape) != out.size:
            return None
        t = C_TYPES[out.dtype]
        ostr = contiguous_strides(kept_shape)
        lines = ["{", f"for (npy_intp i = 0; i < {out.size}; i++) {out.ptr}[i] = 0;"]
        for k, d in enumerate(x.shape):
            if k == len(x.shape) - 1 and k not in axes:  # a row of sums: no dependence
                lines.append(_IVDEP)
            lines.append(f"for (npy_intp i{k} = 0; i{k} < {d}; i{k}++)")
        src = " + ".join(f"i{k} * {s}" for k, s in enumerate(x.strides) if s) or "0"
        dst = " + ".join(f"i{k} * {s}" for k, s in zip(kept, ostr) if s) or "0"
        lines.append(f"{out.ptr}[{dst}] += {x.ptr}[{src}];")
        count = math.prod(x.shape[k] for k in axes)
        if mean:
            lines.append(f"for (npy_intp i = 0; i < {out.size}; i++) "
                         f"{out.ptr}[i] = ({t})({out.ptr}[i] / ({t}){count});")
        lines.append("}")
        leading = axes == tuple(range(len(axes)))
        if leading and x.contiguous and out.size >= MIN_SUM_COLUMNS and count > 1:
            return RowSum(count, out.size, x.base, x.ptr, out.base, out.ptr, t, mean, lines)
        return lines
    return emit


EMITTERS: Dict[str, Callable] = {
    **{op: _one_op for op in scalar.SUPPORTED},
    "fused": _fused,
    "matmul": gemm.matmul,
    "matmul_accumulate": gemm.matmul_accumulate,
    "assign": _update(None),
    "assign_add": _update("+"),
    "assign_sub": _update("-"),
    "reduce_sum": _reduce(False),
    "reduce_mean": _reduce(True),
    "max_pool": pool.max_pool,
    "max_pool_grad": pool.max_pool_grad,
    "conv2d": conv.emit,
    "conv2d_backprop_input": conv.emit,
    "conv2d_backprop_filter": conv.emit,
}
# ops whose inputs read for their shape only (Statement.shapes) their emitters need not see: the
# shapes are static and the emitters take them from the operands and the output
SHAPE_INPUTS_KNOWN = {"conv2d_backprop_input", "conv2d_backprop_filter"}
# ops compiled to calls of numpy's BLAS GEMM: native only where it was found (blas.gemm)
USES_GEMM = {"matmul", "matmul_accumulate", "conv2d", "conv2d_backprop_input",
             "conv2d_backprop_filter"}
if set(EMITTERS) - set(REGISTRY):  # a typo in the table fails loudly, at import
    raise ValueError(f"native emitters for unknown ops {sorted(set(EMITTERS) - set(REGISTRY))}")
