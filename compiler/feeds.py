"""Checking fed values against the tensors they are fed to (shared by every executor)."""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .errors import FeedError, MissingFeedError
from .graph import Node, Operation
from .ops.core import PLACEHOLDER
from .shapes import compatible, fmt


def check_feed(key: Node, value) -> np.ndarray:
    """`value` as an array of key's dtype, or a FeedError naming the key, expected and got.

    A cast within a kind or up bool -> int -> float is made (float64 into float32), and floats
    that are all whole numbers go into an int key as in TF1; one that would lose information (a
    fraction into an int) is refused. None in key's shape matches any size.
    """
    if isinstance(value, (Node, Operation)):
        raise FeedError(f"cannot feed a tensor to {_what(key)}: feed values must be numpy arrays "
                        f"or Python numbers (sess.run the tensor first)")
    if _dt.is_string(key.dtype) or _dt.is_string_like(value):
        return _check_string_feed(key, value)
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError) as exc:  # ragged nests, unconvertible objects
        raise FeedError(f"cannot feed {_kind_of(value)} to {_what(key)}: numpy cannot make one "
                        f"array of it ({exc}); feed a rectangular array") from None
    if arr.dtype != key.dtype:
        if arr.dtype == object:
            raise FeedError(f"cannot feed {_kind_of(value)} of Python objects to {_what(key)}: "
                            f"feed numbers (integers must fit in 64 bits)")
        if not (_dt.can_feed(arr.dtype, key.dtype) or _whole_floats(key, arr)):
            raise FeedError(f"cannot feed a {arr.dtype.name} value to {_what(key)} of dtype "
                            f"{key.dtype.name}: the cast would lose information (a fraction or "
                            f"a NaN, which TF1 would cut off silently); cast it first")
        check_range(key, arr)
        arr = arr.astype(key.dtype)
    if not compatible(key.shape, arr.shape):
        raise FeedError(f"cannot feed value of shape {fmt(arr.shape)} to {_what(key)} of shape "
                        f"{fmt(key.shape)}")
    return arr


def _check_string_feed(key: Node, value) -> np.ndarray:
    """str/bytes (or lists/arrays of them) fed to a string key, as an object array of bytes."""
    if not _dt.is_string(key.dtype):
        raise FeedError(f"cannot feed strings ({_kind_of(value)}) to {_what(key)} of dtype "
                        f"{key.dtype.name}: convert them to numbers first")
    try:
        arr = _dt.string_array(value)
    except (TypeError, ValueError) as exc:
        raise FeedError(f"cannot feed {_kind_of(value)} to {_what(key)} of dtype string: {exc}; "
                        f"feed str or bytes, or a rectangular list or array of them") from None
    if not compatible(key.shape, arr.shape):
        raise FeedError(f"cannot feed value of shape {fmt(arr.shape)} to {_what(key)} of shape "
                        f"{fmt(key.shape)}")
    return arr


def _whole_floats(key: Node, arr: np.ndarray) -> bool:
    """Floats fed to an integer key whose values are all whole numbers: TF1 casts them (its
    session does np.asarray(value, dtype)), and nothing is lost, so they are taken too."""
    if arr.dtype.kind != "f" or key.dtype.kind not in "iu":
        return False
    return bool(np.all(np.isfinite(arr)) and np.array_equal(arr, np.trunc(arr)))


def check_range(key: Node, arr: np.ndarray) -> None:
    """Integers (or whole floats) narrowed to the key's dtype must fit it: a cast would wrap
    them silently."""
    if arr.dtype.kind not in "iuf" or key.dtype.kind not in "iu" or arr.size == 0:
        return
    if np.can_cast(arr.dtype, key.dtype, casting="safe"):
        return
    info = np.iinfo(key.dtype)
    low, high = int(arr.min()), int(arr.max())
    if low < info.min or high > info.max:
        raise FeedError(f"cannot feed {arr.dtype.name} values to {_what(key)} of dtype "
                        f"{key.dtype.name}: they lie in [{low}, {high}], {key.dtype.name} holds "
                        f"[{info.min}, {info.max}], and a cast would wrap them around")


def _kind_of(value) -> str:
    return f"a {type(value).__name__}"


def _what(key: Node) -> str:
    kind = "placeholder" if key.opdef is PLACEHOLDER else key.opdef.name
    return f"{kind} '{key.op_name}'"


def missing_feeds_error(missing) -> FeedError:
    """The error for placeholders a run needs but was not given."""
    names = ", ".join(f"'{n.op_name}' (dtype {n.dtype.name}, shape {fmt(n.shape)}, made at "
                      f"{n.site})" for n in missing)
    return MissingFeedError(f"you must feed a value for placeholder {names}; pass it in "
                     f"feed_dict={{{missing[0].op_name}: value, ...}}")
