"""Symbolic reverse-mode differentiation: gradients are new graph nodes, never numbers, so they can
be differentiated again (Hessians).

    y = sum(tanh(x @ w));  gradients(y, [w])  adds  g1 = ones_like(y); g2 = broadcast_like(g1, t);
    g3 = g2 * (1 - t*t);   gw = matmul(transpose(x), g3)   to the graph and returns [gw].
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Union

from . import dtypes as _dt
from .errors import NoGradientError
from .graph import Node, graph_of
from .opdef import NOT_DIFFERENTIABLE
from .ops.core import convert_to_tensor
from .ops.elementwise import ones_like, zeros_like
from .ops.reduce import add_n
from .ops.shape import concat, expand_dims, reshape, sum_to
from .passes.losses import loss_form
from .passes.stabilize import stable_form
from .shapes import fmt, is_fully_known, num_elements
from .traversal import reachable

TensorOrList = Union[Node, Sequence[Node]]


def _as_list(values, what: str) -> List[Node]:
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    for v in values:
        if not isinstance(v, Node):
            raise TypeError(f"gradients: {what} must be tensors, got {v!r}")
    return values


def _on_path(ys: List[Node], xs: List[Node]) -> set:
    """Float nodes that lie on a path from some x to some y (stop_gradient blocks a path)."""
    # Nodes made before every x cannot depend on one: the walk stops there, so differentiating a
    # small piece on top of a big graph (a stable form's gradient) costs the piece, not the graph.
    first = min((x.id for x in xs), default=0)
    ancestors = reachable([y for y in ys if y.id >= first],
                          lambda node: [i for i in node.inputs if i.id >= first])
    xs_set = set(xs)
    on_path = set()
    for node in sorted(ancestors, key=lambda n: n.id):  # creation order is topological
        if not _dt.is_floating(node.dtype):
            continue
        if node in xs_set or (node.opdef.name != "stop_gradient"
                              and any(i in on_path for i in node.inputs)):
            on_path.add(node)
    return on_path


def _provably_same_shape(a, b) -> bool:
    return is_fully_known(a) and a == b


def gradients(ys: TensorOrList, xs: TensorOrList, grad_ys=None) -> List[Optional[Node]]:
    """Symbolic d(sum of ys)/d(x) for each x in xs, as new graph nodes (TF1's tf.gradients).

    grad_ys, if given, are the gradients flowing into ys (default: ones). The result has one entry
    per x, None where ys do not depend on that x. Gradients of broadcast inputs are summed back to
    the input's shape (at run time where shapes hold None). Integer and bool tensors get none.
    """
    ys, xs = _as_list(ys, "ys"), _as_list(xs, "xs")
    graph = graph_of(ys + xs)
    if grad_ys is None:
        grad_ys = [None] * len(ys)
    grad_ys = list(grad_ys) if isinstance(grad_ys, (list, tuple)) else [grad_ys]
    if len(grad_ys) != len(ys):
        raise ValueError(f"gradients: {len(grad_ys)} grad_ys for {len(ys)} ys")
    on_path = _on_path(ys, xs)
    xs_set = set(xs)
    pending: Dict[Node, List[Node]] = {}
    done: Dict[Node, Node] = {}
    with graph.name_scope("gradients"):
        for y, gy in zip(ys, grad_ys):
            if y not in on_path:
                continue
            gy = ones_like(y) if gy is None else convert_to_tensor(gy, y.dtype, graph=graph)
            pending.setdefault(y, []).append(gy)
        for node in sorted(on_path, key=lambda n: n.id, reverse=True):
            if node not in pending:
                continue
            parts = pending.pop(node)
            g = parts[0] if len(parts) == 1 else add_n(parts)
            done[node] = g
            if not any(i in on_path for i in node.inputs):
                continue
            for inp, gi, broadcasts in _input_grads(node, g, xs_set):
                if gi is None or inp not in on_path:
                    continue
                if broadcasts and not _provably_same_shape(gi.shape, inp.shape):
                    gi = sum_to(gi, inp)
                pending.setdefault(inp, []).append(gi)
    return [done.get(x) for x in xs]


def _interior(node: Node, leaves) -> set:
    """The nodes of a pattern rooted at `node`, between it and its leaves."""
    start = [] if node.inputs[0] in leaves else [node.inputs[0]]
    return reachable(start, lambda n: [i for i in n.inputs if i not in leaves])


def _input_grads(node: Node, g: Node, xs: set):
    """(input, its gradient, whether it may need summing back to the input's shape) for each
    input of `node`. An unstable pattern (log(sigmoid(x)), ...) or a hand-written loss (binary
    cross-entropy on sigmoid outputs) is differentiated through its stable, fused form, straight
    to the pattern's leaf inputs — unless a gradient is asked for one of the pattern's inner
    tensors (the sigmoid itself), which then must get one."""
    stable = loss_form(node) or stable_form(node)
    if stable is not None and not _interior(node, stable[0]) & xs:
        leaves, build = stable
        return zip(leaves, gradients(build(*leaves), list(leaves), grad_ys=[g]),
                   [True] * len(leaves))
    return zip(node.inputs, _rule_grads(node, g), [node.opdef.broadcasts] * len(node.inputs))


def _rule_grads(node: Node, g: Node):
    rule = node.opdef.grad
    if rule is NOT_DIFFERENTIABLE:
        raise NoGradientError(
            f"op {node.describe()} has no gradient, but a gradient was asked through it; "
            f"wrap its input in gf.stop_gradient if no gradient should flow there")
    grads = tuple(rule(node, g))
    if len(grads) != len(node.inputs):
        raise AssertionError(f"gradient rule of {node.opdef.name} returned {len(grads)} "
                             f"gradients for {len(node.inputs)} inputs")
    return grads


def hessians(ys: TensorOrList, xs: TensorOrList) -> List[Optional[Node]]:
    """Second derivatives of sum(ys) for each x: a tensor of shape x.shape + x.shape (TF1's
    tf.hessians), built by differentiating each entry of the gradient again. Needs x's shape known.
    """
    xs = _as_list(xs, "xs")
    out = []
    for x in xs:
        (g,) = gradients(ys, [x])
        if g is None:
            out.append(None)
            continue
        n = num_elements(x.shape)
        if n is None:
            raise ValueError(f"hessians: the shape of '{x.op_name}' {fmt(x.shape)} must be fully "
                             f"known (it sets the number of gradient rows)")
        flat = reshape(g, (-1,))
        rows = []
        for i in range(n):
            (row,) = gradients(flat[i], [x])
            rows.append(expand_dims(zeros_like(x) if row is None else row, 0))
        out.append(reshape(concat(rows, 0), tuple(x.shape) * 2))
    return out
