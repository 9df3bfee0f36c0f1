"""The structure of a dataset element, as TF1's tf.data reads it: a tuple (or namedtuple) or a
dict of components, nested, whose leaves are tensors. A list is a leaf (TF1 converts it into one
tensor); so are numpy arrays, Python numbers and strings.

Inside a pipeline an element is a flat tuple of numpy arrays; `pack` gives it its structure back.
"""

from __future__ import annotations

from typing import Any, Callable, List

import numpy as np

from compiler.graph import TensorShape

__all__ = ["flatten", "pack", "map_leaves", "same_structure", "shape_leaves"]


def _is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def flatten(structure) -> List[Any]:
    """The leaves in order (dict keys sorted, as TF1's nest does)."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, tuple):
        return [leaf for part in structure for leaf in flatten(part)]
    return [structure]


def pack(structure, leaves) -> Any:
    """`structure` with its leaves replaced, in order, by `leaves`."""
    return _pack(structure, iter(leaves))


def _pack(structure, it):
    if isinstance(structure, dict):
        packed = {key: _pack(structure[key], it) for key in sorted(structure)}
        return {key: packed[key] for key in structure}  # the user's key order
    if _is_namedtuple(structure):
        return type(structure)(*[_pack(part, it) for part in structure])
    if isinstance(structure, tuple):
        return tuple(_pack(part, it) for part in structure)
    return next(it)


def map_leaves(fn: Callable, structure) -> Any:
    """`structure` with each leaf replaced by fn(leaf)."""
    return pack(structure, [fn(leaf) for leaf in flatten(structure)])


def same_structure(a, b) -> bool:
    """Whether two structures nest the same way (same keys, same tuple lengths)."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and sorted(a) == sorted(b)
                and all(same_structure(a[k], b[k]) for k in a))
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(same_structure(x, y) for x, y in zip(a, b)))
    return True


def _is_shape(s) -> bool:
    """A shape: None, a list or TensorShape, or a tuple of sizes (ints or None)."""
    return s is None or isinstance(s, (list, TensorShape)) or (
        isinstance(s, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in s))


def _flat_shapes(shapes) -> list:
    if _is_shape(shapes):
        return [None if shapes is None else tuple(shapes)]
    if isinstance(shapes, dict):
        return [s for k in sorted(shapes) for s in _flat_shapes(shapes[k])]
    if isinstance(shapes, tuple):
        return [s for part in shapes for s in _flat_shapes(part)]
    raise TypeError(f"not a shape: {shapes!r}")


def shape_leaves(shapes, n: int) -> list:
    """The flat list of the shapes in a structure of shapes, one per component."""
    flat = _flat_shapes(shapes)
    if len(flat) != n:
        raise ValueError(f"expected {n} shapes (one per component), got {len(flat)}")
    return flat
