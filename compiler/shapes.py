"""Static shapes: tuples whose entries are ints or None (unknown size); None for an unknown rank."""

from __future__ import annotations

from typing import Optional, Tuple

Shape = Optional[Tuple[Optional[int], ...]]


def as_shape(shape) -> Shape:
    """Normalize a user's shape (None, int, list or tuple of int/None) to a tuple or None."""
    if shape is None:
        return None
    if isinstance(shape, int):
        shape = (shape,)
    out = []
    for d in shape:
        if d is None:
            out.append(None)
        elif hasattr(d, "__index__"):
            d = int(d)
            if d < 0:
                raise ValueError(f"negative dimension {d} in shape {tuple(shape)}")
            if d > MAX_SIZE:
                raise ValueError(f"dimension {d} in shape {tuple(shape)} is larger than "
                                 f"2**63 - 1")
            out.append(d)
        else:
            raise TypeError(f"shape entries must be int or None, got {d!r} in {shape!r}")
    if is_fully_known(tuple(out)) and num_elements(tuple(out)) > MAX_SIZE:
        raise ValueError(f"shape {tuple(out)} has {num_elements(tuple(out))} elements, more "
                         f"than 2**63 - 1")
    return tuple(out)


def static_shape(shape, where: str) -> Tuple[int, ...]:
    """A shape argument that must be fully known (constants, fills, random draws), as a tuple of
    ints; a malformed or partly unknown one is an error prefixed with `where`."""
    try:
        dims = as_shape(shape)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: shape: {exc}") from None
    if dims is None or None in dims:
        raise ValueError(f"{where}: shape must be fully known, got {fmt(dims)}")
    return dims


def fmt(shape: Shape) -> str:
    """Print a shape with '?' for unknown sizes: (?, 784); '<unknown>' for unknown rank."""
    if shape is None:
        return "<unknown>"
    inner = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def is_fully_known(shape: Shape) -> bool:
    return shape is not None and all(d is not None for d in shape)


def num_elements(shape: Shape) -> Optional[int]:
    if not is_fully_known(shape):
        return None
    n = 1
    for d in shape:
        n *= d
    return n


def compatible(static: Shape, actual: tuple) -> bool:
    """Whether a concrete shape fits a static one (None matches any size, unknown rank anything)."""
    if static is None:
        return True
    if len(static) != len(actual):
        return False
    return all(s is None or s == a for s, a in zip(static, actual))


def broadcast(a: Shape, b: Shape) -> Shape:
    """numpy broadcasting of two static shapes; raises ValueError when they cannot broadcast."""
    if a is None or b is None:
        return None
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None:
            out.append(y)
        elif y is None or x == y:
            out.append(x)
        else:
            raise ValueError("shapes cannot be broadcast together")
    return tuple(out)


MAX_SIZE = 2 ** 63 - 1  # no dimension, and no product of them, can be larger (numpy's intp)


def as_axis(axis) -> int:
    """An axis given by the user as a Python int (an int-like numpy scalar too; not a float)."""
    if isinstance(axis, bool) or not hasattr(axis, "__index__"):
        raise TypeError(f"axis must be an integer, got {axis!r} ({type(axis).__name__})")
    return int(axis)


def axis_arg(axis):
    """A builder's axis argument: an int where it is one, else as given (a tuple, None, or
    something wrong, which the op's shape rule then reports with the op's name and site)."""
    if hasattr(axis, "__index__") and not isinstance(axis, bool):
        return int(axis)
    if isinstance(axis, (list, tuple)):
        return tuple(axis_arg(a) for a in axis)
    return axis


def normalize_axis(axis: int, rank: int) -> int:
    axis = as_axis(axis)
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def normalize_axes(axis, rank: Optional[int]):
    """Axis argument of a reduction (None, int or tuple) as a sorted tuple of non-negative ints.

    With an unknown rank the axes are returned as given (numpy resolves negatives at run time).
    """
    if axis is None:
        return None if rank is None else tuple(range(rank))
    if hasattr(axis, "__index__") or not isinstance(axis, (list, tuple)):
        axes = (as_axis(axis),)
    else:
        axes = tuple(as_axis(a) for a in axis)
    if rank is None:
        return axes
    norm = tuple(sorted(normalize_axis(a, rank) for a in axes))
    if len(set(norm)) != len(norm):
        raise ValueError(f"repeated axis in {axis}")
    return norm


class ShapeOf:
    """Stands in for an array whose shape and dtype are read but not its values (a kernel's
    shape-only input once shapes are static): no memory, and no need to keep the array alive."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple, dtype):
        self.shape, self.dtype = tuple(shape), dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return num_elements(self.shape)

    def __repr__(self) -> str:
        return f"ShapeOf({self.shape}, {self.dtype.name})"
