"""Candidate sampling and the sampled losses (TF 1.15's tf.nn.log_uniform_candidate_sampler,
tf.nn.nce_loss, tf.nn.sampled_softmax_loss): a loss over the true classes and a few sampled
ones instead of all num_classes, for training a classifier with a huge vocabulary.

    loss = gf.reduce_mean(gf.nn.sampled_softmax_loss(weights, biases, labels, inputs,
                                                     num_sampled=64, num_classes=50000))
"""

from __future__ import annotations

import numpy as np

from compiler import dtypes as _dt
from compiler.graph import graph_of, user_site
from compiler.ops.core import convert_to_tensor
from compiler.ops.elementwise import (
    add,
    cast,
    divide,
    equal,
    log,
    multiply,
    ones_like,
    stop_gradient,
    subtract,
    zeros_like,
)
from compiler.ops.indexing import getitem
from compiler.ops.linalg import matmul
from compiler.ops.nn import sigmoid_cross_entropy_with_logits
from compiler.ops.reduce import reduce_max, reduce_sum
from compiler.ops.sampling import log_uniform_draw, log_uniform_expected_count
from compiler.ops.shape import concat, expand_dims, reshape

from .embedding import embedding_lookup

__all__ = ["log_uniform_candidate_sampler", "nce_loss", "sampled_softmax_loss"]

# TF1 marks an accidental hit by adding -FLOAT_MAX (float32's largest) to its logit.
_FLOAT_MAX = float(np.finfo(np.float32).max)


def _check_counts(what: str, **counts) -> None:
    for key, value in counts.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{what} ({user_site()}): {key} must be a positive int, got "
                             f"{value!r}")


def log_uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max,
                                  seed=None, name=None):
    """Samples num_sampled classes in [0, range_max) from the log-uniform (Zipfian) distribution
    P(class) = (log(class + 2) - log(class + 1)) / log(range_max + 1), without replacement when
    `unique` (TF1's tf.nn.log_uniform_candidate_sampler). Returns (sampled_candidates int64
    [num_sampled], true_expected_count float32 shaped as true_classes [batch, num_true],
    sampled_expected_count float32 [num_sampled]); new ids each run, reproducible with seeds."""
    _check_counts("log_uniform_candidate_sampler", num_true=num_true, num_sampled=num_sampled,
                  range_max=range_max)
    if unique and num_sampled > range_max:
        raise ValueError(f"log_uniform_candidate_sampler ({user_site()}): unique=True needs "
                         f"num_sampled ({num_sampled}) <= range_max ({range_max})")
    graph = graph_of([true_classes])
    with graph.as_default(), graph.name_scope(name or "LogUniformCandidateSampler"):
        true_classes = convert_to_tensor(true_classes, _dt.int64)
        if true_classes.shape is not None and (len(true_classes.shape) != 2 or
                                               true_classes.shape[1] not in (None, num_true)):
            raise ValueError(f"log_uniform_candidate_sampler ({user_site()}): true_classes "
                             f"'{true_classes.op_name}' must be [batch_size, num_true="
                             f"{num_true}], got {true_classes.shape}")
        draw = log_uniform_draw(true_classes, num_sampled, unique, range_max, seed, name="draw")
        sampled = getitem(draw, slice(0, num_sampled), name="sampled_candidates")
        true_count = log_uniform_expected_count(true_classes, draw, num_sampled, range_max,
                                                name="true_expected_count")
        sampled_count = log_uniform_expected_count(sampled, draw, num_sampled, range_max,
                                                   name="sampled_expected_count")
    return sampled, true_count, sampled_count


def _accidental_hits(labels, sampled, dtype):
    """-FLOAT_MAX where a sampled class is one of the row's true classes, else 0: [batch,
    num_sampled] (TF1's compute_accidental_hits scattered by sparse_to_dense)."""
    hits = cast(equal(expand_dims(labels, 2), reshape(sampled, [1, 1, -1])), dtype)
    return multiply(reduce_max(hits, 1), -_FLOAT_MAX)


def _compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes, num_true,
                            sampled_values, remove_accidental_hits, partition_strategy, seed):
    """TF1's _compute_sampled_logits (subtract_log_q=True): logits [batch, num_true +
    num_sampled] and labels, 1/num_true on the true columns."""
    inputs = convert_to_tensor(inputs)
    labels = convert_to_tensor(labels)
    if labels.dtype != _dt.int64:
        labels = cast(labels, _dt.int64)
    if sampled_values is None:
        sampled_values = log_uniform_candidate_sampler(labels, num_true, num_sampled, True,
                                                       num_classes, seed=seed)
    sampled, true_count, sampled_count = (stop_gradient(convert_to_tensor(v))
                                          for v in sampled_values)
    sampled = cast(sampled, _dt.int64) if sampled.dtype != _dt.int64 else sampled
    labels_flat = reshape(labels, [-1])
    true_w = cast(embedding_lookup(weights, labels_flat, partition_strategy), inputs.dtype)
    true_b = cast(embedding_lookup(biases, labels_flat, partition_strategy), inputs.dtype)
    sampled_w = cast(embedding_lookup(weights, sampled, partition_strategy), inputs.dtype)
    sampled_b = cast(embedding_lookup(biases, sampled, partition_strategy), inputs.dtype)
    dim = true_w.shape[1]
    # each example's row dotted with its own num_true true-class rows
    dots = multiply(expand_dims(inputs, 1), reshape(true_w, [-1, num_true, dim]))
    true_logits = add(reduce_sum(dots, 2), reshape(true_b, [-1, num_true]))
    sampled_logits = add(matmul(inputs, sampled_w, transpose_b=True), sampled_b)
    if remove_accidental_hits:
        sampled_logits = add(sampled_logits, _accidental_hits(labels, sampled, inputs.dtype))
    true_logits = subtract(true_logits, log(cast(true_count, inputs.dtype)))
    sampled_logits = subtract(sampled_logits, log(cast(sampled_count, inputs.dtype)))
    logits = concat([true_logits, sampled_logits], 1)
    out_labels = concat([divide(ones_like(true_logits), float(num_true)),
                         zeros_like(sampled_logits)], 1)
    return logits, stop_gradient(out_labels)


def _sampled_logits(what, weights, biases, labels, inputs, num_sampled, num_classes, num_true,
                    sampled_values, remove_accidental_hits, partition_strategy, seed):
    _check_counts(what, num_sampled=num_sampled, num_classes=num_classes, num_true=num_true)
    if partition_strategy not in ("mod", "div"):
        raise ValueError(f"{what} ({user_site()}): unrecognized partition_strategy "
                         f"{partition_strategy!r}; use 'mod' or 'div'")
    return _compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes,
                                   num_true, sampled_values, remove_accidental_hits,
                                   partition_strategy, seed)


def nce_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1,
             sampled_values=None, remove_accidental_hits=False, partition_strategy="mod",
             name="nce_loss"):
    """Noise-contrastive estimation loss, one value per example [batch] (TF1's tf.nn.nce_loss):
    the sigmoid cross-entropy of the true classes (label 1/num_true) and num_sampled sampled
    classes (label 0), logits corrected by -log(expected count), summed over those columns.
    weights [num_classes, dim] (or a list of shards), biases [num_classes], labels int
    [batch, num_true], inputs [batch, dim]; sampled_values defaults to a unique log-uniform
    draw."""
    graph = graph_of([inputs, labels] + (list(weights) if isinstance(weights, (list, tuple))
                                         else [weights]))
    with graph.as_default(), graph.name_scope(name or "nce_loss"):
        logits, labels = _sampled_logits("nce_loss", weights, biases, labels, inputs,
                                         num_sampled, num_classes, num_true, sampled_values,
                                         remove_accidental_hits, partition_strategy, None)
        losses = sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        return reduce_sum(losses, 1)


def sampled_softmax_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1,
                         sampled_values=None, remove_accidental_hits=True,
                         partition_strategy="mod", name="sampled_softmax_loss", seed=None):
    """Sampled softmax loss, one value per example [batch] (TF1's tf.nn.sampled_softmax_loss):
    the softmax cross-entropy over the true classes (label 1/num_true each) and num_sampled
    sampled ones, logits corrected by -log(expected count); sampled classes equal to a true
    class are removed (remove_accidental_hits). Arguments as nce_loss; seed seeds the default
    sampler."""
    from .nn import softmax_cross_entropy_with_logits_v2  # gf.nn imports this module
    graph = graph_of([inputs, labels] + (list(weights) if isinstance(weights, (list, tuple))
                                         else [weights]))
    with graph.as_default(), graph.name_scope(name or "sampled_softmax_loss"):
        logits, labels = _sampled_logits("sampled_softmax_loss", weights, biases, labels,
                                         inputs, num_sampled, num_classes, num_true,
                                         sampled_values, remove_accidental_hits,
                                         partition_strategy, seed)
        return softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
