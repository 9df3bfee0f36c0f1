"""What the native backend's C is made of (emit.py writes it, segments.py arranges it): `Val`, an
operand; `FlatLoop`, a loop over the elements of arrays of one size that later loops over as
many elements merge into; `RowSum`, column sums a flat loop can take in as it goes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

# Each element is computed from the same element of its operands (or from values the loop does
# not write): no iteration depends on another, also where the output is one of the inputs (an
# in-place op), which GCC cannot prove and would otherwise check at run time, falling back to
# scalar code when the two are the same array.
IVDEP = "#pragma GCC ivdep"


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


def float_arrays(out: Val, ins: Sequence[Val]) -> bool:
    """`out` and every one of `ins` are contiguous float32/float64 arrays of one dtype, and none
    of `ins` is the output's memory (what the pooling and convolution loops need)."""
    return (out.dtype in (np.float32, np.float64) and out.contiguous
            and all(v.literal is None and v.contiguous and v.dtype == out.dtype
                    and v.base != out.base for v in ins))


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
            head = [IVDEP, f"for (npy_intp i = 0; i < {self.n}; i++) {{"]
        else:  # each row's columns are independent; the rows accumulate the sums in order
            cols = self.n // self.rows
            head = [f"for (npy_intp r = 0; r < {self.rows}; r++)", IVDEP,
                    f"for (npy_intp c = 0; c < {cols}; c++) {{",
                    f"npy_intp i = r * {cols} + c;"]
        return ["{"] + self.prologue + head + self.locals_ + self.body + ["}"] + \
            self.epilogue + ["}"]

    def merge(self, other: "FlatLoop") -> bool:
        """Append `other`'s body to this loop's if that computes the same (module docstring of
        segments.py): same length, no array this loop reads at [0] written by `other`
        (iteration i would read what `other` wrote at iteration 0), no sum read before it is
        complete, and row structures that agree."""
        if (getattr(other, "windowed", False)  # it only hosts: pool.WindowLoop
                or other.n != self.n or self.reads_one & other.writes
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
