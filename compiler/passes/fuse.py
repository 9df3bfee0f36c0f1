"""Elementwise fusion: a chain of elementwise ops whose intermediate values nothing else reads
becomes one `fused` node (compiler/ops/fused.py), which the numpy backend runs as one compiled
loop (numba, where installed): each input read once, the result written once.

    before:  t1 = x + b;  t2 = relu(t1);  t3 = t2 * g          (three passes over memory)
    after:   t3 = fused(x, b, g; %3 = add(%0, %1); %4 = relu(%3); %5 = multiply(%4, %2))

A group grows from a root (an elementwise node whose value is needed outside: by a non-fusable
op, by several ops, or as an output) through inputs that are elementwise, of the root's very
shape, and read by that one group member only. Its leaves may be of the root's shape, size 1
(scalars, constants) or a trailing part of its shape (a bias row). Groups of one op are left
alone. Not in the default pipeline: gf.Session(fuse=True) adds it (numpy backend).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

from ..function import Function
from ..graph import Node
from ..ops.fused import Step, fused
from ..shapes import is_fully_known
from ..traversal import consumers
from .rewrite import Rewriter

# The ops a fused loop computes (compiler/backends/numpy/fused_jit.py has a scalar rule for each).
FUSABLE = frozenset({
    "add", "subtract", "multiply", "divide", "negative", "square", "sqrt", "rsqrt", "exp", "log",
    "log1p", "tanh", "sin", "cos", "abs", "sign", "maximum", "minimum", "relu", "sigmoid",
    "softplus", "where", "clip_by_value", "cast", "equal", "not_equal", "less", "less_equal",
    "greater", "greater_equal", "logical_and", "logical_or", "logical_not",
})


def _fusable(node: Node) -> bool:
    """An elementwise op on numbers (its inputs too: equal on strings gives bools)."""
    return (node.type in FUSABLE and node.dtype is not None and node.dtype.kind in "biuf"
            and all(i.dtype is not None and i.dtype.kind in "biuf" for i in node.inputs)
            and is_fully_known(node.shape) and not node.control_inputs)


def leaf_fits(shape, out_shape) -> bool:
    """A leaf the fused loop can read: the output's shape, size 1, or a trailing part of the
    output's shape (leading 1s aside)."""
    if shape is None or not is_fully_known(shape):
        return False
    trimmed = tuple(shape)
    while trimmed and trimmed[0] == 1:
        trimmed = trimmed[1:]
    if all(d == 1 for d in trimmed):
        return True
    return len(trimmed) <= len(out_shape) and tuple(out_shape[len(out_shape) - len(trimmed):]) \
        == trimmed


def _groups(fn: Function) -> Dict[Node, List[Node]]:
    """root -> its members in topological order (root last), for groups of two ops or more."""
    users = consumers(fn.nodes)
    controls = {c for n in fn.nodes for c in n.control_inputs}
    outputs, taken = set(fn.outputs), set()
    groups: Dict[Node, List[Node]] = {}
    for root in sorted(fn.nodes, key=lambda n: n.id, reverse=True):
        if root in taken or not _fusable(root):
            continue
        members, stack = {root}, [root]
        while stack:
            node = stack.pop()
            for inp in node.inputs:
                if (inp not in members and inp not in taken and inp not in outputs
                        and inp not in controls and _fusable(inp) and inp.shape == root.shape
                        and users.get(inp, []) == [node]):
                    members.add(inp)
                    stack.append(inp)
        leaves = {i for m in members for i in m.inputs if i not in members}
        if len(members) >= 2 and all(leaf_fits(leaf.shape, root.shape) for leaf in leaves):
            groups[root] = sorted(members, key=lambda n: n.id)
            taken |= members
    return groups


def _chain(members: List[Node]) -> Tuple[List[Node], List[Step]]:
    """The group's leaves (in first-use order) and its steps."""
    leaves: List[Node] = []
    for m in members:
        for i in m.inputs:
            if i not in members and i not in leaves:
                leaves.append(i)
    index = {leaf: k for k, leaf in enumerate(leaves)}
    for k, m in enumerate(members):
        index[m] = len(leaves) + k
    steps = [Step(m.type, tuple(index[i] for i in m.inputs), tuple(sorted(m.attrs.items())),
                  m.dtype.name) for m in members]
    return leaves, steps


def changes(fn: Function) -> bool:
    """Whether run(fn) would fuse anything."""
    return bool(_groups(fn))


def run(fn: Function) -> Function:
    groups = _groups(fn)
    inside: Set[Node] = {m for members in groups.values() for m in members[:-1]}
    rw = Rewriter(fn)
    for node in fn.nodes:
        if node in inside:
            continue
        members: Optional[List[Node]] = groups.get(node)
        if members is None:
            rw.new[node] = rw.copy(node)
            continue
        leaves, steps = _chain(members)
        with rw.graph.creation_site(node.site):
            new = fused([rw[leaf] for leaf in leaves], steps, node.shape, node.dtype,
                        name=node.op_name)
        rw.new[node] = new
        rw.origin[new] = "fuse"
        rw.stands_for[new] = fn.user_name(node)
    return rw.finish()
