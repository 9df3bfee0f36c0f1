"""TF1's spellings of graphflow's ops: old keyword names (reduction_indices, keep_dims), fill
functions, aliases (pow, div, truediv), and a clear error for TF1 features graphflow lacks."""

from __future__ import annotations

from typing import Optional

import numpy as np

from compiler import dtypes as _dt
from compiler.graph import Node, user_site
from compiler.ops import elementwise as ew
from compiler.ops import generate as gen
from compiler.ops import math as math_ops
from compiler.ops import reduce as red
from compiler.ops.core import constant
from compiler.ops.generate import is_shape_tensor
from compiler.shapes import num_elements, static_shape

__all__ = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "zeros",
           "ones", "fill", "pow", "div", "truediv", "UNSUPPORTED", "unsupported"]


def _axis(axis, reduction_indices, keepdims, keep_dims):
    if axis is not None and reduction_indices is not None:
        raise ValueError("give axis or reduction_indices (TF1's old name for it), not both")
    return (axis if reduction_indices is None else reduction_indices,
            bool(keep_dims if keepdims is None else keepdims))


def _reduction(op, doc):
    def reduce(input_tensor, axis=None, keepdims=None, name: Optional[str] = None,
               reduction_indices=None, keep_dims=None):
        axis, keepdims = _axis(axis, reduction_indices, keepdims, keep_dims)
        return op(input_tensor, axis, keepdims=keepdims, name=name)
    reduce.__name__ = op.__name__
    reduce.__doc__ = doc + " Also takes TF1's old names reduction_indices= and keep_dims=."
    return reduce


reduce_sum = _reduction(red.reduce_sum, red.reduce_sum.__doc__)
reduce_mean = _reduction(red.reduce_mean, red.reduce_mean.__doc__)
reduce_max = _reduction(red.reduce_max, red.reduce_max.__doc__)
reduce_min = _reduction(math_ops.reduce_min, math_ops.reduce_min.__doc__)
reduce_prod = _reduction(math_ops.reduce_prod, math_ops.reduce_prod.__doc__)


def zeros(shape, dtype=_dt.float32, name: Optional[str] = None):
    """A tensor of zeros: of a static shape (a constant), or of a shape given as a 1-D int
    tensor or a list mixing ints and scalar tensors (a fill op, as TF1's)."""
    dtype = _dt.as_dtype(dtype)
    if is_shape_tensor(shape):
        return gen.fill(shape, np.zeros((), dtype), name=name or "zeros")
    return _filled("zeros", shape, 0, dtype, name)


def ones(shape, dtype=_dt.float32, name: Optional[str] = None):
    """A tensor of ones: of a static shape (a constant), or of a shape given as a tensor (as
    zeros)."""
    dtype = _dt.as_dtype(dtype)
    if is_shape_tensor(shape):
        return gen.fill(shape, np.ones((), dtype), name=name or "ones")
    return _filled("ones", shape, 1, dtype, name)


def fill(dims, value, name: Optional[str] = None):
    """A tensor of shape `dims` filled with `value` (its dtype follows TF1: float32 for a Python
    float, int32 for a Python int). With static dims and a number, a constant; with dims given as
    a tensor (or a tensor value), TF1's Fill op, its static shape what is known of dims."""
    if is_shape_tensor(dims) or isinstance(value, Node):
        return gen.fill(dims, value, name=name or "Fill")
    base = np.asarray(constant(value).attrs["value"])
    return _filled("Fill", dims, base, base.dtype, name)


def _filled(op: str, shape, value, dtype: np.dtype, name: Optional[str]):
    """A constant of a static shape holding `value` everywhere; a shape that is not a list of
    non-negative ints, or too large to hold, is an error naming the op and its argument."""
    where = f"{op} '{name or op}' ({user_site()})"
    dims = static_shape(shape if np.ndim(shape) else (shape,), where)
    nbytes = num_elements(dims) * dtype.itemsize
    try:
        array = np.full(dims, value, dtype)
    except (MemoryError, ValueError) as exc:
        raise ValueError(f"{where}: a {dtype.name} constant of shape {dims} needs {nbytes:,} "
                         f"bytes, which cannot be allocated ({type(exc).__name__})") from None
    return constant(array, name=name or op)


def pow(x, y, name: Optional[str] = None):  # noqa: A001 - TF1's public name
    """x ** y (TF1's tf.pow)."""
    return ew.power(x, y, name=name)


def truediv(x, y, name: Optional[str] = None):
    """x / y, true division (integers give float64)."""
    return ew.divide(x, y, name=name)


def div(x, y, name: Optional[str] = None):
    """TF1's tf.div, here true division for every dtype (TF1 floors for integers)."""
    return ew.divide(x, y, name=name)


# TF1 features graphflow does not have, with what to use instead.
UNSUPPORTED = {
    "cond": "tf.cond; use gf.where, which computes both branches",
    "while_loop": "tf.while_loop; write the loop in Python around sess.run",
    "case": "tf.case; use gf.where",
    "scan": "tf.scan; write the loop in Python",
    "map_fn": "tf.map_fn; use vectorised ops",
    "py_func": "tf.py_func",
    "Print": "tf.Print; fetch the tensor with sess.run",
    "FIFOQueue": "queues; use tf.data (Dataset and its iterators) or gf.data.batches",
    "RandomShuffleQueue": "queues; use tf.data's Dataset.shuffle or gf.data.batches",
    "keras": "tf.keras; use gf.layers",
    "sparse_placeholder": "sparse tensors",
    "SparseTensor": "sparse tensors",
    "image": "tf.image",
    "saved_model": "SavedModel; use gf.train.Saver (.npz checkpoints)",
}


class UnsupportedError(NotImplementedError, AttributeError):
    """A TF1 name graphflow does not have: a NotImplementedError saying so, and an AttributeError
    too, so that hasattr(), getattr(module, name, default), pickle and inspect (which look up
    names a module may lack) see a missing attribute rather than fail."""


def unsupported(name: str):
    """The error for a TF1 name graphflow does not support (None if the name is not known)."""
    why = UNSUPPORTED.get(name)
    if why is None:
        return None
    return UnsupportedError(f"graphflow does not support {why}. See the README section "
                            f"'Coming from TensorFlow 1' for what is supported.")
