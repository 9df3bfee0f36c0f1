"""gf.losses: losses reduced to a scalar, as TF1's tf.losses."""

from __future__ import annotations

from typing import Optional

from compiler.graph import Node, graph_of
from compiler.ops.array import size
from compiler.ops.core import constant, convert_to_tensor
from compiler.ops.elementwise import (
    cast,
    divide,
    equal,
    identity,
    maximum,
    multiply,
    not_equal,
    ones_like,
    square,
    where,
    zeros_like,
)
from compiler.ops.reduce import add_n, reduce_mean, reduce_sum
from compiler.ops.shape import squeeze

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


class Reduction:
    """TF1's tf.losses.Reduction: how compute_weighted_loss reduces the weighted losses."""

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls):
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE,
                cls.SUM_OVER_NONZERO_WEIGHTS, cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key):
        if key not in cls.all():
            raise ValueError(f"invalid Reduction key {key!r}; use one of tf.losses.Reduction's "
                             f"{sorted(set(cls.all()))}")


def _div_no_nan(num, den, name: str):
    """num / den, 0 where den is 0 (TF1's _safe_mean); the unused branch divides by 1, so no
    inf or nan reaches the gradient either."""
    zero = equal(den, 0)
    return where(zero, zeros_like(num), divide(num, where(zero, ones_like(den), den)), name=name)


def _weighted(losses, weights, reduction: str):
    """TF1's compute_weighted_loss for `losses` (weights a number or a tensor broadcasting to
    them), in the losses' dtype; the last node is named `value`, as in TF1."""
    Reduction.validate(reduction)
    if not isinstance(weights, Node):
        weights = convert_to_tensor(weights, losses.dtype)
    elif weights.dtype != losses.dtype:  # TF1 casts weights of any dtype
        weights = cast(weights, losses.dtype)
    weighted = multiply(losses, weights)
    if reduction == Reduction.NONE:
        return identity(weighted, name="value")
    total = reduce_sum(weighted)
    if reduction == Reduction.SUM:
        return identity(total, name="value")
    if reduction == Reduction.MEAN:
        count = reduce_sum(ones_like(losses) * weights)
    elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
        count = cast(size(losses), losses.dtype)
    else:  # the number of losses whose weight is not 0 (TF1's _num_present)
        count = reduce_sum(cast(not_equal(weights * ones_like(losses), 0), losses.dtype))
    return _div_no_nan(total, count, "value")


def _squeeze_last(x, what: str):
    if x.shape[-1] not in (None, 1):
        raise ValueError(f"sparse_softmax_cross_entropy: {what} '{x.op_name}' {x.shape} has one "
                         f"axis "
                         f"too many and its last is not of size 1")
    return squeeze(x, [-1])


def _squeezable(labels, logits, weights):
    """TF1's _remove_squeezable_dimensions with expected_rank_diff=1: labels (batch, 1) become
    (batch,), and so do weights of one more axis than the labels."""
    if labels.shape is not None and logits.shape is not None:
        if len(logits.shape) == len(labels.shape):
            labels = _squeeze_last(labels, "labels")
        elif len(logits.shape) - len(labels.shape) == 2:
            logits = _squeeze_last(logits, "logits")
    if isinstance(weights, Node) and weights.shape is not None and labels.shape is not None:
        if len(weights.shape) - len(labels.shape) == 1:
            weights = squeeze(weights, [-1])
    return labels, logits, weights


def sparse_softmax_cross_entropy(labels, logits, weights=1.0, scope: Optional[str] = None,
                                 loss_collection=GraphKeys.LOSSES,
                                 reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS):
    """TF1's tf.losses.sparse_softmax_cross_entropy: the cross-entropy of logits (..., classes)
    against int class labels (...), each weighted by `weights` (a number, or a tensor that
    broadcasts to the labels), reduced as `reduction` says: by default the sum over the number of
    nonzero weights (with weights=1, the mean). Added to `loss_collection` (None: to none). As
    TF1, labels of shape (batch, 1) are taken as (batch,). Computed in the logits' dtype (TF1
    computes the weighting in float32, so float64 logits agree to float32 precision)."""
    graph = graph_of([labels, logits, weights])
    with graph.as_default(), graph.name_scope(scope or "sparse_softmax_cross_entropy_loss"):
        labels = convert_to_tensor(labels)
        logits = convert_to_tensor(logits)
        if not isinstance(weights, (Node, int, float)):
            weights = convert_to_tensor(weights, logits.dtype)
        labels, logits, weights = _squeezable(labels, logits, weights)
        losses = nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits,
                                                              name="xentropy")
        loss = _weighted(losses, weights, reduction)
    if loss_collection is not None:
        add_to_collection(loss_collection, loss)
    return loss


def get_losses(scope: Optional[str] = None, loss_collection=GraphKeys.LOSSES):
    """The losses in `loss_collection` (those whose name matches `scope` from the start)."""
    return get_collection(loss_collection, scope)


def get_regularization_losses(scope: Optional[str] = None):
    """The REGULARIZATION_LOSSES collection (those whose name matches `scope`)."""
    return get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)


def get_total_loss(add_regularization_losses: bool = True, name: str = "total_loss",
                   scope: Optional[str] = None):
    """TF1's tf.losses.get_total_loss: the sum of get_losses(scope) and, by default, of the
    regularization losses. Like TF1, there must be at least one loss."""
    losses = get_losses(scope)
    if add_regularization_losses:
        losses += get_regularization_losses(scope)
    if not losses:
        raise ValueError("get_total_loss: no losses in GraphKeys.LOSSES (or the regularization "
                         "losses); build one with gf.losses.* first")
    return add_n(losses, name=name)
