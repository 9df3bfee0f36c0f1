"""C code for one statement of a native segment, from what its operands are: a `Val` is an array
the segment reads or writes (a pointer, a dtype, a static shape and static strides in elements),
or a size-1 constant written as a literal.

    EMITTERS[op](node, out, ins, stmt) -> C lines, or None (the statement stays numpy code)

Elementwise ops, add_n and fused chains become one loop over the output (flat where every operand is
the output's shape and contiguous, or one value; nested with static strides otherwise: bias
rows, columns, transposed operands); matmul and matmul_accumulate one call of numpy's own BLAS
GEMM (transposed operands as its flags); reduce_sum/reduce_mean a zeroed output and one pass;
variable updates a loop into the variable; max pooling and its gradient loops over the windows
(pool.py); convolutions im2col/col2im in C around GEMMs (conv.py).
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from ...opdef import REGISTRY
from . import conv, gemm, pool, scalar
from .loops import IVDEP, FlatLoop, RowSum, Val, contiguous_strides  # noqa: F401 (segments.py)
from .scalar import C_TYPES, TEMP_TYPES


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
            lines.append(IVDEP)
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


def _add_n(node, out: Val, ins: Sequence[Val], stmt) -> Optional[List[str]]:
    """add_n: the inputs added left to right, each sum rounded in the dtype (numpy's order)."""
    if out.dtype.kind != "f" or any(v.dtype != out.dtype for v in ins):
        return None
    t = C_TYPES[out.dtype]

    def body(exprs: List[str]) -> Tuple[List[str], str]:
        value = exprs[0]
        for e in exprs[1:]:
            value = f"(({t})(({value}) + ({e})))"
        return [], value
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
                lines.append(IVDEP)
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
    "add_n": _add_n,
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
