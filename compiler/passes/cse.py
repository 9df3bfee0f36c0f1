"""Common subexpression elimination: same op, same inputs, same attributes -> one node.

    before:  a = exp(x);  b = exp(x);  y = a + b
    after:   a = exp(x);               y = a + a

Stateful ops (variables, assignments, placeholders) are never merged. Constants are merged by
value when small.
"""

from ..function import Function
from ..ops.core import CONSTANT
from .rewrite import SAME, Rewriter, attr_key

# Constants with more elements than this are compared by identity, not by content.
MAX_KEYED_CONSTANT = 4096


def _key(rw, node, inputs):
    """What makes two nodes the same computation, or None for a node never merged."""
    op = node.opdef
    if node in inputs or node.control_inputs or op.stateful or op.stateful_kernel:
        return None  # inputs, nodes ordered after other work and stateful ops stay as they are
    if op is CONSTANT and node.attrs["value"].size > MAX_KEYED_CONSTANT:
        return None
    return op.name, tuple(id(rw[i]) for i in node.inputs), attr_key(node.attrs)


def changes(fn: Function) -> bool:
    """Whether run(fn) would merge anything: two nodes of fn itself with the same key."""
    inputs, seen = set(fn.inputs), set()
    for node in fn.nodes:
        key = _key(SAME, node, inputs)
        if key is not None:
            if key in seen:
                return True
            seen.add(key)
    return False


def run(fn: Function) -> Function:
    rw = Rewriter(fn)
    inputs, seen = set(fn.inputs), {}
    for node in fn.nodes:
        key = _key(rw, node, inputs)
        if key in seen:
            rw.new[node] = seen[key]
            rw.origin.setdefault(seen[key], "cse")  # it now stands for a merged duplicate too
            continue
        rw.new[node] = rw.copy(node)
        if key is not None:
            seen[key] = rw.new[node]
    return rw.finish()
