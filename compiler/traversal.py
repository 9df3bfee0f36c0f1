"""Walking the IR: what a set of fetches needs. Iterative (deep graphs would pass Python's
recursion limit), and shared by the interpreter, extract, the prune pass, Session and viz."""

from __future__ import annotations

from typing import Iterable, List

from .graph import Node

__all__ = ["plan"]


def plan(fetches: Iterable[Node], fed: Iterable[Node]) -> List[Node]:
    """The nodes needed to compute `fetches`, in a topological order, stopping at fed tensors."""
    fed = set(fed)
    needed, stack = set(), list(fetches)
    while stack:
        node = stack.pop()
        if node in needed:
            continue
        needed.add(node)
        if node not in fed:
            stack.extend(node.inputs)
            stack.extend(node.control_inputs)
    return sorted(needed, key=lambda n: n.id)  # creation order is topological
