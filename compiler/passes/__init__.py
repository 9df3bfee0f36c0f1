"""The optimization pipeline: one module per pass, each a pure function Function -> Function,
run in this order, round after round, until nothing changes (at most MAX_ROUNDS rounds).

Each pass also has a cheap test, `changes(fn)`: where it says the pass would change nothing, the
function is kept as it is instead of copied, and a pass is not run again on a function it has
already left unchanged. The functions and the rounds are the same as running every pass every
round; only the copies are saved, so compiling stays linear in the size of the graph."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..function import Function, collection_paused
from . import cse, epilogues, fold, fuse, losses, prune, simplify, stabilize
from .check import check_graph
from .rewrite import same_signature

PIPELINE: Tuple[Tuple[str, Callable[[Function], Function]], ...] = (
    ("prune", prune.run),
    ("fold", fold.run),
    ("cse", cse.run),
    ("simplify", simplify.run),
    ("losses", losses.run),  # before stabilize, which would take its log(sigmoid) apart
    ("stabilize", stabilize.run),
    ("epilogues", epilogues.run),  # updates by a matrix product as one GEMM
    ("fuse", fuse.run),  # last: the others see the ops it would hide
)
PASS_NAMES = tuple(name for name, _ in PIPELINE)
# Passes run once after the others have settled, in pipeline order.
FINAL_PASSES = ("epilogues", "fuse")
# What runs by default: every pass but fuse, which gf.Session(fuse=True) adds (numpy backend).
DEFAULT_PASSES = tuple(name for name in PASS_NAMES if name != "fuse")
# name -> whether the pass could change a function (False: run(fn) would be a copy of fn)
CHANGES: Dict[str, Callable[[Function], bool]] = {
    "prune": prune.changes, "fold": fold.changes, "cse": cse.changes,
    "simplify": simplify.changes, "losses": losses.changes, "stabilize": stabilize.changes,
    "epilogues": epilogues.changes, "fuse": fuse.changes,
}
if set(CHANGES) != set(PASS_NAMES):
    raise AssertionError(f"passes without a changes() test: {set(PASS_NAMES) ^ set(CHANGES)}")
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
    """Run the named passes (default: DEFAULT_PASSES, in pipeline order) until a round changes
    nothing; then, if named, fuse once (FINAL_PASSES see the graph the others settled on: no
    pass can look inside a fused node).

    `check=True` runs check_graph after every pass. Returns the optimized function and what each
    pass did.
    """
    chosen = DEFAULT_PASSES if passes is None else tuple(passes)
    unknown = [p for p in chosen if p not in PASS_NAMES]
    if unknown:
        raise ValueError(f"unknown pass(es) {unknown}; the passes are {list(PASS_NAMES)}")
    with collection_paused():  # each pass copies the whole graph (function.py)
        fn, records = _rounds(fn, tuple(p for p in chosen if p not in FINAL_PASSES), check)
        last = max((r.round for r in records), default=0) + 1  # reported as one more round
        for name in (p for p, _ in PIPELINE if p in FINAL_PASSES and p in chosen):
            fn = _apply(name, fn, last, records, check)
        return fn, records


def _apply(name: str, fn: Function, round_: int, records: List[PassRecord], check: bool
           ) -> Function:
    """Run one pass (only where its changes() test says it could change something)."""
    t0 = time.perf_counter()
    out = dict(PIPELINE)[name](fn) if CHANGES[name](fn) else fn
    records.append(PassRecord(name, round_, len(fn.nodes), len(out.nodes),
                              time.perf_counter() - t0))
    if check and out is not fn:
        check_graph(out, after=name)
    return out


def _rounds(fn: Function, chosen: Tuple[str, ...], check: bool
            ) -> Tuple[Function, List[PassRecord]]:
    records: List[PassRecord] = []
    if check:
        check_graph(fn)
    left_alone: Dict[str, Function] = {}  # pass -> the function it last found nothing to do in
    changed_last: List[str] = []  # in the last round: the passes that really changed something
    for round_ in range(1, MAX_ROUNDS + 1):
        start = fn
        for name, run in PIPELINE:
            if name not in chosen or left_alone.get(name) is fn:
                continue  # a pass that changed nothing in this very function would not now
            t0 = time.perf_counter()
            out = run(fn) if CHANGES[name](fn) else fn
            records.append(PassRecord(name, round_, len(fn.nodes), len(out.nodes),
                                      time.perf_counter() - t0))
            if out is fn:
                left_alone[name] = fn
            elif check:
                check_graph(out, after=name)
            if round_ == MAX_ROUNDS and out is not fn and not same_signature(out, fn):
                changed_last.append(name)
            fn = out
        if fn is start or same_signature(fn, start):
            break
    else:
        warnings.warn(f"graphflow: the optimization passes did not settle in {MAX_ROUNDS} rounds "
                      f"(the last round still changed the graph, last in pass "
                      f"'{changed_last[-1] if changed_last else '?'}'); the code is correct but "
                      f"may not be fully optimized", stacklevel=4)
    return fn, records


__all__ = ["PIPELINE", "PASS_NAMES", "DEFAULT_PASSES", "optimize", "check_graph", "PassRecord"]
