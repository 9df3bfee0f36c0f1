"""Reductions (sum, mean, max, argmax), add_n, and the reduction-size helper of mean's gradient."""

from __future__ import annotations

from typing import Optional

import numpy as np

from .. import dtypes as _dt
from ..graph import Node
from ..opdef import NOT_DIFFERENTIABLE, OpDef, nonempty_input, register
from ..shapes import axis_arg, normalize_axes, num_elements
from .core import apply, constant, no_grad, require_float, same_dtype
from .elementwise import cast, equal
from .shape import broadcast_like, expand_dims

__all__ = ["reduce_sum", "reduce_mean", "reduce_max", "argmax", "add_n"]


def _reduce_infer(inputs, axis, keepdims):
    x = inputs[0]
    if x.shape is None:
        return ((), x.dtype) if axis is None and not keepdims else (None, x.dtype)
    axes = normalize_axes(axis, len(x.shape))
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(x.shape)), x.dtype
    return tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype


def _mean_infer(inputs, axis, keepdims):
    require_float(inputs[0])
    return _reduce_infer(inputs, axis, keepdims)


def _keep(node, g):
    """g (or the reduction's output) with the reduced axes put back as size 1."""
    axis = node.attrs["axis"]
    if node.attrs["keepdims"] or axis is None:
        return g  # a scalar (axis=None) broadcasts as is
    return expand_dims(g, axis)


def _sum_grad(node, g):
    return (broadcast_like(_keep(node, g), node.inputs[0]),)


def _mean_grad(node, g):
    x = node.inputs[0]
    return (broadcast_like(_keep(node, g) / _reduced_count(node), x),)


def _max_grad(node, g):
    x = node.inputs[0]
    hit = cast(equal(x, _keep(node, node)), g.dtype)
    count = reduce_sum(hit, node.attrs["axis"], keepdims=True)
    return (hit / count * _keep(node, g),)  # split evenly among ties, as torch.amax does


def _reduced_count(node):
    """How many elements each output of the reduction `node` averaged over."""
    x, axis = node.inputs[0], node.attrs["axis"]
    if x.shape is not None:
        axes = range(len(x.shape)) if axis is None else axis
        n = num_elements(tuple(x.shape[a] for a in axes))
        if n is not None:
            return constant(np.asarray(n, x.dtype), graph=x.graph)
    return apply(REDUCTION_SIZE, [x], axis=axis)


def _reduce_kernel(fn):
    def kernel(x, axis, keepdims):
        return np.asarray(fn(x, axis=axis, keepdims=keepdims))
    kernel.__name__ = fn.__name__
    return kernel


def _mean_kernel(x, axis, keepdims, out=None):
    # As np.mean (a float32 sum, divided by the count), without its Python-level overhead.
    total = np.add.reduce(x, axis=axis, keepdims=keepdims, out=out)
    count = np.intp(np.size(x) // max(np.size(total), 1))
    if isinstance(total, np.ndarray):
        return np.true_divide(total, count, out=total, casting="unsafe")
    return total.dtype.type(total / count)


def _sum_kernel(x, axis, keepdims):
    return np.asarray(np.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype))  # int32 stays int32


def _sum_infer(inputs, axis, keepdims):
    if inputs[0].dtype == _dt.bool_:
        raise TypeError("cannot sum a bool tensor; gf.cast it to a number type first")
    return _reduce_infer(inputs, axis, keepdims)


REDUCE_SUM = register(OpDef(
    "reduce_sum", tf_type="Sum", never_raises=True, infer=_sum_infer, kernel=_sum_kernel,
    grad=_sum_grad))
REDUCE_MEAN = register(OpDef(
    "reduce_mean", tf_type="Mean", never_raises=True, infer=_mean_infer, kernel=_mean_kernel,
    grad=_mean_grad))
REDUCE_MAX = register(OpDef(
    "reduce_max", tf_type="Max", infer=_reduce_infer, kernel=_reduce_kernel(np.max), grad=_max_grad,
    never_raises=nonempty_input))


def _reduction_size_kernel(x, axis):
    axes = range(x.ndim) if axis is None else axis
    return np.asarray(int(np.prod([x.shape[a] for a in axes])), x.dtype)


REDUCTION_SIZE = register(OpDef("reduction_size", infer=lambda inputs, axis: ((), inputs[0].dtype),
                                kernel=_reduction_size_kernel, grad=no_grad,
                                value_inputs=0, never_raises=True))
# A count of elements from shapes alone. With the fold pass on it is a constant before code
# generation; only with passes=[] does it run, once per step.


def _axes_attr(x, axis):
    """The axis argument normalized to sorted non-negative ints where the rank is known. An invalid
    axis is passed on as given, so that the op's shape rule reports it with the op's name and
    site."""
    rank = x.ndim if isinstance(x, Node) else np.ndim(x)
    try:
        return normalize_axes(axis, rank)
    except (ValueError, TypeError):
        return axis


def _reduce(opdef, x, axis, keepdims, name):
    return apply(opdef, [x], name, axis=_axes_attr(x, axis), keepdims=bool(keepdims))


def reduce_sum(x, axis=None, keepdims: bool = False, name: Optional[str] = None):
    """Sum over `axis` (None: all axes; an int or a tuple)."""
    return _reduce(REDUCE_SUM, x, axis, keepdims, name)


def reduce_mean(x, axis=None, keepdims: bool = False, name: Optional[str] = None):
    """Mean over `axis` (None: all axes; an int or a tuple)."""
    return _reduce(REDUCE_MEAN, x, axis, keepdims, name)


def reduce_max(x, axis=None, keepdims: bool = False, name: Optional[str] = None):
    """Max over `axis`; the gradient is split evenly among tied maxima (as torch.amax)."""
    return _reduce(REDUCE_MAX, x, axis, keepdims, name)


def _argmax_infer(inputs, axis):
    x = inputs[0]
    if x.shape is None:
        return None, _dt.int64
    (axis,) = normalize_axes(axis, len(x.shape))
    return tuple(d for i, d in enumerate(x.shape) if i != axis), _dt.int64


def _argmax_kernel(x, axis):
    return np.argmax(x, axis=axis).astype(np.int64)


ARGMAX = register(OpDef("argmax", tf_type="ArgMax", infer=_argmax_infer, kernel=_argmax_kernel,
                        grad=NOT_DIFFERENTIABLE,
                        never_raises=nonempty_input))


def index_args(x, axis, dimension, output_type, who: str):
    """argmax/argmin's TF1 arguments: (the axis attribute, the output dtype). `dimension` is the
    old name of axis; axis None means 0; output_type is int32 or int64."""
    if dimension is not None:
        if axis is not None:
            raise ValueError(f"{who}: give axis or dimension (its old name), not both")
        axis = dimension
    output_type = _dt.as_dtype(output_type)
    if output_type not in (_dt.int32, _dt.int64):
        raise TypeError(f"{who}: output_type must be int32 or int64, got {output_type.name}")
    axis = _axes_attr(x, 0 if axis is None else axis_arg(axis))
    return (axis[0] if isinstance(axis, tuple) else axis), output_type


def argmax(input, axis: Optional[int] = None, name: Optional[str] = None,
           dimension: Optional[int] = None, output_type=_dt.int64):
    """Index of the largest value along axis (TF1: axis None means 0; `dimension` is its old
    name), as int64 or int32 (output_type); ties give the first index. The first parameter is
    TF1's `input`, so tf.argmax(input=y, axis=1) works."""
    axis, output_type = index_args(input, axis, dimension, output_type, "argmax")
    if output_type == _dt.int32:
        # TF1's ArgMax makes int32 itself: the visible (cast) node takes the name "ArgMax"
        raw = apply(ARGMAX, [input], f"{name or 'ArgMax'}/int64", axis=axis)
        return cast(raw, _dt.int32, name=name or "ArgMax")
    return apply(ARGMAX, [input], name, axis=axis)


def _add_n_infer(inputs):
    dtype = same_dtype(inputs, "add_n inputs")
    shape = inputs[0].shape
    for x in inputs[1:]:
        if shape is None or x.shape is None:
            shape = shape or x.shape
            continue
        if len(shape) != len(x.shape) or any(a is not None and b is not None and a != b
                                             for a, b in zip(shape, x.shape)):
            raise ValueError("add_n inputs must all have the same shape")
        shape = tuple(a if a is not None else b for a, b in zip(shape, x.shape))
    return shape, dtype


def _add_n_kernel(*xs, out=None):
    if len(xs) == 1:
        if out is None:
            return np.array(xs[0])
        np.copyto(out, xs[0])
        return out
    out = np.add(xs[0], xs[1], out=out)
    for x in xs[2:]:  # in place on our own result (a numpy scalar for 0-d inputs cannot be)
        out = np.add(out, x, out=out if isinstance(out, np.ndarray) else None)
    return out


ADD_N = register(OpDef("add_n", tf_type="AddN", never_raises=True, infer=_add_n_infer,
                       kernel=_add_n_kernel,
                       grad=lambda node, g: (g,) * len(node.inputs)))


def add_n(inputs, name: Optional[str] = None):
    """Sum of a list of tensors of the same shape and dtype."""
    inputs = list(inputs)
    if not inputs:
        raise ValueError("add_n needs at least one tensor")
    return apply(ADD_N, inputs, name)
