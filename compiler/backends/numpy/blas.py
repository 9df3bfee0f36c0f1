"""`matmul_accumulate` (var = beta * var + alpha * a @ b, made by compiler/passes/epilogues.py) as
one call of BLAS's GEMM writing into the variable's own memory.

The GEMM is numpy's own: the OpenBLAS that numpy's wheels ship and numpy's matmul calls (found
beside numpy, called through ctypes). A second BLAS (scipy's) would bring a second pool of
threads, and the two pools spinning in turn on the same cores made a training step 10-20x
slower when measured. Where numpy was built against another BLAS (MKL, Accelerate), or the
library or its symbol is not found, the statement runs as numpy ops instead (`matmul`, then
the scaling and the sum into var): the same numbers, without the saving.

A row-major operand is passed as it is, a transposed view (column-major) with the transpose
flag, a matrix with rows of unit stride (a slice of columns) with its row stride as the leading
dimension: no copies, as numpy's matmul. Anything else is copied first, as numpy's matmul does.
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import Callable, Optional, Tuple

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
# (symbol, integer type): numpy's wheels ship OpenBLAS built with 64-bit integers, its symbols
# renamed "scipy_..._64_"; other builds keep the plain names.
_SYMBOLS = (("scipy_cblas_%sgemm64_", ctypes.c_int64), ("cblas_%sgemm64_", ctypes.c_int64),
            ("scipy_cblas_%sgemm", ctypes.c_int), ("cblas_%sgemm", ctypes.c_int))
_PREFIX = {np.dtype(np.float32): ("s", ctypes.c_float),
           np.dtype(np.float64): ("d", ctypes.c_double)}
_FOUND: dict = {}


def _numpy_openblas() -> Optional[ctypes.CDLL]:
    """The OpenBLAS library numpy loaded (numpy's wheels keep it in numpy.libs or numpy/.dylibs)."""
    blas = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
    if "openblas" not in str(blas.get("name", "")).lower():
        return None
    here = os.path.dirname(np.__file__)
    for folder in (os.path.join(here, os.pardir, "numpy.libs"), os.path.join(here, ".dylibs")):
        for path in sorted(glob.glob(os.path.join(folder, "*openblas*"))):
            try:
                return ctypes.CDLL(path)  # already loaded by numpy: the same library and threads
            except OSError:
                continue
    return None


def gemm(dtype: np.dtype) -> Optional[Tuple[Callable, type]]:
    """numpy's cblas_?gemm for `dtype` (float32, float64) and its integer type, or None."""
    dtype = np.dtype(dtype)
    if dtype not in _FOUND:
        _FOUND[dtype] = None
        lib = _numpy_openblas() if dtype in _PREFIX else None
        letter, scalar = _PREFIX.get(dtype, ("", None))
        for name, integer in _SYMBOLS if lib is not None else ():
            fn = getattr(lib, name % letter, None)
            if fn is not None:
                p = ctypes.c_void_p
                fn.argtypes = [ctypes.c_int] * 3 + [integer] * 3 + [scalar, p, integer, p, integer,
                                                                    scalar, p, integer]
                fn.restype = None
                _FOUND[dtype] = (fn, integer)
                break
    return _FOUND[dtype]


def layout(shape: Tuple[int, int], strides: Tuple[int, int]) -> Optional[Tuple[bool, int]]:
    """(transposed, leading dimension) of a matrix with these strides (in elements) as a
    row-major GEMM operand: rows of unit stride as they are, columns of unit stride (a
    transposed view) with the transpose flag; None where neither is (copy it first)."""
    (rows, cols), (s0, s1) = shape, strides
    if (s1 == 1 or cols == 1) and s0 >= max(cols, 1):
        return False, s0 if rows > 1 else max(cols, 1)
    if (s0 == 1 or rows == 1) and s1 >= max(rows, 1):
        return True, s1 if cols > 1 else max(rows, 1)
    return None


def _operand(m: np.ndarray) -> Tuple[np.ndarray, int, int]:
    """(array to pass, transpose flag, leading dimension) for a row-major GEMM operand."""
    item = m.itemsize
    s0, s1 = m.strides
    found = layout(m.shape, (s0 // item, s1 // item)) if not (s0 % item or s1 % item) else None
    if found is None:
        m = np.ascontiguousarray(m)
        found = layout(m.shape, (m.strides[0] // item, m.strides[1] // item))
    return m, _TRANS if found[0] else _NO_TRANS, found[1]


def _by_numpy(var, a, b, alpha, beta):
    product = np.matmul(a, b)
    if beta != 1.0:
        var *= var.dtype.type(beta)
    product *= var.dtype.type(alpha)
    var += product


def prepare(node) -> Callable:
    """The statement's callable: accumulate(var, a, b) updating `var` in place."""
    alpha, beta = node.attrs["alpha"], node.attrs["beta"]
    found = gemm(node.dtype)
    if found is None:
        return lambda var, a, b: _by_numpy(var, a, b, alpha, beta)
    fn = found[0]

    def accumulate(var, a, b):
        m, n = var.shape
        k = a.shape[1]
        if not var.flags.c_contiguous or k == 0 or a.dtype != var.dtype or b.dtype != var.dtype:
            return _by_numpy(var, a, b, alpha, beta)
        a, ta, lda = _operand(a)
        b, tb, ldb = _operand(b)
        fn(_ROW_MAJOR, ta, tb, m, n, k, alpha, a.ctypes.data, lda, b.ctypes.data, ldb, beta,
           var.ctypes.data, max(n, 1))

    return accumulate
