"""Fused elementwise chains run as one numba-compiled loop (the numpy backend's `fused` rule).

    run(steps, x, b)        # relu(x + b): one pass over memory instead of two numpy calls

The generated source (compiler/backends/numpy/fused_source.py writes it; print
`source(steps, *args)`) is an `@njit(error_model="numpy",
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
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from ...ops.fused import Step, run_steps
from .fused_source import SUPPORTED, leaf_kind
from .fused_source import plan as plan_kernel

__all__ = ["SUPPORTED", "run", "prepare", "available", "source"]


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


def source(steps: Sequence[Step], *args) -> Optional[str]:
    """The kernel source `run(steps, *args)` compiles (None where it runs run_steps)."""
    arrays = [np.asarray(a) for a in args]
    layout = _layout(tuple([a.shape for a in arrays]))
    plan = layout and plan_kernel(tuple(steps), layout[0], [a.dtype for a in arrays])
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
    kinds = tuple(leaf_kind(s, shape) for s in shapes)
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
        plan = plan_kernel(*key)
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
