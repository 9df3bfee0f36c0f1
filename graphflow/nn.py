"""gf.nn: activations and the numerically stable cross-entropy losses (TF1's tf.nn names)."""

from __future__ import annotations

import numbers
from typing import Optional

from compiler import dtypes as _dt
from compiler.graph import Node, graph_of, user_site
from compiler.ops import nn as _nn
from compiler.ops.conv import conv2d, conv2d_transpose
from compiler.ops.core import convert_to_tensor
from compiler.ops.debug import check_labels
from compiler.ops.elementwise import add, cast, divide, greater_equal, multiply, subtract
from compiler.ops.indexing import one_hot
from compiler.ops.nn import relu, sigmoid, sigmoid_cross_entropy_with_logits, softplus, tanh
from compiler.ops.pool import avg_pool, avg_pool2d, max_pool, max_pool2d
from compiler.ops.random import random_uniform_like
from compiler.ops.ranking import in_top_k
from compiler.ops.reduce import reduce_sum
from compiler.ops.shape import reshape
from compiler.ops.windows import data_format_arg
from compiler.shapes import as_shape, fmt

from . import rnn_cell
from .embedding import embedding_lookup
from .regularizers import l2_loss
from .rnn import static_rnn
from .rnn_dynamic import bidirectional_dynamic_rnn, dynamic_rnn, static_bidirectional_rnn
from .sampled_losses import log_uniform_candidate_sampler, nce_loss, sampled_softmax_loss

__all__ = ["relu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax",
           "sigmoid_cross_entropy_with_logits", "softmax_cross_entropy_with_logits",
           "sparse_softmax_cross_entropy_with_logits", "l2_loss", "bias_add",
           "softmax_cross_entropy_with_logits_v2", "dropout", "conv2d", "conv2d_transpose",
           "max_pool", "avg_pool", "max_pool2d", "avg_pool2d", "in_top_k", "embedding_lookup",
           "rnn_cell", "static_rnn", "dynamic_rnn", "bidirectional_dynamic_rnn",
           "static_bidirectional_rnn", "log_uniform_candidate_sampler", "nce_loss",
           "sampled_softmax_loss"]


def softmax_cross_entropy_with_logits(labels=None, logits=None, axis: int = -1,
                                      name: Optional[str] = None):
    """-sum(labels * log_softmax(logits)) along axis, one loss per example. Uses log_softmax, so
    it stays finite for any logits. Named as TF1 1.15's v1 names it:
    "softmax_cross_entropy_with_logits_sg/Reshape_2"."""
    if labels is None or logits is None:
        raise ValueError("softmax_cross_entropy_with_logits needs both labels= and logits=")
    return _xent(labels, logits, axis, name or "softmax_cross_entropy_with_logits_sg",
                 "Reshape_2")


def _xent(labels, logits, axis: int, scope: str, last: str) -> Node:
    """The loss, built in name scope `scope` with its result named `last` there (TF1's names)."""
    graph = graph_of([labels, logits])
    with graph.as_default(), graph.name_scope(scope):
        return reduce_sum(-(labels * log_softmax(logits, axis)), axis, name=last)


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None,
                                             name: Optional[str] = None):
    """Softmax cross-entropy where labels are class indices (int) over the last axis of logits."""
    if labels is None or logits is None:
        raise ValueError("sparse_softmax_cross_entropy_with_logits needs both labels= and logits=")
    depth = logits.shape[-1] if logits.shape is not None else None
    if depth is None:
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: the number of classes (last "
                         f"axis of '{logits.op_name}', shape {logits.shape}) must be known")
    # TF1 refuses a label outside [0, classes) on the CPU; one_hot alone would give a zero row.
    labels = check_labels(labels, depth, "sparse_softmax_cross_entropy_with_logits")
    targets = one_hot(labels, depth, dtype=logits.dtype)
    # TF1: the op SparseSoftmaxCrossEntropyWithLogits inside a scope of the same name
    scope = name or "SparseSoftmaxCrossEntropyWithLogits"
    return _xent(targets, logits, -1, scope, "SparseSoftmaxCrossEntropyWithLogits")


def softmax_cross_entropy_with_logits_v2(labels=None, logits=None, axis: int = -1,
                                         name: Optional[str] = None):
    """TF1's v2 spelling: the same loss; gradients flow into labels too (as they do in v1 here)."""
    if labels is None or logits is None:
        raise ValueError("softmax_cross_entropy_with_logits_v2 needs both labels= and logits=")
    return _xent(labels, logits, axis, name or "softmax_cross_entropy_with_logits", "Reshape_2")


def bias_add(value, bias, data_format=None, name: Optional[str] = None):
    """value + bias, where bias is 1-D and matches value's last dimension (TF1's tf.nn.bias_add,
    NHWC: channels last, any rank >= 2). data_format "NCHW" raises NotImplementedError."""
    op = f"bias_add ({user_site()})"
    data_format_arg(data_format, op)
    graph = graph_of([value, bias])
    value = convert_to_tensor(value, graph=graph)
    bias = convert_to_tensor(bias, value.dtype, graph=graph)
    if bias.shape is None or len(bias.shape) != 1:
        raise ValueError(f"{op}: bias must be 1-D, got shape {fmt(bias.shape)}")
    if value.shape is not None and len(value.shape) < 2:
        raise ValueError(f"{op}: value '{value.op_name}' must be at least 2-D, got shape "
                         f"{fmt(value.shape)}")
    if value.shape is not None and value.shape[-1] not in (None, bias.shape[0]):
        raise ValueError(f"{op}: bias of size {bias.shape[0]} does not match the last "
                         f"dimension of value {fmt(value.shape)}")
    return add(value, bias, name=name or "BiasAdd")


def dropout(x, keep_prob=None, noise_shape=None, seed: Optional[int] = None,
            name: Optional[str] = None, rate=None) -> Node:
    """TF1's tf.nn.dropout: each element of x is kept with probability keep_prob (or 1 - rate:
    give exactly one) and scaled by 1 / keep_prob, or set to 0; a new mask is drawn every run.

    keep_prob/rate may be a number or a scalar tensor (a placeholder fed 1.0 at test time gives x
    back exactly). noise_shape (a list of ints, None for x's size) draws a mask of that shape and
    broadcasts it: [batch, 1] keeps or drops whole rows. Built from graph ops (a uniform draw
    compared with rate, a multiply), so the gradient of a run uses that run's mask.
    """
    if (keep_prob is None) == (rate is None):
        raise ValueError("dropout: give exactly one of keep_prob and rate")
    x = convert_to_tensor(x)
    if not _dt.is_floating(x.dtype):
        raise TypeError(f"dropout: x '{x.op_name}' is {x.dtype.name}; dropout needs a float tensor")
    graph = graph_of([x, keep_prob, rate])
    with graph.as_default(), graph.name_scope(name or "dropout"):
        if keep_prob is not None:
            keep_prob = _probability(keep_prob, x, "keep_prob", lambda p: 0 < p <= 1, "(0, 1]")
            rate = 1 - keep_prob if isinstance(keep_prob, float) else subtract(1, keep_prob)
        else:
            rate = _probability(rate, x, "rate", lambda p: 0 <= p < 1, "[0, 1)")
            keep_prob = 1 - rate if isinstance(rate, float) else subtract(1, rate)
        # TF1 1.15 computes x * scale * cast(mask): "dropout/mul", then "dropout/mul_1"
        if isinstance(keep_prob, float):
            scaled = multiply(x, 1 / keep_prob, name="mul")  # the scale, as a number
        else:
            scaled = divide(x, keep_prob, name="mul")
        noise = random_uniform_like(x, _noise_shape(noise_shape, x), seed=seed)
        keep = cast(greater_equal(noise, rate), x.dtype)  # P(u >= rate) = keep_prob
        return multiply(scaled, keep, name="mul")


def _probability(p, x: Node, what: str, ok, interval: str):
    """A keep_prob/rate: a Python number checked to lie in `interval`, or a scalar tensor of a
    float dtype (cast to x's)."""
    if isinstance(p, numbers.Real) and not isinstance(p, bool):
        if not ok(p):
            raise ValueError(f"dropout: {what} must be in {interval}, got {p}")
        return float(p)
    p = convert_to_tensor(p)
    if not _dt.is_floating(p.dtype):
        raise TypeError(f"dropout: {what} '{p.op_name}' must be a float tensor, got {p.dtype.name}")
    if p.shape is not None and p.shape != ():
        raise ValueError(f"dropout: {what} '{p.op_name}' must be a scalar, got shape "
                         f"{fmt(p.shape)}")
    if p.shape is None:  # a placeholder of no shape: a scalar, so the result keeps x's shape
        p = reshape(p, ())
    return p if p.dtype == x.dtype else cast(p, x.dtype)


def _noise_shape(noise_shape, x: Node):
    """The mask's shape for random_uniform_like: None (x's own shape) or a tuple of x's rank whose
    None sizes are x's, each size 1 or x's (so the mask broadcasts to x)."""
    if noise_shape is None:
        return None
    shape = as_shape(noise_shape)
    if x.shape is None:
        raise ValueError(f"dropout: noise_shape {fmt(shape)} needs x '{x.op_name}' of known rank")
    if len(shape) != len(x.shape) or any(
            n is not None and n != 1 and d is not None and n != d for n, d in zip(shape, x.shape)):
        raise ValueError(f"dropout: noise_shape {fmt(shape)} does not broadcast to x '{x.op_name}' "
                         f"of shape {fmt(x.shape)}: it needs x's rank and sizes 1 or x's")
    return shape


def _softmax_axis(axis, dim, what: str) -> int:
    if dim is not None:
        if axis is not None:
            raise ValueError(f"{what}: give axis or dim (its old name), not both")
        return dim
    return -1 if axis is None else axis


def softmax(logits, axis: Optional[int] = None, name: Optional[str] = None, dim=None):
    """exp(x) / sum(exp(x)) along axis (default the last; TF1's old name for it is dim)."""
    return _nn.softmax(logits, _softmax_axis(axis, dim, "softmax"), name=name)


def log_softmax(logits, axis: Optional[int] = None, name: Optional[str] = None, dim=None):
    """x - logsumexp(x) along axis (default the last; TF1's old name for it is dim)."""
    return _nn.log_softmax(logits, _softmax_axis(axis, dim, "log_softmax"), name=name)
