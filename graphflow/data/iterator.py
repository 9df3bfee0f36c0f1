"""tf.data.Iterator (TF1): the graph's handle on a dataset. get_next() gives tensors that take
the next element in each run; the element itself is made on the host by the session's state for
this iterator (one state per session, as TF1 keeps iterator resources per session).

    it = dataset.make_initializable_iterator()
    x, y = it.get_next()
    sess.run(it.initializer, feed_dict={features: data, labels: targets})
    while True:
        try:
            sess.run(train_op)                  # one batch per run
        except tf.errors.OutOfRangeError:       # the end of the data
            break

Ordering: one get_next call takes one element per run, whichever of its tensors are fetched;
two get_next calls take two. With the same seeds a pipeline yields the same elements in the same
order in every session. A run that fails puts back the elements it took (TF1 would lose them).
"""

from __future__ import annotations

import collections
import itertools
from typing import Optional

from compiler import dtypes as _dt
from compiler.graph import Graph, Node, TensorShape, get_default_graph, user_site
from compiler.ops.core import PLACEHOLDER
from compiler.ops.iterators import iterator_get_next, iterator_init
from compiler.traversal import plan

from .stages import Pass, Stage
from .structure import flatten, pack, same_structure, shape_leaves

__all__ = ["Iterator", "make_one_shot_iterator", "make_initializable_iterator"]

_calls = itertools.count()  # get_next calls, so that each takes its own element


class _State:
    """One session's pass over a pipeline: next() takes an element, push_back gives one back
    (a failed run), peek(k) looks ahead without taking (a profiling run)."""

    def __init__(self, elements):
        self._elements = elements
        self._ahead = collections.deque()

    def next(self):
        if self._ahead:
            return self._ahead.popleft()
        return next(self._elements)

    def push_back(self, element) -> None:
        self._ahead.appendleft(element)

    def peek(self, k: int):
        while len(self._ahead) <= k:
            self._ahead.append(next(self._elements))
        return self._ahead[k]


class Iterator:
    """TF1's Iterator: get_next(), initializer, make_initializer(dataset), output_types/shapes.

    Made by Dataset.make_one_shot_iterator(), make_initializable_iterator(), or
    Iterator.from_structure(output_types, output_shapes) for one iterator several datasets
    (of that structure) are started into with make_initializer."""

    def __init__(self, graph: Graph, structure, specs, stage: Optional[Stage],
                 one_shot: bool, name: str):
        self.graph = graph
        self._structure, self._specs = structure, list(specs)
        self._stage = stage
        self.one_shot = one_shot
        self.key = graph.unique_name(name)  # names the state in sessions, unique in the graph
        self.site = user_site()
        self._initializer = None

    @classmethod
    def one_shot_over(cls, stage: Stage) -> "Iterator":
        fed = [n.op_name for n in plan(list(stage.sources), ()) if n.opdef is PLACEHOLDER]
        if fed:
            raise ValueError(f"make_one_shot_iterator: the dataset reads placeholder(s) {fed}, "
                             f"which a one-shot iterator cannot be fed; use "
                             f"make_initializable_iterator() and feed them to its initializer")
        return cls(get_default_graph(), stage.structure, stage.specs, stage, True,
                   "OneShotIterator")

    @classmethod
    def initializable_over(cls, stage: Stage) -> "Iterator":
        return cls(get_default_graph(), stage.structure, stage.specs, stage, False, "Iterator")

    @staticmethod
    def from_structure(output_types, output_shapes=None, shared_name=None,
                       output_classes=None) -> "Iterator":
        """An iterator of no dataset yet: make_initializer(dataset) starts it on one whose
        elements have these types (and shapes, None: any)."""
        types = flatten(output_types)
        shapes = ([None] * len(types) if output_shapes is None
                  else shape_leaves(output_shapes, len(types)))
        specs = list(zip(shapes, [_dt.as_dtype(t) for t in types]))
        structure = pack(output_types, range(len(specs)))
        return Iterator(get_default_graph(), structure, specs, None, False, "Iterator")

    # -- the graph side -----------------------------------------------------------------------
    def get_next(self, name: Optional[str] = None):
        """The next element's tensors, in the dataset's structure. Each sess.run that needs any
        of them takes one element; past the end, the run raises tf.errors.OutOfRangeError."""
        call = next(_calls)
        sources = list(self._stage.sources) if self.one_shot else []
        with self.graph.as_default():
            tensors = [iterator_get_next(sources, self, call, k, shape, dtype,
                                         name=name or "IteratorGetNext")
                       for k, (shape, dtype) in enumerate(self._specs)]
        return pack(self._structure, tensors)

    @property
    def initializer(self):
        """The op that starts (or restarts) this iterator over its dataset; the dataset's
        placeholders are fed to it."""
        if self.one_shot:
            raise ValueError("a one-shot iterator has no initializer; use "
                             "make_initializable_iterator()")
        if self._stage is None:
            raise ValueError("this iterator (Iterator.from_structure) has no dataset of its own; "
                             "run iterator.make_initializer(dataset)")
        if self._initializer is None:
            self._initializer = self._initializer_op(self._stage)
        return self._initializer

    def make_initializer(self, dataset, name: Optional[str] = None):
        """An op that starts this iterator over `dataset` (same structure and dtypes)."""
        stage = dataset._stage
        if not same_structure(stage.structure, self._structure) or [
                d for _, d in stage.specs] != [d for _, d in self._specs]:
            raise TypeError(f"make_initializer: the dataset's elements {dataset.output_types} "
                            f"do not match the iterator's {self.output_types}")
        return self._initializer_op(stage, name)

    def _initializer_op(self, stage: Stage, name: Optional[str] = None):
        with self.graph.as_default():
            node = iterator_init(list(stage.sources), self, stage, name=name or "MakeIterator")
        return node.op

    # -- the session side (compiler/ops/iterators.py calls these) -----------------------------
    def start(self, values, stage: Optional[Stage] = None) -> _State:
        stage = stage if stage is not None else self._stage
        run = Pass(dict(zip(stage.sources, values)))
        return _State(stage.elements(run))

    def describe(self) -> str:
        return f"iterator '{self.key}' ({self.site})"

    @property
    def output_types(self):
        return pack(self._structure, [d for _, d in self._specs])

    @property
    def output_shapes(self):
        return pack(self._structure, [TensorShape(s) for s, _ in self._specs])

    @property
    def output_classes(self):
        return pack(self._structure, [Node] * len(self._specs))

    def __repr__(self) -> str:
        return f"<Iterator {self.key!r}>"


def make_one_shot_iterator(dataset) -> Iterator:
    """tf.compat.v1.data.make_one_shot_iterator(dataset)."""
    return dataset.make_one_shot_iterator()


def make_initializable_iterator(dataset, shared_name=None) -> Iterator:
    """tf.compat.v1.data.make_initializable_iterator(dataset)."""
    return dataset.make_initializable_iterator(shared_name)
