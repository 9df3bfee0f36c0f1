"""The stages of an input pipeline: what each tf.data dataset yields, on the host.

A stage knows its element's structure and per-component (shape, dtype) specs, the graph tensors
it reads (`sources`: placeholders fed at initialization, constants, variables) and how to yield
its elements, each a flat tuple of numpy arrays, given a Pass (one pass of one iterator: the
source values and the stages' own state, such as a shuffle's epoch count).
"""

from __future__ import annotations

import itertools
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from compiler import dtypes as _dt
from compiler.errors import OpError
from compiler.graph import Node, user_site
from compiler.ops.core import _as_array

from .structure import flatten, pack

Spec = Tuple[Optional[tuple], np.dtype]  # (shape with None for unknown sizes, dtype)
Element = Tuple[np.ndarray, ...]


class Pass:
    """One pass of one iterator over a pipeline: the values of its source tensors and the state
    stages keep across their own repetitions (a shuffle's count of passes, a cache)."""

    def __init__(self, values: Dict[Node, np.ndarray]):
        self.values = values
        self.state: Dict[int, dict] = {}

    def of(self, stage) -> dict:
        return self.state.setdefault(id(stage), {})


class Stage:
    """Base of the stages: structure, specs, sources and where the user made it."""

    what = "Dataset"

    def __init__(self, structure, specs: Sequence[Spec], sources: Sequence[Node] = (),
                 parents: Sequence["Stage"] = ()):
        self.structure = structure
        self.specs: List[Spec] = list(specs)
        seen = dict.fromkeys(s for p in parents for s in p.sources)
        seen.update(dict.fromkeys(sources))
        self.sources: Tuple[Node, ...] = tuple(seen)
        self.site = user_site()

    def describe(self) -> str:
        return f"{self.what} ({self.site})"

    def error(self, message: str) -> OpError:
        """An error of this stage at run time (TF1's InvalidArgumentError)."""
        return OpError(f"{self.describe()}: {message}")

    def elements(self, run: Pass) -> Iterator[Element]:
        raise NotImplementedError


def _leaf_value(leaf, run: Pass) -> np.ndarray:
    return run.values[leaf] if isinstance(leaf, Node) else leaf


def as_leaf(value, what: str):
    """A component given to from_tensor_slices/from_tensors: a graph tensor stays one (its value
    is read when the iterator starts); anything else becomes the array tf.constant would hold."""
    if isinstance(value, Node):
        if value.dtype is None:
            raise TypeError(f"{what}: '{value.op_name}' is an operation, not a tensor")
        return value
    if value is None:
        raise TypeError(f"{what}: a component is None; give arrays, tensors or Python values")
    try:
        return np.array(_as_array(value, None))
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"{what}: cannot make a tensor of {type(value).__name__} "
                        f"{str(value)[:60]!r}: {exc}") from None


def _shape_dtype(leaf) -> Spec:
    if isinstance(leaf, Node):
        return leaf.shape, leaf.dtype
    return tuple(leaf.shape), leaf.dtype


class Tensors(Stage):
    """Dataset.from_tensors: one element, the components whole."""

    what = "Dataset.from_tensors"

    def __init__(self, tensors):
        leaves = [as_leaf(v, self.what) for v in flatten(tensors)]
        super().__init__(pack(tensors, range(len(leaves))), [_shape_dtype(v) for v in leaves],
                         [v for v in leaves if isinstance(v, Node)])
        self.leaves = leaves

    def elements(self, run):
        yield tuple(np.asarray(_leaf_value(v, run)) for v in self.leaves)


class TensorSlices(Stage):
    """Dataset.from_tensor_slices: element i is row i of every component."""

    what = "Dataset.from_tensor_slices"

    def __init__(self, tensors):
        leaves = [as_leaf(v, self.what) for v in flatten(tensors)]
        specs = []
        for leaf in leaves:
            shape, dtype = _shape_dtype(leaf)
            if shape is not None and len(shape) == 0:
                raise ValueError(f"{self.what}: a component is a scalar; slicing needs at least "
                                 f"one dimension (use from_tensors for a single element)")
            specs.append((None if shape is None else tuple(shape[1:]), dtype))
        rows = {s[0] for s in (_shape_dtype(v)[0] for v in leaves) if s and s[0] is not None}
        if len(rows) > 1:
            raise ValueError(f"{self.what}: the components have different first dimensions "
                             f"{sorted(rows)}; every component needs one row per element")
        super().__init__(pack(tensors, range(len(leaves))), specs,
                         [v for v in leaves if isinstance(v, Node)])
        self.leaves = leaves

    def elements(self, run):
        values = [np.asarray(_leaf_value(v, run)) for v in self.leaves]
        rows = {len(v) if v.ndim else None for v in values}
        if len(rows) != 1 or None in rows:
            raise self.error(f"the components' first dimensions differ or are missing: "
                             f"{[v.shape for v in values]}")
        for i in range(rows.pop()):
            yield tuple(v[i] for v in values)


def int_arg(value, what: str):
    """An int argument given as a Python int or as a scalar integer tensor (a placeholder fed to
    an initializer, as TF1's guide feeds Dataset.range(max_value)): the int, or the tensor."""
    if isinstance(value, Node):
        if value.dtype is None or value.dtype.kind not in "iu" or value.shape not in ((), None):
            raise TypeError(f"{what} must be an int or a scalar integer tensor, got "
                            f"'{value.op_name}' ({value.dtype}, shape {value.shape})")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {value!r}")
    return int(value)


def int_value(arg, run: Pass) -> int:
    """An int_arg's value in this pass."""
    return int(run.values[arg]) if isinstance(arg, Node) else arg


class Range(Stage):
    """Dataset.range(start, stop, step): int64 scalars, as Python's range; the bounds may be
    scalar integer tensors, read when the iterator starts."""

    what = "Dataset.range"

    def __init__(self, *args):
        if not 1 <= len(args) <= 3:
            raise TypeError(f"{self.what} takes 1 to 3 arguments (stop; start, stop[, step]), "
                            f"got {len(args)}")
        args = [int_arg(a, f"{self.what}: argument {k}") for k, a in enumerate(args)]
        if len(args) == 3 and args[2] == 0:
            raise ValueError(f"{self.what}: step must not be 0")
        super().__init__(0, [((), _dt.int64)], [a for a in args if isinstance(a, Node)])
        self.args = args

    def elements(self, run):
        bounds = [int_value(a, run) for a in self.args]
        if len(bounds) == 3 and bounds[2] == 0:
            raise self.error("step must not be 0")
        for i in range(*bounds):
            yield (np.int64(i),)


class Generator(Stage):
    """Dataset.from_generator: the elements a Python generator yields, converted and checked."""

    what = "Dataset.from_generator"

    def __init__(self, generator, structure, specs, args):
        super().__init__(structure, specs)
        self.generator, self.args = generator, tuple(args or ())

    def elements(self, run):
        for item in self.generator(*self.args):
            leaves = flatten(item) if isinstance(self.structure, (tuple, dict)) else [item]
            if len(leaves) != len(self.specs):
                raise self.error(f"the generator yielded {len(leaves)} components, "
                                 f"output_types has {len(self.specs)}")
            yield tuple(self._convert(v, spec, k) for k, (v, spec) in
                        enumerate(zip(leaves, self.specs)))

    def _convert(self, value, spec: Spec, k: int) -> np.ndarray:
        shape, dtype = spec
        try:
            arr = np.asarray(_as_array(value, dtype))
        except (TypeError, ValueError, OverflowError) as exc:
            raise self.error(f"component {k}: cannot make a {dtype.name} tensor of "
                             f"{str(value)[:60]!r}: {exc}") from None
        if shape is not None and (arr.ndim != len(shape) or any(
                s is not None and s != a for s, a in zip(shape, arr.shape))):
            raise self.error(f"component {k}: the generator yielded shape {arr.shape}, "
                             f"output_shapes says {shape}")
        return arr


class Zip(Stage):
    """Dataset.zip: element i is the tuple (or dict) of the datasets' element i; ends with the
    shortest."""

    what = "Dataset.zip"

    def __init__(self, structure, stages: Sequence[Stage]):
        offsets = itertools.accumulate([0] + [len(s.specs) for s in stages])
        shifted = [_shift(s.structure, off) for s, off in zip(stages, offsets)]
        super().__init__(pack(structure, shifted), [spec for s in stages for spec in s.specs],
                         parents=stages)
        self.stages = list(stages)

    def elements(self, run):
        for parts in zip(*[s.elements(run) for s in self.stages]):
            yield tuple(c for part in parts for c in part)


def _shift(structure, offset: int):
    return pack(structure, [i + offset for i in flatten(structure)])


class Concatenate(Stage):
    """Dataset.concatenate: this dataset's elements, then the other's."""

    what = "Dataset.concatenate"

    def __init__(self, first: Stage, second: Stage):
        specs = [(_common_shape(a[0], b[0]), a[1]) for a, b in zip(first.specs, second.specs)]
        super().__init__(first.structure, specs, parents=[first, second])
        self.first, self.second = first, second

    def elements(self, run):
        yield from self.first.elements(run)
        yield from self.second.elements(run)


def _common_shape(a, b):
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(x if x == y else None for x, y in zip(a, b))
