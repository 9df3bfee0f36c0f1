"""Convolutions in TF1's NHWC layout: conv2d (filter HWIO: [height, width, in, out]) and its two
gradients, each an op with a gradient rule of its own, so gradients of gradients work.

    y = conv2d(x, w)                       y[b, i, j, o] = sum x_pad[b, i*s + di*d, j*s + dj*d, c]
                                                               * w[di, dj, c, o]
    dx = conv2d_backprop_input(g, w, x)    the adjoint of x -> conv2d(x, w): <conv2d(x, w), g> =
                                           <x, dx>; conv2d_transpose is this op
    dw = conv2d_backprop_filter(x, g, w)   the adjoint of w -> conv2d(x, w)

All three are bilinear, so each one's gradients are the other two (and itself). The input
gradient reads its output's height and width from a shape-only input (x, at run time: any size
may be unknown when building) or from the attribute `size` (conv2d_transpose's output_shape);
the filter gradient reads the filter's height and width from a shape-only input. Kernels:
compiler/ops/conv_kernels.py.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from ..graph import Node, graph_of, user_site
from ..opdef import OpDef, register
from . import conv_kernels as _k
from .core import apply, convert_to_tensor, require_float, same_dtype
from .windows import data_format_arg, effective_size, padding_arg, window_arg

__all__ = ["conv2d", "conv2d_transpose"]


# -- shape rules -----------------------------------------------------------------------------------
def _image(x: Node, what: str):
    """x's static shape as 4 sizes (None where unknown); ValueError unless x is 4-D."""
    if x.shape is None:
        return (None,) * 4
    if len(x.shape) != 4:
        raise ValueError(f"{what} '{x.op_name}' must be 4-D {_LAYOUTS[what]}, got rank "
                         f"{len(x.shape)}")
    return x.shape


_LAYOUTS = {"input": "[batch, height, width, channels]",
            "output gradient": "[batch, height, width, channels]",
            "filter": "[height, width, in_channels, out_channels]",
            "filter-shaped input": "[height, width, in_channels, out_channels]"}


def _float_pair(a: Node, b: Node):
    dtype = same_dtype([a, b])
    require_float(a)
    return dtype


def _same(a: Optional[int], b: Optional[int], message: str) -> Optional[int]:
    """The size a and b agree on (either may be unknown); ValueError(message) if they differ."""
    if a is not None and b is not None and a != b:
        raise ValueError(message)
    return a if a is not None else b


def _output_sizes(x, w, strides, dilations, padding) -> Tuple[Optional[int], Optional[int]]:
    """conv2d's output height and width from static shapes; ValueError where a VALID (or
    explicitly padded) window is larger than the input."""
    sizes = []
    for axis, what in ((0, "height"), (1, "width")):
        size, k = x[1 + axis], w[axis]
        if size is None or k is None:
            sizes.append(None)
            continue
        out = _k.out_size(size, k, strides[axis], dilations[axis], padding, axis)
        if out < 1:
            span = effective_size(k, dilations[axis])
            raise ValueError(f"the filter's {what} {span} (dilation {dilations[axis]}) is larger "
                             f"than the input's {what} {size} with padding {padding}")
        sizes.append(out)
    return sizes[0], sizes[1]


def _conv_infer(inputs, strides, dilations, padding):
    x, w = inputs
    dtype = _float_pair(x, w)
    xs, ws = _image(x, "input"), _image(w, "filter")
    _same(xs[3], ws[2], f"the input has {xs[3]} channels but the filter expects {ws[2]} "
                        f"(its third size: filters are [height, width, in_channels, "
                        f"out_channels])")
    oh, ow = _output_sizes(xs, ws, strides, dilations, padding)
    return (xs[0], oh, ow, ws[3]), dtype


def _check_output(gs, xs, ws, strides, dilations, padding) -> None:
    """The output gradient's height and width are those conv2d gives for an input of xs."""
    oh, ow = _output_sizes(xs, ws, strides, dilations, padding)
    for got, want, what in ((gs[1], oh, "height"), (gs[2], ow, "width")):
        _same(got, want, f"the output gradient's {what} is {got}, but an input of shape "
                         f"{_fmt(xs)} gives conv2d outputs of {what} {want}")


def _fmt(shape) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _input_grad_infer(inputs, strides, dilations, padding, size):
    g, w = inputs[:2]
    dtype = _float_pair(g, w)
    gs, ws = _image(g, "output gradient"), _image(w, "filter")
    _same(gs[3], ws[3], f"the output gradient has {gs[3]} channels but the filter's "
                        f"out_channels (its last size) is {ws[3]}")
    if len(inputs) > 2:
        ls = _image(inputs[2], "input")
        xs = (_same(ls[0], gs[0], f"batch sizes differ: {ls[0]} and {gs[0]}"), ls[1], ls[2],
              _same(ls[3], ws[2], f"the input has {ls[3]} channels, the filter {ws[2]}"))
    else:
        xs = (gs[0], size[0], size[1], ws[2])
    _check_output(gs, xs, ws, strides, dilations, padding)
    return xs, dtype


def _filter_grad_infer(inputs, strides, dilations, padding):
    x, g, like = inputs
    dtype = _float_pair(x, g)
    xs, gs = _image(x, "input"), _image(g, "output gradient")
    ls = _image(like, "filter-shaped input")
    ws = (ls[0], ls[1], _same(xs[3], ls[2], f"the input has {xs[3]} channels, the filter "
                                            f"{ls[2]}"),
          _same(gs[3], ls[3], f"the output gradient has {gs[3]} channels, the filter {ls[3]}"))
    _same(xs[0], gs[0], f"batch sizes differ: the input's is {xs[0]}, the output gradient's "
                        f"{gs[0]}")
    _check_output(gs, xs, ws, strides, dilations, padding)
    return ws, dtype


# -- the ops and their gradients -------------------------------------------------------------------
def _settings(node) -> dict:
    return {k: node.attrs[k] for k in ("strides", "dilations", "padding")}


def _conv_grad(node, g):
    x, w = node.inputs
    return (_input_grad(g, w, x, **_settings(node)), _filter_grad(x, g, w, **_settings(node)))


def _input_grad_grad(node, c):
    # <c, backprop_input(g, w)> = <conv2d(c, w), g>: linear in g and in w.
    g, w = node.inputs[:2]
    grads = (conv2d_op(c, w, **_settings(node)), _filter_grad(c, g, w, **_settings(node)))
    return grads + (None,) * (len(node.inputs) - 2)


def _filter_grad_grad(node, c):
    # <c, backprop_filter(x, g)> = <conv2d(x, c), g>: linear in x and in g.
    x, g, like = node.inputs
    return (_input_grad(g, c, x, **_settings(node)), conv2d_op(x, c, **_settings(node)), None)


CONV2D = register(OpDef("conv2d", tf_type="Conv2D", infer=_conv_infer, kernel=_k.conv2d,
                        grad=_conv_grad))
CONV2D_BACKPROP_INPUT = register(OpDef(
    "conv2d_backprop_input", tf_type="Conv2DBackpropInput", infer=_input_grad_infer,
    kernel=_k.conv2d_backprop_input,
    grad=_input_grad_grad, value_inputs=2))
CONV2D_BACKPROP_FILTER = register(OpDef(
    "conv2d_backprop_filter", tf_type="Conv2DBackpropFilter", infer=_filter_grad_infer,
    kernel=_k.conv2d_backprop_filter,
    grad=_filter_grad_grad, value_inputs=2))


def conv2d_op(x, w, strides, dilations, padding, name: Optional[str] = None) -> Node:
    """The conv2d node on checked settings: strides and dilations (h, w) pairs, padding "SAME",
    "VALID" or ((top, bottom), (left, right))."""
    return apply(CONV2D, [x, w], name or "Conv2D", strides=strides, dilations=dilations,
                 padding=padding)


def _input_grad(g, w, like, strides, dilations, padding, name=None) -> Node:
    return apply(CONV2D_BACKPROP_INPUT, [g, w, like], name or "Conv2DBackpropInput",
                 strides=strides, dilations=dilations, padding=padding, size=None)


def _filter_grad(x, g, like, strides, dilations, padding, name=None) -> Node:
    return apply(CONV2D_BACKPROP_FILTER, [x, g, like], name or "Conv2DBackpropFilter",
                 strides=strides, dilations=dilations, padding=padding)


# -- TF1's builders --------------------------------------------------------------------------------
def _alias(value, alias, names: str, op: str):
    """TF's deprecated_argument_lookup: one of two names for an argument, not both."""
    if alias is not None:
        if value is not None:
            raise ValueError(f"{op}: give only one of {names}")
        return alias
    return value


def _padding(padding, op: str):
    """SAME/VALID, or TF's explicit NHWC padding [[0, 0], [top, bottom], [left, right], [0, 0]]
    as ((top, bottom), (left, right))."""
    if isinstance(padding, str) or padding is None:
        return padding_arg(padding, op)
    try:
        rows = [tuple(int(v) for v in row) for row in padding]
    except (TypeError, ValueError):
        rows = None
    if (rows is None or len(rows) != 4 or any(len(r) != 2 or min(r) < 0 for r in rows)
            or rows[0] != (0, 0) or rows[3] != (0, 0)):
        raise ValueError(f"{op}: padding must be 'SAME', 'VALID' or explicit NHWC amounts "
                         f"[[0, 0], [top, bottom], [left, right], [0, 0]], got {padding!r}")
    return rows[1], rows[2]


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True,  # noqa: A002
           data_format="NHWC", dilations=(1, 1, 1, 1), name=None, filters=None) -> Node:
    """TF1's tf.nn.conv2d: a 2-D convolution (cross-correlation, as TF) of `input` [batch,
    height, width, in_channels] with `filter` [height, width, in_channels, out_channels].

    strides and dilations: [1, h, w, 1], an int or an (h, w) pair. padding: "SAME" (output
    size ceil(in / stride), the odd pixel of padding after), "VALID" (no padding) or explicit
    [[0, 0], [top, bottom], [left, right], [0, 0]]. filters is TF's other name for filter;
    use_cudnn_on_gpu is ignored. NCHW is not supported (NotImplementedError)."""
    op = f"conv2d ({user_site()})"
    filter = _alias(filter, filters, "filter and filters", op)  # noqa: A001
    data_format_arg(data_format, op)
    settings = dict(strides=window_arg(strides, "strides", op),
                    dilations=window_arg(dilations, "dilations", op, default=1),
                    padding=_padding(padding, op))
    return conv2d_op(input, filter, name=name, **settings)


def _output_shape(output_shape, value: Node, op: str) -> Tuple[int, int, int]:
    """(height, width, channels) from TF's output_shape [batch, height, width, channels]: a
    list (whose batch entry may be None or a tensor: the batch is value's) or a constant."""
    if isinstance(output_shape, Node):
        if output_shape.type != "constant":
            raise TypeError(f"{op}: output_shape '{output_shape.op_name}' is a tensor whose value "
                            f"is known only at run time; pass a list [batch, height, width, "
                            f"channels] of ints (the batch may be None: value's is used)")
        output_shape = output_shape.attrs["value"]
    items = list(np.ravel(output_shape)) if isinstance(output_shape, np.ndarray) else output_shape
    if not isinstance(items, (list, tuple)) or len(items) != 4:
        raise ValueError(f"{op}: output_shape must be [batch, height, width, channels], got "
                         f"{output_shape!r}")
    batch, rest = items[0], items[1:]
    if any(isinstance(v, (bool, Node)) or not isinstance(v, (int, np.integer)) or v < 1
           for v in rest):
        raise TypeError(f"{op}: output_shape's height, width and channels must be positive "
                        f"ints, got {list(items)!r}")
    if isinstance(batch, (int, np.integer)) and value.shape is not None:
        _check(value.shape[0] in (None, batch), op, f"output_shape's batch {batch} differs "
                                                    f"from value's {value.shape[0]}")
    return int(rest[0]), int(rest[1]), int(rest[2])


def _tensors(a, b, op: str) -> Tuple[Node, Node]:
    """Both as tensors: a Python or numpy value takes the other's dtype (as apply() does)."""
    graph = graph_of([a, b])
    try:
        if not isinstance(a, Node):
            a = convert_to_tensor(a, b.dtype if isinstance(b, Node) else None, graph=graph)
        return a, convert_to_tensor(b, None if isinstance(b, Node) else a.dtype, graph=graph)
    except TypeError as exc:
        raise TypeError(f"{op}: {exc}") from None


def _check(ok: bool, op: str, message: str) -> None:
    if not ok:
        raise ValueError(f"{op}: {message}")


def conv2d_transpose(value=None, filter=None, output_shape=None, strides=None, padding="SAME",
                     data_format="NHWC", name=None, input=None, filters=None,  # noqa: A002
                     dilations=None) -> Node:
    """TF1's tf.nn.conv2d_transpose: the adjoint (gradient) of conv2d, from `value` [batch, h,
    w, in_channels] to output_shape [batch, height, width, out_channels], with `filter`
    [height, width, out_channels, in_channels] (as TF). A conv2d with these strides, padding
    and filter maps the output's shape back onto value's (ValueError otherwise).

    output_shape: a list of 4 ints; its batch entry may be None or a tensor (value's batch is
    used). input and filters are TF's other names for value and filter."""
    op = f"conv2d_transpose ({user_site()})"
    value = _alias(value, input, "value and input", op)
    filter = _alias(filter, filters, "filter and filters", op)  # noqa: A001
    data_format_arg(data_format, op)
    settings = dict(strides=window_arg(strides, "strides", op),
                    dilations=window_arg(dilations, "dilations", op, default=1),
                    padding=padding_arg(padding, op))
    g, w = _tensors(value, filter, op)
    h, wd, channels = _output_shape(output_shape, g, op)
    if w.shape is not None and len(w.shape) == 4:
        _check(w.shape[2] in (None, channels), op, f"output_shape does not match the filter's "
                                                   f"output channels, {channels} != "
                                                   f"{w.shape[2]}")
    return apply(CONV2D_BACKPROP_INPUT, [g, w], name or "conv2d_transpose", size=(h, wd),
                 **settings)
