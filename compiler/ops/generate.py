"""Ops that make a tensor from run-time arguments: fill (a shape given as a tensor) and range,
plus what TF1 calls constant_value_as_shape: the static shape a shape tensor is known to hold.

    z = gf.placeholder(gf.float32, (None, 20))
    eps = gf.fill(gf.shape(z), 0.0)
    # eps: f32[?,20] = fill(shape, Const)     (the 20 read from shape(z) while building)

A shape given as a list that mixes ints and scalar tensors ([gf.shape(x)[0], 10]) is stacked
into one int32 tensor first, as TF1 packs it.
"""

from __future__ import annotations

import builtins
import math
import numbers
from typing import Optional

import numpy as np

from .. import dtypes as _dt
from ..graph import Node, graph_of, user_site
from ..opdef import NOT_DIFFERENTIABLE, OpDef, register
from ..shapes import fmt
from .array import stack
from .core import CONSTANT, apply, constant, convert_to_tensor
from .elementwise import cast
from .reduce import reduce_sum

__all__ = ["fill", "range", "is_shape_tensor", "shape_tensor", "static_shape_value",
           "shape_sources"]


# -- shapes given as tensors -----------------------------------------------------------------------
def is_shape_tensor(shape) -> bool:
    """Whether a user's shape argument is (or holds) a tensor, so it is known only at run time."""
    if isinstance(shape, Node):
        return True
    return isinstance(shape, (list, tuple)) and any(isinstance(d, Node) for d in shape)


def shape_tensor(shape, what: str) -> Node:
    """A shape argument as a 1-D int tensor: a tensor as is, a list mixing ints and scalar
    tensors stacked into one (as TF1 packs it)."""
    if not isinstance(shape, Node):
        graph = graph_of(list(shape))
        parts = [d if isinstance(d, Node) else constant(d, _dt.int32, graph=graph)
                 for d in shape]
        for d in parts:
            if d.shape != () or d.dtype.kind != "i":
                raise TypeError(f"{what} ({user_site()}): a shape list may mix ints and scalar "
                                f"int tensors only; '{d.op_name}' is {d.dtype.name} {fmt(d.shape)}")
        if len({d.dtype for d in parts}) > 1:
            parts = [cast(d, _dt.int64) for d in parts]
        shape = stack(parts)
    if shape.dtype not in (_dt.int32, _dt.int64) or (shape.shape is not None
                                                     and len(shape.shape) != 1):
        raise TypeError(f"{what} ({user_site()}): shape '{shape.op_name}' must be a 1-D int32 or "
                        f"int64 tensor, got {shape.dtype.name} {fmt(shape.shape)}")
    return shape


def _static_scalar(node: Node) -> Optional[int]:
    """The value of a scalar int tensor where it is known while building, else None."""
    if node.opdef is CONSTANT:
        return int(node.attrs["value"])
    if node.type == "getitem" and node.inputs[0].type == "shape":
        dims = static_shape_value(node.inputs[0])
        index = node.attrs["index"]
        if dims is not None and len(index) == 1 and isinstance(index[0], int):
            return dims[index[0]] if -len(dims) <= index[0] < len(dims) else None
    if node.type == "cast" and node.inputs[0].dtype.kind == "i":
        return _static_scalar(node.inputs[0])
    return None


def static_shape_value(node: Node) -> Optional[tuple]:
    """The shape a 1-D int tensor holds, as far as it is known while building (None for an
    unknown size, None in place of the whole tuple for an unknown length): TF1's
    constant_value_as_shape, reading constants, shape(x), stacks of scalars and concats."""
    if node.opdef is CONSTANT:
        return tuple(int(d) for d in np.ravel(node.attrs["value"]))
    if node.type == "shape":
        x = node.inputs[0]
        return x.shape if x.shape is not None else _unknown(node)
    if node.type == "stack" and node.attrs["axis"] in (0, -1):
        return tuple(_static_scalar(x) for x in node.inputs)
    if node.type == "concat" and node.attrs["axis"] in (0, -1, (0,), (-1,)):
        parts = [static_shape_value(x) for x in node.inputs]
        return None if None in parts else builtins.sum(parts, ())
    if node.type == "getitem" and node.inputs[0].type == "shape":
        dims = static_shape_value(node.inputs[0])
        index = node.attrs["index"]
        if dims is not None and len(index) == 1 and isinstance(index[0], slice):
            return dims[index[0]]
    if node.type == "cast" and node.inputs[0].dtype.kind == "i":
        return static_shape_value(node.inputs[0])
    return _unknown(node)


def shape_sources(node: Node) -> Optional[list]:
    """The tensors whose shapes (read through shape(x)) a shape tensor is made of, or None if
    some of it depends on values known only at run time (a placeholder, a sum)."""
    if node.opdef is CONSTANT:
        return []
    if node.type == "shape":
        return [node.inputs[0]]
    if node.type in ("stack", "concat"):
        parts = [_scalar_sources(x) if node.type == "stack" else shape_sources(x)
                 for x in node.inputs]
        return None if None in parts else list(dict.fromkeys(x for p in parts for x in p))
    if node.type == "getitem" and node.inputs[0].type == "shape":
        return [node.inputs[0].inputs[0]]
    if node.type == "cast":
        return shape_sources(node.inputs[0])
    return None


def _scalar_sources(node: Node) -> Optional[list]:
    if node.opdef is CONSTANT:
        return []
    if node.type == "getitem" and node.inputs[0].type == "shape":
        return [node.inputs[0].inputs[0]]
    if node.type == "cast":
        return _scalar_sources(node.inputs[0])
    return None


def _unknown(node: Node) -> Optional[tuple]:
    if node.shape is None or node.shape[0] is None:
        return None
    return (None,) * node.shape[0]


# -- fill ------------------------------------------------------------------------------------------
def _fill_infer(inputs):
    dims, value = inputs[:2]
    if dims.dtype not in (_dt.int32, _dt.int64):
        raise TypeError(f"dims '{dims.op_name}' must be int32 or int64, got {dims.dtype.name}")
    if dims.shape is not None and len(dims.shape) != 1:
        raise ValueError(f"dims '{dims.op_name}' must be 1-D, got shape {fmt(dims.shape)}")
    if value.shape is not None and value.shape != ():
        raise ValueError(f"value '{value.op_name}' must be a scalar, got shape {fmt(value.shape)}")
    shape = static_shape_value(dims)
    if shape is not None and any(d is not None and d < 0 for d in shape):
        raise ValueError(f"dims {fmt(shape)} must be non-negative")
    return shape, value.dtype


def _fill_kernel(dims, value, *sources):
    dims = tuple(int(d) for d in np.ravel(dims))
    if any(d < 0 for d in dims):
        raise ValueError(f"dims {dims} must be non-negative")
    return np.full(dims, value, dtype=np.asarray(value).dtype)


def _fill_grad(node, g):
    return (None, reduce_sum(g)) + (None,) * (len(node.inputs) - 2)


# Inputs after dims and value are the tensors dims reads the shapes of, read for their shape only:
# when a program specialises them to the fed shapes, the fill's shape is inferred again.
FILL = register(OpDef("fill", tf_type="Fill", infer=_fill_infer, kernel=_fill_kernel,
                      grad=_fill_grad,
                      value_inputs=2))


def fill(dims, value, name: Optional[str] = None) -> Node:
    """A tensor of shape `dims` (a 1-D int tensor, or a list of ints and scalar int tensors)
    holding the scalar `value` everywhere (TF1's tf.fill with a run-time shape). Its static shape
    is what is known of dims while building: fill(gf.shape(z), 0.0) of z (None, 20) is (None, 20).
    The gradient reaches value (the sum of g), as TF1's."""
    dims = shape_tensor(dims, "fill")
    value = convert_to_tensor(value, graph=dims.graph)
    return apply(FILL, [dims, value] + (shape_sources(dims) or []), name or "Fill")


# -- range -----------------------------------------------------------------------------------------
def _range_infer(inputs):
    dtype = inputs[0].dtype
    for x in inputs:
        if x.shape is not None and x.shape != ():
            raise ValueError(f"'{x.op_name}' must be a scalar, got shape {fmt(x.shape)}")
        if x.dtype != dtype:
            raise TypeError(f"start, limit and delta must have one dtype; '{x.op_name}' is "
                            f"{x.dtype.name}, not {dtype.name}")
    return (None,), dtype


def _range_kernel(start, limit, delta):
    """TF1's Range: checks the arguments, then start, start + delta, ... summed one step at a
    time in the dtype (so float values round as TF1's do)."""
    start, limit, delta = (np.asarray(v)[()] for v in (start, limit, delta))
    if delta == 0:
        raise ValueError(f"range requires delta != 0, got {delta}")
    if delta > 0 and start > limit:
        raise ValueError(f"range requires start <= limit when delta > 0, got {start} > {limit}")
    if delta < 0 and start < limit:
        raise ValueError(f"range requires start >= limit when delta < 0, got {start} < {limit}")
    if start.dtype.kind == "i":
        size = (abs(int(limit) - int(start)) + abs(int(delta)) - 1) // abs(int(delta))
    else:
        size = int(math.ceil(abs((limit - start) / delta)))  # in the dtype, as TF1
    steps = np.full(size, delta, dtype=start.dtype)
    if size:
        steps[0] = start
    return np.add.accumulate(steps, dtype=start.dtype)


RANGE = register(OpDef("range", tf_type="Range", infer=_range_infer, kernel=_range_kernel,
                       grad=NOT_DIFFERENTIABLE))

# TF1 infers range's dtype as the widest of its arguments' along this ladder.
_RANGE_DTYPES = (_dt.int32, _dt.int64, _dt.float32, _dt.float64)


def range(start, limit=None, delta=1, dtype=None,  # noqa: A001 - TF1's public name
          name: str = "range") -> Node:
    """TF1's tf.range: start, start + delta, ... up to (not including) limit; range(n) is
    0..n-1. Python ints give int32 and floats float32 (the widest argument's dtype, unless
    `dtype` is given). Arguments may be scalar tensors: the length is then known at run time only
    (all constants: a constant, computed now)."""
    if limit is None:
        start, limit = 0, start
    graph = graph_of([start, limit, delta])
    args = [convert_to_tensor(v, dtype, graph=graph) for v in (start, limit, delta)]
    if dtype is None:
        for x in args:
            if x.dtype not in _RANGE_DTYPES:
                raise TypeError(f"range ({user_site()}): '{x.op_name}' is {x.dtype.name}; range "
                                f"takes int32, int64, float32 or float64")
        widest = builtins.max((x.dtype for x in args), key=_RANGE_DTYPES.index)
        args = [_as_dtype(x, v, widest, graph) for x, v in zip(args, (start, limit, delta))]
    if builtins.all(x.opdef is CONSTANT for x in args):
        try:
            value = _range_kernel(*(x.attrs["value"] for x in args))
        except ValueError as exc:
            raise ValueError(f"range '{name}' ({user_site()}): {exc}") from None
        return constant(value, name=name, graph=graph)
    return apply(RANGE, args, name)


def _as_dtype(x: Node, given, dtype, graph) -> Node:
    """An argument in the range's dtype: a number made again as a constant of it, else a cast."""
    if x.dtype == dtype:
        return x
    if isinstance(given, numbers.Number):
        return constant(given, dtype, graph=graph)
    return cast(x, dtype)
