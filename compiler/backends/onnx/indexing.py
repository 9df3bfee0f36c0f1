"""ONNX rules for the indexing family: getitem (basic indexing), one_hot, pad, and gather."""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from ...errors import BackendError
from ...ops.indexing import _index_items
from .lowering import ONNX_TABLE as T

INT_MAX = np.iinfo(np.int64).max
INT_MIN = np.iinfo(np.int64).min


# -- getitem -------------------------------------------------------------------------------------
def _bounds(item: slice, size) -> Tuple[int, int, int]:
    """ONNX Slice (start, end, step) selecting what Python's item selects on an axis of `size`
    (None: unknown until run time). ONNX clamps like Python except a negative start with a
    negative step before the axis' beginning (Python: empty; ONNX: from 0): with a known size
    the bounds are Python's own (item.indices); otherwise _runtime_start handles that case."""
    if size is not None:
        start, end, step = item.indices(size)
        if not len(range(start, end, step)):
            return 0, 0, 1
        if step < 0 and end < 0:  # "before index 0": a negative end would count from the back
            end = INT_MIN
        return start, end, step
    step = 1 if item.step is None else item.step
    start = item.start if item.start is not None else (0 if step > 0 else INT_MAX)
    end = item.stop if item.stop is not None else (INT_MAX if step > 0 else INT_MIN)
    return start, end, step


def _slice(b, x: str, axes: List[int], starts, ends, steps) -> str:
    return b.op("Slice", x, starts if isinstance(starts, str) else b.ints(starts),
                ends if isinstance(ends, str) else b.ints(ends), b.ints(axes), b.ints(steps))


def _runtime_start(b, x: str, axis: int, start: int, end: int, step: int) -> str:
    """x[start:end:step] on an axis of unknown size n with start < 0 and step < 0: empty where
    start + n < 0 (Python), so the bounds become 0:0 there."""
    n = b.op("Gather", b.op("Shape", x), b.ints([axis]))
    before = b.op("Less", b.op("Add", n, b.ints([start])), b.ints([0]))
    starts = b.op("Where", before, b.ints([0]), b.ints([start]))
    ends = b.op("Where", before, b.ints([0]), b.ints([end]))
    return _slice(b, x, [axis], starts, ends, [step])


@T.lowering("getitem")
def _getitem(b, node, x):
    """x[index]: one Slice for the slices and ints (an int i is i:i+1), a Squeeze of the int
    axes, an Unsqueeze at the None positions. Bounds are exact on unknown sizes (_bounds)."""
    shape = node.inputs[0].shape
    if shape is None:
        raise BackendError(f"{node.describe()}: the input's rank is unknown; ONNX export needs it")
    items = _index_items(node.attrs["index"], len(shape))
    axes, starts, ends, steps, squeeze, late = [], [], [], [], [], []
    axis = 0
    for item in items:
        if item is None:
            continue
        size = shape[axis]
        if isinstance(item, slice):
            bounds = _bounds(item, size)
            if bounds[2] < 0 and size is None and bounds[0] < 0:
                late.append((axis,) + bounds)
            elif bounds != _bounds(slice(None), size):
                axes.append(axis)
                starts.append(bounds[0])
                ends.append(bounds[1])
                steps.append(bounds[2])
        else:
            start = item % size if size is not None else item
            axes.append(axis)
            starts.append(start)
            ends.append(INT_MAX if start == -1 else start + 1)
            steps.append(1)
            squeeze.append(axis)
        axis += 1
    out = _slice(b, x, axes, starts, ends, steps) if axes else x
    for late_axis, start, end, step in late:
        out = _runtime_start(b, out, late_axis, start, end, step)
    if squeeze:
        out = b.op("Squeeze", out, b.ints(squeeze))
    kept = [item for item in items if not isinstance(item, (int, np.integer))]
    new = [k for k, item in enumerate(kept) if item is None]
    if new:
        out = b.op("Unsqueeze", out, b.ints(new))
    return out if out != x else b.op("Identity", x)


# -- one_hot, pad, gather ------------------------------------------------------------------------
@T.lowering("one_hot")
def _one_hot(b, node, indices):
    """indices[..., None] == range(depth), cast: an index outside [0, depth), negative too, is
    a row of zeros (TF1), where ONNX OneHot would wrap a negative one."""
    if node.inputs[0].dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
        indices = b.cast(indices, np.int64)  # what Equal takes; no value changes its match
        dtype = np.int64
    else:
        dtype = node.inputs[0].dtype
    hot = b.op("Equal", b.op("Unsqueeze", indices, b.ints([-1])),
               b.const(np.arange(node.attrs["depth"], dtype=dtype)))
    return hot if node.dtype == np.bool_ else b.cast(hot, node.dtype)


@T.lowering("pad")
def _pad(b, node, x):
    rows = node.attrs["paddings"]
    pads = [before for before, _ in rows] + [after for _, after in rows]
    value = b.scalar(node.attrs["constant_values"], node.dtype)
    return b.op("Pad", x, b.ints(pads), value, mode="constant")


@T.lowering("gather")
def _gather(b, node, params, indices):
    """np.take: ONNX Gather, negative indices counting from the back in both."""
    return b.op("Gather", params, indices, axis=node.attrs["axis"])
