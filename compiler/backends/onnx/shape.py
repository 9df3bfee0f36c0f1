"""ONNX rules for the shape family: reshape, transpose, expand_dims/squeeze, concat and the
broadcasts. Shapes known only at run time (the dynamic batch) are read with Shape in the model,
never baked in from the traced sizes."""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from .lowering import ONNX_TABLE as T


@T.lowering("reshape")
def _reshape(b, node, x):
    """Reshape to the literal shape (a -1 is inferred by ONNX as by numpy). ONNX reads a 0 as
    "copy the input's size" unless allowzero=1 (opset 14); at opset 13 a shape holding a 0 has
    no elements at all, so it is made by ConstantOfShape instead."""
    shape = [int(d) for d in node.attrs["shape"]]
    if 0 not in shape:
        return b.op("Reshape", x, b.ints(shape))
    if b.opset >= 14:
        return b.op("Reshape", x, b.ints(shape), allowzero=1)
    zero = numpy_helper.from_array(np.zeros((1,), node.dtype), "value")
    return b.op("ConstantOfShape", b.ints(shape), value=zero)


@T.lowering("reshape_like")
def _reshape_like(b, node, x, like):
    """Reshape to Shape(like) at run time (allowzero where the opset has it: a 0 in like's shape
    is a 0, not "keep x's size")."""
    extra = {"allowzero": 1} if b.opset >= 14 else {}
    return b.op("Reshape", x, b.op("Shape", like), **extra)


@T.lowering("transpose")
def _transpose(b, node, x):
    """perm None reverses the axes, as ONNX's Transpose without perm does."""
    perm = node.attrs["perm"]
    if perm is None:
        return b.op("Transpose", x)
    return b.op("Transpose", x, perm=[int(p) for p in perm])


@T.lowering("expand_dims")
def _expand_dims(b, node, x):
    # Unsqueeze's axes, negative ones too, count in the output's rank, as np.expand_dims's do.
    return b.op("Unsqueeze", x, b.ints(node.attrs["axis"]))


@T.lowering("squeeze")
def _squeeze(b, node, x):
    """axis None: every size-1 axis, found at run time (ONNX's Squeeze without axes)."""
    axis = node.attrs["axis"]
    if axis is None:
        return b.op("Squeeze", x)
    return b.op("Squeeze", x, b.ints(axis))


@T.lowering("concat")
def _concat(b, node, *xs):
    return b.op("Concat", *xs, axis=int(node.attrs["axis"]))


@T.lowering("broadcast_to")
def _broadcast_to(b, node, x):
    """Expand to the static target shape (ONNX broadcasts both ways; for shapes numpy's
    broadcast_to accepts that is the same)."""
    return b.op("Expand", x, b.ints(node.attrs["shape"]))


@T.lowering("broadcast_like")
def _broadcast_like(b, node, x, like):
    """Expand to like's run-time shape."""
    return b.op("Expand", x, b.op("Shape", like))

