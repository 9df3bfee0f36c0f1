"""gf.losses: losses reduced to a scalar, as TF1's tf.losses."""

from __future__ import annotations

from typing import Optional

from compiler.ops.core import constant
from compiler.ops.elementwise import square
from compiler.ops.reduce import add_n, reduce_mean

from .variables import GraphKeys, get_collection


def get_regularization_loss(scope: Optional[str] = None,
                            name: str = "total_regularization_loss"):
    """The sum of the REGULARIZATION_LOSSES collection (0.0 when it is empty), as TF1."""
    terms = get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)
    return add_n(terms, name=name) if terms else constant(0.0, name=name)


def mean_squared_error(labels, predictions, name: Optional[str] = None):
    """mean((predictions - labels) ** 2) over all elements."""
    return reduce_mean(square(predictions - labels), name=name)
