"""An unpickler for pickles of plain numeric numpy arrays, which builds nothing else.

numpy pickles an array as `_reconstruct(ndarray, (0,), b'b')` followed by BUILD with the state
(1, shape, dtype, fortran_order, raw bytes), and a dtype as `dtype('f4', False, True)` followed by
BUILD with (3, byte order, subarray, names, fields, elsize, alignment, flags). Here those names
resolve to stand-ins that only check and record their arguments: a dtype is made only from a plain
numeric code with an empty state, an array only from bytes whose length its shape and dtype
predict, so a crafted state (object fields under flags that claim none, a subarray, a shape of
terabytes) is refused before numpy builds anything from it.
"""

from __future__ import annotations

import io
import math
import pickle
import reprlib

import numpy as np

from .errors import FormatError

__all__ = ["unpickle_arrays", "PLAIN_CODES"]

# The codes numpy's dtype.__reduce__ gives for bool, integers and floats.
PLAIN_CODES = ("b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8")
MAX_NDIM = 32  # numpy's own limit
MAX_DEPTH = 8  # how deep unpickle_arrays looks for arrays in nested tuples and lists


def _refuse(what: str) -> pickle.UnpicklingError:
    return pickle.UnpicklingError(f"refusing {what}: only plain numeric numpy arrays "
                                  f"({', '.join(PLAIN_CODES)}) are allowed in this pickle")


def _short(value, depth: int = 0) -> str:
    """A repr for an error message, cut short without first building the repr of big data."""
    if isinstance(value, (str, bytes, bytearray)) and len(value) > 40:
        return f"<{type(value).__name__} of length {len(value)}>"
    if type(value) in (tuple, list) and depth < 2:
        items = [_short(item, depth + 1) for item in value[:10]]
        more = ", ..." if len(value) > 10 else "," if len(value) == 1 else ""
        return f"({', '.join(items)}{more})"
    return reprlib.repr(value)


def _is_int(value, allowed=None) -> bool:
    return type(value) in (bool, int) and (allowed is None or value in allowed)


class _Dtype:
    """Stands in for numpy.dtype: `dtype(code, align, copy)`, then `__setstate__(state)`."""

    code = None  # set by __init__; a stand-in made without it (pickle's NEWOBJ) stays unusable
    dtype = None  # the numpy dtype, set once the state has been checked

    def __init__(self, code, align=False, copy=False):
        if not isinstance(code, str) or code not in PLAIN_CODES:
            raise _refuse(f"numpy dtype {_short(code)}")
        if not (_is_int(align, (0,)) and _is_int(copy, (0, 1))):
            raise _refuse(f"numpy dtype arguments align={_short(align)}, copy={_short(copy)}")
        self.code = code

    def __repr__(self):
        return f"numpy.dtype({self.code!r})"

    def __setstate__(self, state):
        if not (self.code and type(state) is tuple and len(state) == 8 and state[0] == 3):
            raise _refuse(f"a numpy dtype state {_short(state)}")
        plain = np.dtype(self.code)
        orders = ("|",) if plain.itemsize == 1 else ("<", ">")
        _, order, subarray, names, fields, elsize, alignment, flags = state
        if not (isinstance(order, str) and order in orders
                and subarray is None and names is None and fields is None
                and _is_int(elsize, (-1, plain.itemsize))
                and _is_int(alignment, (-1, plain.alignment)) and _is_int(flags, (0,))):
            raise _refuse(f"a numpy dtype {self.code} with the state {_short(state)} (byte order, "
                          f"subarray, fields, sizes or flags of something else)")
        self.dtype = np.dtype(self.code if order == "|" else order + self.code)


class _Array:
    """Stands in for the empty ndarray `_reconstruct` makes; `__setstate__` fills it."""

    array = None

    def __setstate__(self, state):
        if not (type(state) is tuple and len(state) == 5 and state[0] == 1):
            raise _refuse(f"a numpy array state {_short(state)}")
        _, shape, dtype, fortran, raw = state
        if not (type(shape) is tuple and len(shape) <= MAX_NDIM
                and all(_is_int(n) and n >= 0 for n in shape)):
            raise _refuse(f"a numpy array of shape {_short(shape)}")
        if not (isinstance(dtype, _Dtype) and dtype.dtype is not None):
            raise _refuse(f"a numpy array whose dtype is {type(dtype).__name__}")
        if isinstance(raw, str):  # Python 2's byte strings, read as latin1
            raw = raw.encode("latin1")
        if not (_is_int(fortran, (0, 1)) and isinstance(raw, (bytes, bytearray))):
            raise _refuse(f"a numpy array state with fortran_order={_short(fortran)} and data of "
                          f"type {type(raw).__name__}")
        size = math.prod(shape) * dtype.dtype.itemsize  # Python ints: no wrap-around
        if len(raw) != size:
            raise FormatError(f"a pickled array of shape {shape} and dtype {dtype.dtype} needs "
                              f"{size} bytes, the pickle holds {len(raw)}")
        flat = np.frombuffer(raw, dtype.dtype)
        native = dtype.dtype.newbyteorder("=")
        self.array = flat.reshape(shape, order="F" if fortran else "C").astype(native)


class _Marker:
    """numpy.ndarray as an argument of _reconstruct: a name, not something a pickle can call."""

    def __repr__(self):
        return "numpy.ndarray"


_NDARRAY = _Marker()


def _reconstruct(cls, shape, typecode):
    if cls is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        raise _refuse(f"numpy's _reconstruct{_short((cls, shape, typecode))}")
    return _Array()


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that knows four names, each resolving to a stand-in of this module; any
    other global the pickle names (a function to call, a class to build) is refused before it is
    looked up."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): _NDARRAY,
        ("numpy", "dtype"): _Dtype,
    }

    def find_class(self, module: str, name: str):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise _refuse(f"to load {module}.{name}") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refusing a pickle with persistent ids")


def unpickle_arrays(data: bytes, source: str = "pickle"):
    """Unpickle `data` (Python 2 pickles too: latin1 strings) admitting only plain numeric numpy
    arrays, in tuples and lists, and Python's plain values. Raises pickle.UnpicklingError naming
    `source` for anything else, FormatError for a damaged pickle."""
    try:
        loaded = _ArrayUnpickler(io.BytesIO(data), encoding="latin1").load()
        return _materialize(loaded, 0)
    except pickle.UnpicklingError as exc:
        raise pickle.UnpicklingError(f"{source}: {exc}") from None
    except FormatError as exc:
        raise FormatError(f"{source}: {exc}") from None
    except Exception as exc:  # a damaged pickle can fail in many ways
        raise FormatError(f"cannot unpickle {source}: {type(exc).__name__}: {exc}") from exc


def _materialize(obj, depth: int):
    """`obj` with each stand-in replaced by the numpy object it stands for."""
    if isinstance(obj, (_Array, _Dtype)):
        built = obj.array if isinstance(obj, _Array) else obj.dtype
        if built is None:
            raise _refuse("a numpy object the pickle never gave a state")
        return built
    if type(obj) in (tuple, list) and depth < MAX_DEPTH:
        return type(obj)(_materialize(item, depth + 1) for item in obj)
    return obj
