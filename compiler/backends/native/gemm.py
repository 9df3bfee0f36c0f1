"""C code for matmul and matmul_accumulate (emit.py's emitters): one call of numpy's own BLAS
GEMM, transposed operands as its flags (blas.layout, the numpy backend's rule too), through the
function pointers the module is given (module.py's set_gemm)."""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from ..numpy.blas import layout
from . import scalar
from .kernel import Kernel
from .loops import IVDEP, Val
from .scalar import C_TYPES


def _gemm_operand(v: Val) -> Optional[Tuple[str, int]]:
    """(transpose flag, leading dimension) of a 2-D operand for a row-major GEMM (blas.layout,
    which the numpy backend's GEMM uses too)."""
    if v.literal is not None or len(v.shape) != 2:
        return None
    found = layout(v.shape, v.strides)
    return None if found is None else ("CblasTrans" if found[0] else "CblasNoTrans", found[1])


# A product of few rows (a small batch) with a transposed right operand (x @ W.T: the gradient of
# a dense layer's input) runs faster in OpenBLAS transposed: out.T = W @ x.T into scratch, then
# copied back (measured: 0.5-0.8x the time for 32-64 rows, K and N of 784-3136). Not for a GEMM
# that accumulates into its output (beta != 0).
SWAP_MAX_ROWS, SWAP_MIN_K = 64, 64


def _gemm(out: Val, a: Val, b: Val, alpha: str, beta: Optional[str]):
    """One GEMM call, out = alpha * a @ b + beta * out (beta None: 0, and the output may be
    computed transposed, see SWAP_MAX_ROWS)."""
    if len(out.shape) != 2 or not out.contiguous or out.base in (a.base, b.base):
        return None
    fa, fb = _gemm_operand(a), _gemm_operand(b)
    if fa is None or fb is None or a.dtype != out.dtype or b.dtype != out.dtype:
        return None
    m, n = out.shape
    k = a.shape[1]
    if k == 0:
        return None
    fn = {np.dtype(np.float32): "gf_sgemm", np.dtype(np.float64): "gf_dgemm"}.get(out.dtype)
    if fn is None:
        return None
    if beta is None and fb[0] == "CblasTrans" and m <= SWAP_MAX_ROWS and k >= SWAP_MIN_K \
            and n >= 4 * m:
        flip = {"CblasTrans": "CblasNoTrans", "CblasNoTrans": "CblasTrans"}
        t = C_TYPES[out.dtype]
        return Kernel([
            "{", f"{t} *const s = ({t} *)gf_scratch;  /* the product transposed, {n} x {m} */",
            f"{fn}(CblasRowMajor, {flip[fb[0]]}, {flip[fa[0]]}, {n}, {m}, {k}, {alpha}, "
            f"{b.ptr}, {fb[1]}, {a.ptr}, {fa[1]}, {scalar.literal(0.0, out.dtype)}, s, {m});",
            f"for (npy_intp r = 0; r < {m}; r++)", IVDEP,
            f"for (npy_intp c = 0; c < {n}; c++) {out.ptr}[r * {n} + c] = s[c * {m} + r];",
            "}"], scratch=m * n * out.dtype.itemsize)
    beta = scalar.literal(0.0, out.dtype) if beta is None else beta
    return [f"{fn}(CblasRowMajor, {fa[0]}, {fb[0]}, {m}, {n}, {k}, {alpha}, {a.ptr}, {fa[1]}, "
            f"{b.ptr}, {fb[1]}, {beta}, {out.ptr}, {max(n, 1)});"]


def matmul(node, out, ins, stmt):
    a, b = ins
    return _gemm(out, a, b, scalar.literal(1.0, out.dtype), None)


def matmul_accumulate(node, out, ins, stmt):
    var, a, b = ins
    return _gemm(var, a, b, scalar.literal(node.attrs["alpha"], var.dtype),
                 scalar.literal(node.attrs["beta"], var.dtype))
