"""gf.nn: activations and the numerically stable cross-entropy losses (TF1's tf.nn names)."""

from __future__ import annotations

from typing import Optional

from compiler.ops.indexing import one_hot
from compiler.ops.nn import (
    log_softmax,
    relu,
    sigmoid,
    sigmoid_cross_entropy_with_logits,
    softmax,
    softplus,
    tanh,
)
from compiler.ops.reduce import reduce_sum

from .regularizers import l2_loss

__all__ = ["relu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax",
           "sigmoid_cross_entropy_with_logits", "softmax_cross_entropy_with_logits",
           "sparse_softmax_cross_entropy_with_logits", "l2_loss"]


def softmax_cross_entropy_with_logits(labels=None, logits=None, axis: int = -1,
                                      name: Optional[str] = None):
    """-sum(labels * log_softmax(logits)) along axis, one loss per example. Uses log_softmax, so
    it stays finite for any logits."""
    if labels is None or logits is None:
        raise ValueError("softmax_cross_entropy_with_logits needs both labels= and logits=")
    return reduce_sum(-(labels * log_softmax(logits, axis)), axis, name=name)


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None,
                                             name: Optional[str] = None):
    """Softmax cross-entropy where labels are class indices (int) over the last axis of logits."""
    if labels is None or logits is None:
        raise ValueError("sparse_softmax_cross_entropy_with_logits needs both labels= and logits=")
    depth = logits.shape[-1] if logits.shape is not None else None
    if depth is None:
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: the number of classes (last "
                         f"axis of '{logits.name}', shape {logits.shape}) must be known")
    targets = one_hot(labels, depth, dtype=logits.dtype)
    return softmax_cross_entropy_with_logits(labels=targets, logits=logits, name=name)
