"""Common subexpression elimination: same op, same inputs, same attributes -> one node.

    before:  a = exp(x);  b = exp(x);  y = a + b
    after:   a = exp(x);               y = a + a

Stateful ops (variables, assignments, placeholders) are never merged. Constants are merged by
value when small.
"""

from ..function import Function
from ..ops.core import CONSTANT
from .rewrite import attr_key, rewrite

# Constants with more elements than this are compared by identity, not by content.
MAX_KEYED_CONSTANT = 4096


def run(fn: Function) -> Function:
    seen = {}

    def merge(rw, node):
        op = node.opdef
        if op.stateful or op.stateful_kernel:
            return None
        if op is CONSTANT and node.attrs["value"].size > MAX_KEYED_CONSTANT:
            return None
        key = (op.name, tuple(id(rw[i]) for i in node.inputs), attr_key(node.attrs),
               tuple(id(rw[c]) for c in node.control_inputs))
        if key not in seen:
            seen[key] = rw.copy(node)
        else:
            rw.origin.setdefault(seen[key], "cse")  # it now stands for a merged duplicate too
        return seen[key]

    return rewrite(fn, merge, "cse")
