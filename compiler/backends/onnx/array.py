"""ONNX rules for the array and generate families: stack/unstack, split, tile, the shape
queries shape/size/rank, fill and range. Sizes known only at run time (the dynamic batch) are
read with Shape in the model, never baked in from the traced sizes."""

from __future__ import annotations

import numpy as np

from .lowering import ONNX_TABLE as T

_END = np.iinfo(np.int64).max  # a Slice end past any axis: "to the end"


@T.lowering("stack")
def _stack(b, node, *xs):
    """Each input unsqueezed at axis, then concatenated there (both count a negative axis in the
    output's rank, as np.stack does)."""
    axis = int(node.attrs["axis"])
    parts = [b.op("Unsqueeze", x, b.ints([axis])) for x in xs]
    return b.op("Concat", *parts, axis=axis)


@T.lowering("unstack")
def _unstack(b, node, x):
    """Part `index` of unstacking along axis: a Gather of one scalar index drops that axis."""
    index = b.scalar(node.attrs["index"], np.int64)
    return b.op("Gather", x, index, axis=int(node.attrs["axis"]))


@T.lowering("split")
def _split(b, node, x):
    """Parts lo..hi-1 of x split along axis (one graphflow node per part): a Slice. Bounds are
    constants where the sizes are; with a -1 size on an axis of unknown size, bounds after it
    count from the end (a negative Slice index); with n equal parts of an unknown size they
    are computed from Shape(x) at run time."""
    axis, splits, (lo, hi) = node.attrs["axis"], node.attrs["splits"], node.attrs["span"]
    shape = node.inputs[0].shape
    total = None if shape is None else shape[axis]
    if isinstance(splits, int):
        if total is None:
            dim = b.op("Gather", b.op("Shape", x), b.ints([axis]), axis=0)
            part = b.op("Div", dim, b.ints([splits]))
            starts, ends = b.op("Mul", part, b.ints([lo])), b.op("Mul", part, b.ints([hi]))
            return b.op("Slice", x, starts, ends, b.ints([axis]))
        splits = (total // splits,) * splits
    sizes = [total - (sum(splits) + 1) if s == -1 and total is not None else s for s in splits]
    return b.op("Slice", x, b.ints([_bound(sizes, lo)]), b.ints([_bound(sizes, hi)]),
                b.ints([axis]))


def _bound(sizes, k: int) -> int:
    """Where part k starts: the sum of the sizes before it, or, where an unknown size (-1) is
    among them, minus the sum of the sizes from k on (counted from the end)."""
    if -1 not in sizes[:k]:
        return sum(sizes[:k])
    rest = sum(sizes[k:])
    return -rest if rest else _END


@T.lowering("tile")
def _tile(b, node, x):
    return b.op("Tile", x, b.ints(node.attrs["multiples"]))


def _as(b, x: str, dtype) -> str:
    """x (int64, as ONNX's shape ops give) in graphflow's dtype for the node."""
    return x if np.dtype(dtype) == np.int64 else b.cast(x, dtype)


@T.lowering("shape")
def _shape(b, node, x):
    """Shape (int64), cast to out_type (int32 by default, as TF1)."""
    return _as(b, b.op("Shape", x), node.dtype)


@T.lowering("size")
def _size(b, node, x):
    """Size (int64), cast to out_type (int32 by default, as TF1)."""
    return _as(b, b.op("Size", x), node.dtype)


@T.lowering("rank")
def _rank(b, node, x):
    """The number of entries of Shape(x) (Size gives a scalar), as int32."""
    return _as(b, b.op("Size", b.op("Shape", x)), node.dtype)


@T.lowering("fill")
def _fill(b, node, dims, value, *sources):
    """The scalar value expanded to dims (int64, as Expand wants it); the inputs after value
    are read by graphflow's shape inference only."""
    if node.inputs[0].dtype != np.int64:
        dims = b.cast(dims, np.int64)
    return b.op("Expand", value, dims)


@T.lowering("range")
def _range(b, node, start, limit, delta):
    """Integers: ONNX's Range. Floats: graphflow counts ceil(|(limit - start) / delta|) in the
    dtype and sums start, delta, delta, ... one step at a time (TF1's rounding); ONNX Runtime's
    Range divides in double and computes start + i * delta, which can differ by one element and
    in the last bits. So: n as graphflow counts it, [start, delta * (n - 1)...][:n], CumSum."""
    if node.dtype.kind != "f":
        return b.op("Range", start, limit, delta)
    quotient = b.op("Div", b.op("Sub", limit, start), delta)
    n = b.op("Unsqueeze", b.cast(b.op("Ceil", b.op("Abs", quotient)), np.int64), b.ints([0]))
    rest = b.op("Max", b.op("Sub", n, b.ints([1])), b.ints([0]))
    steps = b.op("Concat", b.op("Unsqueeze", start, b.ints([0])), b.op("Expand", delta, rest),
                 axis=0)
    head = b.op("Slice", steps, b.ints([0]), n, b.ints([0]))
    return b.op("CumSum", head, b.scalar(0, np.int64))
