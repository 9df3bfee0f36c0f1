"""gf.losses: losses reduced to a scalar, as TF1's tf.losses."""

from __future__ import annotations

from typing import Optional

from compiler.ops.elementwise import square
from compiler.ops.reduce import reduce_mean


def mean_squared_error(labels, predictions, name: Optional[str] = None):
    """mean((predictions - labels) ** 2) over all elements."""
    return reduce_mean(square(predictions - labels), name=name)
