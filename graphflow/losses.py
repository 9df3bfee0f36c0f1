"""gf.losses: losses reduced to a scalar, as TF1's tf.losses."""

from __future__ import annotations

from typing import Optional

from compiler.ops.core import constant
from compiler.ops.elementwise import cast, divide, maximum, not_equal, ones_like, square
from compiler.ops.reduce import add_n, reduce_mean, reduce_sum

from . import nn
from .variables import GraphKeys, add_to_collection, get_collection


def get_regularization_loss(scope: Optional[str] = None,
                            name: str = "total_regularization_loss"):
    """The sum of the REGULARIZATION_LOSSES collection (0.0 when it is empty), as TF1."""
    terms = get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)
    return add_n(terms, name=name) if terms else constant(0.0, name=name)


def mean_squared_error(labels, predictions, name: Optional[str] = None):
    """mean((predictions - labels) ** 2) over all elements (added to GraphKeys.LOSSES, as TF1)."""
    loss = reduce_mean(square(predictions - labels), name=name)
    add_to_collection(GraphKeys.LOSSES, loss)
    return loss


def _reduce_weighted(per_element, weights, name):
    """TF1's default reduction (SUM_BY_NONZERO_WEIGHTS): with weights=1, the mean; the loss is
    also added to the LOSSES collection."""
    if isinstance(weights, (int, float)) and weights == 1:
        loss = reduce_mean(per_element, name=name)
    else:
        weighted = per_element * weights
        nonzero = reduce_sum(cast(not_equal(weights * ones_like(per_element), 0),
                                  per_element.dtype))
        loss = divide(reduce_sum(weighted), maximum(nonzero, 1.0), name=name)
    add_to_collection(GraphKeys.LOSSES, loss)
    return loss


def softmax_cross_entropy(onehot_labels, logits, weights=1.0, label_smoothing: float = 0,
                          name: Optional[str] = None):
    """TF1's tf.losses.softmax_cross_entropy: mean over examples of the softmax cross-entropy."""
    if label_smoothing:
        k = logits.shape[-1]
        onehot_labels = onehot_labels * (1 - label_smoothing) + label_smoothing / k
    per_example = nn.softmax_cross_entropy_with_logits(labels=onehot_labels, logits=logits)
    return _reduce_weighted(per_example, weights, name or "softmax_cross_entropy_loss")


def sigmoid_cross_entropy(multi_class_labels, logits, weights=1.0, label_smoothing: float = 0,
                          name: Optional[str] = None):
    """TF1's tf.losses.sigmoid_cross_entropy: mean over all elements, in the stable form."""
    if label_smoothing:
        multi_class_labels = multi_class_labels * (1 - label_smoothing) + 0.5 * label_smoothing
    per_element = nn.sigmoid_cross_entropy_with_logits(labels=multi_class_labels, logits=logits)
    return _reduce_weighted(per_element, weights, name or "sigmoid_cross_entropy_loss")
