"""More math: sin, cos, log1p, rsqrt; reduce_min, reduce_prod, argmin; logical and/or/not.

reduce_prod's gradient is, for each element, the product of the other elements of its reduced
slice, and it stays exact where the input holds zeros (see `_prod_grad`).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .. import dtypes as _dt
from ..opdef import NOT_DIFFERENTIABLE, OpDef, nonempty_input, register
from ..shapes import broadcast
from .core import apply, require_float
from .elementwise import cast, equal, where
from .reduce import _argmax_infer, _axes_attr, _keep, _reduce_infer, index_args, reduce_sum

__all__ = ["sin", "cos", "log1p", "rsqrt", "reduce_min", "reduce_prod", "argmin", "logical_and",
           "logical_or", "logical_not"]


# -- unary float functions -------------------------------------------------------------------------
def _unary_float(inputs):
    return inputs[0].shape, require_float(inputs[0])


def _float_op(name, tf_type, kernel, grad):
    """An elementwise function of one float input, computable in place."""
    return register(OpDef(name, tf_type=tf_type, infer=_unary_float, kernel=kernel, grad=grad,
                          inplace=True, never_raises=True))


def _rsqrt_kernel(x, out=None):
    root = np.sqrt(x, out=out)
    return np.divide(1, root, out=out)


SIN = _float_op("sin", "Sin", np.sin, lambda node, g: (g * cos(node.inputs[0]),))
COS = _float_op("cos", "Cos", np.cos, lambda node, g: (g * -sin(node.inputs[0]),))
LOG1P = _float_op("log1p", "Log1p", np.log1p, lambda node, g: (g / (node.inputs[0] + 1),))
# d/dx x^(-1/2) = -x^(-3/2) / 2 = -rsqrt(x)^3 / 2, as PyTorch writes it. The value is
# 1 / sqrt(x), an IEEE sqrt and division, correctly rounded.
RSQRT = _float_op("rsqrt", "Rsqrt", _rsqrt_kernel,
                  lambda node, g: (g * (node * node * node) * -0.5,))


def sin(x, name: Optional[str] = None):
    """Elementwise sine (radians)."""
    return apply(SIN, [x], name)


def cos(x, name: Optional[str] = None):
    """Elementwise cosine (radians)."""
    return apply(COS, [x], name)


def log1p(x, name: Optional[str] = None):
    """log(1 + x), accurate for small x."""
    return apply(LOG1P, [x], name)


def rsqrt(x, name: Optional[str] = None):
    """1 / sqrt(x)."""
    return apply(RSQRT, [x], name)


# -- reduce_min ------------------------------------------------------------------------------------
def _min_kernel(x, axis, keepdims):
    return np.asarray(np.min(x, axis=axis, keepdims=keepdims))


def _min_grad(node, g):
    x = node.inputs[0]
    hit = cast(equal(x, _keep(node, node)), g.dtype)
    count = reduce_sum(hit, node.attrs["axis"], keepdims=True)
    return (hit / count * _keep(node, g),)  # split evenly among ties, as torch.amin does


REDUCE_MIN = register(OpDef(
    "reduce_min", tf_type="Min", infer=_reduce_infer, kernel=_min_kernel, grad=_min_grad,
    never_raises=nonempty_input))


def reduce_min(x, axis=None, keepdims: bool = False, name: Optional[str] = None):
    """Min over `axis` (None: all axes; an int or a tuple); the gradient is split evenly among
    tied minima (as torch.amin)."""
    return apply(REDUCE_MIN, [x], name, axis=_axes_attr(x, axis), keepdims=bool(keepdims))


# -- reduce_prod -----------------------------------------------------------------------------------
def _prod_infer(inputs, axis, keepdims):
    if inputs[0].dtype == _dt.bool_:
        raise TypeError("cannot multiply a bool tensor; gf.cast it to a number type first")
    return _reduce_infer(inputs, axis, keepdims)


def _prod_kernel(x, axis, keepdims):
    return np.asarray(np.prod(x, axis=axis, keepdims=keepdims, dtype=x.dtype))


def _prod_grad(node, g):
    """d prod / d x_i is the product of the others in x_i's slice. Where x_i != 0 that is
    prod / x_i. Where x_i == 0 it is p * (the product of the *other* zeros), p being the product
    of the slice's nonzero elements: p when x_i is the only zero, 0 with two or more. With exactly
    two zeros that 0 is written as (sum of the zeros) - x_i, so that its derivative (p, towards
    the other zero) is right too: second derivatives (Hessians) are exact everywhere, as torch's.
    """
    x, axis = node.inputs[0], node.attrs["axis"]
    zero = equal(x, 0)
    x_safe = where(zero, 1, x)
    nonzero_prod = reduce_prod(x_safe, axis, keepdims=True)
    zeros = reduce_sum(cast(zero, x.dtype), axis, keepdims=True)
    zeros_sum = reduce_sum(where(zero, x, 0), axis, keepdims=True)  # 0, but carries d/dx
    other_zeros = where(equal(zeros, 1), 1, where(equal(zeros, 2), zeros_sum - x, 0))
    others = where(zero, nonzero_prod * other_zeros, _keep(node, node) / x_safe)
    return (_keep(node, g) * others,)


REDUCE_PROD = register(OpDef(
    "reduce_prod", tf_type="Prod", never_raises=True, infer=_prod_infer, kernel=_prod_kernel,
    grad=_prod_grad))


def reduce_prod(x, axis=None, keepdims: bool = False, name: Optional[str] = None):
    """Product over `axis` (None: all axes; an int or a tuple); integers keep their dtype."""
    return apply(REDUCE_PROD, [x], name, axis=_axes_attr(x, axis), keepdims=bool(keepdims))


# -- argmin ----------------------------------------------------------------------------------------
def _argmin_infer(inputs, axis, output_type):
    return _argmax_infer(inputs, axis)[0], output_type


def _argmin_kernel(x, axis, output_type):
    return np.argmin(x, axis=axis).astype(output_type)


ARGMIN = register(OpDef("argmin", tf_type="ArgMin", infer=_argmin_infer, kernel=_argmin_kernel,
                        grad=NOT_DIFFERENTIABLE, never_raises=nonempty_input))


def argmin(input, axis: Optional[int] = None, name: Optional[str] = None,  # noqa: A002
           dimension: Optional[int] = None, output_type=_dt.int64):
    """Index of the smallest value along axis (TF1: axis None means 0; `dimension` is its old
    name), as int64 or int32 (output_type); ties give the first index."""
    axis, output_type = index_args(input, axis, dimension, output_type, "argmin")
    return apply(ARGMIN, [input], name, axis=axis, output_type=output_type)


# -- logical ops -----------------------------------------------------------------------------------
def _require_bool(inputs):
    for x in inputs:
        if x.dtype != _dt.bool_:
            raise TypeError(f"needs bool tensors, got {x.dtype.name} '{x.op_name}'; compare first "
                            f"(gf.greater, gf.equal, ...) or gf.cast it to bool")
    return _dt.bool_


def _logical_binary(inputs):
    dtype = _require_bool(inputs)
    try:
        return broadcast(inputs[0].shape, inputs[1].shape), dtype
    except ValueError:
        raise ValueError("shapes cannot be broadcast together") from None


def _logical_unary(inputs):
    return inputs[0].shape, _require_bool(inputs)


LOGICAL_AND = register(OpDef("logical_and", tf_type="LogicalAnd", infer=_logical_binary,
                             kernel=np.logical_and,
                             grad=NOT_DIFFERENTIABLE, broadcasts=True, inplace=True,
                             never_raises=True))
LOGICAL_OR = register(OpDef("logical_or", tf_type="LogicalOr", infer=_logical_binary,
                            kernel=np.logical_or,
                            grad=NOT_DIFFERENTIABLE, broadcasts=True, inplace=True,
                            never_raises=True))
LOGICAL_NOT = register(OpDef("logical_not", tf_type="LogicalNot", infer=_logical_unary,
                             kernel=np.logical_not,
                             grad=NOT_DIFFERENTIABLE, inplace=True, never_raises=True))


def logical_and(x, y, name: Optional[str] = None):
    """Elementwise x AND y of bool tensors, broadcasting."""
    return apply(LOGICAL_AND, [x, y], name)


def logical_or(x, y, name: Optional[str] = None):
    """Elementwise x OR y of bool tensors, broadcasting."""
    return apply(LOGICAL_OR, [x, y], name)


def logical_not(x, name: Optional[str] = None):
    """Elementwise NOT of a bool tensor."""
    return apply(LOGICAL_NOT, [x], name)
