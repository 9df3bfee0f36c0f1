"""gf.layers: layers that make their own variables, as TF1's tf.layers.

    h = gf.layers.dense(x, 128, activation=gf.nn.relu)     # variables dense/kernel, dense/bias
    h = gf.layers.batch_normalization(h, training=is_training)   # gamma, beta, moving_*
    h = gf.layers.dropout(h, rate=0.5, training=is_training)
    logits = gf.layers.dense(h, 10, name="logits")          # logits/kernel, logits/bias

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
from compiler.ops.state import Variable
from compiler.shapes import fmt

from .conv_layers import average_pooling2d, conv2d, conv2d_transpose, flatten, max_pooling2d
from .initializers import glorot_uniform, zeros
from .normalization import batch_normalization, dropout
from .variables import GraphKeys

__all__ = ["dense", "dropout", "batch_normalization", "conv2d", "conv2d_transpose",
           "max_pooling2d", "average_pooling2d", "flatten"]

Initializer = Callable[..., object]


def dense(inputs, units: int, activation: Optional[Callable[[Node], Node]] = None,
          use_bias: bool = True, kernel_initializer: Optional[Initializer] = None,
          bias_initializer: Optional[Initializer] = None,
          kernel_regularizer: Optional[Callable[[Node], Node]] = None,
          name: Optional[str] = None) -> Node:
    """A fully connected layer: activation(inputs @ kernel + bias) (TF1's tf.layers.dense).

    Makes the trainable variables `<scope>/kernel` of shape (in, units) (default initializer:
    glorot_uniform) and `<scope>/bias` of shape (units,) (default: zeros) in a name scope `name`,
    by default "dense", "dense_1", ... The last dimension of `inputs` must be known; leading
    dimensions are kept (batch dimensions broadcast through matmul). The variables take the
    dtype of `inputs`, which must be a float. kernel_regularizer(kernel), when given, is a loss
    added to the REGULARIZATION_LOSSES collection (see gf.losses.get_regularization_loss()).
    """
    inputs = convert_to_tensor(inputs)
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(f"dense: units must be a positive int, got {units!r}")
    if not _dt.is_floating(inputs.dtype):
        raise TypeError(f"dense: inputs '{inputs.name}' are {inputs.dtype.name}; a dense layer "
                        f"needs float inputs (use gf.cast)")
    if inputs.shape is None or not inputs.shape or inputs.shape[-1] is None:
        raise ShapeError(f"dense: the last dimension of inputs '{inputs.name}' (shape "
                         f"{fmt(inputs.shape)}, made at {inputs.site}) must be known to make "
                         f"the kernel; give the placeholder a full last dimension or gf.reshape")
    kernel_initializer = kernel_initializer or glorot_uniform()
    bias_initializer = bias_initializer or zeros()
    graph = graph_of([inputs])
    with graph.as_default(), graph.name_scope(name or "dense"):
        kernel = Variable(kernel_initializer((inputs.shape[-1], units), inputs.dtype),
                          name="kernel", dtype=inputs.dtype)
        if kernel_regularizer is not None:
            graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, kernel_regularizer(kernel))
        outputs = matmul(inputs, kernel, name="MatMul")
        if use_bias:
            bias = Variable(bias_initializer((units,), inputs.dtype), name="bias",
                            dtype=inputs.dtype)
            outputs = add(outputs, bias, name="BiasAdd")
        if activation is not None:
            outputs = activation(outputs)
    return outputs
