"""Constant folding: evaluate, once, every node whose inputs are all constants.

    before:  c = constant(2) * constant(3);  y = x * c
    after:   c = constant(6);                y = x * c

Inputs read only for their shape (zeros_like, reduction_size, sum_to's `like`) count as constant
once their shape is known, so a gradient seed ones_like(loss) becomes constant(1.0). Never folds
placeholders, variables, fed tensors or stateful ops, and never materializes a result much larger
than its inputs (a scalar broadcast to a big shape stays a cheap broadcast).
"""

import numpy as np

from ..function import Function
from ..ops.core import CONSTANT, constant
from ..shapes import ShapeOf, is_fully_known, num_elements
from .rewrite import fires_anywhere, rewrite

# A folded value may have at most this many elements, or twice its largest constant input.
SMALL = 64


def _arguments(rw, node):
    """The kernel arguments of a node that folding may evaluate, else None: every value input a
    constant, every shape-only input of known shape, the result not much larger than them."""
    op = node.opdef
    if (op.stateful or op.stateful_kernel or not node.inputs or node.control_inputs
            or not is_fully_known(node.shape)):
        return None
    inputs = [rw[i] for i in node.inputs]
    n_values = len(inputs) if op.value_inputs is None else op.value_inputs
    args = []
    for k, x in enumerate(inputs):
        if k < n_values:
            if x.opdef is not CONSTANT:
                return None
            args.append(x.attrs["value"])
        elif is_fully_known(x.shape):
            args.append(ShapeOf(x.shape, x.dtype))
        else:
            return None
    largest = max([a.size for a in args[:n_values]], default=1)
    if num_elements(node.shape) > max(SMALL, 2 * largest):
        return None
    return args


def _fires(rw, node) -> bool:
    return _arguments(rw, node) is not None


def _fold(rw, node):
    args = _arguments(rw, node)
    if args is None:
        return None
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(node.opdef.kernel(*args, **node.attrs))
    except Exception:  # leave it to run time, where the error names the node properly
        return None
    # Made inside the node's name scope (see rewrite), so its own short name keeps its full name.
    return constant(value, dtype=node.dtype, name=node.op_name.rpartition("/")[2], graph=rw.graph)


def changes(fn: Function) -> bool:
    """False where run(fn) would certainly be a plain copy of fn (nothing to fold)."""
    return fires_anywhere(fn, _fires)


def run(fn: Function) -> Function:
    return rewrite(fn, _fold, "fold", _fires)
