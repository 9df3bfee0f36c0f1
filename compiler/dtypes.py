"""The dtypes graphflow knows: plain numpy dtypes, with the rules for mixing and feeding them."""

import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
# TF1's small integers (uint8 images): numpy's arithmetic, which wraps around as TF1's does.
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
uint8 = np.dtype(np.uint8)
uint16 = np.dtype(np.uint16)

SUPPORTED = (float32, float64, int32, int64, bool_, int8, int16, uint8, uint16)
_SHORT = {float32: "f32", float64: "f64", int32: "i32", int64: "i64", bool_: "bool",
          int8: "i8", int16: "i16", uint8: "u8", uint16: "u16"}


# TF1's spellings where numpy's differ: numpy reads "float" as float64.
_NAMES = {"float": float32, "double": float64, "float32": float32, "float64": float64,
          "int32": int32, "int64": int64, "bool": bool_,
          "int8": int8, "int16": int16, "uint8": uint8, "uint16": uint16}


# TF1's tf.string: numpy object arrays holding `bytes` (str is encoded as UTF-8). Kept out of
# SUPPORTED: it is no numeric dtype, and no numeric kernel or device ever sees it.
string = np.dtype(object)
_SHORT[string] = "str"
_NAMES["string"] = string


def as_dtype(dtype) -> np.dtype:
    """Turn a numpy dtype, a numpy type or a dtype name ("float" is float32 and "double" float64,
    as in TF1) into one of the supported dtypes."""
    if isinstance(dtype, str) and dtype in _NAMES:
        return _NAMES[dtype]
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"not a dtype: {dtype!r}") from exc
    if dt == string:
        return string
    if dt not in SUPPORTED:
        names = ", ".join(d.name for d in SUPPORTED)
        raise TypeError(f"dtype {dt.name} is not supported; use one of {names}")
    return dt


def is_floating(dtype) -> bool:
    return dtype is not None and np.dtype(dtype).kind == "f"


def short_name(dtype) -> str:
    """The compact name used when printing graphs: f32, i64, bool."""
    return _SHORT.get(dtype, "none") if dtype is not None else "none"


def can_feed(src: np.dtype, dst: np.dtype) -> bool:
    """Whether a fed array of dtype src may be cast to a placeholder of dtype dst.

    Casting within a kind (float64 -> float32, int64 -> int32) and up the ladder
    bool -> int -> float
    is allowed; anything that would drop a fractional part or a sign meaning (float -> int) is not.
    """
    if np.dtype(src).kind in "iu" and np.dtype(dst).kind in "iu":
        return True  # int64 lists into uint8: the executors check the values fit (check_range)
    return bool(np.can_cast(src, dst, casting="same_kind"))


# -- strings ---------------------------------------------------------------------------------------
# Only ops whose OpDef is marked `strings` take or make string values (object arrays of bytes); any
# other op given a string tensor, or asked to make one, is a DTypeError when the graph is built
# (graph.add_node), so no string ever reaches a numeric kernel, an `out=` buffer or a device.


def is_string(dtype) -> bool:
    return dtype is not None and dtype == string


def touches_strings(node) -> bool:
    """Whether a node makes or reads a string value: it runs on the host, by its reference
    kernel, on every backend."""
    return is_string(node.dtype) or any(is_string(x.dtype) for x in node.inputs)


def is_string_like(value) -> bool:
    """str or bytes, or an array or (nested) list whose elements are."""
    while isinstance(value, (list, tuple)) and len(value):
        value = value[0]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SU":
            return True
        return value.dtype == object and value.size > 0 and isinstance(value.flat[0], (str, bytes))
    return isinstance(value, (str, bytes))


def string_array(value) -> np.ndarray:
    """A new object array of `bytes` from str/bytes or arrays/lists of them (str as UTF-8);
    TypeError naming the first element that is neither."""
    arr = np.array(value, dtype=object)
    flat = arr.reshape(-1)  # a view of the fresh array: writes go through
    for i, v in enumerate(flat):
        if isinstance(v, str):
            flat[i] = v.encode("utf-8")
        elif isinstance(v, bytes):
            flat[i] = bytes(v)  # np.bytes_ to plain bytes, as TF1 returns
        else:
            raise TypeError(f"a string tensor holds str or bytes, got {type(v).__name__} {v!r}")
    return arr
