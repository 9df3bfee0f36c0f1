"""tf.data.Dataset (TF1's DatasetV1): an input pipeline described in Python, run on the host by
an iterator whose get_next() tensors the graph reads.

    ds = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(1000, seed=1).batch(128)
    x, y = ds.repeat().make_one_shot_iterator().get_next()
    loss = model(x, y)          # each sess.run takes the next batch: no feed_dict

Every method returns a new dataset. Elements are produced one run at a time, on the host,
outside the generated code; map/filter functions are graphs of their own, compiled once.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from compiler import dtypes as _dt
from compiler.graph import Node, TensorShape, get_default_graph

from . import stages as _s
from . import transforms as _t
from .functions import ElementFunction
from .iterator import Iterator
from .structure import flatten, map_leaves, pack, same_structure, shape_leaves

__all__ = ["Dataset"]


def _count(value, what: str, allow_all: bool = False) -> Optional[int]:
    """A count argument: an int >= 0 (or -1 / None for 'all' where allowed)."""
    if value is None and allow_all:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {value!r}")
    value = int(value)
    if allow_all and value == -1:
        return None
    if value < 0:
        raise ValueError(f"{what} must be >= 0{' or -1 (all)' if allow_all else ''}, got {value}")
    return value


def _positive(value, what: str) -> int:
    value = _count(value, what)
    if value == 0:
        raise ValueError(f"{what} must be positive, got 0")
    return value


class Dataset:
    """A pipeline of elements (see the module docstring). Build one with from_tensor_slices,
    from_tensors, range, from_generator or zip; read it with make_one_shot_iterator() or
    make_initializable_iterator()."""

    def __init__(self, stage: _s.Stage):
        self._stage = stage

    # -- sources -----------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors) -> "Dataset":
        """One element per row of the components (arrays, tensors, or a tuple/dict of them); a
        placeholder is read when an initializable iterator's initializer runs."""
        return Dataset(_s.TensorSlices(tensors))

    @staticmethod
    def from_tensors(tensors) -> "Dataset":
        """A single element: the components whole."""
        return Dataset(_s.Tensors(tensors))

    @staticmethod
    def range(*args) -> "Dataset":
        """Dataset.range(stop), range(start, stop[, step]): int64 scalars."""
        return Dataset(_s.Range(*args))

    @staticmethod
    def from_generator(generator: Callable, output_types, output_shapes=None,
                       args=None) -> "Dataset":
        """The elements `generator(*args)` yields, converted to `output_types` (a dtype, or a
        tuple/dict of them) and checked against `output_shapes` (None: any shape)."""
        if not callable(generator):
            raise TypeError("Dataset.from_generator: `generator` must be callable")
        types = map_leaves(_dt.as_dtype, output_types)
        if output_shapes is None:
            shapes = map_leaves(lambda t: None, types)
        else:
            shapes = output_shapes
            if not same_structure(types, shapes):
                raise TypeError("Dataset.from_generator: output_shapes must have the structure "
                                "of output_types")
        flat_shapes = shape_leaves(shapes, len(flatten(types)))
        specs = list(zip(flat_shapes, flatten(types)))
        structure = pack(types, range(len(specs)))
        return Dataset(_s.Generator(generator, structure, specs, args))

    @staticmethod
    def zip(datasets) -> "Dataset":
        """Element i is the tuple (or dict) of the datasets' elements i; ends with the shortest."""
        parts = flatten(datasets)
        if not parts or not all(isinstance(d, Dataset) for d in parts):
            raise TypeError("Dataset.zip takes a tuple (or dict) of datasets")
        return Dataset(_s.Zip(datasets, [d._stage for d in parts]))

    # -- transformations ---------------------------------------------------------------------
    def concatenate(self, dataset: "Dataset") -> "Dataset":
        """This dataset's elements, then `dataset`'s (same structure and dtypes)."""
        a, b = self._stage, dataset._stage
        if not same_structure(a.structure, b.structure) or [s[1] for s in a.specs] != [
                s[1] for s in b.specs]:
            raise TypeError(f"Dataset.concatenate: the datasets' elements differ: "
                            f"{self.output_types} and {dataset.output_types}")
        return Dataset(_s.Concatenate(a, b))

    def map(self, map_func: Callable, num_parallel_calls=None) -> "Dataset":
        """map_func applied to each element (num_parallel_calls is accepted; elements are mapped
        one after another, in order)."""
        return Dataset(_t.Map(self._stage, self._function(map_func, "Dataset.map")))

    def filter(self, predicate: Callable) -> "Dataset":
        """The elements for which predicate (a scalar bool tensor of the element) is true."""
        return Dataset(_t.Filter(self._stage, self._function(predicate, "Dataset.filter")))

    def _function(self, fn: Callable, what: str) -> ElementFunction:
        seed = get_default_graph().seed
        return ElementFunction(fn, self._stage.structure, self._stage.specs, what, seed)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=None) -> "Dataset":
        """Shuffled through a buffer of `buffer_size` elements (TF1's algorithm); the same seed
        (op or graph level) gives the same orders, and each repetition a new one unless
        reshuffle_each_iteration=False."""
        size = _positive(buffer_size, "Dataset.shuffle: buffer_size")
        reshuffle = True if reshuffle_each_iteration is None else bool(reshuffle_each_iteration)
        op_seed = get_default_graph().op_seed(seed)
        return Dataset(_t.Shuffle(self._stage, size, op_seed, reshuffle))

    def batch(self, batch_size, drop_remainder: bool = False) -> "Dataset":
        """Consecutive elements stacked `batch_size` at a time (a new first dimension);
        batch_size may be a scalar integer tensor (a placeholder fed to the initializer)."""
        size = _s.int_arg(batch_size, "Dataset.batch: batch_size")
        size = size if not isinstance(size, int) else _positive(size, "Dataset.batch: batch_size")
        return Dataset(_t.Batch(self._stage, size, bool(drop_remainder)))

    def padded_batch(self, batch_size, padded_shapes, padding_values=None,
                     drop_remainder: bool = False) -> "Dataset":
        """batch, padding each component to padded_shapes (None or -1: the batch's longest)."""
        size = _positive(batch_size, "Dataset.padded_batch: batch_size")
        n = len(self._stage.specs)
        shapes = [tuple(None if d is None or d == -1 else int(d) for d in s)
                  for s in shape_leaves(padded_shapes, n)]
        if padding_values is None:
            values = ["" if _dt.is_string(d) else 0 for _, d in self._stage.specs]
        else:
            values = flatten(padding_values)
        return Dataset(_t.PaddedBatch(self._stage, size, shapes, values, bool(drop_remainder)))

    def repeat(self, count=None) -> "Dataset":
        """The elements `count` times (None or -1: forever)."""
        return Dataset(_t.Repeat(self._stage, _count(count, "Dataset.repeat: count", True)))

    def take(self, count) -> "Dataset":
        """The first `count` elements (-1: all)."""
        n = _count(count, "Dataset.take: count", True)
        return Dataset(_t.Slice(self._stage, "Dataset.take", 0, n))

    def skip(self, count) -> "Dataset":
        """All but the first `count` elements (-1: none)."""
        n = _count(count, "Dataset.skip: count", True)
        return Dataset(_t.Slice(self._stage, "Dataset.skip", 0, 0) if n is None
                       else _t.Slice(self._stage, "Dataset.skip", n, None))

    def shard(self, num_shards, index) -> "Dataset":
        """Every num_shards-th element, starting at `index`."""
        shards = _positive(num_shards, "Dataset.shard: num_shards")
        index = _count(index, "Dataset.shard: index")
        if index >= shards:
            raise ValueError(f"Dataset.shard: index {index} must be < num_shards {shards}")
        return Dataset(_t.Slice(self._stage, "Dataset.shard", index, None, shards))

    def enumerate(self, start=0) -> "Dataset":
        """(int64 index from `start`, element) pairs."""
        return Dataset.zip((Dataset.range(int(start), np.iinfo(np.int64).max), self))

    def cache(self, filename: str = "") -> "Dataset":
        """The elements, kept in memory after the first complete pass (a filename is accepted;
        graphflow caches in memory)."""
        return Dataset(_t.Cache(self._stage))

    def prefetch(self, buffer_size) -> "Dataset":
        """The same elements (the host pipeline makes each batch when a run asks for it)."""
        return Dataset(self._stage)

    def apply(self, transformation_func: Callable) -> "Dataset":
        """transformation_func(self), which must return a dataset."""
        result = transformation_func(self)
        if not isinstance(result, Dataset):
            raise TypeError("Dataset.apply: the transformation must return a Dataset")
        return result

    # -- reading ------------------------------------------------------------------------------
    def make_one_shot_iterator(self):
        """An iterator that starts by itself on its first get_next (TF1: sources may not be
        placeholders)."""
        return Iterator.one_shot_over(self._stage)

    def make_initializable_iterator(self, shared_name=None):
        """An iterator started (and restarted) by running its `.initializer`."""
        return Iterator.initializable_over(self._stage)

    @property
    def output_types(self):
        return pack(self._stage.structure, [d for _, d in self._stage.specs])

    @property
    def output_shapes(self):
        return pack(self._stage.structure, [TensorShape(s) for s, _ in self._stage.specs])

    @property
    def output_classes(self):
        return pack(self._stage.structure, [Node] * len(self._stage.specs))

    def __iter__(self):
        raise TypeError("a graphflow (TF1) Dataset is read in a session: use "
                        "make_one_shot_iterator().get_next() and sess.run")

    def __repr__(self) -> str:
        return f"<Dataset {self._stage.what} types={self.output_types}>"
