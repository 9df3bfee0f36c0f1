"""The dtypes graphflow knows: plain numpy dtypes, with the rules for mixing and feeding them."""

import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

SUPPORTED = (float32, float64, int32, int64, bool_)
_SHORT = {float32: "f32", float64: "f64", int32: "i32", int64: "i64", bool_: "bool"}


# TF1's spellings where numpy's differ: numpy reads "float" as float64.
_NAMES = {"float": float32, "double": float64, "float32": float32, "float64": float64,
          "int32": int32, "int64": int64, "bool": bool_}


def as_dtype(dtype) -> np.dtype:
    """Turn a numpy dtype, a numpy type or a dtype name ("float" is float32 and "double" float64,
    as in TF1) into one of the supported dtypes."""
    if isinstance(dtype, str) and dtype in _NAMES:
        return _NAMES[dtype]
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"not a dtype: {dtype!r}") from exc
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
    return bool(np.can_cast(src, dst, casting="same_kind"))
