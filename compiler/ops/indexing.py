"""Basic indexing (t[0, 1:3, None, ...]) with its gradient, pad (whose gradient is a slice), and
one_hot."""

from __future__ import annotations

from typing import Optional

import numpy as np

from .. import dtypes as _dt
from ..errors import ShapeError
from ..graph import Node, user_site
from ..opdef import NOT_DIFFERENTIABLE, OpDef, register
from .core import apply

__all__ = ["getitem", "one_hot", "pad"]


def _like_second(inputs):
    return inputs[1].shape, inputs[0].dtype


# -- basic indexing --------------------------------------------------------------------------------
def _index_items(index, rank):
    """The index as a tuple with Ellipsis expanded to full slices."""
    items = index if isinstance(index, tuple) else (index,)
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not (
                item is None or item is Ellipsis or isinstance(item, slice)
                or isinstance(item, (int, np.integer))):
            raise TypeError(f"only basic indexing is supported (ints, slices, None, ...); "
                            f"got {item!r}")
    if sum(item is Ellipsis for item in items) > 1:
        raise ValueError("an index can hold only one Ellipsis (...)")
    used = sum(1 for item in items if item is not None and item is not Ellipsis)
    if used > rank:
        raise ValueError(f"too many indices ({used}) for a tensor of rank {rank}")
    out = []
    for item in items:
        if item is Ellipsis:
            out.extend([slice(None)] * (rank - used))
        else:
            out.append(item)
    if Ellipsis not in items:
        out.extend([slice(None)] * (rank - used))
    return tuple(out)


def _getitem_infer(inputs, index):
    x = inputs[0]
    if x.shape is None:
        raise ValueError("indexing needs a tensor of known rank")
    out, axis = [], 0
    for item in _index_items(index, len(x.shape)):
        if item is None:
            out.append(1)
            continue
        size = x.shape[axis]
        axis += 1
        if isinstance(item, slice):
            out.append(None if size is None else len(range(*item.indices(size))))
        elif size is not None and not -size <= item < size:
            raise ValueError(f"index {item} is out of range for axis {axis - 1} of size {size}")
    return tuple(out), x.dtype


def _getitem_kernel(x, index):
    return x[index]


def _negative_step(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, slice) and i.step is not None and i.step < 0 for i in items)


GETITEM = register(OpDef("getitem", tf_type="StridedSlice", strings=True,
                         never_raises=True, infer=_getitem_infer, kernel=_getitem_kernel,
                         grad=lambda node, g: (getitem_grad(g, node.inputs[0],
                                                            node.attrs["index"]),), view=True))


def getitem(x, index, name: Optional[str] = None):
    """x[index] with basic indexing: ints, slices, None (new axis) and Ellipsis."""
    index = tuple(int(i) if isinstance(i, np.integer) else i
                  for i in (index if isinstance(index, tuple) else (index,)))
    return apply(GETITEM, [x], name or "strided_slice", index=index)


def _getitem_grad_kernel(g, x, index):
    out = np.zeros(x.shape, g.dtype)
    out[index] = g
    return out


def _getitem_grad_infer(inputs, index):
    return _like_second(inputs)


GETITEM_GRAD = register(OpDef("getitem_grad", tf_type="StridedSliceGrad", never_raises=True,
                              infer=_getitem_grad_infer,
                              kernel=_getitem_grad_kernel,
                              grad=lambda node, g: (getitem(g, node.attrs["index"]), None),
                              value_inputs=1))


def getitem_grad(g, x, index, name: Optional[str] = None):
    """Zeros of x's shape with g written at x[index] (the gradient of indexing)."""
    return apply(GETITEM_GRAD, [g, x], name, index=index)


# -- one_hot ---------------------------------------------------------------------------------------
def _one_hot_infer(inputs, depth, dtype):
    x = inputs[0]
    if x.dtype.kind not in "iu":
        raise TypeError(f"indices must be integers, got {x.dtype.name}")
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise TypeError(f"depth must be an integer, got {depth!r}")
    if depth < 0:
        raise ValueError(f"depth must be non-negative, got {depth}")
    return (None if x.shape is None else x.shape + (depth,)), dtype


def _one_hot_kernel(indices, depth, dtype):
    return (indices[..., None] == np.arange(depth)).astype(dtype)


ONE_HOT = register(OpDef("one_hot", tf_type="OneHot", never_raises=True, infer=_one_hot_infer,
                         kernel=_one_hot_kernel,
                         grad=NOT_DIFFERENTIABLE))


def one_hot(indices, depth: int, dtype=_dt.float32, name: Optional[str] = None):
    """A new last axis of size depth, 1 at each index and 0 elsewhere. As in TF1, an index outside
    [0, depth) (a negative one too) gives a row of zeros, not an error."""
    if isinstance(indices, (list, tuple, np.ndarray)) or np.isscalar(indices):
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"one_hot: indices must be integers, got {indices.dtype.name}")
        indices = indices.astype(np.int64)
    depth = int(depth) if hasattr(depth, "__index__") and not isinstance(depth, bool) else depth
    return apply(ONE_HOT, [indices], name or "one_hot", depth=depth, dtype=_dt.as_dtype(dtype))


# -- pad -------------------------------------------------------------------------------------------
def _pad_infer(inputs, paddings, constant_values):
    x = inputs[0]
    if any(b < 0 or a < 0 for b, a in paddings):
        raise ValueError(f"paddings must be >= 0, got {[list(p) for p in paddings]}")
    if x.dtype.kind in "iub" and not float(constant_values).is_integer():
        raise TypeError(f"constant_values={constant_values.item()!r} does not fit "
                        f"{x.dtype.name}")
    if x.shape is None:
        return (None,) * len(paddings), x.dtype
    if len(paddings) != len(x.shape):
        raise ValueError(f"paddings has {len(paddings)} rows; the input has rank {len(x.shape)}")
    return tuple(None if d is None else d + b + a for d, (b, a) in zip(x.shape, paddings)), x.dtype


def _pad_kernel(x, paddings, constant_values):
    return np.pad(x, paddings, constant_values=constant_values)


def _pad_grad(node, g):
    return (getitem(g, tuple(slice(b, -a if a else None) for b, a in node.attrs["paddings"])),)


PAD = register(OpDef("pad", tf_type="Pad", never_raises=True, infer=_pad_infer, kernel=_pad_kernel,
                     grad=_pad_grad))


def pad(tensor, paddings, mode: str = "CONSTANT", name: Optional[str] = None,
        constant_values=0):
    """`tensor` with paddings[i] = [before, after] values of constant_values added around axis
    i. Only mode="CONSTANT" is implemented; constant_values is a Python number."""
    site = user_site()
    if str(mode).upper() != "CONSTANT":
        raise ValueError(f"pad ({site}): mode={mode!r} is not implemented; graphflow only "
                         f"pads with mode='CONSTANT'")
    if isinstance(paddings, Node) or isinstance(constant_values, Node):
        raise TypeError(f"pad ({site}): paddings and constant_values must be Python values, "
                        f"not tensors")
    try:
        rows = tuple((int(b), int(a)) for b, a in np.asarray(paddings).reshape(-1, 2))
        if np.shape(paddings) != (len(rows), 2):
            raise ValueError
    except (TypeError, ValueError):
        raise ShapeError(f"pad ({site}): paddings must be a list of [before, after] pairs, one "
                         f"per axis; got {paddings!r}") from None
    # A 0-d array, which the generated code binds by name: a literal -inf would not compile.
    value = np.array(constant_values)
    if value.ndim or value.dtype.kind not in "biuf":
        raise TypeError(f"pad ({site}): constant_values must be a number, got {constant_values!r}")
    value.flags.writeable = False
    return apply(PAD, [tensor], name, paddings=rows, constant_values=value)
