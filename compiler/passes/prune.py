"""Dead-node pruning: keep only what the outputs need, stopping at the inputs.

    before:  a = x + 1;  b = x * 2;  outputs = [b]
    after:   b = x * 2;  outputs = [b]
"""

from ..function import Function
from ..traversal import plan
from .rewrite import Rewriter


def _live(fn: Function) -> set:
    return set(plan(fn.outputs, fn.inputs)) | set(fn.inputs)


def changes(fn: Function) -> bool:
    """Whether run(fn) would drop a node."""
    return len(_live(fn)) != len(fn.nodes)


def run(fn: Function) -> Function:
    live = _live(fn)
    rw = Rewriter(fn)
    for node in fn.nodes:
        if node in live:
            rw.new[node] = rw.copy(node)
    return rw.finish()
