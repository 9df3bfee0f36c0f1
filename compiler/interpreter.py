"""The reference interpreter: run the numpy kernel of each needed node in topological order.

Kept simple and obviously correct on purpose: it is the oracle the compiled path is tested against.
"""

from __future__ import annotations

import threading
from typing import Dict, List

import numpy as np

from . import interrupts, numerics
from .errors import FeedError, GraphflowError, OpError
from .graph import Node
from .shapes import compatible, fmt
from .traversal import plan


class VariableStore:
    """Variable values of one session, by the variable's key (its name in the user's graph, kept
    by compiled copies of it), and the session's random streams.

    Each run works through its own Run (begin()), which stages the run's writes and commits them
    only when the whole run succeeded, so a failed run leaves every variable as it was and runs
    in several threads never see each other's half-done writes. `lock` is held by every run of
    the session (runs of one session take turns; see the README's "Threads")."""

    def __init__(self):
        self.values: Dict[str, np.ndarray] = {}
        self._generators: Dict[str, np.random.Generator] = {}
        self.lock = threading.RLock()

    def random(self, node) -> np.random.Generator:
        """The generator of a random op: one stream per op and session, seeded from the op's
        `seed` attribute (graph seed, op seed) when set, so a program built again in a fresh graph
        draws the same numbers; each run draws new ones."""
        gen = self._generators.get(node.name)
        if gen is None:
            gen = self._generators[node.name] = np.random.default_rng(node.attrs.get("seed"))
        return gen

    def read(self, var) -> np.ndarray:
        """The value at the start of the run (the initial value the first time it is needed)."""
        if var.key not in self.values:
            init = var.initial_value
            if isinstance(init, Node):  # a tensor (random_normal, ...): evaluated now, once
                init = evaluate(init, self)
            self.values[var.key] = np.array(init, dtype=var.dtype)
        return self.values[var.key]

    def numpy(self, var) -> np.ndarray:
        """A numpy copy of the variable's value (whatever the backend keeps it as)."""
        return np.array(self.read(var))

    def load_key(self, key: str, value: np.ndarray) -> None:
        """Set the value of the variable stored under `key` (a checked array of its dtype)."""
        self.values[key] = np.array(value)

    def begin(self) -> "Run":
        """The state one run reads, writes and draws through."""
        return Run(self)

    def apply(self, writes: Dict[str, np.ndarray]) -> None:
        """Publish a successful run's writes (one dict update: nothing can come in between)."""
        self.values.update(writes)


class Run:
    """One run's view of a VariableStore: writes are staged here until commit(); the state of each
    random stream is kept before the run's first draw from it, for rollback()."""

    __slots__ = ("store", "writes", "streams")

    def __init__(self, store: VariableStore):
        self.store = store
        self.writes: Dict[str, np.ndarray] = {}
        self.streams: Dict[str, tuple] = {}

    def read(self, var) -> np.ndarray:
        """The value at the start of the run."""
        return self.store.read(var)

    def latest(self, var) -> np.ndarray:
        """The value including writes made earlier in this run."""
        return self.writes[var.key] if var.key in self.writes else self.store.read(var)

    def write(self, var, value: np.ndarray) -> np.ndarray:
        self.writes[var.key] = value
        return value

    def random(self, node) -> np.random.Generator:
        gen = self.store.random(node)
        if node.name not in self.streams:
            self.streams[node.name] = (gen, gen.bit_generator.state)
        return gen

    def commit(self) -> None:
        if self.writes:
            self.store.apply(self.writes)

    def rollback(self) -> None:
        """Put back every random stream this run drew from (writes are simply dropped)."""
        for gen, state in self.streams.values():
            gen.bit_generator.state = state


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
                            numerics.check(values[node], node, node.name,
                                           [(i.name, a) for i, a in zip(node.inputs, args)])
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
    missing = [n.name for n in order if n.type == "placeholder"]
    if missing:
        raise FeedError(f"the initial value '{tensor.name}' depends on placeholder(s) {missing}; "
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
        shapes = ", ".join(f"'{i.name}' {np.shape(a)}" for i, a in zip(node.inputs, args))
        raise OpError(f"{node.describe()} failed: {type(exc).__name__}: {exc}"
                      f"{'; inputs: ' + shapes if shapes else ''}") from exc
    if node.dtype is None:
        return None
    out = np.asarray(out)
    if out.dtype != node.dtype or not compatible(node.shape, out.shape):
        raise OpError(f"internal error: kernel of {node.describe()} returned {out.dtype.name} "
                      f"{out.shape}, but its shape rule said {node.dtype.name} {fmt(node.shape)}")
    return out
