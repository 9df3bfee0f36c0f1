"""String ops (TF1's tf.strings.join, tf.as_string). String values are numpy object arrays of
`bytes` (compiler/dtypes.py); every op on them runs its reference kernel on the host, on every
backend, and only ops marked OpDef.strings take or make them (graph.add_node checks)."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .. import dtypes as _dt
from ..opdef import NOT_DIFFERENTIABLE, OpDef, register
from ..shapes import fmt
from .core import apply, convert_to_tensor

__all__ = ["string_join", "as_string"]


# -- string_join -----------------------------------------------------------------------------------
def _join_infer(inputs, separator):
    for x in inputs:
        if not _dt.is_string(x.dtype):
            raise TypeError(f"expects string inputs, got {x.dtype.name} '{x.op_name}'; "
                            f"use gf.as_string first")
    shape = ()
    for x in inputs:  # scalars are joined to every element; the rest must agree, as TF1
        if x.shape == () or shape is None:
            continue
        if x.shape is None or shape == ():
            shape = x.shape
        elif len(shape) == len(x.shape) and all(a is None or b is None or a == b
                                                for a, b in zip(shape, x.shape)):
            shape = tuple(b if a is None else a for a, b in zip(shape, x.shape))
        else:
            raise ValueError(f"inputs must be scalars or of one shape: {fmt(shape)} and "
                             f"'{x.op_name}' {fmt(x.shape)}")
    return shape, _dt.string


def _join_kernel(*values, separator):
    arrays = np.broadcast_arrays(*[np.asarray(v, dtype=object) for v in values])
    parts = zip(*[a.reshape(-1) for a in arrays])
    out = np.empty(arrays[0].size, dtype=object)
    out[:] = [separator.join(p) for p in parts]
    return out.reshape(arrays[0].shape)


STRING_JOIN = register(OpDef("string_join", tf_type="StringJoin", strings=True, infer=_join_infer,
                             kernel=_join_kernel,
                             grad=NOT_DIFFERENTIABLE))


def string_join(inputs: Sequence, separator: str = "", name: Optional[str] = None):
    """TF1's tf.strings.join: the elementwise concatenation of a list of string tensors of one
    shape (scalars join every element), with `separator` between them."""
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise TypeError(f"string_join: inputs must be a non-empty list of string tensors, "
                        f"got {inputs!r}")
    sep = separator.encode("utf-8") if isinstance(separator, str) else bytes(separator)
    nodes = [convert_to_tensor(x) for x in inputs]
    return apply(STRING_JOIN, nodes, name or "StringJoin", separator=sep)


# -- as_string -------------------------------------------------------------------------------------
def _format(dtype, precision, scientific, shortest, width, fill) -> str:
    """The printf format TF1's AsString uses (tensorflow/core/kernels/as_string_op.cc)."""
    if dtype.kind != "f" and (scientific or shortest or precision > -1):
        raise ValueError(f"precision, scientific and shortest apply to floats, not {dtype.name}")
    if scientific and shortest:
        raise ValueError("cannot select both scientific and shortest notation")
    if len(fill) > 1 or (fill and fill not in " +-0#"):
        raise ValueError(f"fill {fill!r} is not supported: use one of ' ', '+', '-', '0', '#'")
    spec = "%" + fill + (str(width) if width > -1 else "")
    if dtype.kind != "f":
        return spec + "d"
    spec += f".{precision}" if precision > -1 else ""
    return spec + ("e" if scientific else "g" if shortest else "f")


def _as_string_infer(inputs, precision, scientific, shortest, width, fill):
    x = inputs[0]
    if x.dtype.kind not in "biuf":
        raise TypeError(f"takes numbers or bools, got {x.dtype.name} '{x.op_name}'")
    _format(x.dtype, precision, scientific, shortest, width, fill)
    return x.shape, _dt.string


def _as_string_kernel(x, precision, scientific, shortest, width, fill):
    x = np.asarray(x)
    if x.dtype.kind == "b":
        words = [b"true" if v else b"false" for v in x.reshape(-1)]
    else:
        spec = _format(x.dtype, precision, scientific, shortest, width, fill)
        cast = float if x.dtype.kind == "f" else int
        words = [(spec % cast(v)).encode("ascii") for v in x.reshape(-1)]
    out = np.empty(x.size, dtype=object)
    out[:] = words
    return out.reshape(x.shape)


AS_STRING = register(OpDef("as_string", tf_type="AsString", strings=True,
                           infer=_as_string_infer, kernel=_as_string_kernel,
                           grad=NOT_DIFFERENTIABLE))


def as_string(input, precision: int = -1, scientific: bool = False, shortest: bool = False,
              width: int = -1, fill: str = "", name: Optional[str] = None):
    """TF1's tf.as_string: each number as text ('%f' for floats, '%d' for integers, 'true' and
    'false' for bools; precision, scientific, shortest, width and fill as in TF1)."""
    return apply(AS_STRING, [input], name or "AsString", precision=int(precision),
                 scientific=bool(scientific), shortest=bool(shortest), width=int(width),
                 fill=str(fill))
