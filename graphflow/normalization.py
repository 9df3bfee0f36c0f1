"""The layers that behave differently in training and in inference: dropout and batch
normalization (TF1's tf.layers.dropout and tf.layers.batch_normalization).

`training` is a Python bool (the graph holds one behaviour) or a scalar bool tensor, usually a
placeholder, choosing per run with gf.where, so one graph trains and evaluates:

    is_training = gf.placeholder(gf.bool_, (), name="is_training")
    h = gf.layers.batch_normalization(x, training=is_training)
    h = gf.layers.dropout(h, rate=0.5, training=is_training)
    with gf.control_dependencies(gf.get_collection(gf.GraphKeys.UPDATE_OPS)):
        train_op = gf.train.AdamOptimizer(1e-3).minimize(loss)
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np

from compiler import dtypes as _dt
from compiler.errors import ShapeError
from compiler.graph import Node, graph_of
from compiler.ops.core import convert_to_tensor
from compiler.ops.elementwise import (
    add,
    divide,
    identity,
    multiply,
    negative,
    sqrt,
    square,
    stop_gradient,
    subtract,
    where,
)
from compiler.ops.reduce import reduce_mean
from compiler.ops.shape import reshape
from compiler.ops.state import assign_sub
from compiler.shapes import fmt

from . import nn
from .initializers import ones_initializer, zeros_initializer
from .variable_scope import get_variable, layer_scope
from .variables import GraphKeys, add_to_collection

__all__ = ["dropout", "batch_normalization"]

Training = Union[bool, Node]
_ZEROS, _ONES = zeros_initializer(), ones_initializer()  # TF1's defaults


def _training_flag(training, what: str) -> Training:
    """A Python bool as is, or a scalar bool tensor."""
    if isinstance(training, (bool, np.bool_)):
        return bool(training)
    if not isinstance(training, Node):
        raise TypeError(f"{what}: training must be a Python bool or a bool tensor, got "
                        f"{training!r}")
    if training.dtype != _dt.bool_ or (training.shape is not None and training.shape != ()):
        raise TypeError(f"{what}: training '{training.op_name}' must be a scalar bool tensor, got "
                        f"{training.dtype.name} of shape {fmt(training.shape)}")
    if training.shape is None:  # a placeholder of no shape: a scalar, so shapes stay known
        training = reshape(training, ())
    return training


def dropout(inputs, rate=0.5, noise_shape=None, seed: Optional[int] = None,
            training: Training = False, name: Optional[str] = None) -> Node:
    """TF1's tf.layers.dropout: gf.nn.dropout(inputs, rate=rate) while training, inputs as they
    are otherwise. Note `rate` is the fraction dropped (gf.nn.dropout's keep_prob is 1 - rate).
    With a bool tensor for `training`, each run picks by its value."""
    inputs = convert_to_tensor(inputs)
    training = _training_flag(training, "dropout")
    graph = graph_of([inputs, training, rate])
    with graph.as_default(), graph.name_scope(name or "dropout"):
        if training is False:
            return identity(inputs, name="Identity")
        dropped = nn.dropout(inputs, noise_shape=noise_shape, seed=seed, rate=rate)
        if training is True:
            return dropped
        return where(training, dropped, inputs, name="cond")


def batch_normalization(inputs, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                        center: bool = True, scale: bool = True, beta_initializer=_ZEROS,
                        gamma_initializer=_ONES, moving_mean_initializer=_ZEROS,
                        moving_variance_initializer=_ONES, beta_regularizer=None,
                        gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                        training: Training = False, trainable: bool = True,
                        name: Optional[str] = None, reuse=None, renorm: bool = False,
                        renorm_clipping=None, renorm_momentum: float = 0.99, fused=None,
                        virtual_batch_size=None, adjustment=None) -> Node:
    """TF1's tf.layers.batch_normalization (its parameters in its order) over the features on
    `axis` (the last by default): (x - mean) / sqrt(variance + epsilon) * gamma + beta.

    Makes (or shares, with gf.get_variable) `<scope>/gamma` (ones, if scale) and `<scope>/beta`
    (zeros, if center), trainable, and `<scope>/moving_mean` (zeros) and
    `<scope>/moving_variance` (ones), global but not trainable, in the variable scope `name`
    ("batch_normalization", "batch_normalization_1", ...); reuse=True (or AUTO_REUSE, or a
    reusing enclosing variable_scope) shares those of an earlier layer of that name.

    While training, mean and variance are the batch's (the biased variance, over every axis but
    `axis`), and the updates moving <- moving * momentum + batch * (1 - momentum) (TF1's
    assign_sub(moving, (moving - batch) * (1 - momentum))) go into the UPDATE_OPS collection: run
    them, e.g. with `gf.control_dependencies(gf.get_collection(gf.GraphKeys.UPDATE_OPS))` around
    the train op. Otherwise the moving averages are used. With a bool tensor for `training`, each
    run picks by its value, and the updates leave the averages as they are in runs where it is
    False (TF1 sets the momentum to 1 there). Constraints, renorm, virtual_batch_size and
    adjustment raise NotImplementedError. fused is accepted, but this is always the unfused
    formula: TF1's fused kernel (its default for 4-D inputs) updates moving_variance with the
    unbiased batch variance (times n / (n - 1)).
    """
    _refuse_options(beta_constraint=beta_constraint, gamma_constraint=gamma_constraint,
                    renorm=renorm, renorm_clipping=renorm_clipping,
                    virtual_batch_size=virtual_batch_size, adjustment=adjustment)
    inputs = convert_to_tensor(inputs)
    training = _training_flag(training, "batch_normalization")
    channels, axis, broadcast_shape = _feature_axis(inputs, axis)
    dtype = inputs.dtype
    graph = graph_of([inputs, training])
    with graph.as_default(), layer_scope(name, "batch_normalization", reuse):
        gamma, beta, moving_mean, moving_variance = _bn_variables(
            channels, dtype, (center, scale), trainable,
            (beta_initializer, gamma_initializer, moving_mean_initializer,
             moving_variance_initializer), (beta_regularizer, gamma_regularizer))
        if training is False:
            mean, variance = moving_mean, moving_variance
        else:
            reduction = tuple(i for i in range(len(inputs.shape)) if i != axis)
            batch_mean = reduce_mean(inputs, reduction, name="moments/mean")
            # As TF1's nn.moments: the mean is a constant inside the variance (same value and,
            # since sum(x - mean) = 0, the same gradient, with one path fewer).
            centered = subtract(inputs, _param(stop_gradient(batch_mean), broadcast_shape))
            batch_variance = reduce_mean(square(centered), reduction, name="moments/variance")
            if training is True:
                mean, variance, decay = batch_mean, batch_variance, 1.0 - momentum
            else:
                mean = where(training, batch_mean, moving_mean, name="mean")
                variance = where(training, batch_variance, moving_variance, name="variance")
                decay = where(training, convert_to_tensor(1.0 - momentum, dtype),
                              convert_to_tensor(0.0, dtype), name="decay")
            for moving, batch in ((moving_mean, batch_mean), (moving_variance, batch_variance)):
                update = assign_sub(moving, multiply(subtract(moving, batch), decay),
                                    name="AssignMovingAvg")
                add_to_collection(GraphKeys.UPDATE_OPS, update)
        # TF1's nn.batch_normalization: x * inv + (beta - mean * inv), inv = gamma / sqrt(var + eps)
        inv = divide(1.0, sqrt(add(variance, epsilon)))
        if gamma is not None:
            inv = multiply(inv, gamma)
        shift = negative(multiply(mean, inv)) if beta is None else subtract(
            beta, multiply(mean, inv))
        return add(multiply(inputs, _param(inv, broadcast_shape)),
                   _param(shift, broadcast_shape), name="batchnorm")


def _feature_axis(inputs: Node, axis):
    """(number of features, axis as a non-negative int, the shape a per-feature vector takes to
    broadcast against inputs, or None where it broadcasts as it is)."""
    if not _dt.is_floating(inputs.dtype):
        raise TypeError(f"batch_normalization: inputs '{inputs.op_name}' are {inputs.dtype.name}; "
                        f"batch normalization needs float inputs (use gf.cast)")
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"batch_normalization: axis must be an int, got {axis!r}")
    if inputs.shape is None:
        raise ShapeError(f"batch_normalization: inputs '{inputs.op_name}' (made at {inputs.site}) "
                         f"need a known rank")
    rank = len(inputs.shape)
    if not -rank <= axis < rank:
        raise ValueError(f"batch_normalization: axis {axis} is out of range for inputs "
                         f"'{inputs.op_name}' of shape {fmt(inputs.shape)}")
    axis %= rank
    channels = inputs.shape[axis]
    if channels is None:
        raise ShapeError(f"batch_normalization: dimension {axis} of inputs '{inputs.op_name}' "
                         f"(shape "
                         f"{fmt(inputs.shape)}, made at {inputs.site}) must be known to make the "
                         f"variables")
    broadcast_shape = None if axis == rank - 1 else tuple(
        channels if i == axis else 1 for i in range(rank))
    return channels, axis, broadcast_shape


def _param(vector: Node, broadcast_shape) -> Node:
    """A per-feature vector shaped to broadcast against the inputs."""
    return vector if broadcast_shape is None else reshape(vector, broadcast_shape)


def _refuse_options(**options) -> None:
    for option, value in options.items():
        if value not in (None, False):
            raise NotImplementedError(f"batch_normalization: {option}={value!r} is not "
                                      f"supported")


def _bn_variables(channels: int, dtype, flags, trainable, initializers, regularizers):
    """gamma and beta (None where scale/center is off) and the two moving averages, made or
    shared with gf.get_variable in the current variable scope, in TF1's order."""
    center, scale = flags
    beta_init, gamma_init, mean_init, variance_init = initializers
    beta_regularizer, gamma_regularizer = regularizers
    gamma = beta = None
    if scale:
        gamma = get_variable("gamma", (channels,), dtype, gamma_init, gamma_regularizer,
                             trainable=trainable)
    if center:
        beta = get_variable("beta", (channels,), dtype, beta_init, beta_regularizer,
                            trainable=trainable)
    moving_mean = get_variable("moving_mean", (channels,), dtype, mean_init, trainable=False)
    moving_variance = get_variable("moving_variance", (channels,), dtype, variance_init,
                                   trainable=False)
    return gamma, beta, moving_mean, moving_variance
