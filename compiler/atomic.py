"""Atomic runs: a run that raises, for any reason, changes no variable and no random stream.

How the compiled path keeps that promise (the interpreter stages its writes instead):

- Generated code updates variables in place. A variable written before a statement that can
  raise is copied before the run and put back if the run fails (undo_list).
- "Can raise" is the default: a statement is known not to raise only where its op says so
  (OpDef.never_raises) for the node's shapes and dtypes, its shapes are all fully known (so they
  were checked when compiling), and it allocates nothing large (its output lives in a planned
  buffer, is a view, or is small). An op nobody vouched for costs a copy, never a broken step.
  With check_numerics every statement can raise, an update included (its check comes after it).
- Ctrl-C: from the first in-place write to the end of the run, SIGINT is held and delivered
  when the run is over (compiler/interrupts.py), so a KeyboardInterrupt never lands between two
  writes; arriving earlier, it stops the run before anything was written.
- Random streams: each run draws through a Run (interpreter.py) that keeps the state of every
  stream before its first draw and puts it back if the run fails.

A training step (updates last, only arithmetic in planned buffers after them) needs no copies.
"""

from __future__ import annotations

from typing import Dict, List, Set, Tuple

from .graph import Node
from .planning import SOURCES, is_update, value_inputs
from .shapes import is_fully_known, num_elements

SMALL_OUTPUT_BYTES = 1 << 16  # allocating this little is not counted as a way to fail


def can_raise(node: Node, check_numerics: bool, planned: Set[Node]) -> bool:
    """Whether the statement computing `node` might raise (see the module docstring)."""
    if node.opdef in SOURCES or node.dtype is None:
        return False  # sources and groups are no statement of their own
    if check_numerics:
        return True
    vouched = node.opdef.never_raises
    if callable(vouched):
        vouched = vouched(node)
    if not vouched:
        return True
    inputs = value_inputs(node)
    if not is_fully_known(node.shape) or not all(is_fully_known(i.shape) for i in inputs):
        return True  # sizes are checked at run time
    if node in planned or node.opdef.view or is_update(node):
        return False
    return num_elements(node.shape) * node.dtype.itemsize > SMALL_OUTPUT_BYTES


def write_positions(order: List[Node], roots: Dict[Node, Node],
                    direct: Dict[Node, Node]) -> Dict[Node, int]:
    """Each variable written in place -> the position of the first statement writing it (an
    update, or a value computed straight into the variable)."""
    first: Dict[Node, int] = {}
    for p, n in enumerate(order):
        var = roots[n.inputs[0]] if is_update(n) else direct.get(n)
        if var is not None and var not in first:
            first[var] = p
    return first


def undo_list(order: List[Node], var_nodes: Tuple[Node, ...], roots: Dict[Node, Node],
              check_numerics: bool, direct: Dict[Node, Node], planned: Set[Node]
              ) -> Tuple[int, ...]:
    """Indices (in var_nodes) of the variables to copy before a run: those written in place at
    or before a statement that can raise."""
    last = max((p for p, n in enumerate(order) if can_raise(n, check_numerics, planned)),
               default=-1)
    written = write_positions(order, roots, direct)
    return tuple(i for i, v in enumerate(var_nodes) if written.get(v, last + 1) <= last)

