"""Weight penalties (TF1's tf.nn.l2_loss), to add to a loss: loss + 1e-4 * gf.nn.l2_loss(w)."""

from __future__ import annotations

from typing import Optional

from compiler import dtypes as _dt
from compiler.graph import Node
from compiler.ops.core import convert_to_tensor
from compiler.ops.elementwise import divide, square
from compiler.ops.reduce import reduce_sum

__all__ = ["l2_loss"]


def l2_loss(t, name: Optional[str] = None) -> Node:
    """sum(t ** 2) / 2 over every element of t, a scalar (TF1's tf.nn.l2_loss; no square root)."""
    t = convert_to_tensor(t)
    if not _dt.is_floating(t.dtype):
        raise TypeError(f"l2_loss needs a float tensor, got {t.dtype.name} '{t.op_name}'")
    return divide(reduce_sum(square(t)), 2.0, name=name or "L2Loss")  # TF1's op type
