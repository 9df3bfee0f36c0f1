"""gf.nn: activations and the numerically stable cross-entropy losses (TF1's tf.nn names)."""

from __future__ import annotations

from typing import Optional

from compiler.ops.elementwise import add
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
           "sparse_softmax_cross_entropy_with_logits", "l2_loss", "bias_add",
           "softmax_cross_entropy_with_logits_v2"]


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


def softmax_cross_entropy_with_logits_v2(labels=None, logits=None, axis: int = -1,
                                         name: Optional[str] = None):
    """TF1's v2 spelling: the same loss; gradients flow into labels too (as they do in v1 here)."""
    return softmax_cross_entropy_with_logits(labels=labels, logits=logits, axis=axis, name=name)


def bias_add(value, bias, name: Optional[str] = None):
    """value + bias, where bias is 1-D and matches value's last dimension (TF1's tf.nn.bias_add)."""
    if bias.shape is None or len(bias.shape) != 1:
        raise ValueError(f"bias_add: bias must be 1-D, got shape {bias.shape}")
    if value.shape is not None and value.shape[-1] not in (None, bias.shape[0]):
        raise ValueError(f"bias_add: bias of size {bias.shape[0]} does not match the last "
                         f"dimension of value {value.shape}")
    return add(value, bias, name=name)
