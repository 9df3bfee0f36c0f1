"""Fused elementwise chains run as one numba-compiled loop (the numpy backend's `fused` rule).

    run(steps, x, b)        # relu(x + b): one pass over memory instead of two numpy calls

The generated source (print `source(steps, *args)`) is an `@njit(error_model="numpy",
cache=True)` function over flat 1-D arrays, two loops deep (rows, then the row length) so that a
bias row is read without a modulo. Leaves are full (the output's shape), scalars (read once,
before the loops) or rows (a trailing part of the output's shape); other broadcasts, and
machines without numba, run `run_steps`.

It computes what `compiler.ops.fused.run_steps` computes, in the dtypes numpy gives each step,
with no fastmath (no reassociation, no FMA): +, -, *, /, sqrt, comparisons, where, max, min,
clip (NaN, inf and signed zeros included), integer wraparound and casts are bit-identical to
numpy; exp, log, log1p, tanh, sin and cos (so sigmoid, softplus) come from LLVM's libm, not
numpy's SIMD code, and may differ by about an ulp. NaN, inf or out-of-range floats cast to
integers are undefined, in numpy as here.

Each (steps, leaf kinds, dtypes) compiles once per process, and its source is written to
$GRAPHFLOW_CACHE_DIR (else ~/.cache/graphflow/kernels) as a module named by its hash, beside
which numba keeps the machine code: the next process compiles nothing.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ... import dtypes as _dt
from ...opdef import REGISTRY
from ...ops.fused import Step, describe_steps, run_steps

__all__ = ["SUPPORTED", "run", "available", "source"]


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


def _kind(shape: Tuple[int, ...], out_shape: Tuple[int, ...]) -> Optional[str]:
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


# -- compiling, with the source on disk for numba's cache ------------------------------------------
_numba_found: Optional[bool] = None
_own_dir: Optional[Path] = None  # this process's directory where the cache cannot be written
_KERNELS: Dict[tuple, Optional[Tuple[Callable, np.dtype]]] = {}  # key -> (kernel, dtype) or None


def available() -> bool:
    """Whether numba can be imported (it is optional; without it `run` runs run_steps)."""
    global _numba_found
    if _numba_found is None:
        try:
            importlib.import_module("numba")
            _numba_found = True
        except ImportError:
            _numba_found = False
    return _numba_found


def _trusted(path: Path) -> bool:
    """numba's cache files beside the kernels are pickles it loads as they are, so the folder
    must be this user's alone: owned by them, writable by nobody else (POSIX)."""
    if not hasattr(os, "getuid"):
        return True
    info = path.stat()
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def _cache_dir(writable: bool = True) -> Path:
    """$GRAPHFLOW_CACHE_DIR, else ~/.cache/graphflow/kernels (made private: mode 0o700); a
    temporary directory for this process if that cannot be written or others could write it."""
    global _own_dir
    path = Path(os.environ.get("GRAPHFLOW_CACHE_DIR")
                or Path.home() / ".cache" / "graphflow" / "kernels")
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if writable and os.access(path, os.W_OK) and _trusted(path):
            return path
    except OSError:
        pass
    _own_dir = _own_dir or Path(tempfile.mkdtemp(prefix="graphflow-kernels-"))
    return _own_dir


def _write(path: Path, text: str) -> None:
    """Make `path` hold exactly `text`: a file there with anything else (damaged, foreign) is
    replaced atomically, so readers see the old file or the new one, never half of either."""
    try:
        if path.read_text() == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _module_name(text: str) -> str:
    return "graphflow_kernel_" + hashlib.sha256(text.encode()).hexdigest()[:20]


def _load(text: str) -> Callable:
    """The kernel of `text`, through a module file named by its hash. The module runs the code
    compiled from `text` itself, never what the file holds by then; the file is there so that
    numba's cache=True keeps the machine code beside it and finds it in the next process."""
    name = _module_name(text)
    if name not in sys.modules:
        path = _cache_dir() / f"{name}.py"
        try:
            _write(path, text)
        except OSError:  # the folder went read-only under us
            path = _cache_dir(writable=False) / f"{name}.py"
            _write(path, text)
        module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(name, path))
        exec(compile(text, str(path), "exec"), module.__dict__)
        sys.modules[name] = module
    return sys.modules[name].kernel


def _plan(steps: Tuple[Step, ...], kinds: Tuple[str, ...], leaf_dtypes: Sequence[np.dtype]):
    """(kernel source, result dtype), or None where run_steps must run instead."""
    dtypes = _trace(steps, leaf_dtypes) if _compilable(steps, kinds) else None
    return None if dtypes is None else (_render(steps, kinds, dtypes), dtypes[-1])


def source(steps: Sequence[Step], *args) -> Optional[str]:
    """The kernel source `run(steps, *args)` compiles (None where it runs run_steps)."""
    arrays = [np.asarray(a) for a in args]
    layout = _layout(tuple([a.shape for a in arrays]))
    plan = layout and _plan(tuple(steps), layout[0], [a.dtype for a in arrays])
    return plan[0] if plan else None


# -- running ---------------------------------------------------------------------------------------
_NUMBERS = (bool, int, float, complex)  # Python numbers: numpy promotes them as "weak" scalars


@functools.lru_cache(maxsize=4096)
def _layout(shapes: Tuple[Tuple[int, ...], ...]):
    """(leaf kinds, output shape, number of rows, row length), or None where the kernel cannot
    run: general broadcasting, rows of different lengths, fewer than two output elements (where
    numpy's loops pick their clip formula by the ndims, see _compilable)."""
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        return None
    kinds = tuple(_kind(s, shape) for s in shapes)
    rows = {math.prod(s) for s, k in zip(shapes, kinds) if k == "r"}
    size = math.prod(shape)
    if None in kinds or len(rows) > 1 or size < 2:
        return None
    row_len = rows.pop() if rows else size
    return kinds, shape, size // row_len, row_len


def _reference(steps, args, out):
    result = run_steps(steps, args)
    if out is None:
        return result
    np.copyto(out, result)
    return out


def _target(out: Optional[np.ndarray], shape, dtype, arrays) -> Tuple[np.ndarray, np.ndarray]:
    """(the array to return, the flat array the kernel writes: `out` itself where it is
    C-contiguous, of the result's shape and dtype, and overlaps no input other than exactly
    (element i of every input is read before out[i] is written); else a temporary)."""
    if out is None:
        result = np.empty(shape, dtype)
        return result, result.reshape(-1)
    direct = (out.shape == shape and out.dtype == dtype and out.flags.c_contiguous
              and all(a is out or a.size < 2 or not np.may_share_memory(a, out) for a in arrays))
    return out, (out.reshape(-1) if direct else np.empty(math.prod(shape), dtype))


def _kernel(steps: Tuple[Step, ...], kinds, dtypes) -> Optional[Tuple[Callable, np.dtype]]:
    """(the compiled loop, its result dtype) for these leaf kinds and dtypes; None where
    run_steps must run instead. Compiled (or loaded from the disk cache) once per process."""
    key = (steps, kinds, tuple(dtypes))
    if key not in _KERNELS:
        plan = _plan(*key)
        _KERNELS[key] = plan and (_load(plan[0]), plan[1])
    return _KERNELS[key]


def prepare(steps: Sequence[Step], shapes, dtypes) -> Callable:
    """run(steps, ...) for arguments of these static shapes and dtypes (code generation knows
    them), resolved once: the loop is compiled now, and a call only flattens its arguments."""
    steps = tuple(steps)
    layout = _layout(tuple(tuple(s) for s in shapes)) if available() else None
    entry = layout and _kernel(steps, layout[0], [np.dtype(d) for d in dtypes])
    if not entry:
        return functools.partial(run, steps)
    (kernel, dtype), (kinds, shape, n_rows, row_len) = entry, layout
    scalar = [k == "s" for k in kinds]

    def call(*args, out: Optional[np.ndarray] = None) -> np.ndarray:
        leaves = [np.asarray(a).reshape(-1)[0] if s else a.reshape(-1)
                  for a, s in zip(args, scalar)]
        result, flat = _target(out, shape, dtype, args)
        kernel(flat, n_rows, row_len, *leaves)
        if flat.base is None:  # a temporary: `out` could not be written directly
            np.copyto(result, flat.reshape(shape))
        return result
    return call


def run(steps: Sequence[Step], *args, out: Optional[np.ndarray] = None) -> np.ndarray:
    """What run_steps(steps, args) computes, as one compiled loop where numba is installed and
    every leaf is full, a scalar or a row (module docstring); written into `out` when given
    (which may be one of the full-shape inputs)."""
    if not available() or any(type(a) in _NUMBERS for a in args):
        return _reference(steps, args, out)
    arrays = [np.asarray(a) for a in args]
    layout = _layout(tuple([a.shape for a in arrays]))
    if layout is None:
        return _reference(steps, args, out)
    kinds, shape, n_rows, row_len = layout
    entry = _kernel(tuple(steps), kinds, [a.dtype for a in arrays])
    if entry is None:
        return _reference(steps, args, out)
    kernel, dtype = entry
    # Scalars as numpy scalars (numba reads them once, outside the loops); the rest flat.
    leaves = [a.reshape(-1)[0] if k == "s" else a.ravel() for a, k in zip(arrays, kinds)]
    result, flat = _target(out, shape, dtype, arrays)
    kernel(flat, n_rows, row_len, *leaves)
    if flat.base is None:  # a temporary: `out` could not be written directly
        np.copyto(result, flat.reshape(shape))  # as _reference does
    return result
