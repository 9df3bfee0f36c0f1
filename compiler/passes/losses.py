"""Loss patterns: a binary cross-entropy written by hand on sigmoid outputs becomes TF's fused,
stable loss op.

    y * log(sigmoid(z)) + (1 - y) * log(1 - sigmoid(z))
        ->  -sigmoid_cross_entropy_with_logits(labels=y, logits=z)

(either operand order of the + and of each *). The fused op is finite where the naive form
gives log(0) = -inf, equal to it to rounding where both are finite, and one statement instead
of about ten; its gradient is sigmoid(z) - y, so autodiff (which asks `loss_form` as it asks
stabilize's `stable_form`) builds the hand-written loss's gradient in three statements instead of
about a dozen, as TF's fused ops do when the user calls them. The softmax cross-entropy needs no
pattern of its own: log(softmax(z)) is stabilize's log_softmax, whose gradient is already
g - softmax(z) * sum(g).
"""

from __future__ import annotations

from typing import Optional, Tuple

from ..function import Function
from ..graph import Node
from ..ops.elementwise import negative
from ..ops.nn import sigmoid_cross_entropy_with_logits
from .rewrite import fires_anywhere, rewrite
from .stabilize import Match, is_one


def _term(node: Node, kind: str) -> Optional[Tuple[Node, Node]]:
    """(y, z) of y * log(sigmoid(z)) (kind 'p'), or (1 - y, z) of (1 - y) * log(1 - sigmoid(z))
    (kind 'q'), in either operand order; None otherwise."""
    if node.type != "multiply":
        return None
    for weight, log in (node.inputs, node.inputs[::-1]):
        if log.type != "log":
            continue
        inner = log.inputs[0]
        if kind == "p" and inner.type == "sigmoid":
            return weight, inner.inputs[0]
        if (kind == "q" and inner.type == "subtract" and is_one(inner.inputs[0])
                and inner.inputs[1].type == "sigmoid"):
            return weight, inner.inputs[1].inputs[0]
    return None


def loss_form(node: Node) -> Optional[Match]:
    """If `node` is the hand-written binary cross-entropy sum (module docstring): its leaves
    (y, z) and a function building -sigmoid_cross_entropy_with_logits(y, z) from them."""
    if node.type != "add" or node.dtype is None or node.dtype.kind != "f":
        return None
    for a, b in (node.inputs, node.inputs[::-1]):
        p, q = _term(a, "p"), _term(b, "q")
        if p is None or q is None:
            continue
        (y, z), (one_minus_y, z2) = p, q
        if (z2 is z and one_minus_y.type == "subtract" and is_one(one_minus_y.inputs[0])
                and one_minus_y.inputs[1] is y and y.shape == z.shape == node.shape
                and y.dtype == z.dtype):
            return (y, z), lambda labels, logits: negative(
                sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    return None


def _fuse(rw, node):
    found = loss_form(node)
    if found is None:
        return None
    leaves, build = found
    return build(*[rw[leaf] for leaf in leaves])


def _fires(rw, node) -> bool:
    return loss_form(node) is not None


def changes(fn: Function) -> bool:
    """False where run(fn) would certainly be a plain copy of fn (no loss pattern)."""
    return fires_anywhere(fn, _fires)


def run(fn: Function) -> Function:
    return rewrite(fn, _fuse, "losses", _fires)
