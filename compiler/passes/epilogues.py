"""BLAS epilogues: a variable update whose delta is a scaled matrix product becomes one GEMM that
adds into the variable (BLAS computes C = alpha * op(A) op(B) + beta * C, and C may be W itself).

    before:  g = matmul(transpose(x), d);  s = multiply(0.1, g);  W -= s
             (the product into a buffer, a pass scaling it, a pass subtracting it from W)
    after:   W = matmul_accumulate(W, transpose(x), d, alpha=-0.1, beta=1)
             (one GEMM reading x and d and updating W; the transpose is a GEMM flag)

Fires on `assign_sub` / `assign_add` of `matmul(a, b)` or of `c * matmul(a, b)` (either order)
where c is a constant scalar (SGD's learning rate), and on `assign(v, mu * v + matmul(a, b))`
(momentum's buffer, written by that update only: beta = mu), where a and b are float matrices of
the variable's dtype, neither of them a variable, and the product and the arithmetic around it
are read by that update only. The update's result keeps its meaning (the variable's new value).
The numbers are those of the unfused ops to rounding: the scaling happens inside the GEMM's
accumulation instead of after it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..function import Function
from ..graph import Node
from ..ops.core import CONSTANT
from ..ops.linalg import MATMUL_ACCUMULATE
from ..ops.state import VARIABLE
from ..planning import storage_roots
from ..shapes import is_fully_known
from ..traversal import consumers
from .rewrite import Rewriter

_SIGN = {"assign_sub": -1.0, "assign_add": 1.0}


@dataclass(frozen=True)
class Found:
    """An update the pass replaces: var = beta * var + alpha * (a @ b), and the nodes that go."""

    var: Node
    a: Node
    b: Node
    alpha: float
    beta: float
    replaced: Tuple[Node, ...]


def _scalar_constant(node: Node) -> Optional[float]:
    if node.opdef is not CONSTANT:
        return None
    value = np.asarray(node.attrs["value"])
    if value.size != 1 or value.dtype.kind != "f":
        return None
    return float(value.reshape(()))


def _product(delta: Node, users: Dict[Node, List[Node]], hidden: set
             ) -> Optional[Tuple[Node, float]]:
    """(the matmul, its scale) of `delta` = matmul or c * matmul, or None."""
    scale = 1.0
    if delta.type == "multiply":
        for c, m in (delta.inputs, delta.inputs[::-1]):
            found = _scalar_constant(c)
            if found is not None and m.type == "matmul" and m.shape == delta.shape:
                scale, delta = found, m
                break
        else:
            return None
    if delta.type != "matmul" or len(users.get(delta, [])) != 1 or delta in hidden:
        return None
    return delta, scale


def _momentum(node: Node, users, hidden) -> Optional[Tuple[Node, Node, float]]:
    """(the matmul, beta, the other nodes replaced) of assign(var, beta * var + matmul(a, b))
    (either order of each operation), or None."""
    var, value = node.inputs
    if value.type != "add" or value in hidden or len(users.get(value, [])) != 1:
        return None
    for scaled, product in (value.inputs, value.inputs[::-1]):
        if (scaled.type != "multiply" or scaled in hidden or len(users.get(scaled, [])) != 1
                or product.type != "matmul" or product in hidden
                or len(users.get(product, [])) != 1):
            continue
        for c, v in (scaled.inputs, scaled.inputs[::-1]):
            beta = _scalar_constant(c)
            if beta is not None and v is var and scaled.shape == var.shape:
                return product, beta, (value, scaled)
    return None


def match(node: Node, users: Dict[Node, List[Node]], hidden: set, roots: Dict[Node, Node],
          writes: Dict[Node, int]) -> Optional[Found]:
    """What `node` becomes if it is an update the pass turns into one GEMM, else None.
    `hidden`: nodes read as outputs or control inputs (they must stay); `roots`: each node's
    storage root (planning.storage_roots); `writes`: how many updates write each variable."""
    if node.type not in _SIGN and node.type != "assign" or node.control_inputs:
        return None
    var, delta = node.inputs
    if (delta in hidden or len(users.get(delta, [])) != 1 or var.dtype is None
            or var.dtype.kind != "f" or not is_fully_known(var.shape) or len(var.shape) != 2
            or delta.shape != var.shape or 0 in var.shape):
        return None
    if node.type == "assign":  # momentum: buf = mu * buf + grad, buf written here only
        found = _momentum(node, users, hidden) if writes.get(var, 0) == 1 else None
        if found is None:
            return None
        product, beta, extra = found
        alpha = 1.0
    else:
        found = _product(delta, users, hidden)
        if found is None:
            return None
        product, scale = found
        alpha, beta, extra = _SIGN[node.type] * scale, 1.0, (delta,)
    a, b = product.inputs
    if not (a.dtype == b.dtype == var.dtype and len(a.shape) == 2 and len(b.shape) == 2):
        return None
    if any(roots[x].opdef is VARIABLE for x in (a, b)):
        return None  # the GEMM runs where the update does: a variable read must not move there
    return Found(var, a, b, alpha, beta, tuple(dict.fromkeys(extra + (product,))))


def _context(fn: Function):
    users = consumers(fn.nodes)
    hidden = set(fn.outputs) | {c for n in fn.nodes for c in n.control_inputs}
    roots = storage_roots(fn.nodes)
    writes = Counter(roots[n.inputs[0]] for n in fn.nodes if n.opdef.updates)
    return users, hidden, roots, writes


def changes(fn: Function) -> bool:
    """Whether run(fn) would turn any update into a GEMM."""
    context = _context(fn)
    return any(match(n, *context) for n in fn.nodes)


def run(fn: Function) -> Function:
    context = _context(fn)
    found = {n: m for n in fn.nodes if (m := match(n, *context)) is not None}
    inside = {d for m in found.values() for d in m.replaced}
    rw = Rewriter(fn)
    for node in fn.nodes:
        if node in inside:
            continue
        if node not in found:
            rw.new[node] = rw.copy(node)
            continue
        m = found[node]
        new = rw.graph.add_node(MATMUL_ACCUMULATE, [rw[m.var], rw[m.a], rw[m.b]],
                                {"alpha": m.alpha, "beta": m.beta}, name=node.op_name,
                                site=node.site)
        rw.new[node] = new
        rw.origin[new] = "epilogues"
        rw.stands_for[new] = fn.user_name(node)
    return rw.finish()
