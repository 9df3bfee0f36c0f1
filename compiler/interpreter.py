"""The reference interpreter: run the numpy kernel of each needed node in topological order.

Kept simple and obviously correct on purpose: it is the oracle the compiled path is tested against.
"""

from __future__ import annotations

from typing import Dict, List

import numpy as np

from . import dtypes as _dt
from . import interrupts, numerics
from .errors import FeedError, GraphflowError, OpError
from .graph import Node
from .shapes import compatible, fmt
from .store import Run, VariableStore
from .traversal import plan


def execute(order: List[Node], feeds: Dict[Node, np.ndarray], store: VariableStore,
            check_numerics: bool = False) -> Dict[Node, object]:
    """Run the nodes of `order` given the fed values; returns every computed value by node.
    Variable writes are committed only if every node ran; a run that raises (KeyboardInterrupt
    included) changes no variable and no random stream. With check_numerics, the first node
    whose value holds inf or NaN stops the run (NumericsError)."""
    values: Dict[Node, object] = dict(feeds)
    run = store.begin()
    with store.lock:
        mark = interrupts.depth()
        try:
            with np.errstate(all="ignore"):  # inf/NaN come back as values, as in TF
                for node in order:
                    if node not in values:
                        args = [values[i] for i in node.inputs]
                        values[node] = _run_node(node, args, run)
                        if check_numerics and node.dtype is not None:
                            numerics.check(values[node], node, node.op_name,
                                           [(i.op_name, a) for i, a in zip(node.inputs, args)])
            interrupts.hold()  # publishing may take several steps (a torch store)
            run.commit()
        except BaseException:
            interrupts.hold()
            run.rollback()
            raise
        finally:
            interrupts.release(mark)
    return values


def evaluate(tensor: Node, store: VariableStore) -> np.ndarray:
    """The value of a tensor that needs no feeds (a variable's initial value), computed without
    committing or discarding the writes of a run in progress."""
    order = plan([tensor], ())
    missing = [n.op_name for n in order if n.type == "placeholder"]
    if missing:
        raise FeedError(f"the initial value '{tensor.op_name}' depends on placeholder(s) "
                        f"{missing}; "
                        f"a variable's initial value cannot be fed")
    values: Dict[Node, object] = {}
    run = Run(store)  # its own: never committed, and the run in progress is left alone
    with np.errstate(all="ignore"):
        for node in order:
            values[node] = _run_node(node, [values[i] for i in node.inputs], run)
    return values[tensor]


def _run_node(node: Node, args: list, run: Run):
    opdef = node.opdef
    try:
        if opdef.stateful_kernel:
            out = opdef.kernel(run, node, *args)
        else:
            out = opdef.kernel(*args, **node.attrs)
    except GraphflowError:
        raise
    except Exception as exc:
        shapes = ", ".join(f"'{i.op_name}' {np.shape(a)}" for i, a in zip(node.inputs, args))
        raise OpError(f"{node.describe()} failed: {type(exc).__name__}: {exc}"
                      f"{'; inputs: ' + shapes if shapes else ''}") from exc
    if node.dtype is None:
        return None
    # A string kernel may hand back a bare bytes, which np.asarray would make an 'S' array.
    out = np.asarray(out, dtype=object) if _dt.is_string(node.dtype) else np.asarray(out)
    if out.dtype != node.dtype or not compatible(node.shape, out.shape):
        raise OpError(f"internal error: kernel of {node.describe()} returned {out.dtype.name} "
                      f"{out.shape}, but its shape rule said {node.dtype.name} {fmt(node.shape)}")
    return out
