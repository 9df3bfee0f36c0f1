"""Calling the user's input_fn and model_fn as TF1's Estimator does: each gets the arguments it
names, and what it returns is checked, with errors that name the function and how to fix it."""

from __future__ import annotations

import functools
import inspect
from typing import Callable, Tuple

import numpy as np

from compiler.graph import Node
from compiler.ops.core import convert_to_tensor

from .model_fn import EstimatorSpec

_MODEL_FN_ARGS = ("features", "labels", "mode", "params", "config")


def fn_args(fn: Callable) -> Tuple[str, ...]:
    """The argument names of `fn` (a function, a bound method, a partial, a callable object),
    less those a functools.partial fixed and a bound method's self."""
    if isinstance(fn, functools.partial):
        fixed = set(fn.keywords)
        return tuple(a for a in fn_args(fn.func)[len(fn.args):] if a not in fixed)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return ()
    return tuple(name for name, p in signature.parameters.items()
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


def verify_model_fn_args(model_fn: Callable, params) -> None:
    """TF1's checks when an Estimator is made: model_fn takes features, names no argument the
    Estimator cannot give, and takes params when params are given."""
    if not callable(model_fn):
        raise TypeError(f"model_fn must be a function, given {model_fn!r}")
    args = set(fn_args(model_fn))
    name = getattr(model_fn, "__name__", repr(model_fn))
    if "features" not in args:
        raise ValueError(f"model_fn ({name}) must include features argument.")
    if params is not None and "params" not in args:
        raise ValueError(f"model_fn ({name}) does not include params argument, but params "
                         f"({params!r}) is passed to Estimator.")
    unexpected = sorted(args - set(_MODEL_FN_ARGS) - {"self"})
    if unexpected:
        raise ValueError(f"model_fn ({name}) has following not expected args: {unexpected}; "
                         f"it may take only {list(_MODEL_FN_ARGS)}")


def call_input_fn(input_fn: Callable, mode: str, params: dict, config):
    """(features, labels) from input_fn, called with whichever of mode, params, config it names.
    A Dataset it returns is read with a one-shot iterator, as TF1 does."""
    if not callable(input_fn):
        raise TypeError(f"input_fn must be a function (e.g. lambda: (features, labels)), given "
                        f"{input_fn!r}")
    args = fn_args(input_fn)
    kwargs = {k: v for k, v in (("mode", mode), ("params", params), ("config", config))
              if k in args}
    result = input_fn(**kwargs)
    if hasattr(result, "make_one_shot_iterator"):  # a tf.data.Dataset
        result = result.make_one_shot_iterator().get_next()
    if isinstance(result, (list, tuple)):
        if len(result) != 2:
            raise ValueError(f"input_fn should return (features, labels) as a len 2 tuple, or "
                             f"features alone; it returned a {type(result).__name__} of "
                             f"{len(result)} items")
        features, labels = result
    else:
        features, labels = result, None
    return _as_tensors("features", features, False), _as_tensors("labels", labels, True)


def _as_tensors(what: str, value, optional: bool):
    """A tensor or a dict of tensors; numpy arrays and numbers become constants (as TF1's ops
    would convert them)."""
    if value is None and optional:
        return None
    if isinstance(value, dict):
        return {key: _as_tensor(f"{what}[{key!r}]", v) for key, v in value.items()}
    return _as_tensor(what, value)


def _as_tensor(what: str, value) -> Node:
    if isinstance(value, Node):
        return value
    if isinstance(value, (np.ndarray, np.generic, int, float, bool, list)):
        return convert_to_tensor(value)
    raise TypeError(f"input_fn returned {what} = {value!r} ({type(value).__name__}); features "
                    f"and labels must be tensors or dicts of tensors, e.g. "
                    f"({{'x': tf.constant(x)}}, tf.constant(y)), or use "
                    f"tf.estimator.inputs.numpy_input_fn")


def call_model_fn(model_fn: Callable, features, labels, mode: str, params: dict,
                  config) -> EstimatorSpec:
    """model_fn's EstimatorSpec; it gets labels, mode, params and config if it names them."""
    args = fn_args(model_fn)
    kwargs = {}
    if "labels" in args:
        kwargs["labels"] = labels
    elif labels is not None:
        raise ValueError("model_fn does not take labels, but input_fn returns labels; add a "
                         "labels argument to model_fn or return features alone")
    for key, value in (("mode", mode), ("params", params), ("config", config)):
        if key in args:
            kwargs[key] = value
    spec = model_fn(features=features, **kwargs)
    if not isinstance(spec, EstimatorSpec):
        raise ValueError(f"model_fn should return an EstimatorSpec, but it returned "
                         f"{type(spec).__name__} in mode {mode!r}; return "
                         f"tf.estimator.EstimatorSpec(mode, ...)")
    return spec
