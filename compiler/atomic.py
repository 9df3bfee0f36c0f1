"""Atomic runs: which variables generated code copies first, so that a failed run can undo its
in-place updates."""

from __future__ import annotations

from typing import Dict, List, Tuple

from .graph import Node
from .planning import SOURCES, is_update
from .shapes import num_elements

_EMPTY_FAILS = ("reduce_max", "reduce_min", "argmax", "argmin")  # no identity: empty raises


def _can_fail(node: Node, check_numerics: bool) -> bool:
    """Whether running this node's statement can raise although the shapes are right."""
    if node.opdef.may_fail or (check_numerics and node.dtype is not None):
        return True
    return node.type in _EMPTY_FAILS and num_elements(node.inputs[0].shape) == 0


def undo_list(order: List[Node], var_nodes: Tuple[Node, ...], roots: Dict[Node, Node],
          check_numerics: bool, direct: Dict[Node, Node]):
    """Indices (in var_nodes) of the variables a failure could leave half-updated: those updated
    in place before a node that can raise. A training step (updates last, or only arithmetic
    after them) needs none, so it pays for no copies."""
    last_fallible = max((p for p, n in enumerate(order) if n.opdef not in SOURCES
                         and not is_update(n) and _can_fail(n, check_numerics)), default=-1)
    if last_fallible < 0:
        return ()
    early = {roots[n] for n in order[:last_fallible] if is_update(n)}
    early |= {var for n, var in direct.items() if n in order[:last_fallible]}
    return tuple(i for i, v in enumerate(var_nodes) if v in early)
