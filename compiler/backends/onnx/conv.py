"""ONNX rules for convolution and pooling: conv2d, max_pool, avg_pool (NHWC, HWIO filters).

ONNX's Conv and pools are NCHW: the input is transposed in and the result back out, and the
filter HWIO -> OIHW. TF's SAME padding is written as explicit pads from the static height and
width (the odd pixel after, as ONNX's SAME_UPPER, which stands in where a size is unknown).
ONNX Runtime has no float64 Conv or AveragePool: for float64 both are decomposed exactly into
strided Slices of the padded input (one per window tap) with MatMul or Sum, no float32 cast.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from ...errors import BackendError
from ...ops.conv_kernels import out_size, pad_amounts
from ...ops.pool import pool_geometry, valid_counts
from ...ops.windows import effective_size
from .lowering import ONNX_TABLE as T

Pair = Tuple[int, int]
TO_NCHW, TO_NHWC, HWIO_TO_OIHW = [0, 3, 1, 2], [0, 2, 3, 1], [3, 2, 0, 1]


def _image_shape(node) -> tuple:
    shape = node.inputs[0].shape
    if shape is None or len(shape) != 4:
        raise BackendError(f"{node.describe()}: ONNX export needs the input's rank (4, NHWC)")
    return shape


def _pads(node, ksize: Pair, dilations: Pair) -> Optional[List[Pair]]:
    """[(top, bottom), (left, right)], or None where SAME meets an unknown height or width."""
    shape, padding = _image_shape(node), node.attrs["padding"]
    pads = []
    for axis in (0, 1):
        size = shape[1 + axis]
        if size is None and padding == "SAME":
            return None
        stride = node.attrs["strides"][axis]
        pads.append(pad_amounts(size, ksize[axis], stride, dilations[axis], padding, axis))
    return pads


def _window_attrs(pads: Optional[List[Pair]]) -> dict:
    """ONNX pads [top, left, bottom, right], or auto_pad=SAME_UPPER (TF's SAME) without them."""
    if pads is None:
        return {"auto_pad": "SAME_UPPER"}
    return {"pads": [pads[0][0], pads[1][0], pads[0][1], pads[1][1]]}


def _static_pads(node, pads) -> List[Pair]:
    if pads is None:
        raise BackendError(f"{node.describe()}: SAME padding of a {node.dtype.name} input of "
                           f"unknown height or width (shape {node.inputs[0].shape}) cannot be "
                           f"exported here (float64, or dilations); give the placeholder a "
                           f"static height and width")
    return pads


def _zero_pad(b, x: str, pads: List[Pair], dtype) -> str:
    if not any(pads[0] + pads[1]):
        return x
    amounts = [0, pads[0][0], pads[1][0], 0, 0, pads[0][1], pads[1][1], 0]
    return b.op("Pad", x, b.ints(amounts), b.scalar(0, dtype), mode="constant")


def _tap(b, xp: str, node, tap: Pair, ksize: Pair, dilations: Pair, pads) -> str:
    """The padded input under window tap (i, j) of every window: a strided Slice, (N, oh, ow, C).
    Each slice ends (span - 1 - offset) before the padded end, which holds for unknown sizes."""
    starts, ends = [], []
    for axis in (0, 1):
        offset = tap[axis] * dilations[axis]
        size = node.inputs[0].shape[1 + axis]
        out = out_size(size, ksize[axis], node.attrs["strides"][axis], dilations[axis],
                       [tuple(p) for p in pads], axis)
        starts.append(offset)
        if out is not None:
            ends.append(offset + (out - 1) * node.attrs["strides"][axis] + 1)
        else:
            back = effective_size(ksize[axis], dilations[axis]) - 1 - offset
            ends.append(-back if back else np.iinfo(np.int64).max)
    return b.op("Slice", xp, b.ints(starts), b.ints(ends), b.ints([1, 2]),
                b.ints(list(node.attrs["strides"])))


# -- conv2d --------------------------------------------------------------------------------------
@T.lowering("conv2d")
def _conv2d(b, node, x, w):
    """Conv between NHWC/NCHW transposes; float64: im2col (the taps' strided Slices of the
    zero-padded input concatenated on the channel axis, HWIO's (i, j, c) order) times the filter
    reshaped to (kh * kw * C, O), one MatMul, exact in float64."""
    wshape = node.inputs[1].shape
    if wshape is None or None in wshape[:2]:
        raise BackendError(f"{node.describe()}: ONNX export needs the filter's height and width "
                           f"(filter shape {wshape})")
    ksize, dilations = tuple(wshape[:2]), tuple(node.attrs["dilations"])
    pads = _pads(node, ksize, dilations)
    if node.dtype == np.float64 or (pads is None and dilations != (1, 1)):
        # ONNX Runtime has no float64 Conv, nor SAME_UPPER with dilations
        return _conv2d_taps(b, node, x, w, ksize, dilations, _static_pads(node, pads))
    y = b.op("Conv", b.op("Transpose", x, perm=TO_NCHW), b.op("Transpose", w, perm=HWIO_TO_OIHW),
             kernel_shape=list(ksize), strides=list(node.attrs["strides"]),
             dilations=list(dilations), **_window_attrs(pads))
    return b.op("Transpose", y, perm=TO_NHWC)


def _conv2d_taps(b, node, x, w, ksize, dilations, pads):
    wshape = node.inputs[1].shape
    if None in wshape:
        raise BackendError(f"{node.describe()}: exporting a float64 conv2d needs the filter's "
                           f"full shape (got {wshape})")
    xp = _zero_pad(b, x, pads, node.dtype)
    taps = [_tap(b, xp, node, (i, j), ksize, dilations, pads)
            for i in range(ksize[0]) for j in range(ksize[1])]
    cols = taps[0] if len(taps) == 1 else b.op("Concat", *taps, axis=3)
    kernel = b.op("Reshape", w, b.ints([ksize[0] * ksize[1] * wshape[2], wshape[3]]))
    return b.op("MatMul", cols, kernel)


# -- pooling -------------------------------------------------------------------------------------
def _pool_settings(node):
    ksize = tuple(node.attrs["ksize"])
    return ksize, _pads(node, ksize, (1, 1))


@T.lowering("max_pool")
def _max_pool(b, node, x):
    """MaxPool between NHWC/NCHW transposes: ONNX's padding never wins a window (TF's -inf). A
    window holding a NaN is NaN (numpy's max), which ONNX Runtime's MaxPool does not promise:
    a MaxPool of the NaN mask puts it back."""
    ksize, pads = _pool_settings(node)
    attrs = dict(kernel_shape=list(ksize), strides=list(node.attrs["strides"]),
                 **_window_attrs(pads))
    xt = b.op("Transpose", x, perm=TO_NCHW)
    nan = b.op("MaxPool", b.cast(b.op("IsNaN", xt), node.dtype), **attrs)
    y = b.op("Where", b.cast(nan, np.bool_), b.scalar(np.nan, node.dtype),
             b.op("MaxPool", xt, **attrs))
    return b.op("Transpose", y, perm=TO_NHWC)


@T.lowering("avg_pool")
def _avg_pool(b, node, x):
    """AveragePool with count_include_pad=0 (TF divides by the in-image positions only);
    float64: the Sum of the taps' strided Slices of the zero-padded input divided by those
    counts, computed here from the static height and width."""
    ksize, pads = _pool_settings(node)
    if node.dtype == np.float64:
        return _avg_pool_taps(b, node, x, ksize, _static_pads(node, pads))
    y = b.op("AveragePool", b.op("Transpose", x, perm=TO_NCHW), kernel_shape=list(ksize),
             strides=list(node.attrs["strides"]), count_include_pad=0, **_window_attrs(pads))
    return b.op("Transpose", y, perm=TO_NHWC)


def _avg_pool_taps(b, node, x, ksize, pads):
    xp = _zero_pad(b, x, pads, node.dtype)
    taps = [_tap(b, xp, node, (i, j), ksize, (1, 1), pads)
            for i in range(ksize[0]) for j in range(ksize[1])]
    total = taps[0] if len(taps) == 1 else b.op("Sum", *taps)
    shape = _image_shape(node)
    if node.attrs["padding"] == "VALID" or not any(pads[0] + pads[1]):
        counts = b.scalar(ksize[0] * ksize[1], node.dtype)
    else:
        image = (1,) + tuple(shape[1:3]) + (1,)
        geo = pool_geometry(image, ksize, node.attrs["strides"], "SAME")
        counts = b.const(valid_counts(image, geo, node.dtype))
    return b.op("Div", total, counts)
