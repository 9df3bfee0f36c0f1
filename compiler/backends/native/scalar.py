"""C expressions for one element of each elementwise op the native backend compiles, with numpy's
semantics for float32/float64 (and bool results): each step rounded in its dtype (float32
arithmetic in float, never widened, no contraction into fma), NaN propagated by maximum and
minimum as numpy does, the stable forms of graphflow's kernels (sigmoid as 1 / (1 + exp(-x)),
softplus as max(x, 0) + log1p(exp(-|x|))). exp, log, tanh and the like come from the C
library and may differ from numpy's SIMD code by an ulp, as the fused loops' do.

    expr(op, args, dtype, attrs, arg_dtypes) -> a C expression, or None (not compiled)
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Optional, Sequence

import numpy as np

from ... import dtypes as _dt

C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double",
           _dt.bool_: "npy_bool"}
# A loop's temporaries: bools as int (GCC does not vectorize a loop whose one-byte temporaries
# meet float arithmetic; arrays of bools stay one byte).
TEMP_TYPES = {**C_TYPES, _dt.bool_: "int"}
_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}
_COMPARE = {"equal": "==", "not_equal": "!=", "less": "<", "less_equal": "<=", "greater": ">",
            "greater_equal": ">="}
_LIBM = {"exp": "exp", "log": "log", "log1p": "log1p", "tanh": "tanh", "sin": "sin",
         "cos": "cos", "sqrt": "sqrt"}


def literal(value, dtype: np.dtype) -> str:
    """A C literal of exactly `value` in `dtype` (hexadecimal floats: no decimal rounding)."""
    dtype = np.dtype(dtype)
    if dtype == _dt.bool_:
        return "1" if bool(value) else "0"
    v = float(np.asarray(value, dtype))
    suffix = "f" if dtype == np.float32 else ""
    if math.isnan(v):
        return f"(({C_TYPES[dtype]})NAN)"
    if math.isinf(v):
        return f"(({C_TYPES[dtype]})({'-' if v < 0 else ''}INFINITY))"
    return f"(({C_TYPES[dtype]}){v.hex()}{suffix})"


def _fn(name: str, dtype: np.dtype) -> str:
    return name + ("f" if dtype == np.float32 else "")


def _max(a: str, b: str) -> str:  # numpy: NaN wins from either side; on ties the second
    return f"(({a}) > ({b}) || ({a}) != ({a}) ? ({a}) : ({b}))"


def _min(a: str, b: str) -> str:
    return f"(({a}) < ({b}) || ({a}) != ({a}) ? ({a}) : ({b}))"


def _float_rule(op: str, a: Sequence[str], t: str, dtype: np.dtype) -> Optional[str]:
    one, zero = f"(({t})1)", f"(({t})0)"
    if op in _INFIX:
        return f"(({t})(({a[0]}) {_INFIX[op]} ({a[1]})))"
    if op in _LIBM:
        return f"{_fn(_LIBM[op], dtype)}({a[0]})"
    rules: Dict[str, Callable[[], str]] = {
        "negative": lambda: f"(-({a[0]}))",
        "square": lambda: f"(({t})(({a[0]}) * ({a[0]})))",
        "rsqrt": lambda: f"(({t})({one} / {_fn('sqrt', dtype)}({a[0]})))",
        "abs": lambda: f"{_fn('fabs', dtype)}({a[0]})",
        "sign": lambda: (f"(({a[0]}) > 0 ? {one} : (({a[0]}) < 0 ? (({t})-1) : "
                         f"(({a[0]}) == 0 ? {zero} : ({a[0]}))))"),
        "maximum": lambda: _max(a[0], a[1]),
        "power": lambda: f"{_fn('pow', dtype)}({a[0]}, {a[1]})",
        "minimum": lambda: _min(a[0], a[1]),
        "relu": lambda: _max(a[0], zero),
        "sigmoid": lambda: (f"(({t})({one} / (({t})({_fn('exp', dtype)}(-({a[0]})) "
                            f"+ {one}))))"),
        "softplus": lambda: (f"(({t})({_max(a[0], zero)} + "
                             f"{_fn('log1p', dtype)}({_fn('exp', dtype)}(-{_fn('fabs', dtype)}"
                             f"({a[0]})))))"),
        "sigmoid_cross_entropy_with_logits": lambda: (  # labels a[0], logits a[1]
            f"(({t})(({t})({_max(a[1], zero)} - ({t})(({a[1]}) * ({a[0]}))) + "
            f"{_fn('log1p', dtype)}({_fn('exp', dtype)}(-{_fn('fabs', dtype)}({a[1]})))))"),
        "clip_by_value": lambda: _min(_max(a[0], a[1]), a[2]),
    }
    rule = rules.get(op)
    return rule() if rule else None


def expr(op: str, args: Sequence[str], dtype: np.dtype, arg_dtypes: Sequence[np.dtype]
         ) -> Optional[str]:
    """The C expression computing one element of `op` (result dtype `dtype`) from the C
    expressions `args` (of `arg_dtypes`), or None where the native backend does not compile it."""
    dtype = np.dtype(dtype)
    if dtype not in C_TYPES or any(np.dtype(d) not in C_TYPES for d in arg_dtypes):
        return None
    t = C_TYPES[dtype]
    if op == "cast":
        src = np.dtype(arg_dtypes[0])
        return f"(({args[0]}) != 0)" if dtype == _dt.bool_ and src != _dt.bool_ else \
            f"(({t})({args[0]}))"
    if op in _COMPARE:
        if len(set(arg_dtypes)) != 1 or np.dtype(arg_dtypes[0]).kind != "f":
            return None
        return f"(({args[0]}) {_COMPARE[op]} ({args[1]}))"
    if op in ("logical_and", "logical_or", "logical_not"):
        if dtype != _dt.bool_ or any(np.dtype(d) != _dt.bool_ for d in arg_dtypes):
            return None
        if op == "logical_not":
            return f"(!({args[0]}))"
        return f"(({args[0]}) {'&&' if op == 'logical_and' else '||'} ({args[1]}))"
    if op == "where":
        if np.dtype(arg_dtypes[0]) != _dt.bool_ or not arg_dtypes[1] == arg_dtypes[2] == dtype:
            return None
        return f"(({args[0]}) ? ({args[1]}) : ({args[2]}))"
    if dtype.kind != "f" or any(np.dtype(d) != dtype for d in arg_dtypes):
        return None
    return _float_rule(op, args, t, dtype)


SUPPORTED = frozenset(list(_INFIX) + list(_COMPARE) + list(_LIBM) + [
    "negative", "square", "rsqrt", "abs", "sign", "maximum", "minimum", "power", "relu", "sigmoid",
    "softplus", "sigmoid_cross_entropy_with_logits", "clip_by_value", "cast", "logical_and",
    "logical_or", "logical_not", "where"])
