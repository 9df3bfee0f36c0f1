"""Where a session keeps its state: variable values by key, one random stream per random op, and
the lock its runs take turns with. Each run reads, writes and draws through its own Run, which
stages writes until commit() and puts random streams back on rollback()."""

from __future__ import annotations

import copy
import threading
from typing import Callable, Dict, List, Optional

import numpy as np

from .graph import Node

__all__ = ["VariableStore", "Run"]


class VariableStore:
    """Variable values of one session, by the variable's key (its name in the user's graph, kept
    by compiled copies of it), and the session's random streams.

    Each run works through its own Run (begin()), which stages the run's writes and commits them
    only when the whole run succeeded, so a failed run leaves every variable as it was and runs
    in several threads never see each other's half-done writes. `lock` is held by every run of
    the session (runs of one session take turns; see the README's "Threads")."""

    def __init__(self, evaluate: Callable[[Node, "VariableStore"], np.ndarray],
                 shares: Optional["VariableStore"] = None):
        self.evaluate = evaluate  # computes a tensor initial value (the interpreter's evaluate)
        self.values: Dict[str, np.ndarray] = {}
        # A store made as a view of another (a host view of device values) shares its random
        # streams and its lock: one stream per op and session, and runs that take turns.
        self._generators: Dict[str, np.random.Generator] = ({} if shares is None
                                                             else shares._generators)
        # The live state of each input pipeline's iterator, by iterator key (ops/iterators.py).
        self.iterators: Dict[str, object] = {} if shares is None else shares.iterators
        self.lock = threading.RLock() if shares is None else shares.lock

    def random(self, node) -> np.random.Generator:
        """The generator of a random op: one stream per op and session, seeded from the op's
        `seed` attribute (graph seed, op seed) when set, so a program built again in a fresh graph
        draws the same numbers; each run draws new ones."""
        gen = self._generators.get(node.op_name)
        if gen is None:
            gen = self._generators[node.op_name] = np.random.default_rng(node.attrs.get("seed"))
        return gen

    def read(self, var) -> np.ndarray:
        """The value at the start of the run (the initial value the first time it is needed)."""
        if var.key not in self.values:
            init = var.initial_value
            if isinstance(init, Node):  # a tensor (random_normal, ...): evaluated now, once
                init = self.evaluate(init, self)
            self.values[var.key] = np.array(init, dtype=var.dtype)
        return self.values[var.key]

    def numpy(self, var) -> np.ndarray:
        """A numpy copy of the variable's value (whatever the backend keeps it as)."""
        return np.array(self.read(var))

    def load_key(self, key: str, value: np.ndarray) -> None:
        """Set the value of the variable stored under `key` (a checked array of its dtype)."""
        self.values[key] = np.array(value)

    def twin(self) -> "VariableStore":
        """A store with the same values and copies of the random streams: drawing from it leaves
        this store's streams as they were (profiling runs a step on one)."""
        twin = copy.copy(self)
        twin._generators = copy.deepcopy(self._generators)
        twin.iterators = {key: _Lookahead(state) for key, state in self.iterators.items()}
        return twin

    def begin(self) -> "Run":
        """The state one run reads, writes and draws through."""
        return Run(self)

    def apply(self, writes: Dict[str, np.ndarray]) -> None:
        """Publish a successful run's writes (one dict update: nothing can come in between)."""
        self.values.update(writes)


class Run:
    """One run's view of a VariableStore: writes are staged here until commit(); the state of each
    random stream is kept before the run's first draw from it, for rollback()."""

    __slots__ = ("store", "writes", "streams", "cache", "undo")

    def __init__(self, store: VariableStore):
        self.store = store
        self.writes: Dict[str, np.ndarray] = {}
        self.streams: Dict[str, tuple] = {}
        self.cache: Dict[tuple, object] = {}  # values ops of one run share (a get_next element)
        self.undo: List[Callable[[], None]] = []  # what rollback() does besides the streams

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
        if node.op_name not in self.streams:
            self.streams[node.op_name] = (gen, gen.bit_generator.state)
        return gen

    def commit(self) -> None:
        if self.writes:
            self.store.apply(self.writes)

    def rollback(self) -> None:
        """Put back every random stream this run drew from (writes are simply dropped)."""
        for gen, state in self.streams.values():
            gen.bit_generator.state = state
        for action in reversed(self.undo):  # newest first: elements go back in their order
            action()


class _Lookahead:
    """An iterator state seen through a twin store: reads the elements ahead without taking
    them, so a profiling run leaves the session's pipeline where it was."""

    def __init__(self, state):
        self._state = state
        self._taken = 0
        self._back: List[object] = []

    def next(self):
        if self._back:
            return self._back.pop()
        element = self._state.peek(self._taken)
        self._taken += 1
        return element

    def push_back(self, element) -> None:
        self._back.append(element)

    def peek(self, k: int):
        return self._back[-1 - k] if k < len(self._back) else self._state.peek(
            self._taken + k - len(self._back))
