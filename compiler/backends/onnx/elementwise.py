"""ONNX rules for the elementwise family. numpy broadcasting is ONNX's multidirectional
broadcasting, so most ops map one to one; what needs care is dtypes. ONNX Runtime's CPU build has
no kernel for some ONNX ops on small integers or bools (`KERNELS`), so `widened` computes those in
int32 and casts back: exact, since int8/uint8/int16/uint16 wrap-around is arithmetic modulo 2^k,
which int32 arithmetic followed by a (truncating) cast keeps, and a bool result is "nonzero",
which is what graphflow's numpy kernels give for bool add/multiply/maximum/... too.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from onnx import numpy_helper

from .lowering import ONNX_TABLE as T

_F = {np.dtype(np.float32), np.dtype(np.float64)}
_I = {np.dtype(np.int32), np.dtype(np.int64)}
_SMALL = {np.dtype(t) for t in (np.int8, np.int16, np.uint8, np.uint16)}
_NUMERIC = _F | _I | _SMALL

# The dtypes ONNX Runtime 1.32's CPU build has a kernel for, by ONNX op (measured).
KERNELS = {
    "Add": _NUMERIC, "Sub": _NUMERIC, "Mul": _NUMERIC, "Div": _NUMERIC, "Abs": _NUMERIC,
    "Sign": _NUMERIC, "Mod": _NUMERIC,
    "Neg": _F | _I | {np.dtype(np.int8), np.dtype(np.int16)},
    "Max": _F | _I | {np.dtype(np.int8), np.dtype(np.uint8)},
    "Min": _F | _I | {np.dtype(np.int8), np.dtype(np.uint8)},
    "Where": _F | _I | {np.dtype(np.int8), np.dtype(np.uint8)},
    "Pow": _F | _I, "MatMul": _F | _I,
    "Less": _NUMERIC, "LessOrEqual": _NUMERIC, "Greater": _NUMERIC, "GreaterOrEqual": _NUMERIC,
    "Equal": _NUMERIC | {np.dtype(np.bool_)},
}


def widened(b, op_type: str, dtype, operands: Sequence[str], lead: Sequence[str] = (),
            back: bool = True, **attrs) -> str:
    """op_type(*lead, *operands); where ORT has no kernel for `dtype` (the operands' dtype), the
    operands are cast to int32 first and, with `back`, the result cast back to `dtype`."""
    dtype = np.dtype(dtype)
    if dtype in KERNELS[op_type]:
        return b.op(op_type, *lead, *operands, **attrs)
    out = b.op(op_type, *lead, *[b.cast(x, np.int32) for x in operands], **attrs)
    return b.cast(out, dtype) if back else out


# -- arithmetic ------------------------------------------------------------------------------------
def _binary(op_type):
    def rule(b, node, x, y):
        return widened(b, op_type, node.dtype, [x, y])
    return rule


for _name, _op_type in {"add": "Add", "subtract": "Sub", "multiply": "Mul", "power": "Pow",
                        "maximum": "Max", "minimum": "Min"}.items():
    T.lowering(_name)(_binary(_op_type))


@T.lowering("divide")
def _divide(b, node, x, y):
    """True division: integer and bool inputs are divided in float64 (the node's dtype), as
    numpy's true_divide does."""
    if node.inputs[0].dtype != node.dtype:
        x, y = b.cast(x, node.dtype), b.cast(y, node.dtype)
    return b.op("Div", x, y)


@T.lowering("square")
def _square(b, node, x):
    return widened(b, "Mul", node.dtype, [x, x])  # np.square is x * x, exactly


def _unary(op_type):
    def rule(b, node, x):
        return widened(b, op_type, node.dtype, [x])
    return rule


for _name, _op_type in {"negative": "Neg", "abs": "Abs", "sign": "Sign"}.items():
    T.lowering(_name)(_unary(_op_type))


# -- comparisons -----------------------------------------------------------------------------------
def _compare(op_type, negate=False):
    def rule(b, node, x, y):
        out = widened(b, op_type, node.inputs[0].dtype, [x, y], back=False)
        return b.op("Not", out) if negate else out
    return rule


for _name, _op_type in {"equal": "Equal", "less": "Less", "less_equal": "LessOrEqual",
                        "greater": "Greater", "greater_equal": "GreaterOrEqual"}.items():
    T.lowering(_name)(_compare(_op_type))
T.lowering("not_equal")(_compare("Equal", negate=True))


# -- selection and clipping ------------------------------------------------------------------------
@T.lowering("where")
def _where(b, node, cond, x, y):
    return widened(b, "Where", node.dtype, [x, y], lead=[cond])


@T.lowering("clip_by_value")
def _clip(b, node, x, lo, hi):
    """np.clip is minimum(maximum(x, lo), hi) with lo and hi broadcast like x (NaN stays NaN);
    ONNX's Clip takes scalar bounds only, so Max then Min."""
    return widened(b, "Min", node.dtype, [widened(b, "Max", node.dtype, [x, lo]), hi])


# -- casts and pass-throughs -----------------------------------------------------------------------
@T.lowering("cast")
def _cast(b, node, x):
    return b.cast(x, node.dtype)  # floats to ints truncate toward zero in both


def _identity(b, node, x):
    return b.op("Identity", x)


T.lowering("identity")(_identity)
T.lowering("stop_gradient")(_identity)


def _filled(value):
    def rule(b, node, x):
        """A tensor of x's run-time shape filled with `value` in the node's dtype."""
        fill = numpy_helper.from_array(np.full(1, value, dtype=node.dtype))
        return b.op("ConstantOfShape", b.op("Shape", x), value=fill)
    return rule


T.lowering("zeros_like")(_filled(0))
T.lowering("ones_like")(_filled(1))
