"""Ops that move elements around: reshape, transpose, expand/squeeze, concat, broadcast, and the
run-time-shaped helpers autodiff uses (`reshape_like`, `broadcast_like`,
`sum_to`)."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..errors import ShapeError
from ..graph import user_site
from ..opdef import OpDef, register
from ..shapes import as_shape, axis_arg, broadcast, fmt, normalize_axis, num_elements
from .core import apply, same_dtype
from .elementwise import zeros_like

__all__ = ["reshape", "transpose", "expand_dims", "squeeze", "concat", "broadcast_to",
           "reshape_like", "broadcast_like", "sum_to"]


# -- reshape ---------------------------------------------------------------------------------------
def _reshape_infer(inputs, shape):
    x = inputs[0]
    if sum(d == -1 for d in shape) > 1:
        raise ValueError(f"at most one -1 is allowed in the new shape {shape}")
    known = int(np.prod([d for d in shape if d != -1]))
    total = num_elements(x.shape)
    if total is None:
        return tuple(None if d == -1 else d for d in shape), x.dtype
    if -1 in shape:
        if known == 0 or total % known:
            raise ValueError(f"cannot reshape {fmt(x.shape)} ({total} elements) to {shape}")
        return tuple(total // known if d == -1 else d for d in shape), x.dtype
    if known != total:
        raise ValueError(f"cannot reshape {fmt(x.shape)} ({total} elements) to {shape} "
                         f"({known} elements)")
    return tuple(shape), x.dtype


def _reshape_kernel(x, shape):
    return np.reshape(x, shape)


def _reshape_grad(node, g):
    return (reshape_like(g, node.inputs[0]),)


RESHAPE = register(OpDef("reshape", tf_type="Reshape", strings=True,
                         never_raises=True, infer=_reshape_infer, kernel=_reshape_kernel,
                         grad=_reshape_grad, view=True))


def reshape(x, shape, name: Optional[str] = None):
    """x with a new shape of the same number of elements; one entry may be -1 (inferred)."""
    shape = tuple(int(d) for d in ((shape,) if isinstance(shape, int) else shape))
    if any(d < -1 for d in shape):
        raise ValueError(f"reshape: invalid shape {shape}")
    return apply(RESHAPE, [x], name, shape=shape)


def _like_second(inputs):
    return inputs[1].shape, inputs[0].dtype


def _reshape_like_kernel(x, like):
    return np.reshape(x, like.shape)


RESHAPE_LIKE = register(OpDef("reshape_like", infer=_like_second, kernel=_reshape_like_kernel,
                              grad=lambda node, g: (reshape_like(g, node.inputs[0]), None),
                              value_inputs=1, view=True,
                              never_raises=True))


def reshape_like(x, like, name: Optional[str] = None):
    """x reshaped to the run-time shape of `like` (autodiff's inverse of reshape/expand/squeeze)."""
    return apply(RESHAPE_LIKE, [x, like], name)


# -- transpose, expand_dims, squeeze ---------------------------------------------------------------
def _transpose_infer(inputs, perm):
    x = inputs[0]
    if x.shape is None:
        return None, x.dtype
    if perm is None:
        return tuple(reversed(x.shape)), x.dtype
    if sorted(perm) != list(range(len(x.shape))):
        raise ValueError(f"perm {perm} is not a permutation of the {len(x.shape)} axes")
    return tuple(x.shape[p] for p in perm), x.dtype


def _transpose_kernel(x, perm):
    return np.transpose(x, perm)


def _transpose_grad(node, g):
    perm = node.attrs["perm"]
    return (transpose(g, None if perm is None else tuple(int(i) for i in np.argsort(perm))),)


# perm None reverses the axes, as np.transpose does.
TRANSPOSE = register(OpDef("transpose", tf_type="Transpose", strings=True,
                           infer=_transpose_infer, kernel=_transpose_kernel,
                           grad=_transpose_grad, view=True, never_raises=True))


def transpose(x, perm: Optional[Sequence[int]] = None, name: Optional[str] = None):
    """Permute the axes (reverse them when perm is None)."""
    perm = None if perm is None else tuple(int(p) for p in perm)
    return apply(TRANSPOSE, [x], name or "transpose", perm=perm)


def _expand_dims_infer(inputs, axis):
    x = inputs[0]
    if x.shape is None:
        return None, x.dtype
    rank = len(x.shape) + len(axis)
    axes = sorted(normalize_axis(a, rank) for a in axis)
    out = list(x.shape)
    for a in axes:
        out.insert(a, 1)
    return tuple(out), x.dtype


def _expand_dims_kernel(x, axis):
    return np.expand_dims(x, axis)


def _reshape_back_grad(node, g):
    return (reshape_like(g, node.inputs[0]),)


EXPAND_DIMS = register(OpDef("expand_dims", tf_type="ExpandDims", strings=True,
                             infer=_expand_dims_infer, kernel=_expand_dims_kernel,
                             grad=_reshape_back_grad,
                             view=True, never_raises=True))


def expand_dims(x, axis, name: Optional[str] = None):
    """Insert a size-1 axis at `axis` (an int, or a tuple of them)."""
    axis = axis_arg(axis if isinstance(axis, (list, tuple)) else (axis,))
    return apply(EXPAND_DIMS, [x], name, axis=axis)


def _squeeze_infer(inputs, axis):
    x = inputs[0]
    if x.shape is None:
        return None, x.dtype
    if axis is None:
        if any(d is None for d in x.shape):
            return None, x.dtype  # which unknown sizes are 1 is only known at run time
        return tuple(d for d in x.shape if d != 1), x.dtype
    axes = {normalize_axis(a, len(x.shape)) for a in axis}
    for a in axes:
        if x.shape[a] not in (1, None):
            raise ValueError(f"cannot squeeze axis {a} of size {x.shape[a]}")
    return tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype


def _squeeze_kernel(x, axis):
    return np.squeeze(x, axis)


SQUEEZE = register(OpDef("squeeze", tf_type="Squeeze", strings=True,
                         never_raises=True, infer=_squeeze_infer, kernel=_squeeze_kernel,
                         grad=_reshape_back_grad, view=True))


def squeeze(x, axis=None, name: Optional[str] = None):
    """Remove size-1 axes (all of them when axis is None)."""
    if axis is not None:
        axis = axis_arg(axis if isinstance(axis, (list, tuple)) else (axis,))
    return apply(SQUEEZE, [x], name, axis=axis)


# -- concat ----------------------------------------------------------------------------------------
def _concat_infer(inputs, axis):
    dtype = same_dtype(inputs, "concat inputs")
    ranks = {len(x.shape) for x in inputs if x.shape is not None}
    if not ranks:
        return None, dtype
    if len(ranks) > 1:
        raise ValueError("inputs must all have the same rank")
    rank = ranks.pop()
    axis = normalize_axis(axis, rank)
    out = []
    for i in range(rank):
        dims = [x.shape[i] if x.shape is not None else None for x in inputs]
        if i == axis:
            out.append(None if None in dims else sum(dims))
            continue
        known = {d for d in dims if d is not None}
        if len(known) > 1:
            raise ValueError(f"sizes differ on axis {i}, which is not the concat axis")
        out.append(known.pop() if known else None)
    return tuple(out), dtype


def _concat_kernel(*values, axis):
    return np.concatenate(values, axis=axis)


def _concat_grad(node, g):
    return tuple(concat_part(g, node.inputs, i, node.attrs["axis"])
                 for i in range(len(node.inputs)))


CONCAT = register(OpDef("concat", tf_type="ConcatV2", strings=True,
                        infer=_concat_infer, kernel=_concat_kernel, grad=_concat_grad,
                        never_raises=True))


def concat(values, axis: int, name: Optional[str] = None):
    """Join tensors along an existing axis."""
    values = list(values)
    if not values:
        raise ValueError("concat needs at least one tensor")
    return apply(CONCAT, values, name or "concat", axis=axis_arg(axis))


def _concat_part_infer(inputs, index, axis):
    return inputs[1 + index].shape, inputs[0].dtype


def _concat_part_kernel(g, *values, index, axis):
    start = sum(v.shape[axis] for v in values[:index])
    sl = [slice(None)] * g.ndim
    sl[axis] = slice(start, start + values[index].shape[axis])
    return g[tuple(sl)]


def _concat_part_grad(node, g):
    index, axis = node.attrs["index"], node.attrs["axis"]
    values = node.inputs[1:]
    parts = [g if i == index else zeros_like(v, dtype=g.dtype) for i, v in enumerate(values)]
    return (concat(parts, axis),) + (None,) * len(values)


CONCAT_PART = register(OpDef("concat_part", infer=_concat_part_infer, kernel=_concat_part_kernel,
                             grad=_concat_part_grad, value_inputs=1, view=True, never_raises=True))


def concat_part(g, values, index: int, axis: int, name: Optional[str] = None):
    """The slice of g (a concat's output gradient) that belongs to values[index]."""
    return apply(CONCAT_PART, [g, *values], name, index=index, axis=axis)


# -- broadcasting ----------------------------------------------------------------------------------
def _broadcast_to_infer(inputs, shape):
    x = inputs[0]
    try:
        out = broadcast(x.shape, shape)
    except ValueError:
        raise ValueError(f"cannot broadcast {fmt(x.shape)} to {fmt(shape)}") from None
    if out is not None and len(out) != len(shape):
        raise ValueError(f"cannot broadcast {fmt(x.shape)} to the lower-rank {fmt(shape)}")
    if out is not None and any(s is not None and o is not None and o != s
                               for o, s in zip(out, shape)):
        raise ValueError(f"cannot broadcast {fmt(x.shape)} to {fmt(shape)}")
    return tuple(shape), x.dtype


def _broadcast_to_kernel(x, shape):
    return np.broadcast_to(x, shape)


BROADCAST_TO = register(OpDef("broadcast_to", tf_type="BroadcastTo", never_raises=True,
                              infer=_broadcast_to_infer,
                              kernel=_broadcast_to_kernel, grad=lambda node, g: (g,),
                              broadcasts=True, view=True))


def broadcast_to(x, shape, name: Optional[str] = None):
    """x broadcast to a static shape (a read-only view; nothing is copied)."""
    shape = as_shape(shape)
    if shape is None or None in shape:
        raise ShapeError(f"broadcast_to ({user_site()}): the target shape {shape} must be fully "
                         f"known; to broadcast to a run-time shape use x + gf.zeros_like(other)")
    return apply(BROADCAST_TO, [x], name, shape=shape)


def _broadcast_like_infer(inputs):
    x, like = inputs
    try:
        broadcast(x.shape, like.shape)
    except ValueError:
        raise ValueError(f"cannot broadcast {fmt(x.shape)} to {fmt(like.shape)}") from None
    return like.shape, x.dtype


def _broadcast_like_kernel(x, like):
    return np.broadcast_to(x, like.shape)


BROADCAST_LIKE = register(OpDef("broadcast_like", never_raises=True, infer=_broadcast_like_infer,
                                kernel=_broadcast_like_kernel,
                                grad=lambda node, g: (g, None), broadcasts=True,
                                value_inputs=1, view=True))


def broadcast_like(x, like, name: Optional[str] = None):
    """x broadcast to the run-time shape of `like`."""
    return apply(BROADCAST_LIKE, [x, like], name)


def _sum_to_kernel(x, like):
    """Sum x down to like's shape: over the extra leading axes and where like has size 1."""
    target = like.shape
    if x.shape == target:
        return x
    lead = x.ndim - len(target)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(target) if d == 1 and x.shape[lead + i] != 1)
    out = np.sum(x, axis=axes, keepdims=True, dtype=x.dtype) if axes else x  # int32 stays
    return out.reshape(target)


SUM_TO = register(OpDef("sum_to", never_raises=True, infer=_like_second, kernel=_sum_to_kernel,
                        grad=lambda node, g: (broadcast_like(g, node.inputs[0]), None),
                        value_inputs=1, view=True))


def sum_to(x, like, name: Optional[str] = None):
    """x summed down to the run-time shape of `like` (the gradient of broadcasting)."""
    return apply(SUM_TO, [x, like], name)
