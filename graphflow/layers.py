"""gf.layers: layers that make their own variables, as TF1's tf.layers.

    h = gf.layers.dense(x, 128, activation=gf.nn.relu)     # variables dense/kernel, dense/bias
    h = gf.layers.batch_normalization(h, training=is_training)   # gamma, beta, moving_*
    h = gf.layers.dropout(h, rate=0.5, training=is_training)
    logits = gf.layers.dense(h, 10, name="logits")          # logits/kernel, logits/bias

Layers make their variables with gf.get_variable in a variable scope named after the layer, as
TF1's: inside `gf.variable_scope("disc", reuse=...)` they are disc/dense/kernel, ..., and a
layer given the same `name` with reuse=True (or under a reusing scope) shares them.

dropout and batch_normalization live in graphflow/normalization.py; conv2d, conv2d_transpose,
max_pooling2d, average_pooling2d and flatten in graphflow/conv_layers.py.
"""

from __future__ import annotations

from typing import Callable, Optional

from compiler import dtypes as _dt
from compiler.errors import ShapeError
from compiler.graph import Node, graph_of
from compiler.ops.core import convert_to_tensor
from compiler.ops.elementwise import add
from compiler.ops.linalg import matmul
from compiler.shapes import fmt

from .conv_layers import (
    _ZEROS,
    _refuse,
    _variables,
    average_pooling2d,
    conv2d,
    conv2d_transpose,
    flatten,
    max_pooling2d,
)
from .normalization import batch_normalization, dropout
from .variable_scope import layer_scope
from .variables import GraphKeys

__all__ = ["dense", "dropout", "batch_normalization", "conv2d", "conv2d_transpose",
           "max_pooling2d", "average_pooling2d", "flatten"]

Initializer = Callable[..., object]


def dense(inputs, units: int, activation: Optional[Callable[[Node], Node]] = None,
          use_bias: bool = True, kernel_initializer: Optional[Initializer] = None,
          bias_initializer: Optional[Initializer] = _ZEROS,
          kernel_regularizer: Optional[Callable[[Node], Node]] = None,
          bias_regularizer: Optional[Callable[[Node], Node]] = None,
          activity_regularizer: Optional[Callable[[Node], Node]] = None,
          kernel_constraint=None, bias_constraint=None, trainable: bool = True,
          name: Optional[str] = None, reuse=None) -> Node:
    """A fully connected layer: activation(inputs @ kernel + bias) (TF1's tf.layers.dense, with
    its parameters in its order).

    Makes (or shares) `<scope>/kernel` of shape (in, units) (initializer: kernel_initializer,
    else the enclosing variable_scope's, else glorot_uniform) and `<scope>/bias` of shape
    (units,) (zeros by default) with gf.get_variable, in the variable scope `name`, by default
    "dense", "dense_1", ... reuse=True (or AUTO_REUSE, or an enclosing reusing variable_scope)
    shares the variables of an earlier layer of that name: a GAN's discriminator applied twice.
    The last dimension of `inputs` must be known; leading dimensions are kept. The variables
    take the dtype of `inputs`, which must be a float. kernel_regularizer(kernel) and
    bias_regularizer(bias) go into REGULARIZATION_LOSSES when the variables are made,
    activity_regularizer(outputs) at every call. Constraints raise NotImplementedError.
    """
    inputs = convert_to_tensor(inputs)
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(f"dense: units must be a positive int, got {units!r}")
    _refuse("dense", kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
    if not _dt.is_floating(inputs.dtype):
        raise TypeError(f"dense: inputs '{inputs.op_name}' are {inputs.dtype.name}; a dense layer "
                        f"needs float inputs (use gf.cast)")
    if inputs.shape is None or not inputs.shape or inputs.shape[-1] is None:
        raise ShapeError(f"dense: the last dimension of inputs '{inputs.op_name}' (shape "
                         f"{fmt(inputs.shape)}, made at {inputs.site}) must be known to make "
                         f"the kernel; give the placeholder a full last dimension or gf.reshape")
    graph = graph_of([inputs])
    with graph.as_default(), layer_scope(name, "dense", reuse):
        kernel, bias = _variables(inputs, (inputs.shape[-1], units), units, use_bias, trainable,
                                  (kernel_initializer, bias_initializer),
                                  (kernel_regularizer, bias_regularizer))
        outputs = matmul(inputs, kernel, name="MatMul")
        if bias is not None:
            outputs = add(outputs, bias, name="BiasAdd")
        if activation is not None:
            outputs = activation(outputs)
        if activity_regularizer is not None:
            graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES,
                                    activity_regularizer(outputs))
    return outputs
