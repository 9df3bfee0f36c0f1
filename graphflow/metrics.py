"""TF1's streaming metrics (tf.metrics): accuracy, mean, precision, recall and auc.

Each returns `(value, update_op)`. The running state lives in local variables
(GraphKeys.LOCAL_VARIABLES and METRIC_VARIABLES, never GLOBAL_VARIABLES), named as TF 1.15 names
them; gf.local_variables_initializer() resets it. `value` reads the state; `update_op` folds one
batch into it and evaluates to the updated value.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from compiler import dtypes as _dt
from compiler.graph import Node, graph_of
from compiler.ops.core import constant, convert_to_tensor
from compiler.ops.elementwise import (
    cast,
    divide,
    equal,
    greater,
    maximum,
    minimum,
    multiply,
    ones_like,
    subtract,
    where,
    zeros_like,
)
from compiler.ops.math import logical_and, logical_not
from compiler.ops.reduce import reduce_sum
from compiler.ops.shape import expand_dims, reshape, squeeze
from compiler.ops.state import Variable, assign_add

from .variable_scope import variable_scope
from .variables import GraphKeys, make_local

_KEPSILON = 1e-7  # TF1's end thresholds sit this far outside [0, 1]
_AUC_EPSILON = 1.0e-6  # TF1 adds this to the rate ratios so that 0/0 does not give nan
_SUMMATIONS = ("trapezoidal", "minoring", "majoring", "careful_interpolation")

__all__ = ["accuracy", "auc", "mean", "precision", "recall"]


def _metric_variable(shape, name: str) -> Variable:
    """A float32 zeros variable in LOCAL_VARIABLES and METRIC_VARIABLES, not trainable (TF1)."""
    variable = Variable(np.zeros(shape, np.float32), name=name, trainable=False)
    return make_local(variable, (GraphKeys.LOCAL_VARIABLES, GraphKeys.METRIC_VARIABLES))


def _div_no_nan(numerator: Node, denominator: Node, name: str) -> Node:
    """numerator / denominator, and 0 where the denominator is 0 (TF1's div_no_nan)."""
    is_zero = equal(denominator, zeros_like(denominator))
    safe = where(is_zero, ones_like(denominator), denominator)
    return where(is_zero, zeros_like(numerator), divide(numerator, safe), name=name)


def _rank(tensor: Node) -> Optional[int]:
    return None if tensor.shape is None else len(tensor.shape)


def _compatible(a, b) -> bool:
    if a is None or b is None:
        return True
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def _squeeze_last(tensor: Node) -> Node:
    return squeeze(tensor, [-1])


def _match_labels(metric: str, predictions: Node, labels: Node):
    """Squeeze a trailing size-1 dimension that one of them has and the other lacks (TF1's
    remove_squeezable_dimensions), then require compatible shapes."""
    p_rank, l_rank = _rank(predictions), _rank(labels)
    if p_rank is not None and l_rank is not None:
        if p_rank - l_rank == 1 and predictions.shape[-1] in (1, None):
            predictions = _squeeze_last(predictions)
        elif l_rank - p_rank == 1 and labels.shape[-1] in (1, None):
            labels = _squeeze_last(labels)
    if not _compatible(predictions.shape, labels.shape):
        raise ValueError(
            f"tf.metrics.{metric}: labels {labels.describe()} has shape {labels.shape} but "
            f"predictions {predictions.describe()} has shape {predictions.shape}; pass labels and "
            f"predictions of the same shape (one per example)")
    return predictions, labels


def _match_weights(metric: str, values: Node, weights) -> Optional[Node]:
    """`weights` as float32, adjusted by one trailing dimension to the rank of `values`, which
    it must broadcast to: scalar, or same rank with each dimension 1 or equal (TF1)."""
    if weights is None:
        return None
    weights = cast(convert_to_tensor(weights), _dt.float32)
    w_rank, v_rank = _rank(weights), _rank(values)
    if w_rank == 0 or w_rank is None or v_rank is None:
        return weights
    if w_rank - v_rank == 1 and weights.shape[-1] in (1, None):
        weights = _squeeze_last(weights)
    elif v_rank - w_rank == 1:
        weights = expand_dims(weights, -1)
    w_shape, v_shape = weights.shape, values.shape
    fits = len(w_shape) == len(v_shape) and all(
        w in (1, None) or v is None or w == v for w, v in zip(w_shape, v_shape))
    if not fits:
        raise ValueError(
            f"tf.metrics.{metric}: weights can not be broadcast to values: weights has shape "
            f"{w_shape}, values {v_shape}; pass a scalar or weights of the values' rank whose "
            f"dimensions are each 1 or the values' size")
    return weights


def _collect(collections, tensor: Node) -> None:
    for key in collections or ():
        graph_of([tensor]).add_to_collection(key, tensor)


def _finish(value: Node, update_op: Node, metrics_collections, updates_collections):
    _collect(metrics_collections, value)
    _collect(updates_collections, update_op)
    return value, update_op


def _mean_in_scope(values, weights, metric: str):
    """The total/count state and its value and update ops, in the current variable scope."""
    values = cast(convert_to_tensor(values), _dt.float32)
    total = _metric_variable([], "total")
    count = _metric_variable([], "count")
    weights = _match_weights(metric, values, weights)
    if weights is None:
        num_values = reduce_sum(ones_like(values))
    else:
        weights = multiply(weights, ones_like(values))  # TF1's broadcast_weights
        values = multiply(values, weights)
        num_values = reduce_sum(weights)
    update_total = assign_add(total, reduce_sum(values))
    update_count = assign_add(count, num_values)
    value = _div_no_nan(total, count, "value")
    return value, _div_no_nan(update_total, update_count, "update_op")


def mean(values, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """The (weighted) mean of `values` over every batch seen: local variables `total` (the sum
    of values*weights) and `count` (the sum of weights); the value is total/count, 0 while
    count is 0. weights: None (all 1), a scalar or a tensor broadcastable to `values`."""
    with variable_scope(name, "mean", (values, weights)):
        value, update_op = _mean_in_scope(values, weights, "mean")
    return _finish(value, update_op, metrics_collections, updates_collections)


def accuracy(labels, predictions, weights=None, metrics_collections=None,
             updates_collections=None, name=None):
    """How often `predictions` equals `labels` (weighted), over every batch seen: the mean of
    the 0/1 matches, in local variables `accuracy/total` and `accuracy/count` (TF1)."""
    labels, predictions = convert_to_tensor(labels), convert_to_tensor(predictions)
    predictions, labels = _match_labels("accuracy", predictions, labels)
    if labels.dtype != predictions.dtype:
        predictions = cast(predictions, labels.dtype)
    is_correct = cast(equal(predictions, labels), _dt.float32)
    with variable_scope(name, "accuracy", (is_correct, weights)):
        value, update_op = _mean_in_scope(is_correct, weights, "accuracy")
    return _finish(value, update_op, metrics_collections, updates_collections)


def _count_condition(condition: Node, weights, metric: str, scope: str):
    """A `count` local variable in scope `scope` that adds up the weighted True entries."""
    with variable_scope(None, scope, (condition, weights)):
        count = _metric_variable([], "count")
        values = cast(condition, _dt.float32)
        weights = _match_weights(metric, values, weights)
        if weights is not None:
            values = multiply(values, weights)
        return count, assign_add(count, reduce_sum(values))


def _bool_pair(metric: str, labels, predictions):
    labels = cast(convert_to_tensor(labels), _dt.bool_)
    predictions = cast(convert_to_tensor(predictions), _dt.bool_)
    predictions, labels = _match_labels(metric, predictions, labels)
    return labels, predictions


def _ratio(hits: Node, misses: Node, name: str) -> Node:
    """hits / (hits + misses), 0 when there are none (TF1's precision and recall)."""
    both = hits + misses
    safe = where(greater(both, zeros_like(both)), both, ones_like(both))
    return where(greater(both, zeros_like(both)), divide(hits, safe), zeros_like(hits), name=name)


def _binary_rate(metric: str, other: str, labels, predictions, weights, name):
    """precision (other='false_positives') or recall (other='false_negatives')."""
    with variable_scope(name, metric, (predictions, labels, weights)):
        labels, predictions = _bool_pair(metric, labels, predictions)
        true_positive = logical_and(labels, predictions)
        if other == "false_positives":
            miss = logical_and(logical_not(labels), predictions)
        else:
            miss = logical_and(labels, logical_not(predictions))
        tp, tp_update = _count_condition(true_positive, weights, metric, "true_positives")
        other_count, other_update = _count_condition(miss, weights, metric, other)
        value = _ratio(tp, other_count, "value")
        return value, _ratio(tp_update, other_update, "update_op")


def precision(labels, predictions, weights=None, metrics_collections=None,
              updates_collections=None, name=None):
    """true_positives / (true_positives + false_positives) over every batch seen (0 while both
    are 0); labels and predictions are cast to bool. Local variables
    `precision/true_positives/count` and `precision/false_positives/count` (TF1)."""
    value, update_op = _binary_rate("precision", "false_positives", labels, predictions,
                                    weights, name)
    return _finish(value, update_op, metrics_collections, updates_collections)


def recall(labels, predictions, weights=None, metrics_collections=None,
           updates_collections=None, name=None):
    """true_positives / (true_positives + false_negatives) over every batch seen (0 while both
    are 0); labels and predictions are cast to bool. Local variables
    `recall/true_positives/count` and `recall/false_negatives/count` (TF1)."""
    value, update_op = _binary_rate("recall", "false_negatives", labels, predictions, weights, name)
    return _finish(value, update_op, metrics_collections, updates_collections)


def _auc_thresholds(num_thresholds: int, thresholds) -> list:
    """TF1's: the given ones sorted, or (num_thresholds - 2) evenly spaced inside (0, 1), plus
    one just below 0 and one just above 1."""
    if thresholds is not None:
        inner = sorted(float(t) for t in thresholds)
    else:
        if num_thresholds < 2:
            raise ValueError(f"tf.metrics.auc: num_thresholds={num_thresholds} must be > 1; "
                             f"TF1's default is 200")
        inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return [0.0 - _KEPSILON] + inner + [1.0 + _KEPSILON]


def _confusion_at_thresholds(labels, predictions, thresholds: list, weights):
    """The four [num_thresholds] count variables (true_positives, false_negatives,
    true_negatives, false_positives, TF1's names and order) and their update ops; an example is
    predicted positive at threshold t when its prediction is > t."""
    predictions = cast(convert_to_tensor(predictions), _dt.float32)
    labels = cast(convert_to_tensor(labels), _dt.bool_)
    predictions, labels = _match_labels("auc", predictions, labels)
    weights = _match_weights("auc", predictions, weights)
    column = constant(np.array(thresholds, np.float32).reshape(-1, 1), name="thresholds")
    is_pos = greater(reshape(predictions, [1, -1]), column)  # [thresholds, examples]
    label_pos = logical_and(reshape(labels, [1, -1]), ones_like(is_pos))
    if weights is not None:
        weights = reshape(multiply(weights, ones_like(predictions)), [1, -1])
    cases = (("true_positives", label_pos, is_pos),
             ("false_negatives", label_pos, logical_not(is_pos)),
             ("true_negatives", logical_not(label_pos), logical_not(is_pos)),
             ("false_positives", logical_not(label_pos), is_pos))
    values, updates = [], []
    for var_name, label_side, pred_side in cases:
        variable = _metric_variable([len(thresholds)], var_name)
        hits = cast(logical_and(label_side, pred_side), _dt.float32)
        if weights is not None:
            hits = multiply(hits, weights)
        values.append(variable)
        updates.append(assign_add(variable, reduce_sum(hits, axis=1)))
    return values, updates


def _area(tp, fn, tn, fp, curve: str, summation_method: str, name: str) -> Node:
    """TF1's Riemann sum over the thresholds of the ROC (x: false positive rate, y: recall) or
    PR (x: recall, y: precision) curve; the x values decrease as the threshold rises."""
    recall_rate = divide(tp + _AUC_EPSILON, tp + fn + _AUC_EPSILON)
    if curve == "ROC":
        x, y = divide(fp, fp + tn + _AUC_EPSILON), recall_rate
    else:
        x, y = recall_rate, divide(tp + _AUC_EPSILON, tp + fp + _AUC_EPSILON)
    width = subtract(x[:-1], x[1:])
    if summation_method == "minoring":
        height = minimum(y[:-1], y[1:])
    elif summation_method == "majoring":
        height = maximum(y[:-1], y[1:])
    else:
        height = (y[:-1] + y[1:]) / 2.0
    return reduce_sum(multiply(width, height), name=name)


def _check_auc_args(curve: str, summation_method: str) -> None:
    if curve not in ("ROC", "PR"):
        raise ValueError(f"tf.metrics.auc: curve must be either ROC or PR, {curve!r} unknown")
    if summation_method not in _SUMMATIONS:
        raise ValueError(f"tf.metrics.auc: Invalid summation_method: {summation_method!r}; "
                         f"use one of {', '.join(_SUMMATIONS)}")
    if curve == "PR" and summation_method == "careful_interpolation":
        raise NotImplementedError(
            "tf.metrics.auc: curve='PR' with summation_method='careful_interpolation' is not "
            "supported by graphflow yet; use summation_method='trapezoidal'")


def auc(labels, predictions, weights=None, num_thresholds=200, metrics_collections=None,
        updates_collections=None, curve="ROC", name=None, summation_method="trapezoidal",
        thresholds=None):
    """Area under the ROC or PR curve, approximated as TF1 does: counts of true/false
    positives/negatives at each threshold (local variables `auc/true_positives`,
    `auc/false_negatives`, `auc/true_negatives`, `auc/false_positives`, each
    [num_thresholds]) and a Riemann sum over them. predictions should lie in [0, 1]; labels are
    cast to bool. thresholds, when given, replaces the evenly spaced ones (TF1)."""
    _check_auc_args(curve, summation_method)
    with variable_scope(name, "auc", (labels, predictions, weights)):
        points = _auc_thresholds(num_thresholds, thresholds)
        counts, updates = _confusion_at_thresholds(labels, predictions, points, weights)
        value = _area(*counts, curve, summation_method, "value")
        update_op = _area(*updates, curve, summation_method, "update_op")
    return _finish(value, update_op, metrics_collections, updates_collections)
