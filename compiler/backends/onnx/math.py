"""ONNX rules for the unary float functions, the logical ops and floor division (ops/math.py,
ops/division.py, the float functions of ops/elementwise.py). ONNX has no Log1p and its Mod is a
floor-mod for integers only, so log1p, floordiv and floormod are written out exactly."""

from __future__ import annotations

import numpy as np

from .lowering import ONNX_TABLE as T

__all__ = ["log1p"]


def _float_unary(op_type):
    def rule(b, node, x):
        return b.op(op_type, x)
    return rule


for _name, _op_type in {"sqrt": "Sqrt", "exp": "Exp", "log": "Log", "sin": "Sin",
                        "cos": "Cos"}.items():
    T.lowering(_name)(_float_unary(_op_type))


def log1p(b, x: str, dtype) -> str:
    """log(1 + x) to a few ulps for every x (Goldberg's u = 1 + x; log(u) * x / (u - 1)): x where
    u - 1 rounds to 0, log(u) where u - 1 == x (that covers 0, -1 and +-inf), else the ratio."""
    u = b.op("Add", b.scalar(1, dtype), x)
    d = b.op("Sub", u, b.scalar(1, dtype))
    log_u = b.op("Log", u)
    ratio = b.op("Mul", log_u, b.op("Div", x, d))
    exact = b.op("Where", b.op("Equal", d, x), log_u, ratio)
    return b.op("Where", b.op("Equal", d, b.scalar(0, dtype)), x, exact)


@T.lowering("log1p")
def _log1p(b, node, x):
    return log1p(b, x, node.dtype)


@T.lowering("rsqrt")
def _rsqrt(b, node, x):
    """1 / sqrt(x), an IEEE sqrt and division as graphflow's kernel (no approximate rsqrt)."""
    return b.op("Div", b.scalar(1, node.dtype), b.op("Sqrt", x))


@T.lowering("logical_and")
def _logical_and(b, node, x, y):
    return b.op("And", x, y)


@T.lowering("logical_or")
def _logical_or(b, node, x, y):
    return b.op("Or", x, y)


@T.lowering("logical_not")
def _logical_not(b, node, x):
    return b.op("Not", x)


# -- floor division --------------------------------------------------------------------------------
def _is_float(node) -> bool:
    return node.dtype.kind == "f"


def _int_operands(b, node, x, y):
    """Integer operands ORT divides: bools in int32 (Div has no bool kernel)."""
    if node.dtype == np.bool_:
        return b.cast(x, np.int32), b.cast(y, np.int32), np.dtype(np.int32)
    return x, y, node.dtype


def _float_fmod_fixed(b, x, y, dtype):
    """numpy's npy_divmod for floats: m = fmod(x, y) and whether m needs y added (m != 0 with
    the other sign than y: the floor remainder takes the divisor's sign)."""
    m = b.op("Mod", x, y, fmod=1)
    zero = b.scalar(0, dtype)
    signs_differ = b.op("Xor", b.op("Less", y, zero), b.op("Less", m, zero))
    return m, b.op("And", b.op("Not", b.op("Equal", m, zero)), signs_differ)


@T.lowering("floormod")
def _floormod(b, node, x, y):
    """Integers: ONNX Mod with fmod=0 is Python's floor-mod. Floats: numpy's remainder,
    fmod(x, y) plus y where fmod's sign differs from y's (ONNX forbids fmod=0 for floats)."""
    if not _is_float(node):
        xi, yi, dtype = _int_operands(b, node, x, y)
        out = b.op("Mod", xi, yi, fmod=0)
        return out if dtype == node.dtype else b.cast(out, node.dtype)
    m, fix = _float_fmod_fixed(b, x, y, node.dtype)
    return b.op("Where", fix, b.op("Add", m, y), m)


@T.lowering("floordiv")
def _floordiv(b, node, x, y):
    """Integers: ONNX's Div truncates toward zero; the floor is one less where the truncated
    remainder (Mod fmod=1) is not the floor remainder (fmod=0). Floats: numpy's npy_divmod,
    (x - fmod(x, y)) / y, less one where fmod's sign differs from y's, then rounded to the
    nearest integer by floor (+1 past .5); x / y where y == 0 (inf or NaN)."""
    if not _is_float(node):
        xi, yi, dtype = _int_operands(b, node, x, y)
        off = b.op("Not", b.op("Equal", b.op("Mod", xi, yi, fmod=0), b.op("Mod", xi, yi, fmod=1)))
        out = b.op("Sub", b.op("Div", xi, yi), b.cast(off, dtype))
        return out if dtype == node.dtype else b.cast(out, node.dtype)
    dtype = node.dtype
    m, fix = _float_fmod_fixed(b, x, y, dtype)
    div = b.op("Sub", b.op("Div", b.op("Sub", x, m), y), b.cast(fix, dtype))
    floor = b.op("Floor", div)
    up = b.op("Greater", b.op("Sub", div, floor), b.scalar(0.5, dtype))
    rounded = b.op("Add", floor, b.cast(up, dtype))
    return b.op("Where", b.op("Equal", y, b.scalar(0, dtype)), b.op("Div", x, y), rounded)

