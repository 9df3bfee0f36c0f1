"""ONNX rules for the reduction family: reduce_sum/mean/max/min/prod, argmax/argmin, add_n and
reduction_size.

Where ONNX Runtime and numpy part ways the rules add what numpy does: max/min/argmax/argmin
propagate NaN (ONNX Runtime skips it), and dtypes ONNX Runtime has no kernel for (bool, int8,
int16, uint16) are reduced as int64 and cast back (wrapping as numpy wraps)."""

from __future__ import annotations

import numpy as np

from .lowering import ONNX_TABLE as T

_F = (np.float32, np.float64)
# The dtypes ONNX Runtime's CPU kernels take; other integer or bool inputs go through int64.
_NATIVE = {
    "ReduceSum": _F + (np.int32, np.int64),
    "ReduceMean": _F,
    "ReduceProd": _F + (np.int32, np.int64),
    "ReduceMax": _F + (np.int32, np.int64, np.int8, np.uint8),
    "ReduceMin": _F + (np.int32, np.int64, np.int8, np.uint8),
    "ArgMax": _F + (np.int32, np.int64, np.int8, np.uint8),
    "ArgMin": _F + (np.int32, np.int64, np.int8, np.uint8),
}


def _native(op_type: str, dtype) -> bool:
    """Whether ONNX Runtime has an op_type kernel for dtype (else: bool and integers go through
    int64)."""
    return np.dtype(dtype) in [np.dtype(d) for d in _NATIVE[op_type]]


def _widened(b, node, op_type: str, x: str) -> str:
    """x, or x cast to int64 where op_type has no kernel for its dtype (graphflow's others are
    bool and integers of up to 16 bits: exact, and sums and products wrap alike)."""
    return x if _native(op_type, node.inputs[0].dtype) else b.cast(x, np.int64)


def reduce_op(b, op_type: str, x: str, axes, keepdims: bool) -> str:
    """op_type over `axes` (None: all axes; not empty). ReduceSum takes axes as an input from
    opset 13, the others from opset 18 (an attribute before)."""
    keep = int(bool(keepdims))
    if axes is None:
        return b.op(op_type, x, keepdims=keep)
    if op_type == "ReduceSum" or b.opset >= 18:
        return b.op(op_type, x, b.ints(axes), keepdims=keep)
    return b.op(op_type, x, axes=[int(a) for a in axes], keepdims=keep)


def _reduction(op_type: str, nan_propagates: bool = False):
    """A rule for a graphflow reduction (attrs axis, keepdims). numpy reduces nothing over
    axis=() (ONNX would reduce everything): that is x itself."""
    def rule(b, node, x):
        axes, keepdims = node.attrs["axis"], node.attrs["keepdims"]
        if axes is not None and len(axes) == 0:
            return b.op("Identity", x)
        dtype = node.inputs[0].dtype
        out = reduce_op(b, op_type, _widened(b, node, op_type, x), axes, keepdims)
        if not _native(op_type, dtype):
            out = b.cast(out, node.dtype)
        if nan_propagates and dtype.kind == "f":
            nan = b.cast(b.op("IsNaN", x), np.uint8)
            any_nan = b.cast(reduce_op(b, "ReduceMax", nan, axes, keepdims), np.bool_)
            out = b.op("Where", any_nan, b.scalar(np.nan, dtype), out)
        return out
    rule.__doc__ = (f"{op_type}{' (NaN propagated as numpy does)' if nan_propagates else ''}; "
                    f"axis=() is the identity, as in numpy.")
    return rule


T.lowering("reduce_sum")(_reduction("ReduceSum"))
T.lowering("reduce_mean")(_reduction("ReduceMean"))
T.lowering("reduce_prod")(_reduction("ReduceProd"))
T.lowering("reduce_max")(_reduction("ReduceMax", nan_propagates=True))
T.lowering("reduce_min")(_reduction("ReduceMin", nan_propagates=True))


def _index_of(op_type: str, b, node, x: str) -> str:
    """ArgMax/ArgMin (int64, first index of ties as numpy: select_last_index=0). numpy takes the
    first NaN of a slice holding one, ONNX Runtime skips NaNs: where a slice has a NaN, the
    index of its first NaN is taken instead."""
    axis, dtype = node.attrs["axis"], node.inputs[0].dtype
    out = b.op(op_type, _widened(b, node, op_type, x), axis=int(axis), keepdims=0,
               select_last_index=0)
    if dtype.kind == "f":
        nan = b.cast(b.op("IsNaN", x), np.uint8)
        has_nan = b.cast(reduce_op(b, "ReduceMax", nan, [axis], False), np.bool_)
        first_nan = b.op("ArgMax", nan, axis=int(axis), keepdims=0, select_last_index=0)
        out = b.op("Where", has_nan, first_nan, out)
    return out


@T.lowering("argmax")
def _argmax(b, node, x):
    """ArgMax, with NaN handled as numpy (see _index_of); graphflow's argmax is int64."""
    return _index_of("ArgMax", b, node, x)


@T.lowering("argmin")
def _argmin(b, node, x):
    """ArgMin (see _index_of), cast to output_type where that is int32."""
    out = _index_of("ArgMin", b, node, x)
    return out if node.dtype == np.int64 else b.cast(out, node.dtype)


@T.lowering("add_n")
def _add_n(b, node, *xs):
    """A chain of Add, left to right as the kernel adds (ONNX's Sum takes floats only); Or for
    bool, which numpy adds as a logical or and ONNX cannot Add."""
    op_type = "Or" if node.dtype == np.bool_ else "Add"
    out = xs[0]
    for x in xs[1:]:
        out = b.op(op_type, out, x)
    return out if len(xs) > 1 else b.op("Identity", out)


@T.lowering("reduction_size")
def _reduction_size(b, node, x):
    """The number of elements reduced over `axis` of x (None: all), from x's run-time shape:
    Size, or the product of Gather(Shape(x), axes); in x's dtype."""
    axes = node.attrs["axis"]
    if axes is None:
        count = b.op("Size", x)
    elif len(axes) == 0:
        return b.scalar(1, node.dtype)
    else:
        dims = b.op("Gather", b.op("Shape", x), b.ints(axes), axis=0)
        count = reduce_op(b, "ReduceProd", dims, [0], keepdims=False)
    return b.cast(count, node.dtype)
