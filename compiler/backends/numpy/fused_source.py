"""The source of a fused chain's loop (compiler/backends/numpy/fused_jit.py compiles it): one
scalar rule per op, each step rounded in the dtype numpy gives it, integer wrap-around, NaN,
inf and signed zeros as numpy; the leaf kinds (full, scalar, row) and the two-level loop.

    plan(steps, kinds, leaf_dtypes) -> (source, result dtype), or None: run_steps must run
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ... import dtypes as _dt
from ...opdef import REGISTRY
from ...ops.fused import Step, describe_steps, run_steps

__all__ = ["SUPPORTED", "plan", "leaf_kind"]


# -- scalar code per op ----------------------------------------------------------------------------
class _Emitter:
    """Renders one step: `t` is its dtype's constructor (np.float32); `tmp` names a subexpression
    (so max/min read plain names); `scalars` says which arguments are the same for every element."""

    def __init__(self, lines: List[str], name: str, dtype: np.dtype, scalars: Sequence[bool]):
        self.lines, self.name, self.scalars = lines, name, scalars
        self.dtype, self.t = dtype, _ctor(dtype)
        self.count = 0

    def tmp(self, expr: str) -> str:
        self.count += 1
        name = f"{self.name}_{self.count}"
        self.lines.append(f"{name} = {expr}")
        return name


_U64 = np.dtype(np.uint64)


def _ctor(dtype: np.dtype) -> str:
    return "np.bool_" if dtype == _dt.bool_ else f"np.{dtype.name}"


# numpy's maximum/minimum: NaN wins from either side; on ties (-0.0 vs 0.0) the second argument.
def _max(g, a, b):
    return f"{a} if ({a} > {b}) | ({a} != {a}) else {b}"


def _min(g, a, b):
    return f"{a} if ({a} < {b}) | ({a} != {a}) else {b}"


def _clip(g, x, lo, hi):
    if g.scalars[1] and g.scalars[2]:  # numpy's constant-bounds loop keeps x on ties
        t = g.tmp(f"{x} if ({x} >= {lo}) | ({x} != {x}) else {lo}")
        return f"{t} if ({t} <= {hi}) | ({t} != {t}) else {hi}"
    return _min(g, g.tmp(_max(g, x, lo)), hi)


def _sign(g, a):
    return f"{g.t}(1) if {a} > 0 else ({g.t}(-1) if {a} < 0 else ({g.t}(0) if {a} == 0 else {a}))"


def _abs(g, a):
    if g.dtype.kind == "i":  # abs(INT_MIN) is INT_MIN, as in numpy (wrapping, see _WRAPPING)
        return f"{a} if {a} >= 0 else {g.t}(np.uint64(0) - np.uint64({a}))"
    return f"abs({a})" if g.dtype.kind == "f" else a


def _softplus(g, a):  # max(x, 0) + log1p(exp(-|x|)), each step rounded as numpy rounds it
    tail = g.tmp(f"{g.t}(np.log1p({g.t}(np.exp(-abs({a})))))")
    return f"{g.tmp(_max(g, a, g.tmp(f'{g.t}(0)')))} + {tail}"


def _infix(sym, g, a, b):
    return f"{a} {sym} {b}"


def _ufunc(fn, g, a):
    return f"np.{fn}({a})"


_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "equal": "==",
          "not_equal": "!=", "less": "<", "less_equal": "<=", "greater": ">", "greater_equal": ">=",
          "logical_and": "&", "logical_or": "|"}
_RULES: Dict[str, Callable] = {
    **{op: functools.partial(_infix, sym) for op, sym in _INFIX.items()},
    **{fn: functools.partial(_ufunc, fn) for fn in ("sqrt", "exp", "log", "log1p", "tanh", "sin",
                                                    "cos")},
    "negative": lambda g, a: f"np.uint64(0) - {a}" if g.dtype == _U64 else f"-{a}",
    "square": lambda g, a: f"{a} * {a}",
    "rsqrt": lambda g, a: f"{g.t}(1) / {g.t}(np.sqrt({a}))",
    "abs": _abs,
    "sign": _sign,
    "maximum": _max,
    "minimum": _min,
    "relu": lambda g, a: _max(g, a, g.tmp(f"{g.t}(0)")),
    "sigmoid": lambda g, a: f"{g.t}(1) / ({g.t}(np.exp(-{a})) + {g.t}(1))",
    "softplus": _softplus,
    "where": lambda g, c, a, b: f"{a} if {c} else {b}",
    "clip_by_value": _clip,
    "cast": lambda g, a: a,  # the operand is converted to the target dtype already
    "logical_not": lambda g, a: f"not {a}",
}
SUPPORTED = frozenset(_RULES)
if SUPPORTED - set(REGISTRY):  # a typo in the table fails loudly, at import
    raise ValueError(f"fused_jit has rules for unknown ops {sorted(SUPPORTED - set(REGISTRY))}")
# Integer ops that may overflow run in uint64, which wraps: numba's signed arithmetic is `nsw`
# (overflow is undefined to LLVM, which then folds comparisons of the results wrongly).
_WRAPPING = frozenset(("add", "subtract", "multiply", "negative", "square"))
_COMPARE = frozenset(("equal", "not_equal", "less", "less_equal", "greater", "greater_equal"))
_LOGICAL = frozenset(("logical_and", "logical_or", "logical_not"))


def _operand_dtypes(step: Step, ins: Sequence[np.dtype], out: np.dtype) -> List[np.dtype]:
    """The dtype numpy computes each argument of `step` in (its ufunc loop's input types)."""
    if step.op in _COMPARE:
        return [np.result_type(*ins)] * len(ins)
    if step.op in _LOGICAL:
        return [_dt.bool_] * len(ins)
    if step.op == "where":
        return [_dt.bool_, out, out]
    return [out] * len(ins)


def _convert(name: str, src: np.dtype, dst: np.dtype) -> str:
    if src == dst:
        return name
    return f"({name} != 0)" if dst == _dt.bool_ else f"{_ctor(dst)}({name})"


# -- planning: leaf kinds and dtypes ---------------------------------------------------------------
def _strip(shape: Tuple[int, ...]) -> Tuple[int, ...]:
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def leaf_kind(shape: Tuple[int, ...], out_shape: Tuple[int, ...]) -> Optional[str]:
    """'s' (one value), 'f' (the output's shape), 'r' (a trailing part of it), else None."""
    if math.prod(shape) == 1:
        return "s"
    leaf, out = _strip(shape), _strip(out_shape)
    if leaf == out:
        return "f"
    if len(leaf) < len(out) and out[len(out) - len(leaf):] == leaf:
        return "r"
    return None


def _trace(steps: Sequence[Step], leaf_dtypes: Sequence[np.dtype]) -> Optional[List[np.dtype]]:
    """The dtype of every value (leaves, then steps) as run_steps gives it: each step's own kernel
    on one-element arrays. None where run_steps would fail or a dtype is not graphflow's."""
    values = [np.ones(1, dt) for dt in leaf_dtypes]
    try:
        with np.errstate(all="ignore"):
            for step in steps:
                values.append(np.asarray(run_steps([step], values)))
    except Exception:  # noqa: BLE001 - run_steps raises it again, for the caller to see
        return None
    dtypes = [v.dtype for v in values]
    return dtypes if all(dt in _dt.SUPPORTED for dt in dtypes) else None


def _flow(steps: Sequence[Step], kinds: Sequence[str]) -> Tuple[List[bool], List[set]]:
    """For each value: whether it is one value for every element, and the leaves it reads."""
    scalar, reads = [k == "s" for k in kinds], [{i} for i in range(len(kinds))]
    for step in steps:
        scalar.append(all(scalar[a] for a in step.args))
        reads.append(set().union(*[reads[a] for a in step.args]))
    return scalar, reads


def _compilable(steps: Sequence[Step], kinds: Sequence[str]) -> bool:
    """Whether the kernel computes what run_steps does: supported ops, the last step reading every
    leaf (so it has the output's shape), and no clip of three constants (numpy's choice between
    its two clip loops, which differ on ties, then depends on the ndims)."""
    scalar, reads = _flow(steps, kinds)
    return (bool(steps) and all(s.op in SUPPORTED for s in steps) and len(reads[-1]) == len(kinds)
            and not any(s.op == "clip_by_value" and scalar[len(kinds) + n]
                        for n, s in enumerate(steps)))


# -- source generation -----------------------------------------------------------------------------
def _render(steps: Sequence[Step], kinds: Sequence[str], dtypes: Sequence[np.dtype]) -> str:
    """The kernel's source (see the module docstring)."""
    k = len(kinds)
    scalar = _flow(steps, kinds)[0]
    hoisted: List[str] = [f"v{i} = a{i}" for i in range(k) if kinds[i] == "s"]
    body = [f"v{i} = a{i}[{'base + j' if kinds[i] == 'f' else 'j'}]"
            for i in range(k) if kinds[i] != "s"]
    for n, step in enumerate(steps, start=k):
        lines = hoisted if scalar[n] else body
        ins = [dtypes[a] for a in step.args]
        wraps = step.op in _WRAPPING and dtypes[n].kind in "iu"
        ops = _operand_dtypes(step, ins, _U64 if wraps else dtypes[n])
        if step.op == "cast":
            ops = [dtypes[n]]
        names = [_convert(f"v{a}", src, dst) for a, src, dst in zip(step.args, ins, ops)]
        g = _Emitter(lines, f"v{n}", ops[-1] if wraps else dtypes[n],
                     [scalar[a] for a in step.args])
        lines.append(f"v{n} = {_ctor(dtypes[n])}({_RULES[step.op](g, *names)})")
    leaves = ", ".join(f"{kind}:{dt.name}" for kind, dt in zip(kinds, dtypes))
    head = [f"# graphflow fused kernel: {describe_steps(steps, k)}", f"# leaves: {leaves}",
            "import numpy as np", "from numba import njit", "", "",
            '@njit(error_model="numpy", cache=True)',
            f"def kernel(out, n_rows, row_len{''.join(f', a{i}' for i in range(k))}):"]
    loop = ["for r in range(n_rows):", "    base = r * row_len", "    for j in range(row_len):"]
    body.append(f"out[base + j] = v{k + len(steps) - 1}")
    return "\n".join(head + [f"    {s}" for s in hoisted + loop]
                     + [f"            {s}" for s in body]) + "\n"


def plan(steps: Tuple[Step, ...], kinds: Tuple[str, ...], leaf_dtypes: Sequence[np.dtype]):
    """(kernel source, result dtype), or None where run_steps must run instead."""
    dtypes = _trace(steps, leaf_dtypes) if _compilable(steps, kinds) else None
    return None if dtypes is None else (_render(steps, kinds, dtypes), dtypes[-1])
