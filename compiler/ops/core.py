"""Sources (constant, placeholder) and the helpers every op family uses to build nodes."""

from __future__ import annotations

import numbers
from typing import Optional, Sequence

import numpy as np

from .. import dtypes as _dt
from ..errors import FeedError
from ..graph import Graph, Node, graph_of, user_site
from ..opdef import OpDef, register
from ..shapes import as_shape, static_shape

__all__ = ["constant", "placeholder", "convert_to_tensor"]


def no_grad(node, g):
    """Gradient rule of ops whose output does not vary with their inputs' values (zeros_like),
    and of sources, which have no inputs."""
    return (None,) * len(node.inputs)


def _constant_infer(inputs, value):
    return value.shape, value.dtype


def _constant_kernel(value):
    return value


CONSTANT = register(OpDef("constant", tf_type="Const", strings=True,
                          infer=_constant_infer, kernel=_constant_kernel, grad=no_grad))


def _placeholder_infer(inputs, dtype, shape):
    return shape, dtype


def _placeholder_kernel(dtype, shape):
    raise FeedError("a placeholder must be fed")  # the executors check feeds before running


PLACEHOLDER = register(OpDef("placeholder", tf_type="Placeholder", strings=True,
                             infer=_placeholder_infer, kernel=_placeholder_kernel,
                             grad=no_grad, stateful=True))


def _as_array(value, dtype: Optional[np.dtype]) -> np.ndarray:
    """A Python number/list or numpy array as an array of a supported dtype, cast without loss."""
    if _dt.is_string_like(value) or (dtype is not None and _dt.as_dtype(dtype) == _dt.string):
        return _string_value(value, dtype)
    if isinstance(value, np.generic):  # a numpy scalar keeps its own dtype, as an array does
        value = np.asarray(value)
    if dtype is not None:
        dtype = _dt.as_dtype(dtype)
        if isinstance(value, bool) or isinstance(value, numbers.Number):
            _check_python_scalar(value, dtype)
            return np.asarray(value, dtype=dtype)
        arr = np.asarray(value)
        if arr.dtype != dtype and not _dt.can_feed(arr.dtype, dtype):
            raise TypeError(f"cannot convert a {arr.dtype.name} array to a {dtype.name} tensor "
                            f"without loss; use gf.cast")
        return arr.astype(dtype, copy=False)
    if isinstance(value, bool):
        return np.asarray(value, dtype=_dt.bool_)
    if isinstance(value, numbers.Integral):  # int32 where it fits, else int64, as TF1
        return np.asarray(value, dtype=_dt.int32 if -2**31 <= value < 2**31 else _dt.int64)
    if isinstance(value, numbers.Real):
        return np.asarray(value, dtype=_dt.float32)
    arr = np.asarray(value)
    if not isinstance(value, np.ndarray) and arr.dtype.kind == "f":
        return arr.astype(_dt.float32)  # Python floats in lists follow TF1's default too
    if not isinstance(value, np.ndarray) and arr.dtype.kind == "i" and (
            arr.size == 0 or np.iinfo(np.int32).min <= arr.min() <= arr.max() <= 2**31 - 1):
        return arr.astype(_dt.int32)
    if arr.dtype.kind == "f" and arr.dtype not in _dt.SUPPORTED:
        arr = arr.astype(_dt.float32)
    elif arr.dtype.kind in "iu" and arr.dtype not in _dt.SUPPORTED:
        arr = arr.astype(_dt.int64)
    if arr.dtype == object and any(isinstance(v, numbers.Integral) for v in arr.flat):
        raise OverflowError("a Python int beyond 64 bits")  # numpy kept it as an object
    if arr.dtype == object:  # not the string dtype: its elements are no strings
        raise TypeError(f"a tensor holds numbers, bools or strings, not "
                        f"{type(arr.flat[0]).__name__ if arr.size else 'objects'}")
    _dt.as_dtype(arr.dtype)
    return arr


def _string_value(value, dtype) -> np.ndarray:
    """str/bytes (or lists/arrays of them) as a string array; a numeric dtype is refused."""
    if dtype is not None and _dt.as_dtype(dtype) != _dt.string:
        raise TypeError(f"cannot convert {_short(value)} to a {_dt.as_dtype(dtype).name} tensor: "
                        f"it holds strings (TF1 does not parse them either)")
    return _dt.string_array(value)


def _check_python_scalar(value, dtype: np.dtype) -> None:
    """TF1 refuses a Python float for an int or bool dtype (even 2.0) and a number for bool."""
    if dtype.kind in "iu" and not isinstance(value, numbers.Integral):
        raise TypeError(f"cannot convert {value!r} to a {dtype.name} tensor: expected "
                        f"{dtype.name}, got a {type(value).__name__} (as TF1); use gf.cast")
    if dtype.kind == "b" and not isinstance(value, bool):
        raise TypeError(f"cannot convert {value!r} to a bool tensor: expected a bool, got a "
                        f"{type(value).__name__} (as TF1)")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _reason(exc: Exception) -> str:
    if isinstance(exc, OverflowError):
        return "integers must fit in 64 bits (and in the dtype asked for)"
    return str(exc)


def constant(value, dtype=None, shape=None, name: Optional[str] = "Const",
             verify_shape: bool = False, graph: Optional[Graph] = None) -> Node:
    """A constant tensor (TF1's tf.constant). Python floats default to float32 and ints to int32,
    as in TF1; numpy arrays keep their dtype. With `shape`, a scalar fills it, a list of that
    many elements is reshaped to it and a shorter one is padded with its last element (TF1's
    rule); more elements than the shape holds is a ValueError, and verify_shape=True makes any
    other shape than `shape` a TypeError, as in TF1."""
    name = name or "Const"
    try:
        arr = np.array(_as_array(value, dtype))  # own copy: later changes to `value` do not leak in
    except (OverflowError, ValueError) as exc:  # 2**70, ragged lists
        raise ValueError(f"constant '{name}' ({user_site()}): cannot hold "
                         f"{_short(value)}: {_reason(exc)}") from None
    except TypeError as exc:
        raise TypeError(f"constant '{name}' ({user_site()}): {exc}") from None
    if shape is not None:
        arr = _shaped(arr, shape, verify_shape, f"constant '{name}' ({user_site()})")
    arr.flags.writeable = False
    graph = graph if graph is not None else graph_of(())
    return graph.add_node(CONSTANT, [], {"value": arr}, name=name)


def _shaped(arr: np.ndarray, shape, verify_shape: bool, where: str) -> np.ndarray:
    """`arr` given the shape asked for, by TF1's rules (tensor_util.make_tensor_proto)."""
    dims = static_shape(shape, where)
    if verify_shape and arr.shape != dims:
        raise TypeError(f"{where}: expected a value of shape {dims}, got {arr.shape} "
                        f"(verify_shape=True)")
    size = int(np.prod(dims, dtype=np.int64))
    if size == 0:
        return np.zeros(dims, arr.dtype)
    if arr.size > size:
        raise ValueError(f"{where}: too many elements provided: shape {dims} holds at most "
                         f"{size}, but the value has {arr.size}")
    if arr.size == size:
        return arr.reshape(dims)
    flat = arr.ravel()
    last = flat[-1] if flat.size else np.zeros((), arr.dtype)  # no value at all: zeros
    return np.concatenate([flat, np.full(size - flat.size, last, arr.dtype)]).reshape(dims)


def placeholder(dtype, shape=None, name: Optional[str] = None) -> Node:
    """A value fed at run time. shape=None means unknown rank; None inside shape an unknown size."""
    dtype = _dt.as_dtype(dtype)
    graph = graph_of(())
    return graph.add_node(PLACEHOLDER, [], {"dtype": dtype, "shape": as_shape(shape)},
                          name=name or "Placeholder")


def convert_to_tensor(value, dtype=None, name: Optional[str] = None, preferred_dtype=None,
                      dtype_hint=None, graph: Optional[Graph] = None) -> Node:
    """TF1's tf.convert_to_tensor: a tensor passes through as is (ValueError if `dtype` is given
    and differs, as TF1), anything else becomes a constant named `name`. preferred_dtype (or its
    newer name dtype_hint) is tried when dtype is None, falling back to the value's own dtype
    where it does not fit."""
    if preferred_dtype is not None and dtype_hint is not None:
        raise ValueError("convert_to_tensor: give preferred_dtype or dtype_hint, not both")
    preferred = preferred_dtype if preferred_dtype is not None else dtype_hint
    if isinstance(value, Node):
        if dtype is not None and value.dtype != _dt.as_dtype(dtype):
            raise ValueError(f"tensor conversion requested dtype {_dt.as_dtype(dtype).name} for "
                             f"tensor '{value.op_name}' of dtype {value.dtype.name}; use gf.cast")
        return value
    if hasattr(value, "node") and isinstance(value.node, Node):  # an Operation
        raise TypeError(f"operation '{value.node.op_name}' produces no value and cannot be an "
                        f"input")
    if dtype is None and preferred is not None:
        try:
            return constant(value, dtype=preferred, name=name, graph=graph)
        except (TypeError, ValueError):
            pass  # TF1 falls back to the value's own dtype
    return constant(value, dtype=dtype, name=name, graph=graph)


def apply(opdef: OpDef, inputs: Sequence, name: Optional[str] = None, **attrs) -> Node:
    """Build a node of `opdef`. Operands that are not tensors become constants of the dtype of the
    first tensor operand (so `x * 2` keeps x's dtype), or of their own default dtype.

    Inside gf.control_dependencies, a variable operand is read by a `read_variable` node that
    runs after the dependencies, so it sees what they assigned (TF1's semantics)."""
    graph = graph_of(inputs)
    like = next((x.dtype for x in inputs if isinstance(x, Node)), None)
    try:
        nodes = [x if isinstance(x, Node) else convert_to_tensor(x, like, graph=graph)
                 for x in inputs]
    except TypeError as exc:
        raise TypeError(f"{opdef.name} ({user_site()}): {exc}") from None
    if graph.current_control_inputs():  # an update's target (input 0) is written, not read
        nodes = [read_variable(x) if x.type == "variable" and not (opdef.updates and k == 0)
                 else x for k, x in enumerate(nodes)]
    return graph.add_node(opdef, nodes, attrs, name=name)


def _read_infer(inputs):
    return inputs[0].shape, inputs[0].dtype


def _read_kernel(state, node, value):
    return np.array(state.latest(node.inputs[0]))


READ_VARIABLE = register(OpDef(
    "read_variable", tf_type="Identity", infer=_read_infer, kernel=_read_kernel, grad=lambda node,
    g: (g,),
    stateful=True, stateful_kernel=True,
    never_raises=True))


def read_variable(var: Node, name: Optional[str] = None) -> Node:
    """The variable's value when this node runs (after its control dependencies), not at the start
    of the run as a plain use of the variable sees it."""
    return var.graph.add_node(READ_VARIABLE, [var], name=name or var.op_name.rsplit("/", 1)[-1]
                              + "/read")


def same_dtype(inputs, what: str = "inputs") -> np.dtype:
    """The common dtype of inputs that must all agree (TF1 never promotes silently)."""
    dtypes = {x.dtype for x in inputs}
    if len(dtypes) != 1:
        shown = ", ".join(f"'{x.op_name}' is {x.dtype.name}" for x in inputs)
        raise TypeError(f"{what} must have the same dtype ({shown}); use gf.cast")
    return inputs[0].dtype


def require_float(x: Node) -> np.dtype:
    if not _dt.is_floating(x.dtype):
        raise TypeError(f"needs a float tensor, got {x.dtype.name} '{x.op_name}'; use gf.cast")
    return x.dtype



