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
Where no memory is planned (the torch backend), stage_assigns lets what reads an assignment's
result (Adam's new moments) read the assigned value instead, so every write can wait for the end
of the step and no copies are needed there either.
"""

from __future__ import annotations

from collections import Counter
from typing import Dict, List, Set, Tuple

import numpy as np

from .function import Function, copy_node
from .graph import Graph, Node
from .ops.core import constant
from .ops.elementwise import ADD, MULTIPLY, SUBTRACT
from .ops.linalg import MATMUL
from .ops.state import ASSIGN
from .planning import SOURCES, is_update, storage_roots, value_inputs
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



def stage_assigns(fn: Function) -> Function:
    """`fn` with each value read of an update's result (the variable's new value) reading a value
    computed beside the variable instead: an `assign`'s value where it owns its storage (not a
    variable or a view of one), and `var + delta` for the only `assign_add` (`assign_sub`) of
    its variable, which then becomes an `assign` of that sum. The same numbers, but no write has
    to come before its readers, so the schedule puts every write at the end. For backends without
    planned memory (torch), whose arithmetic allocates and so could fail after an early write."""
    roots = storage_roots(fn.nodes)
    writes = Counter(roots[n.inputs[0]] for n in fn.nodes if is_update(n))
    read = {i for n in fn.nodes if n.dtype is not None for i in value_inputs(n)}  # not groups
    staged = [n for n in fn.nodes if n in read and (
        (n.type == "assign" and roots[n.inputs[1]] is n.inputs[1]
         and n.inputs[1].opdef not in SOURCES)
        or (n.type in _ACCUMULATE and writes[roots[n.inputs[0]]] == 1)
        or (n.type == "matmul_accumulate" and writes[roots[n.inputs[0]]] == 1))]
    if not staged:
        return fn
    staged, graph, new = set(staged), Graph(), {}
    value: Dict[Node, Node] = {}  # a staged update -> its value in the new graph
    for n in fn.nodes:
        count = len(value_inputs(n))
        inputs = [value[i] if k < count and i in value else new[i]
                  for k, i in enumerate(n.inputs)]
        controls = [new[c] for c in n.control_inputs]
        if n in staged and n.type in _ACCUMULATE:
            total = graph.add_node(_ACCUMULATE[n.type], inputs, {}, site=n.site,
                                   name=f"{n.op_name}/value", control_inputs=controls)
            new[n] = graph.add_node(ASSIGN, [inputs[0], total], {}, name=n.op_name, site=n.site)
            value[n] = total
        elif n in staged and n.type == "matmul_accumulate":
            total = _accumulated(graph, n, inputs, controls)
            new[n] = graph.add_node(ASSIGN, [inputs[0], total], {}, name=n.op_name, site=n.site)
            value[n] = total
        else:
            new[n] = copy_node(graph, n, inputs, control_inputs=controls)
            if n in staged:
                value[n] = inputs[1]
    return Function(graph, tuple(new[n] for n in fn.inputs), tuple(new[n] for n in fn.outputs),
                    {new[n]: o for n, o in fn.origin.items() if n in new},
                    {new[n]: s for n, s in fn.stands_for.items() if n in new})


_ACCUMULATE = {"assign_add": ADD, "assign_sub": SUBTRACT}


def _accumulated(graph: Graph, n: Node, inputs, controls) -> Node:
    """beta * var + alpha * (a @ b), the value a staged matmul_accumulate assigns."""
    var, a, b = inputs
    scaled = []
    for factor, operand in ((n.attrs["beta"], var),
                            (n.attrs["alpha"], graph.add_node(MATMUL, [a, b], {}, site=n.site,
                                                              name=f"{n.op_name}/product"))):
        if factor != 1.0:
            c = constant(np.asarray(factor, n.dtype), graph=graph)
            operand = graph.add_node(MULTIPLY, [c, operand], {}, site=n.site,
                                     name=f"{n.op_name}/scaled")
        scaled.append(operand)
    return graph.add_node(ADD, scaled, {}, site=n.site, name=f"{n.op_name}/value",
                          control_inputs=controls)
