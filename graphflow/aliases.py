"""TF1's older spellings of ops graphflow has under their newer names (all deprecated in TF 1.15,
still common in TF1 code): tf.to_float, tf.arg_max, tf.initialize_all_variables, ...
"""

from typing import Optional

from compiler import dtypes as _dt
from compiler.graph import Node, Operation
from compiler.ops.elementwise import cast
from compiler.ops.math import argmin
from compiler.ops.reduce import argmax

from .variables import global_variables_initializer, variables_initializer

__all__ = ["to_float", "to_double", "to_int32", "to_int64", "arg_max", "arg_min",
           "initialize_all_variables", "initialize_variables"]


def to_float(x, name: str = "ToFloat") -> Node:
    """x cast to float32 (TF1's deprecated spelling of `cast(x, float32)`)."""
    return cast(x, _dt.float32, name=name)


def to_double(x, name: str = "ToDouble") -> Node:
    """x cast to float64 (TF1's deprecated spelling of `cast(x, float64)`)."""
    return cast(x, _dt.float64, name=name)


def to_int32(x, name: str = "ToInt32") -> Node:
    """x cast to int32 (TF1's deprecated spelling of `cast(x, int32)`; floats truncate)."""
    return cast(x, _dt.int32, name=name)


def to_int64(x, name: str = "ToInt64") -> Node:
    """x cast to int64 (TF1's deprecated spelling of `cast(x, int64)`; floats truncate)."""
    return cast(x, _dt.int64, name=name)


def _dimension(dimension, who: str):
    # TF1's arg_max has no default axis (argmax's None-means-0 does not apply)
    if dimension is None:
        raise TypeError(f"{who}: dimension must be an int axis, got None; e.g. "
                        f"{who}(logits, 1) for the index of each row's extreme value")
    return dimension


def arg_max(input, dimension, output_type=_dt.int64, name: Optional[str] = None) -> Node:  # noqa: A002
    """Index of the largest value along `dimension` (TF1's raw ArgMax: `argmax(input, axis)`)."""
    return argmax(input, _dimension(dimension, "arg_max"), name=name, output_type=output_type)


def arg_min(input, dimension, output_type=_dt.int64, name: Optional[str] = None) -> Node:  # noqa: A002
    """Index of the smallest value along `dimension` (TF1's raw ArgMin: `argmin(input, axis)`)."""
    return argmin(input, _dimension(dimension, "arg_min"), name=name, output_type=output_type)


def initialize_all_variables() -> Operation:
    """TF1's deprecated name of `global_variables_initializer()`."""
    return global_variables_initializer()


def initialize_variables(var_list, name: str = "init") -> Operation:
    """TF1's deprecated name of `variables_initializer(var_list, name)`."""
    return variables_initializer(var_list, name=name)
