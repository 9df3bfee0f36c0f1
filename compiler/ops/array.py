"""Array ops: stack/unstack, split, gather, tile, and the shape queries shape/size/rank.

A node has one output, so the list-returning unstack and split make one node per part. The
gradient of one part is concat([zeros before, g, zeros after], axis), the zeros shaped like the
parts before and after it (themselves `split` spans of the input), so it works for sizes known
only at run time, and the gradients of the parts are summed by autodiff.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np

from .. import dtypes as _dt
from ..errors import ShapeError
from ..graph import Node, graph_of, user_site
from ..opdef import OpDef, register
from ..shapes import axis_arg, fmt, normalize_axis
from .core import apply, convert_to_tensor, no_grad, same_dtype
from .elementwise import zeros_like
from .shape import concat, expand_dims

__all__ = ["stack", "unstack", "split", "gather", "tile", "shape", "size", "rank"]


def _static_axis(x, axis: int, extra: int = 0) -> int:
    """axis made non-negative where x's rank is known (rank + extra for stack's new axis); an
    invalid axis is passed on as given, so that the op's shape rule reports it with its site."""
    if isinstance(x, Node) and x.shape is not None:
        try:
            return normalize_axis(axis, len(x.shape) + extra)
        except (ValueError, TypeError):
            pass
    return axis_arg(axis)


# -- stack / unstack -------------------------------------------------------------------------------
def _stack_infer(inputs, axis):
    dtype = same_dtype(inputs, "stack inputs")
    shapes = [x.shape for x in inputs if x.shape is not None]
    if not shapes:
        return None, dtype
    known = [{d for d in dims if d is not None} for dims in zip(*shapes)]
    if len({len(s) for s in shapes}) > 1 or any(len(k) > 1 for k in known):
        raise ValueError(f"inputs must all have the same shape, got "
                         f"{', '.join(fmt(s) for s in shapes)}")
    out = [k.pop() if k else None for k in known]
    out.insert(normalize_axis(axis, len(out) + 1), len(inputs))
    return tuple(out), dtype


def _stack_kernel(*values, axis):
    return np.stack(values, axis=axis)


STACK = register(OpDef("stack", tf_type="Pack", strings=True,
                       never_raises=True, infer=_stack_infer, kernel=_stack_kernel,
                       grad=lambda node, g: tuple(unstack(g, len(node.inputs),
                                                          node.attrs["axis"]))))


def stack(values, axis: int = 0, name: Optional[str] = None):
    """Join tensors of one shape along a new axis (of size len(values)) at `axis`."""
    values = list(values)
    if not values:
        raise ValueError(f"stack ({user_site()}): needs at least one tensor")
    first = next((v for v in values if isinstance(v, Node)), None)
    return apply(STACK, values, name or "stack", axis=_static_axis(first, axis, extra=1))


def _unstack_infer(inputs, axis, num, index):
    x = inputs[0]
    if x.shape is None:
        return None, x.dtype
    a = normalize_axis(axis, len(x.shape))
    if x.shape[a] not in (None, num):
        raise ValueError(f"axis {axis} has size {x.shape[a]}, not num={num}")
    return x.shape[:a] + x.shape[a + 1:], x.dtype


def _unstack_kernel(x, axis, num, index):
    if x.shape[axis] != num:
        raise ValueError(f"axis {axis} has size {x.shape[axis]}, not num={num}")
    return np.moveaxis(x, axis, 0)[index]


def _unstack_grad(node, g):
    x, axis, num, index = node.inputs[0], node.attrs["axis"], node.attrs["num"], node.attrs["index"]
    part = expand_dims(g, axis)
    return (_fill_around(part, x, axis, num, index, index + 1),)


UNSTACK = register(OpDef("unstack", tf_type="Unpack", never_raises=True, infer=_unstack_infer,
                         kernel=_unstack_kernel,
                         grad=_unstack_grad,
                         view=True))


def unstack(value, num: Optional[int] = None, axis: int = 0,
            name: Optional[str] = None) -> List[Node]:
    """The slices of `value` along `axis`, as a list of num tensors of one rank less. num defaults
    to the static size of that axis; it must be given where that size is unknown."""
    value = value if isinstance(value, Node) else convert_to_tensor(value)
    axis = _static_axis(value, axis)
    if num is None:
        known = value.shape is not None and -len(value.shape) <= axis < len(value.shape)
        num = value.shape[axis] if known else None
        if num is None:
            raise ShapeError(f"unstack ({user_site()}): cannot infer num from the size of axis "
                             f"{axis} of '{value.op_name}' {fmt(value.shape)}; pass num=")
    num = int(num)
    return [apply(UNSTACK, [value], name or "unstack", axis=axis, num=num, index=i)
            for i in range(num)]


# -- split -----------------------------------------------------------------------------------------
def _split_sizes(total: Optional[int], splits):
    """The size of each part along the split axis (None where unknown until run time)."""
    if isinstance(splits, int):
        if total is None:
            return (None,) * splits
        if total % splits:
            raise ValueError(f"cannot split an axis of size {total} into {splits} equal parts")
        return (total // splits,) * splits
    if -1 not in splits:
        if total is not None and sum(splits) != total:
            raise ValueError(f"sizes {list(splits)} add up to {sum(splits)}, not to the axis "
                             f"size {total}")
        return splits
    known = sum(s for s in splits if s != -1)
    if total is None:
        return tuple(None if s == -1 else s for s in splits)
    if known > total:
        raise ValueError(f"sizes {list(splits)} add up to more than the axis size {total}")
    return tuple(total - known if s == -1 else s for s in splits)


def _span_size(sizes, span):
    part = sizes[span[0]:span[1]]
    return None if None in part else sum(part)


def _split_infer(inputs, axis, splits, span):
    x = inputs[0]
    if x.shape is None:
        return None, x.dtype
    a = normalize_axis(axis, len(x.shape))
    sizes = _split_sizes(x.shape[a], splits)
    return x.shape[:a] + (_span_size(sizes, span),) + x.shape[a + 1:], x.dtype


def _split_kernel(x, axis, splits, span):
    axis = axis % x.ndim
    sizes = _split_sizes(x.shape[axis], splits)
    start = sum(sizes[:span[0]])
    return x[(slice(None),) * axis + (slice(start, start + _span_size(sizes, span)),)]


def _split_grad(node, g):
    attrs = node.attrs
    return (_fill_around(g, node.inputs[0], attrs["axis"], attrs["splits"], *attrs["span"]),)


def _fill_around(part, x, axis, splits, lo, hi):
    """`part` (the gradient of parts lo..hi-1 of x split along axis) between zeros shaped like
    the parts before and after it: a gradient of x's shape."""
    n = splits if isinstance(splits, int) else len(splits)
    pieces = [part]
    if lo > 0:
        pieces.insert(0, zeros_like(_split_span(x, axis, splits, (0, lo)), dtype=part.dtype))
    if hi < n:
        pieces.append(zeros_like(_split_span(x, axis, splits, (hi, n)), dtype=part.dtype))
    return pieces[0] if len(pieces) == 1 else concat(pieces, axis)


SPLIT = register(OpDef("split", tf_type="Split", infer=_split_infer, kernel=_split_kernel,
                       grad=_split_grad,
                       view=True, never_raises=True))


def _split_span(x, axis, splits, span, name=None):
    """Parts span[0]..span[1]-1 of x split along axis, as one tensor."""
    return apply(SPLIT, [x], name, axis=axis, splits=splits, span=span)


def split(value, num_or_size_splits, axis: int = 0, num: Optional[int] = None,
          name: Optional[str] = None) -> List[Node]:
    """Split `value` along `axis` into a list of tensors: num_or_size_splits equal parts (an int),
    or parts of the given sizes (a list; one size may be -1, the rest of the axis)."""
    value = value if isinstance(value, Node) else convert_to_tensor(value)
    site = user_site()
    if np.ndim(num_or_size_splits) == 0:
        splits = int(num_or_size_splits)
        if splits < 1:
            raise ValueError(f"split ({site}): the number of parts must be positive, got {splits}")
    else:
        splits = tuple(int(s) for s in num_or_size_splits)
        if not splits or any(s < -1 for s in splits) or splits.count(-1) > 1:
            raise ValueError(f"split ({site}): invalid sizes {list(splits)}: sizes are >= 0, "
                             f"with at most one -1")
    parts = splits if isinstance(splits, int) else len(splits)
    if num is not None and int(num) != parts:
        raise ValueError(f"split ({site}): num={num} but num_or_size_splits gives {parts} parts")
    axis = _static_axis(value, axis)
    return [_split_span(value, axis, splits, (i, i + 1), name or "split") for i in range(parts)]


# -- gather ----------------------------------------------------------------------------------------
def _require_indices(indices):
    if indices.dtype not in (_dt.int32, _dt.int64):
        raise TypeError(f"indices must be int32 or int64, got {indices.dtype.name} "
                        f"'{indices.op_name}'")


def _gather_infer(inputs, axis):
    params, indices = inputs
    _require_indices(indices)
    if params.shape is None or indices.shape is None:
        return None, params.dtype
    a = normalize_axis(axis, len(params.shape))
    return params.shape[:a] + indices.shape + params.shape[a + 1:], params.dtype


def _gather_kernel(params, indices, axis):
    return np.take(params, indices, axis=axis)


def _gather_grad(node, g):
    params, indices = node.inputs
    return gather_grad(g, indices, params, node.attrs["axis"]), None


GATHER = register(OpDef("gather", tf_type="GatherV2", strings=True,
                        infer=_gather_infer, kernel=_gather_kernel, grad=_gather_grad))


def gather(params, indices, validate_indices=None, name: Optional[str] = None,
           axis: Optional[int] = None, batch_dims: int = 0):
    """The slices of `params` at `indices` along `axis` (default 0), as numpy's take: the result
    has shape params.shape[:axis] + indices.shape + params.shape[axis+1:]. An index out of range
    is an error at run time. validate_indices is ignored, as in TF1; batch_dims must be 0."""
    if batch_dims != 0:
        raise ValueError(f"gather ({user_site()}): only batch_dims=0 is supported")
    graph = graph_of([params, indices])
    params = params if isinstance(params, Node) else convert_to_tensor(params, graph=graph)
    indices = indices if isinstance(indices, Node) else convert_to_tensor(indices, graph=graph)
    return apply(GATHER, [params, indices], name,
                 axis=_static_axis(params, 0 if axis is None else axis))


def _gather_grad_infer(inputs, axis):
    g, indices, params = inputs
    _require_indices(indices)
    return params.shape, g.dtype


def _gather_grad_kernel(g, indices, params, axis):
    axis = axis % len(params.shape)
    out = np.zeros(params.shape, g.dtype)
    k = np.ndim(indices)
    # Rows of g in the order of `indices`, added (repeats summed) into the rows of `out`.
    rows = np.moveaxis(np.asarray(g), list(range(axis, axis + k)), list(range(k)))
    np.add.at(np.moveaxis(out, axis, 0), indices, rows)
    return out


GATHER_GRAD = register(OpDef(
    "gather_grad", infer=_gather_grad_infer, kernel=_gather_grad_kernel, value_inputs=2,
    grad=lambda node, g: (gather(g, node.inputs[1], axis=node.attrs["axis"]), None, None)))


def gather_grad(g, indices, params, axis: int, name: Optional[str] = None):
    """Zeros of params' run-time shape with the slices of g added at `indices` along axis, a
    repeated index receiving the sum (the gradient of gather)."""
    return apply(GATHER_GRAD, [g, indices, params], name, axis=axis)


# -- tile ------------------------------------------------------------------------------------------
def _tile_infer(inputs, multiples):
    x = inputs[0]
    if any(m < 0 for m in multiples):
        raise ValueError(f"multiples must be >= 0, got {list(multiples)}")
    if x.shape is None:
        return (None,) * len(multiples), x.dtype
    if len(multiples) != len(x.shape):
        raise ValueError(f"multiples {list(multiples)} must have one entry per axis of the "
                         f"rank-{len(x.shape)} input")
    return tuple(0 if m == 0 else None if d is None else d * m
                 for d, m in zip(x.shape, multiples)), x.dtype


def _tile_kernel(x, multiples):
    if len(multiples) != np.ndim(x):
        raise ValueError(f"multiples {list(multiples)} must have one entry per axis of the "
                         f"rank-{np.ndim(x)} input")
    return np.tile(x, multiples)


TILE = register(OpDef("tile", tf_type="Tile", never_raises=True, infer=_tile_infer,
                      kernel=_tile_kernel,
                      grad=lambda node, g: (tile_grad(g, node.inputs[0],
                                                      node.attrs["multiples"]),)))


def tile(input, multiples, name: Optional[str] = None):  # noqa: A002 - TF1's argument name
    """`input` repeated multiples[i] times along each axis i (one multiple per axis)."""
    if isinstance(multiples, Node):
        raise TypeError(f"tile ({user_site()}): multiples must be a list of Python ints; a "
                        f"tensor of multiples is not supported")
    return apply(TILE, [input], name, multiples=tuple(int(m) for m in np.ravel(multiples)))


def _tile_grad_infer(inputs, multiples):
    return inputs[1].shape, inputs[0].dtype


def _tile_grad_kernel(g, x, multiples):
    """Sum over the tiles: g reshaped to (m0, d0, m1, d1, ...), summed over the m axes."""
    interleaved = [n for m, d in zip(multiples, x.shape) for n in (m, d)]
    return np.asarray(np.reshape(g, interleaved).sum(axis=tuple(range(0, len(interleaved), 2)),
                                                     dtype=g.dtype))  # int32 stays int32


TILE_GRAD = register(OpDef("tile_grad", infer=_tile_grad_infer, kernel=_tile_grad_kernel,
                           grad=lambda node, g: (tile(g, node.attrs["multiples"]), None),
                           value_inputs=1, never_raises=True))


def tile_grad(g, x, multiples, name: Optional[str] = None):
    """The gradient of tile(x, multiples): g summed over the tiles, to x's run-time shape."""
    return apply(TILE_GRAD, [g, x], name, multiples=multiples)


# -- shape, size, rank -----------------------------------------------------------------------------
def _out_type(out_type, what):
    out_type = _dt.as_dtype(out_type)
    if out_type not in (_dt.int32, _dt.int64):
        raise TypeError(f"{what} ({user_site()}): out_type must be int32 or int64, got "
                        f"{out_type.name}")
    return out_type


def _shape_infer(inputs, out_type):
    x = inputs[0]
    return (None if x.shape is None else len(x.shape),), out_type


def _shape_kernel(x, out_type):
    return np.array(x.shape, dtype=out_type)


def _size_kernel(x, out_type):
    return np.array(x.size, dtype=out_type)


def _rank_kernel(x):
    return np.array(x.ndim, dtype=_dt.int32)


# The value of each depends on the input's shape only: no gradient flows to the input.
# Their input is a ShapeOf (value_inputs=0): the torch code makes a small tensor on the device.
SHAPE = register(OpDef("shape", tf_type="Shape", strings=True,
                       infer=_shape_infer, kernel=_shape_kernel, grad=no_grad,
                       value_inputs=0,
                       never_raises=True))
SIZE = register(OpDef("size", tf_type="Size", strings=True,
                      infer=lambda inputs, out_type: ((), out_type), kernel=_size_kernel,
                      grad=no_grad, value_inputs=0,
                      never_raises=True))
RANK = register(OpDef("rank", tf_type="Rank", strings=True,
                      infer=lambda inputs: ((), _dt.int32), kernel=_rank_kernel,
                      grad=no_grad, value_inputs=0,
                      never_raises=True))


def shape(input, name: Optional[str] = None, out_type=_dt.int32):  # noqa: A002
    """The run-time shape of `input` as a 1-D int tensor (int32 unless out_type is int64)."""
    return apply(SHAPE, [input], name, out_type=_out_type(out_type, "shape"))


def size(input, name: Optional[str] = None, out_type=_dt.int32):  # noqa: A002
    """The run-time number of elements of `input`, an int scalar (int32 unless out_type)."""
    return apply(SIZE, [input], name, out_type=_out_type(out_type, "size"))


def rank(input, name: Optional[str] = None):  # noqa: A002
    """The run-time rank (number of axes) of `input`, an int32 scalar."""
    return apply(RANK, [input], name)
