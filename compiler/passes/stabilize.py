"""Numerical stabilization: rewrite unstable patterns users write by hand into stable ones.

    log(softmax(x))      -> log_softmax(x)
    log(sigmoid(x))      -> -softplus(-x)
    log(1 - sigmoid(x))  -> -softplus(x)
    log(1 + exp(x))      -> softplus(x)
    log(exp(x))          -> x

So a hand-written binary cross-entropy on sigmoid outputs stays finite on saturated units, where
the naive graph gives log(0) = -inf. The same table is used by autodiff (`stable_form`): the
gradient of log(sigmoid(x)) is built from -softplus(-x), never as (1/s) * s * (1-s), which is
0 * inf = NaN once s underflows.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

from ..function import Function
from ..graph import Node
from ..ops.core import CONSTANT
from ..ops.elementwise import negative
from ..ops.nn import log_softmax, softplus
from ..rule_tables import checked
from .rewrite import fires_anywhere, rewrite

Match = Tuple[Tuple[Node, ...], Callable[..., Node]]


def is_one(x: Node) -> bool:
    return x.opdef is CONSTANT and x.attrs["value"].size == 1 and x.attrs["value"].item() == 1


def _log_of_softmax(s: Node) -> Match:  # log(softmax(x)) -> log_softmax(x)
    return (s.inputs[0],), lambda x: log_softmax(x, s.attrs["axis"])


def _log_of_sigmoid(s: Node) -> Match:  # log(sigmoid(x)) -> -softplus(-x)
    return (s.inputs[0],), lambda x: negative(softplus(negative(x)))


def _log_of_one_minus_sigmoid(s: Node) -> Optional[Match]:  # log(1 - sigmoid(x)) -> -softplus(x)
    if is_one(s.inputs[0]) and s.inputs[1].type == "sigmoid":
        return (s.inputs[1].inputs[0],), lambda x: negative(softplus(x))
    return None


def _log_of_one_plus_exp(s: Node) -> Optional[Match]:  # log(1 + exp(x)) -> softplus(x)
    for one, e in (s.inputs, s.inputs[::-1]):
        if is_one(one) and e.type == "exp":
            return (e.inputs[0],), softplus
    return None


def _log_of_exp(s: Node) -> Match:  # log(exp(x)) -> x
    return (s.inputs[0],), lambda x: x


# log(s): the pattern to try, keyed by the op of s.
LOG_OF: Dict[str, Callable[[Node], Optional[Match]]] = checked({
    "softmax": _log_of_softmax, "sigmoid": _log_of_sigmoid,
    "subtract": _log_of_one_minus_sigmoid, "add": _log_of_one_plus_exp, "exp": _log_of_exp,
}, "stabilize.LOG_OF")


def stable_form(node: Node) -> Optional[Match]:
    """If `node` is an unstable pattern: (its leaf inputs, a function building the stable
    replacement from them). The replacement has node's shape and dtype."""
    if node.type != "log":
        return None
    pattern = LOG_OF.get(node.inputs[0].type)
    found = None if pattern is None else pattern(node.inputs[0])
    if found is not None and found[0][0].shape == node.shape:
        return found
    return None


def _stabilize(rw, node):
    found = stable_form(node)
    if found is None:
        return None
    leaves, build = found
    return build(*[rw[leaf] for leaf in leaves])


def _fires(rw, node) -> bool:
    return stable_form(node) is not None


def changes(fn: Function) -> bool:
    """False where run(fn) would certainly be a plain copy of fn (no unstable pattern)."""
    return fires_anywhere(fn, _fires)


def run(fn: Function) -> Function:
    return rewrite(fn, _stabilize, "stabilize", _fires)
