"""The optimization pipeline: one module per pass, each a pure function Function -> Function,
run in this order, round after round, until nothing changes (at most MAX_ROUNDS rounds)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

from ..function import Function
from . import cse, fold, prune, simplify, stabilize
from .check import check_graph
from .rewrite import signature

PIPELINE: Tuple[Tuple[str, Callable[[Function], Function]], ...] = (
    ("prune", prune.run),
    ("fold", fold.run),
    ("cse", cse.run),
    ("simplify", simplify.run),
    ("stabilize", stabilize.run),
)
PASS_NAMES = tuple(name for name, _ in PIPELINE)
MAX_ROUNDS = 4


@dataclass
class PassRecord:
    """One pass applied once: its name, the round, node counts before/after, seconds taken."""

    name: str
    round: int
    before: int
    after: int
    seconds: float


def optimize(fn: Function, passes: Optional[Sequence[str]] = None, check: bool = False
             ) -> Tuple[Function, List[PassRecord]]:
    """Run the named passes (default: all, in pipeline order) until a round changes nothing.

    `check=True` runs check_graph after every pass. Returns the optimized function and what each
    pass did.
    """
    chosen = PASS_NAMES if passes is None else tuple(passes)
    unknown = [p for p in chosen if p not in PASS_NAMES]
    if unknown:
        raise ValueError(f"unknown pass(es) {unknown}; the passes are {list(PASS_NAMES)}")
    records: List[PassRecord] = []
    if check:
        check_graph(fn)
    for round_ in range(1, MAX_ROUNDS + 1):
        start = signature(fn)
        for name, run in PIPELINE:
            if name not in chosen:
                continue
            t0 = time.perf_counter()
            out = run(fn)
            records.append(PassRecord(name, round_, len(fn.nodes), len(out.nodes),
                                      time.perf_counter() - t0))
            if check:
                check_graph(out, after=name)
            fn = out
        if signature(fn) == start:
            break
    return fn, records


__all__ = ["PIPELINE", "PASS_NAMES", "optimize", "check_graph", "PassRecord"]
