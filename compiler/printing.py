"""The printed IR, one node per line: `print(graph)`, `print(program.function)`.

    logits: f32[?,10] = add(matmul_1, b2)   # model.py:14
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import dtypes as _dt
from .shapes import fmt

if TYPE_CHECKING:  # graph.py prints with this module: types only
    from .graph import Node

__all__ = ["format_node"]


def format_node(node: "Node") -> str:
    """`logits: f32[?,10] = add(matmul_1, b2)   # model.py:14`"""
    if node.dtype is None:
        typ = "op"
    elif node.shape is None:
        typ = f"{_dt.short_name(node.dtype)}[*]"
    else:
        typ = _dt.short_name(node.dtype) + "[" + ",".join(
            "?" if d is None else str(d) for d in node.shape) + "]"
    args = ", ".join(x.op_name for x in node.inputs)
    attrs = ", ".join(f"{k}={_short_attr(v)}" for k, v in node.attrs.items())
    call = ", ".join(p for p in (args, attrs) if p)
    return f"{node.op_name}: {typ} = {node.opdef.name}({call})   # {node.site}"


def _short_attr(value) -> str:
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, np.ndarray):
        return repr(value.item()) if value.size == 1 else f"array{fmt(value.shape)}"
    return repr(value)
