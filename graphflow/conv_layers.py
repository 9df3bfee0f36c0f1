"""gf.layers' convolution, pooling and flatten layers, as TF 1.15's tf.layers (channels_last).

    h = gf.layers.conv2d(x, 32, 5, padding="same", activation=gf.nn.relu)  # conv2d/kernel, /bias
    h = gf.layers.max_pooling2d(h, pool_size=2, strides=2)
    h = gf.layers.flatten(h)                                                 # (batch, 7*7*64)

Each conv layer makes its variables in a name scope named after it ("conv2d", "conv2d_1", ...):
`kernel` of shape (kh, kw, in_channels, filters) (conv2d_transpose: (kh, kw, filters,
in_channels), as TF), initialised with glorot_uniform unless kernel_initializer (or the
enclosing variable_scope's initializer) says otherwise, and `bias` of shape (filters,), zeros by
default. The variables are made with gf.get_variable in a variable scope named after the layer,
so `reuse=True` (or an enclosing `gf.variable_scope(..., reuse=True)`) shares them, as TF1. What
TF1's layers take and graphflow does not do (channels_first, constraints) is refused with
NotImplementedError naming the argument.
"""

from __future__ import annotations

from typing import Callable, Optional, Tuple

from compiler import dtypes as _dt
from compiler.errors import ShapeError
from compiler.graph import Node, graph_of
from compiler.ops.conv import conv2d as _conv2d
from compiler.ops.conv import conv2d_transpose as _conv2d_transpose
from compiler.ops.core import convert_to_tensor
from compiler.ops.pool import avg_pool, max_pool
from compiler.ops.shape import reshape
from compiler.ops.windows import window_arg
from compiler.shapes import fmt

from .initializers import zeros
from .nn import bias_add
from .variable_scope import get_variable, layer_scope
from .variables import GraphKeys

__all__ = ["conv2d", "conv2d_transpose", "max_pooling2d", "average_pooling2d", "flatten"]

_ZEROS = zeros()  # TF's default bias_initializer, tf.zeros_initializer()


def _pair(value, what: str, layer: str) -> Tuple[int, int]:
    """An int or a pair of ints (TF's layers take no 4-lists)."""
    if not isinstance(value, int) and len(tuple(value)) != 2:
        raise ValueError(f"{layer}: {what} must be an int or a pair of ints, got {value!r}")
    return window_arg(value, what, layer)


def _padding(padding, layer: str) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{layer}: padding must be 'valid' or 'same', got {padding!r}")
    return padding.upper()


def _refuse(layer: str, data_format="channels_last", **options) -> None:
    """NotImplementedError for TF1 options graphflow's layers do not implement."""
    if data_format != "channels_last":
        raise NotImplementedError(f"{layer}: data_format={data_format!r} is not supported: "
                                  f"graphflow's layout is channels_last (NHWC)")
    for option, value in options.items():
        if value not in (None, False):
            raise NotImplementedError(f"{layer}: {option}={value!r} is not supported")


def _image_input(inputs, layer: str) -> Node:
    """A float 4-D input whose channel count is known."""
    inputs = convert_to_tensor(inputs)
    if not _dt.is_floating(inputs.dtype):
        raise TypeError(f"{layer}: inputs '{inputs.op_name}' are {inputs.dtype.name}; the layer "
                        f"needs float inputs (use gf.cast)")
    if inputs.shape is None or len(inputs.shape) != 4 or inputs.shape[-1] is None:
        raise ShapeError(f"{layer}: inputs '{inputs.op_name}' (shape {fmt(inputs.shape)}, made at "
                         f"{inputs.site}) must be 4-D (batch, height, width, channels) with a "
                         f"known number of channels")
    return inputs


def _variables(inputs: Node, kernel_shape, filters: int, use_bias: bool, trainable,
               initializers, regularizers):
    """The layer's kernel and bias (None without one), made or shared by gf.get_variable in the
    current variable scope, which adds their regularization losses when it makes them. An
    initializer of None takes the scope's (else glorot_uniform), as TF1."""
    kernel_initializer, bias_initializer = initializers
    kernel_regularizer, bias_regularizer = regularizers
    kernel = get_variable("kernel", kernel_shape, inputs.dtype, kernel_initializer,
                          kernel_regularizer, trainable=trainable)
    bias = None
    if use_bias:
        bias = get_variable("bias", (filters,), inputs.dtype, bias_initializer,
                            bias_regularizer, trainable=trainable)
    return kernel, bias


def _finish(graph, outputs: Node, bias, activation, activity_regularizer) -> Node:
    if bias is not None:
        outputs = bias_add(outputs, bias, name="BiasAdd")
    if activation is not None:
        outputs = activation(outputs)
    if activity_regularizer is not None:
        graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, activity_regularizer(outputs))
    return outputs


def conv2d(inputs, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
           data_format: str = "channels_last", dilation_rate=(1, 1),
           activation: Optional[Callable[[Node], Node]] = None, use_bias: bool = True,
           kernel_initializer=None, bias_initializer=_ZEROS, kernel_regularizer=None,
           bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
           bias_constraint=None, trainable: bool = True, name: Optional[str] = None,
           reuse=None) -> Node:
    """A 2-D convolution layer: activation(conv2d(inputs, kernel) + bias) (TF1's
    tf.layers.conv2d). kernel_size, strides and dilation_rate are an int or a pair; padding is
    "valid" or "same" (either case). `name` is the variable scope of its variables; reuse=True
    (or AUTO_REUSE) shares those of an earlier layer of that name."""
    inputs, (kh, kw), (sh, sw) = _conv_arguments(
        "conv2d", inputs, filters, kernel_size, strides, data_format,
        dict(kernel_constraint=kernel_constraint, bias_constraint=bias_constraint))
    dh, dw = _pair(dilation_rate, "dilation_rate", "conv2d")
    graph = graph_of([inputs])
    with graph.as_default(), layer_scope(name, "conv2d", reuse):
        kernel, bias = _variables(inputs, (kh, kw, inputs.shape[-1], filters), filters,
                                  use_bias, trainable, (kernel_initializer, bias_initializer),
                                  (kernel_regularizer, bias_regularizer))
        outputs = _conv2d(inputs, kernel, strides=[1, sh, sw, 1],
                          padding=_padding(padding, "conv2d"), dilations=[1, dh, dw, 1],
                          name="Conv2D")
        return _finish(graph, outputs, bias, activation, activity_regularizer)


def conv2d_transpose(inputs, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
                     data_format: str = "channels_last",
                     activation: Optional[Callable[[Node], Node]] = None, use_bias: bool = True,
                     kernel_initializer=None, bias_initializer=_ZEROS, kernel_regularizer=None,
                     bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                     bias_constraint=None, trainable: bool = True, name: Optional[str] = None,
                     reuse=None) -> Node:
    """A transposed 2-D convolution layer (TF1's tf.layers.conv2d_transpose): each output pixel
    gathers what a conv2d with these settings would have spread from it. The output's height is
    in * stride with "same" padding, in * stride + max(k - stride, 0) with "valid" (TF's rule);
    its batch size follows the input's at run time."""
    inputs, (kh, kw), (sh, sw) = _conv_arguments(
        "conv2d_transpose", inputs, filters, kernel_size, strides, data_format,
        dict(kernel_constraint=kernel_constraint, bias_constraint=bias_constraint))
    pad = _padding(padding, "conv2d_transpose")
    _, h, w, channels = inputs.shape
    if h is None or w is None:
        raise ShapeError(f"conv2d_transpose: the height and width of inputs '{inputs.op_name}' "
                         f"(shape {fmt(inputs.shape)}) must be known to size the output")
    out_h, out_w = (_deconv_size(h, kh, sh, pad), _deconv_size(w, kw, sw, pad))
    graph = graph_of([inputs])
    with graph.as_default(), layer_scope(name, "conv2d_transpose", reuse):
        kernel, bias = _variables(inputs, (kh, kw, filters, channels), filters, use_bias,
                                  trainable, (kernel_initializer, bias_initializer),
                                  (kernel_regularizer, bias_regularizer))
        outputs = _conv2d_transpose(inputs, kernel, [inputs.shape[0], out_h, out_w, filters],
                                    strides=[1, sh, sw, 1], padding=pad,
                                    name="conv2d_transpose")
        return _finish(graph, outputs, bias, activation, activity_regularizer)


def _deconv_size(size: int, k: int, stride: int, padding: str) -> int:
    """TF's deconv_output_length: a size that a conv2d with these settings maps back onto
    `size`."""
    return size * stride if padding == "SAME" else size * stride + max(k - stride, 0)


def _conv_arguments(layer: str, inputs, filters, kernel_size, strides, data_format, refused):
    """What both conv layers check first: (the input tensor, (kh, kw), (sh, sw))."""
    _refuse(layer, data_format, **refused)
    inputs = _image_input(inputs, layer)
    if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
        raise ValueError(f"{layer}: filters must be a positive int, got {filters!r}")
    return (inputs, _pair(kernel_size, "kernel_size", layer), _pair(strides, "strides", layer))


def _pooling(op, layer: str, inputs, pool_size, strides, padding, data_format, name):
    _refuse(layer, data_format)
    inputs = convert_to_tensor(inputs)
    ph, pw = _pair(pool_size, "pool_size", layer)
    sh, sw = _pair(strides, "strides", layer)
    graph = graph_of([inputs])
    with graph.as_default(), graph.name_scope(name or layer):
        return op(inputs, ksize=[1, ph, pw, 1], strides=[1, sh, sw, 1],
                  padding=_padding(padding, layer))


def max_pooling2d(inputs, pool_size, strides, padding: str = "valid",
                  data_format: str = "channels_last", name: Optional[str] = None) -> Node:
    """Max pooling over (pool_size) windows (TF1's tf.layers.max_pooling2d)."""
    return _pooling(max_pool, "max_pooling2d", inputs, pool_size, strides, padding,
                    data_format, name)


def average_pooling2d(inputs, pool_size, strides, padding: str = "valid",
                      data_format: str = "channels_last", name: Optional[str] = None) -> Node:
    """Average pooling (TF1's tf.layers.average_pooling2d); with "same" padding a window at the
    border averages its in-image positions only."""
    return _pooling(avg_pool, "average_pooling2d", inputs, pool_size, strides, padding,
                    data_format, name)


def flatten(inputs, name: Optional[str] = None, data_format: str = "channels_last") -> Node:
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...), keeping the batch axis and the order of
    the rest (NHWC order for images, as TF) (TF1's tf.layers.flatten). Every axis but the batch
    must be known."""
    _refuse("flatten", data_format)
    inputs = convert_to_tensor(inputs)
    if inputs.shape is None or len(inputs.shape) < 1 or None in inputs.shape[1:]:
        raise ShapeError(f"flatten: inputs '{inputs.op_name}' (shape {fmt(inputs.shape)}, made at "
                         f"{inputs.site}) need every axis but the first known")
    size = 1
    for d in inputs.shape[1:]:
        size *= d
    graph = graph_of([inputs])
    with graph.as_default(), graph.name_scope(name or "flatten"):
        return reshape(inputs, (-1, size), name="Reshape")
