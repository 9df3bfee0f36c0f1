"""Algebraic simplification: exact rewrites only, bit for bit. x*0 is NOT turned into 0 (NaN*0 is
NaN), and x + 0.0 is only dropped when the zero is -0.0 (or the dtype an integer): -0.0 + 0.0 is
+0.0, which 1/x tells apart from -0.0. (XLA and grappler drop x + 0.0; we don't.) The one bit
not kept is the sign of a NaN (x * -1 -> -x flips it where the multiplication does not), which
no IEEE comparison or arithmetic result depends on.

    x*1 -> x,  x-0 -> x,  x+(-0) -> x,  x/1 -> x,  -(-x) -> x,  x + (-y) -> x - y,
    transpose(transpose(x)) -> x,  reshape(reshape(x)) -> reshape(x),  identity(x) -> x,
    add_n(x) -> x,  sum over size-1 axes -> reshape (+ 0.0),  and the run-time-shaped helpers of
    autodiff (sum_to, broadcast_like, reshape_like) made static or removed once shapes are known.

Every rule keeps the node's shape and dtype: `x * ones` where the ones would broadcast x to a
bigger shape is left alone.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Dict, List, Union

import numpy as np

from ..function import Function
from ..graph import Node
from ..ops import elementwise as ew
from ..ops import reduce as red
from ..ops import shape as sh
from ..ops.core import CONSTANT, apply
from ..rule_tables import checked
from ..shapes import is_fully_known
from .rewrite import fires_anywhere, rewrite


def _const(x: Node, value) -> bool:
    """x is a constant whose every element equals value."""
    return x.opdef is CONSTANT and bool(np.all(x.attrs["value"] == value))


def _fits(x: Node, node: Node) -> bool:
    """x can stand for node: same shape and dtype."""
    return x.shape == node.shape and x.dtype == node.dtype


def _first(*candidates):
    return next((c for c in candidates if c is not None), None)


def _zero(x: Node, negative: bool) -> bool:
    """x is a constant zero that adding (negative=True: -0.0) or subtracting (+0.0) leaves every
    value as it is, the sign of zero included. For integers any zero will do."""
    if not _const(x, 0):
        return False
    value = x.attrs["value"]
    return value.dtype.kind != "f" or bool(np.all(np.signbit(value) == negative))


def _add(node, x, y):  # x + (-0.0) -> x;  x + (-y) -> x - y;  (-x) + y -> y - x
    # x + (+0.0) is not x: it turns -0.0 into +0.0, which 1/x or signbit can tell apart.
    if _zero(y, negative=True) and _fits(x, node):
        return x
    if _zero(x, negative=True) and _fits(y, node):
        return y
    if y.type == "negative":
        return partial(ew.subtract, x, y.inputs[0])
    if x.type == "negative":
        return partial(ew.subtract, y, x.inputs[0])
    return None


def _subtract(node, x, y):  # x - (+0.0) -> x;  (-0.0) - y -> -y;  x - (-y) -> x + y
    if _zero(y, negative=False) and _fits(x, node):
        return x
    if _zero(x, negative=True) and _fits(y, node):
        return partial(ew.negative, y)
    if y.type == "negative":
        return partial(ew.add, x, y.inputs[0])
    return None


def _multiply(node, x, y):  # x * 1 -> x;  1 * x -> x;  x * -1 -> -x;  (-x) * (-y) -> x * y
    for a, b in ((x, y), (y, x)):
        if _const(b, 1) and _fits(a, node):
            return a
        if _const(b, -1) and _fits(a, node):
            return partial(ew.negative, a)
    if x.type == "negative" and y.type == "negative":
        return partial(ew.multiply, x.inputs[0], y.inputs[0])
    return None


def _divide(node, x, y):  # x / 1 -> x
    return x if _const(y, 1) and _fits(x, node) else None


def _negative(node, x):  # -(-x) -> x;  -((-a) * b) -> a * b;  -(a * (-b)) -> a * b
    if x.type == "negative":
        return x.inputs[0]
    if x.type == "multiply":
        a, b = x.inputs
        if a.type == "negative":
            return partial(ew.multiply, a.inputs[0], b)
        if b.type == "negative":
            return partial(ew.multiply, a, b.inputs[0])
    return None


def _power(node, x, y):  # x ** 1 -> x
    return x if _const(y, 1) and _fits(x, node) else None


def _where(node, cond, x, y):  # where(True, x, y) -> x;  where(False, x, y) -> y
    if cond.opdef is CONSTANT and cond.attrs["value"].size == 1:
        pick = x if cond.attrs["value"].item() else y
        return pick if _fits(pick, node) else None
    return None


def _unbroadcast_operands(node, *inputs):
    """An elementwise op whose operand is broadcast_to(v) while another operand already has the
    full output shape: use v itself (numpy broadcasts it the same way, without the view).
        broadcast_to(c, (32, 10)) * t  ->  c * t         when t is (32, 10)"""
    if not node.opdef.inplace or not any(i.shape == node.shape for i in inputs):
        return None
    if not any(i.type == "broadcast_to" for i in inputs):
        return None
    new = [i.inputs[0] if i.type == "broadcast_to" else i for i in inputs]
    return partial(_rebuild, node, new)


def _rebuild(node, inputs):
    """A node of node's op and attributes on other inputs."""
    return apply(node.opdef, inputs, None, **node.attrs)


def _unary_of_broadcast(node, x):  # f(broadcast_to(v, s)) -> broadcast_to(f(v), s)
    if x.type == "broadcast_to" and node.opdef.inplace:
        return lambda: sh.broadcast_to(_rebuild(node, [x.inputs[0]]), node.shape)
    return None


def _pass_through(node, x, *rest):  # identity(x) -> x;  stop_gradient(x) -> x;  add_n(x) -> x
    return x if not rest and _fits(x, node) else None


def _cast(node, x):  # cast(x, x.dtype) -> x
    return x if _fits(x, node) else None


def _transpose(node, x):  # transpose(x, identity) -> x;  transpose(transpose(x, p), q) -> ...
    if x.shape is None:
        return None
    rank = len(x.shape)
    perm = node.attrs["perm"] or tuple(reversed(range(rank)))  # None: reverse the axes
    if list(perm) == list(range(len(perm))):
        return x
    if x.type == "transpose" and x.inputs[0].shape is not None:
        inner = x.attrs["perm"] or tuple(reversed(range(rank)))
        combined = tuple(inner[p] for p in perm)
        if list(combined) == list(range(len(combined))):
            return x.inputs[0]
        return partial(sh.transpose, x.inputs[0], combined)
    return None


# The reshape-like ops: a chain of them is one reshape of the innermost source.
RESHAPES = checked(frozenset({"reshape", "reshape_like", "expand_dims", "squeeze"}),
                   "simplify.RESHAPES")


def _static_reshape(node, x):
    """Any reshape-like node (reshape, reshape_like, expand_dims, squeeze) with a known result
    shape: x itself if the shape is unchanged, else one static reshape of the innermost source."""
    if not is_fully_known(node.shape):
        return None
    while x.type in RESHAPES:
        x = x.inputs[0]
    if _fits(x, node):
        return x
    # Even a reshape already in its simplest form is built again (named anew), as it always was:
    # the test that meant to skip it compared the old node's input with the new x, never equal.
    return partial(sh.reshape, x, node.shape)


def _reshape_like(node, x, like):
    return _static_reshape(node, x)


def _broadcast_like(node, x, like):  # broadcast_like(x, like) -> x, or a static broadcast_to
    if _fits(x, node):
        return x
    return partial(sh.broadcast_to, x, node.shape) if is_fully_known(node.shape) else None


def _broadcast_to(node, x):
    return x if _fits(x, node) else None


def _sum_to(node, x, like):  # sum_to(x, like) -> x, or a static reduce_sum once shapes are known
    if _fits(x, node):
        return x
    if not (is_fully_known(x.shape) and is_fully_known(node.shape)):
        return None
    lead = len(x.shape) - len(node.shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(node.shape)
                                      if d == 1 and x.shape[lead + i] != 1)
    return partial(_summed, node, x, axes, lead == 0)


def _summed(node, x, axes, keepdims):
    summed = red.reduce_sum(x, axes, keepdims=keepdims)
    return summed if _fits(summed, node) else sh.reshape(summed, node.shape)


def _reduce(node, x):  # a reduction over size-1 axes only is a reshape
    if x.shape is None or node.attrs["axis"] is None or not is_fully_known(node.shape):
        return None
    if not all(x.shape[a] == 1 for a in node.attrs["axis"]):
        return None
    if node.type == "reduce_max" or x.dtype.kind != "f":
        return x if _fits(x, node) else partial(sh.reshape, x, node.shape)
    # numpy's sum of [-0.0] is +0.0 (it starts from 0): adding +0.0 keeps that, still cheaper
    # than a reduction.
    return partial(_plus_zero, node, x)


def _plus_zero(node, x):
    same = x if _fits(x, node) else sh.reshape(x, node.shape)
    return ew.add(same, np.zeros((), x.dtype))


# A rule gives None, a node to use, or a function building the replacement, so that `changes`
# can ask every rule without building anything.
Result = Union[Node, Callable[[], Node], None]
RULES: Dict[str, List[Callable[..., Result]]] = checked({
    "add": [_add], "subtract": [_subtract], "multiply": [_multiply], "divide": [_divide],
    "negative": [_negative, _unary_of_broadcast], "power": [_power], "where": [_where],
    "identity": [_pass_through], "stop_gradient": [_pass_through],
    "add_n": [_pass_through], "cast": [_cast], "transpose": [_transpose],
    "reshape": [_static_reshape], "expand_dims": [_static_reshape],
    "squeeze": [_static_reshape], "reshape_like": [_reshape_like],
    "broadcast_like": [_broadcast_like], "broadcast_to": [_broadcast_to], "sum_to": [_sum_to],
    "reduce_sum": [_reduce], "reduce_mean": [_reduce], "reduce_max": [_reduce],
}, "simplify.RULES")


def _simplify(rw, node):
    inputs = [rw[i] for i in node.inputs]
    for rule in [*RULES.get(node.type, ()), _unbroadcast_operands]:
        new = rule(node, *inputs)
        if callable(new):
            new = new()
        if new is not None and _fits(new, node):
            return new
    return None


def _fires(rw, node) -> bool:
    """Whether some rule applies: it returns a node that fits, or builds one (which might not)."""
    inputs = [rw[i] for i in node.inputs]
    for rule in [*RULES.get(node.type, ()), _unbroadcast_operands]:
        new = rule(node, *inputs)
        if callable(new) or (new is not None and _fits(new, node)):
            return True
    return False


def changes(fn: Function) -> bool:
    """False where run(fn) would certainly be a plain copy of fn (no rule applies)."""
    return fires_anywhere(fn, _fires)


def run(fn: Function) -> Function:
    return rewrite(fn, _simplify, "simplify", _fires)
