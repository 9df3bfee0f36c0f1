"""Checking values for inf/NaN as they are produced (Session(check_numerics=True) and the
check_numerics op). Nothing here runs unless asked: programs compiled without the check contain
no trace of it."""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from .errors import NumericsError
from .graph import Node


def summary(value) -> str:
    """`shape (3, 2), min -1.5, max inf, 2 non-finite`"""
    arr = np.asarray(value)
    if arr.dtype.kind not in "fc":
        return f"shape {arr.shape}, {arr.dtype.name}"
    bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
    finite = arr[np.isfinite(arr)]
    span = (f"min {finite.min():.4g}, max {finite.max():.4g}" if finite.size
            else "no finite values")
    return f"shape {arr.shape}, {span}, {bad} non-finite"


def is_finite(value) -> bool:
    arr = np.asarray(value)
    return arr.dtype.kind not in "fc" or bool(np.isfinite(arr).all())


def check(value, node: Node, label: str, inputs: Sequence[Tuple[str, object]]):
    """Raise NumericsError if `value` (the output of `node`, shown as `label`) holds inf or NaN,
    describing the node and its inputs; return value unchanged otherwise."""
    if is_finite(value):
        return value
    shown = "; ".join(f"'{name}': {summary(v)}" for name, v in inputs) or "no inputs"
    kind = "NaN" if np.isnan(np.asarray(value)).any() else "inf"
    raise NumericsError(f"{node.opdef.name} '{label}' ({node.site}) produced {kind} "
                        f"({summary(value)}); its inputs: {shown}")
