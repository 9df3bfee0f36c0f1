"""Floor division and its remainder (TF1's tf.floordiv, tf.floormod / tf.mod, and the `//` and
`%` operators): Python's rules, so the remainder takes the divisor's sign. An integer divided by
zero is an error, as in TF1 ("Integer division by zero"); floats give inf/NaN.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..opdef import OpDef, float_inputs, register
from .core import apply, no_grad
from .elementwise import _arithmetic

__all__ = ["floordiv", "floormod"]


def _check_divisor(y) -> None:
    y = np.asarray(y)
    if y.dtype.kind in "iu" and not np.all(y):
        raise ZeroDivisionError("Integer division by zero")


def _floordiv_kernel(x, y, out=None):
    _check_divisor(y)
    return np.floor_divide(x, y, out=out)


def _floormod_kernel(x, y, out=None):
    _check_divisor(y)
    return np.mod(x, y, out=out)


def _floormod_grad(node, g):
    """TF1's: x - floor(x / y) * y varies as 1 with x and as -floor(x / y) with y."""
    x, y = node.inputs
    return g, -g * floordiv(x, y)


def _op(name, tf_type, kernel, grad):
    return register(OpDef(name, tf_type=tf_type, infer=_arithmetic, kernel=kernel, grad=grad,
                          broadcasts=True, inplace=True, never_raises=float_inputs))


# TF1 registers no gradient for FloorDiv (None for both inputs): a step function.
FLOORDIV = _op("floordiv", "FloorDiv", _floordiv_kernel, no_grad)
FLOORMOD = _op("floormod", "FloorMod", _floormod_kernel, _floormod_grad)


def floordiv(x, y, name: Optional[str] = None):
    """floor(x / y) elementwise, broadcasting; same dtype as the inputs."""
    return apply(FLOORDIV, [x, y], name or "floordiv")


def floormod(x, y, name: Optional[str] = None):
    """x - floor(x / y) * y elementwise (the remainder has the sign of y), broadcasting."""
    return apply(FLOORMOD, [x, y], name)


mod = floormod  # TF1's tf.mod
