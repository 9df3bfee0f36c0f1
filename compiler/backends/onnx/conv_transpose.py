"""ONNX rule for conv2d_backprop_input: TF1's tf.nn.conv2d_transpose and conv2d's input gradient.
NHWC value g [N, oh, ow, o], filter [kh, kw, c, o] (TF's [height, width, out, in]), output
[N, h, w, c] whose height and width are static (the attribute `size`, or the shape-only input).

The kernel (compiler/ops/conv_kernels.py) spreads every g pixel times the filter over the window
it came from in the padded output (h + top + bottom rows), then crops rows [top, top + h). ONNX's
ConvTranspose spreads the same way over full = (oh - 1) * stride + span rows, then drops
pads[begin] rows at the start and pads[end] at the end and appends output_padding zero rows: so
pads[begin] = top, and the end is cut or extended (by less than a stride) to land on h.
ONNX Runtime has no float64 ConvTranspose: there it is decomposed exactly (below), no cast.
"""

from __future__ import annotations

from typing import List, NamedTuple, Tuple

import numpy as np

from ...errors import BackendError
from ...ops.conv_kernels import out_size, pad_amounts
from ...ops.windows import effective_size
from .conv import HWIO_TO_OIHW, TO_NCHW, TO_NHWC
from .lowering import ONNX_TABLE as T

Pair = Tuple[int, int]


class Geometry(NamedTuple):
    """Per spatial axis (height, width): the window, the value's and the output's sizes, and the
    output's (before, after) padding as the matching conv2d pads it."""
    ksize: Pair
    strides: Pair
    dilations: Pair
    value: Pair   # oh, ow
    output: Pair  # h, w
    pads: List[Pair]


def _geometry(node) -> Geometry:
    wshape, shape = node.inputs[1].shape, node.shape
    if wshape is None or None in wshape[:2]:
        raise BackendError(f"{node.describe()}: ONNX export needs the filter's height and width "
                           f"(filter shape {wshape})")
    if shape is None or None in shape[1:3]:
        raise BackendError(f"{node.describe()}: ONNX export needs the output's height and width "
                           f"(output shape {shape}); give the shape-only input a static height "
                           f"and width")
    strides, dilations = tuple(node.attrs["strides"]), tuple(node.attrs["dilations"])
    ksize, output = (wshape[0], wshape[1]), (shape[1], shape[2])
    padding = node.attrs["padding"]
    pads = [tuple(pad_amounts(output[a], ksize[a], strides[a], dilations[a], padding, a))
            for a in (0, 1)]
    value = tuple(out_size(output[a], ksize[a], strides[a], dilations[a], padding, a)
                  for a in (0, 1))
    return Geometry(ksize, strides, dilations, value, output, pads)


def _end(geo: Geometry, axis: int) -> Pair:
    """(ONNX's pads[end], output_padding) along `axis`: what lands full rows on the output's."""
    full = ((geo.value[axis] - 1) * geo.strides[axis]
            + effective_size(geo.ksize[axis], geo.dilations[axis]))
    extra = full - geo.pads[axis][0] - geo.output[axis]
    return (extra, 0) if extra >= 0 else (0, -extra)


@T.lowering("conv2d_backprop_input")
def _conv2d_backprop_input(b, node, g, w, *like):
    """ConvTranspose between NHWC/NCHW transposes, the filter [kh, kw, c, o] -> [o, c, kh, kw]
    (ONNX's [in, out, kh, kw]), pads and output_padding from the static sizes (module
    docstring); `like` is read for its shape only, which is static here. float64: _spread."""
    geo = _geometry(node)
    if node.dtype == np.float64:
        return _spread(b, node, g, w, geo)
    (end_h, extra_h), (end_w, extra_w) = _end(geo, 0), _end(geo, 1)
    y = b.op("ConvTranspose", b.op("Transpose", g, perm=TO_NCHW),
             b.op("Transpose", w, perm=HWIO_TO_OIHW), kernel_shape=list(geo.ksize),
             strides=list(geo.strides), dilations=list(geo.dilations),
             pads=[geo.pads[0][0], geo.pads[1][0], end_h, end_w],
             output_padding=[extra_h, extra_w])
    return b.op("Transpose", y, perm=TO_NHWC)


def _spread(b, node, g, w, geo: Geometry) -> str:
    """col2im in float64: one MatMul of g by the filter as [o, kh * kw * c] gives every tap's
    contribution of every pixel; zeros between pixels (stride - 1 of them) put pixel (y, x) at
    (y * sh, x * sw); tap (i, j)'s channels are padded by (i * dh, j * dw) before (to the common
    size), the taps summed, and the output cropped out of the padded one, as the kernel does."""
    wshape = node.inputs[1].shape
    if None in wshape:
        raise BackendError(f"{node.describe()}: exporting a float64 transposed convolution needs "
                           f"the filter's full shape (got {wshape})")
    kh, kw, c, o = wshape
    per_tap = b.op("Reshape", b.op("Transpose", w, perm=[3, 0, 1, 2]), b.ints([o, kh * kw * c]))
    zero, channels = b.scalar(0, node.dtype), b.ints([3])
    cols = _dilate(b, b.op("MatMul", g, per_tap), geo, kh * kw * c, zero)
    (sh, sw), (dh, dw), (oh, ow) = geo.strides, geo.dilations, geo.value
    size_h, size_w = (kh - 1) * dh + oh * sh, (kw - 1) * dw + ow * sw
    parts = []
    for i in range(kh):
        for j in range(kw):
            t = i * kw + j
            tap = b.op("Slice", cols, b.ints([t * c]), b.ints([(t + 1) * c]), channels)
            amounts = [0, i * dh, j * dw, 0,
                       0, size_h - i * dh - oh * sh, size_w - j * dw - ow * sw, 0]
            parts.append(b.op("Pad", tap, b.ints(amounts), zero, mode="constant")
                         if any(amounts) else tap)
    total = parts[0] if len(parts) == 1 else b.op("Sum", *parts)
    (top, _), (left, _) = geo.pads
    return b.op("Slice", total, b.ints([top, left]),
                b.ints([top + geo.output[0], left + geo.output[1]]), b.ints([1, 2]))


def _dilate(b, x: str, geo: Geometry, channels: int, zero: str) -> str:
    """(N, oh, ow, C) -> (N, oh * sh, ow * sw, C), x's pixel (y, x) at (y * sh, x * sw) and
    zeros elsewhere: each pixel gets (sh - 1, sw - 1) zeros after it on a unit axis."""
    (sh, sw), (oh, ow) = geo.strides, geo.value
    if (sh, sw) == (1, 1):
        return x
    spaced = b.op("Unsqueeze", x, b.ints([2, 4]))  # (N, oh, 1, ow, 1, C)
    spaced = b.op("Pad", spaced, b.ints([0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1, 0]),
                  zero, mode="constant")
    return b.op("Reshape", spaced, b.ints([0, oh * sh, ow * sw, channels]))
