"""Elementwise arithmetic, comparisons and selection, with numpy broadcasting.

Gradient rules return the gradient at the broadcast output shape; autodiff sums it back to each
input's shape (ops marked `broadcasts=True`).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .. import dtypes as _dt
from ..graph import Node, graph_of
from ..opdef import NOT_DIFFERENTIABLE, OpDef, float_inputs, register
from ..shapes import broadcast
from .core import apply, convert_to_tensor, no_grad, require_float, same_dtype

__all__ = ["add", "subtract", "multiply", "divide", "negative", "power", "square", "sqrt", "exp",
           "log", "abs", "sign", "maximum", "minimum", "equal", "not_equal", "less", "less_equal",
           "greater", "greater_equal", "where", "clip_by_value", "cast", "identity",
           "stop_gradient", "zeros_like", "ones_like"]


# -- shape and dtype rules -------------------------------------------------------------------------
def _broadcast_all(inputs):
    shape = inputs[0].shape
    for x in inputs[1:]:
        try:
            shape = broadcast(shape, x.shape)
        except ValueError:
            raise ValueError("shapes cannot be broadcast together") from None
    return shape


def _binary(inputs):
    return _broadcast_all(inputs), same_dtype(inputs)


def _no_bool(inputs) -> None:
    """numpy computes these on bools in int8 (TF1 refuses bool for them too): cast first."""
    if any(x.dtype == _dt.bool_ for x in inputs):
        raise TypeError("bool tensors are not allowed here (TF1 refuses them as well); cast "
                        "them to a number type first")


def _arithmetic(inputs):
    _no_bool(inputs)
    return _binary(inputs)


def _arithmetic_unary(inputs):
    _no_bool(inputs)
    return _unary(inputs)


def _divide_infer(inputs):
    dtype = same_dtype(inputs)
    return _broadcast_all(inputs), dtype if _dt.is_floating(dtype) else _dt.float64


def _compare(inputs):
    same_dtype(inputs)
    return _broadcast_all(inputs), _dt.bool_


def _unary(inputs):
    return inputs[0].shape, inputs[0].dtype


def _unary_float(inputs):
    return inputs[0].shape, require_float(inputs[0])


def _binary_op(name, tf_type, kernel, grad, infer=_binary, never_raises=True, strings=False):
    """A broadcasting numpy ufunc of two inputs, computable in place."""
    return register(OpDef(name, tf_type=tf_type, infer=infer, kernel=kernel, grad=grad,
                          broadcasts=True,
                          inplace=True, never_raises=never_raises, strings=strings))


def _unary_op(name, tf_type, kernel, grad, infer=_unary):
    """A numpy ufunc of one input, computable in place."""
    return register(OpDef(name, tf_type=tf_type, infer=infer, kernel=kernel, grad=grad,
                          inplace=True,
                          never_raises=True))


# -- arithmetic ------------------------------------------------------------------------------------
def _add_grad(node, g):
    return g, g


def _subtract_grad(node, g):
    return g, -g


def _multiply_grad(node, g):
    x, y = node.inputs
    return g * y, g * x


def _divide_grad(node, g):
    x, y = node.inputs
    return g / y, -g * x / (y * y)


def _power_grad(node, g):
    # As torch: no gradient to x where y == 0, none to y where x == 0 and y >= 0 (0 ** y is flat
    # there); the naive formulas would give 0 * inf = NaN.
    x, y = node.inputs
    gx = where(equal(y, 0), 0, g * y * x ** (y - 1))
    gy = g * node * log(x)
    return gx, where(equal(x, 0), where(less(y, 0), gy, 0), gy)


def _maximum_grad(node, g):
    x, y = node.inputs
    return _tie_split(g, greater(x, y), equal(x, y)), _tie_split(g, less(x, y), equal(x, y))


def _minimum_grad(node, g):
    x, y = node.inputs
    return _tie_split(g, less(x, y), equal(x, y)), _tie_split(g, greater(x, y), equal(x, y))


def _tie_split(g, wins, ties):
    """g where this side wins, half of g on ties (as torch.maximum does)."""
    return g * (cast(wins, g.dtype) + cast(ties, g.dtype) * 0.5)


ADD = _binary_op("add", "Add", np.add, _add_grad, strings=True)  # strings: concatenation, as TF1
SUBTRACT = _binary_op("subtract", "Sub", np.subtract, _subtract_grad)
MULTIPLY = _binary_op("multiply", "Mul", np.multiply, _multiply_grad)
# Integers divide in float64, as numpy does (torch would divide them in float32).
DIVIDE = _binary_op("divide", "RealDiv", np.true_divide, _divide_grad, infer=_divide_infer)
POWER = _binary_op("power", "Pow", np.power, _power_grad, infer=_arithmetic,
                   never_raises=float_inputs)
MAXIMUM = _binary_op("maximum", "Maximum", np.maximum, _maximum_grad)
MINIMUM = _binary_op("minimum", "Minimum", np.minimum, _minimum_grad)

NEGATIVE = _unary_op("negative", "Neg", np.negative, lambda node, g: (-g,))
SQUARE = _unary_op("square", "Square", np.square, lambda node, g: (g * 2 * node.inputs[0],),
                   infer=_arithmetic_unary)
SQRT = _unary_op("sqrt", "Sqrt", np.sqrt, lambda node, g: (g / (node * 2),), infer=_unary_float)
EXP = _unary_op("exp", "Exp", np.exp, lambda node, g: (g * node,), infer=_unary_float)
LOG = _unary_op("log", "Log", np.log, lambda node, g: (g / node.inputs[0],), infer=_unary_float)
ABS = _unary_op("abs", "Abs", np.abs, lambda node, g: (g * sign(node.inputs[0]),))
SIGN = _unary_op("sign", "Sign", np.sign, no_grad)


def add(x, y, name: Optional[str] = None):
    """x + y, broadcasting."""
    return apply(ADD, [x, y], name)


def subtract(x, y, name: Optional[str] = None):
    """x - y, broadcasting."""
    return apply(SUBTRACT, [x, y], name)


def multiply(x, y, name: Optional[str] = None):
    """x * y, broadcasting."""
    return apply(MULTIPLY, [x, y], name)


def divide(x, y, name: Optional[str] = None):
    """x / y (true division: integer inputs give float64, as numpy and TF1's truediv do)."""
    return apply(DIVIDE, [x, y], name or "truediv")  # TF1's tf.divide is x / y


def power(x, y, name: Optional[str] = None):
    """x ** y, broadcasting."""
    return apply(POWER, [x, y], name)


def maximum(x, y, name: Optional[str] = None):
    """Elementwise max; on ties the gradient is split evenly, as in torch."""
    return apply(MAXIMUM, [x, y], name)


def minimum(x, y, name: Optional[str] = None):
    """Elementwise min; on ties the gradient is split evenly, as in torch."""
    return apply(MINIMUM, [x, y], name)


def negative(x, name: Optional[str] = None):
    return apply(NEGATIVE, [x], name)


def square(x, name: Optional[str] = None):
    return apply(SQUARE, [x], name)


def sqrt(x, name: Optional[str] = None):
    return apply(SQRT, [x], name)


def exp(x, name: Optional[str] = None):
    return apply(EXP, [x], name)


def log(x, name: Optional[str] = None):
    """Natural logarithm."""
    return apply(LOG, [x], name)


def abs(x, name: Optional[str] = None):  # noqa: A001 - TF1's public name
    return apply(ABS, [x], name)


def sign(x, name: Optional[str] = None):
    """-1, 0 or 1 (its gradient is zero)."""
    return apply(SIGN, [x], name)


# -- comparisons -----------------------------------------------------------------------------------
EQUAL = _binary_op("equal", "Equal", np.equal, NOT_DIFFERENTIABLE, infer=_compare, strings=True)
NOT_EQUAL = _binary_op("not_equal", "NotEqual", np.not_equal, NOT_DIFFERENTIABLE, infer=_compare,
                       strings=True)
LESS = _binary_op("less", "Less", np.less, NOT_DIFFERENTIABLE, infer=_compare)
LESS_EQUAL = _binary_op("less_equal", "LessEqual", np.less_equal, NOT_DIFFERENTIABLE,
                        infer=_compare)
GREATER = _binary_op("greater", "Greater", np.greater, NOT_DIFFERENTIABLE, infer=_compare)
GREATER_EQUAL = _binary_op("greater_equal", "GreaterEqual", np.greater_equal, NOT_DIFFERENTIABLE,
                           infer=_compare)


def equal(x, y, name: Optional[str] = None):
    """Elementwise x == y as a bool tensor (Python's == on tensors is identity)."""
    return apply(EQUAL, [x, y], name)


def not_equal(x, y, name: Optional[str] = None):
    return apply(NOT_EQUAL, [x, y], name)


def less(x, y, name: Optional[str] = None):
    return apply(LESS, [x, y], name)


def less_equal(x, y, name: Optional[str] = None):
    return apply(LESS_EQUAL, [x, y], name)


def greater(x, y, name: Optional[str] = None):
    return apply(GREATER, [x, y], name)


def greater_equal(x, y, name: Optional[str] = None):
    return apply(GREATER_EQUAL, [x, y], name)


# -- selection and clipping ------------------------------------------------------------------------
def _where_infer(inputs):
    cond, x, y = inputs
    if cond.dtype != _dt.bool_:
        raise TypeError(f"condition '{cond.op_name}' must be bool, got {cond.dtype.name}")
    return _broadcast_all(inputs), same_dtype([x, y], "x and y")


def _where_grad(node, g):
    cond = node.inputs[0]
    return None, where(cond, g, 0), where(cond, 0, g)


WHERE = register(OpDef("where", tf_type="Select", strings=True, infer=_where_infer,
                       kernel=np.where, grad=_where_grad,
                       broadcasts=True, never_raises=True))


def where(condition, x, y, name: Optional[str] = None):
    """Elementwise `x if condition else y`, broadcasting all three (TF2's where_v2 semantics)."""
    graph = graph_of([condition, x, y])
    like = next((v.dtype for v in (x, y) if isinstance(v, Node)), None)
    condition, x, y = (v if isinstance(v, Node) else convert_to_tensor(v, dt, graph=graph)
                       for v, dt in ((condition, _dt.bool_), (x, like), (y, like)))
    return apply(WHERE, [condition, x, y], name)


def _clip_grad(node, g):
    x, lo, hi = node.inputs
    inside = cast(greater_equal(x, lo), g.dtype) * cast(less_equal(x, hi), g.dtype)
    return g * inside, g * cast(less(x, lo), g.dtype), g * cast(greater(x, hi), g.dtype)


CLIP = register(OpDef("clip_by_value", tf_type="ClipByValue", infer=_binary, kernel=np.clip,
                      grad=_clip_grad,
                      broadcasts=True, inplace=True, never_raises=True))


def clip_by_value(t, clip_value_min, clip_value_max, name: Optional[str] = None):
    """Clamp t to [min, max]; the gradient passes where min <= t <= max (as torch.clamp)."""
    return apply(CLIP, [t, clip_value_min, clip_value_max], name or "clip_by_value")


# -- casts and pass-throughs -----------------------------------------------------------------------
def _cast_infer(inputs, dtype):
    return inputs[0].shape, dtype


def _cast_kernel(x, dtype, out=None):
    if out is None:
        return np.asarray(x).astype(dtype)
    np.copyto(out, x, casting="unsafe")
    return out


def _cast_grad(node, g):
    x = node.inputs[0]
    return (cast(g, x.dtype),) if _dt.is_floating(x.dtype) else (None,)


CAST = register(OpDef("cast", tf_type="Cast", infer=_cast_infer, kernel=_cast_kernel,
                      grad=_cast_grad,
                      never_raises=True))


def cast(x, dtype, name: Optional[str] = None):
    """x converted to dtype (floats to ints truncate toward zero, as numpy's astype)."""
    return apply(CAST, [x], name, dtype=_dt.as_dtype(dtype))


def _identity_kernel(x):
    return x


IDENTITY = register(OpDef("identity", tf_type="Identity", strings=True,
                          never_raises=True, infer=_unary, kernel=_identity_kernel,
                          grad=lambda node, g: (g,), view=True))
STOP_GRADIENT = register(OpDef("stop_gradient", tf_type="StopGradient", strings=True,
                               infer=_unary, kernel=_identity_kernel,
                               grad=no_grad, view=True, never_raises=True))


def identity(x, name: Optional[str] = None):
    return apply(IDENTITY, [x], name)


def stop_gradient(x, name: Optional[str] = None):
    """x in the forward pass; no gradient flows through it."""
    return apply(STOP_GRADIENT, [x], name)


def _like_infer(inputs, dtype):
    return inputs[0].shape, dtype or inputs[0].dtype


def _zeros_like_kernel(x, dtype):
    return np.zeros(x.shape, dtype or x.dtype)


def _ones_like_kernel(x, dtype):
    return np.ones(x.shape, dtype or x.dtype)


ZEROS_LIKE = register(OpDef("zeros_like", tf_type="ZerosLike", infer=_like_infer,
                            kernel=_zeros_like_kernel,
                            grad=no_grad, value_inputs=0,
                            never_raises=True))
ONES_LIKE = register(OpDef("ones_like", tf_type="OnesLike", infer=_like_infer,
                           kernel=_ones_like_kernel,
                           grad=no_grad, value_inputs=0,
                           never_raises=True))


def zeros_like(x, dtype=None, name: Optional[str] = None):
    """Zeros of x's run-time shape (and x's dtype unless one is given)."""
    dtype = None if dtype is None else _dt.as_dtype(dtype)
    return apply(ZEROS_LIKE, [x], name or "zeros_like", dtype=dtype)


def ones_like(x, dtype=None, name: Optional[str] = None):
    """Ones of x's run-time shape (and x's dtype unless one is given)."""
    dtype = None if dtype is None else _dt.as_dtype(dtype)
    return apply(ONES_LIKE, [x], name or "ones_like", dtype=dtype)
