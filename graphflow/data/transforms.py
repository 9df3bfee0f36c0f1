"""The transformation stages: map, filter, shuffle, batch, padded_batch, repeat, take, skip,
shard and cache. Each wraps its input stage and yields flat tuples of numpy arrays."""

from __future__ import annotations

import itertools
from typing import Optional

import numpy as np

from .functions import ElementFunction
from .stages import Pass, Stage, int_value

RANDOM_CHUNK = 1024  # uniform draws a shuffle takes from its generator at a time


class Map(Stage):
    what = "Dataset.map"

    def __init__(self, parent: Stage, fn: ElementFunction):
        super().__init__(fn.structure, fn.specs, parents=[parent])
        self.parent, self.fn = parent, fn

    def elements(self, run: Pass):
        fn = self.fn
        for element in self.parent.elements(run):
            yield fn(element)


class Filter(Stage):
    what = "Dataset.filter"

    def __init__(self, parent: Stage, predicate: ElementFunction):
        (shape, dtype), = predicate.specs if len(predicate.specs) == 1 else [((None,), None)]
        if dtype != np.bool_ or shape != ():
            raise ValueError(f"{self.what}: the predicate must return a scalar bool tensor, got "
                             f"{[f'{d} {s}' for s, d in predicate.specs]}")
        super().__init__(parent.structure, parent.specs, parents=[parent])
        self.parent, self.predicate = parent, predicate

    def elements(self, run: Pass):
        keep = self.predicate
        for element in self.parent.elements(run):
            if keep(element)[0]:
                yield element


class Shuffle(Stage):
    """TF1's shuffle: a buffer of `buffer_size` elements; each output is a uniformly chosen
    element of the buffer, whose place the next input element takes. A seed (graph or op level)
    makes the order repeat; with reshuffle_each_iteration, each pass of this stage (each repeat)
    draws another order from that seed's sequence."""

    what = "Dataset.shuffle"

    def __init__(self, parent: Stage, buffer_size: int, seed, reshuffle: bool):
        super().__init__(parent.structure, parent.specs, parents=[parent])
        self.parent, self.buffer_size, self.seed, self.reshuffle = (
            parent, buffer_size, seed, reshuffle)

    def _generator(self, run: Pass) -> np.random.Generator:
        state = run.of(self)
        if "seed" not in state:  # no seed: fresh entropy, once per iterator pass
            state["seed"] = (list(self.seed) if self.seed is not None
                             else [int(np.random.SeedSequence().entropy)])
            state["passes"] = 0
        state["passes"] += 1
        epoch = state["passes"] if self.reshuffle else 1
        return np.random.default_rng(state["seed"] + [epoch])

    def elements(self, run: Pass):
        rng = self._generator(run)
        uniform = iter(())
        source = self.parent.elements(run)
        buffer = list(itertools.islice(source, self.buffer_size))
        while buffer:
            u = next(uniform, None)
            if u is None:
                uniform = iter(rng.random(RANDOM_CHUNK).tolist())
                u = next(uniform)
            j = int(u * len(buffer))
            out = buffer[j]
            nxt = next(source, None)
            if nxt is None:  # the input is done: drain the buffer
                buffer[j] = buffer[-1]
                buffer.pop()
            else:
                buffer[j] = nxt
            yield out


class Batch(Stage):
    """Stacks `batch_size` consecutive elements (the last, smaller batch is kept unless
    drop_remainder)."""

    what = "Dataset.batch"

    def __init__(self, parent: Stage, batch_size, drop_remainder: bool):
        """batch_size: an int, or a scalar integer tensor read when the iterator starts."""
        static = isinstance(batch_size, int)
        first = batch_size if drop_remainder and static else None
        specs = [(None if shape is None else (first,) + tuple(shape), dtype)
                 for shape, dtype in parent.specs]
        super().__init__(parent.structure, specs, [] if static else [batch_size],
                         parents=[parent])
        self.parent, self.batch_size, self.drop_remainder = parent, batch_size, drop_remainder

    def elements(self, run: Pass):
        size = int_value(self.batch_size, run)
        if size < 1:
            raise self.error(f"batch_size must be positive, got {size}")
        source = self.parent.elements(run)
        while True:
            chunk = list(itertools.islice(source, size))
            if not chunk or (self.drop_remainder and len(chunk) < size):
                return
            yield self.stack(chunk)

    def stack(self, chunk) -> tuple:
        out = []
        for k, parts in enumerate(zip(*chunk)):
            shapes = {p.shape for p in parts}
            if len(shapes) > 1:
                raise self.error(f"cannot batch elements of different shapes in component {k}: "
                                 f"{sorted(shapes)}; use padded_batch, or make them one shape "
                                 f"in a map")
            out.append(np.stack(parts))
        return tuple(out)


class PaddedBatch(Batch):
    """Batch after padding each component to `padded_shapes` (None / -1: the longest in the
    batch) with `padding_values` (0, or '' for strings)."""

    what = "Dataset.padded_batch"

    def __init__(self, parent: Stage, batch_size: int, shapes, values, drop_remainder: bool):
        super().__init__(parent, batch_size, drop_remainder)
        first = batch_size if drop_remainder else None
        self.specs = [((first,) + tuple(s), d) for s, (_, d) in zip(shapes, parent.specs)]
        self.shapes, self.values = shapes, values

    def stack(self, chunk) -> tuple:
        out = []
        for k, parts in enumerate(zip(*chunk)):
            want = self.shapes[k]
            if any(p.ndim != len(want) for p in parts):
                raise self.error(f"component {k} has rank {parts[0].ndim}, padded_shapes says "
                                 f"{len(want)}")
            size = tuple(max(p.shape[d] for p in parts) if n is None else n
                         for d, n in enumerate(want))
            batch = np.full((len(parts),) + size, self.values[k], dtype=parts[0].dtype)
            for i, p in enumerate(parts):
                if any(a > b for a, b in zip(p.shape, size)):
                    raise self.error(f"component {k}: an element of shape {p.shape} does not "
                                     f"fit padded shape {size}")
                batch[(i,) + tuple(slice(0, n) for n in p.shape)] = p
            out.append(batch)
        return tuple(out)


class Repeat(Stage):
    """The input's elements `count` times (None or -1: forever); each repetition is a new pass
    of the input (a shuffle draws a new order). An input that yields nothing ends it."""

    what = "Dataset.repeat"

    def __init__(self, parent: Stage, count: Optional[int]):
        super().__init__(parent.structure, parent.specs, parents=[parent])
        self.parent, self.count = parent, count

    def elements(self, run: Pass):
        passes = itertools.count() if self.count is None else range(self.count)
        for _ in passes:
            empty = True
            for element in self.parent.elements(run):
                empty = False
                yield element
            if empty:
                return


class Slice(Stage):
    """take(n) / skip(n) / shard(num_shards, index): elements start, start + step, ... < stop."""

    def __init__(self, parent: Stage, what: str, start: int, stop: Optional[int], step: int = 1):
        self.what = what
        super().__init__(parent.structure, parent.specs, parents=[parent])
        self.parent, self.start, self.stop, self.step = parent, start, stop, step

    def elements(self, run: Pass):
        return itertools.islice(self.parent.elements(run), self.start, self.stop, self.step)


class Cache(Stage):
    """The input's elements, kept in memory on the first pass and replayed after (per iterator)."""

    what = "Dataset.cache"

    def __init__(self, parent: Stage):
        super().__init__(parent.structure, parent.specs, parents=[parent])
        self.parent = parent

    def elements(self, run: Pass):
        state = run.of(self)
        if "elements" in state:
            yield from state["elements"]
            return
        kept = []
        for element in self.parent.elements(run):
            kept.append(element)
            yield element
        state["elements"] = kept  # complete passes only: a partial one is read again
