"""Numeric gradient checks (TF1's tf.test.compute_gradient): the Jacobian that autodiff gives
against one from central differences.

    x = gf.placeholder(gf.float64, (2, 3), name="x")
    y = gf.tanh(x) * 2
    symbolic, numeric = gf.test.compute_gradient(x, (2, 3), y, (2, 3))   # each (6, 6)
    gf.test.compute_gradient_error(x, (2, 3), y, (2, 3))                 # max |symbolic - numeric|

As in TF1, jacobian[i, j] = d y_j / d x_i over the flattened x and y. The symbolic Jacobian is
one backward run per element of y (grad_ys a one-hot); the numeric one is two forward runs per
element of x, the differences taken in float64.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from compiler import dtypes as _dt
from compiler.autodiff import gradients
from compiler.graph import Node
from compiler.ops.core import placeholder
from compiler.shapes import compatible, fmt

from .session import Session, get_default_session

Jacobians = Tuple[np.ndarray, np.ndarray]


def compute_gradient(x: Union[Node, Sequence[Node]], x_shape, y: Node, y_shape,
                     x_init_value=None, delta: float = 1e-3, init_targets=None,
                     extra_feed_dict: Optional[dict] = None
                     ) -> Union[Jacobians, List[Jacobians]]:
    """(symbolic Jacobian, numeric Jacobian) of y with respect to x, each of shape
    (x size, y size), in float64.

    x is a tensor to feed (a placeholder or any other tensor y depends on) of shape x_shape, set to
    x_init_value (default: uniform draws in [0, 1)); the numeric Jacobian perturbs each element by
    +-delta. With x a list of tensors (x_shape and x_init_value lists too) the result is a list of
    pairs, one per x, the other xs held at their values. init_targets are run first;
    extra_feed_dict feeds the other placeholders y needs. Runs in the default session when one is
    active, else in a new session on y's graph.
    """
    if isinstance(x, (list, tuple)):
        xs, shapes = list(x), list(x_shape)
        values = [None] * len(xs) if x_init_value is None else list(x_init_value)
        if not len(xs) == len(shapes) == len(values):
            raise ValueError(f"compute_gradient: {len(xs)} tensors x, {len(shapes)} x_shape and "
                             f"{len(values)} x_init_value; give one of each per x")
        return _compute(xs, shapes, y, y_shape, values, delta, init_targets, extra_feed_dict)
    return _compute([x], [x_shape], y, y_shape, [x_init_value], delta, init_targets,
                    extra_feed_dict)[0]


def compute_gradient_error(x: Union[Node, Sequence[Node]], x_shape, y: Node, y_shape,
                           x_init_value=None, delta: float = 1e-3, init_targets=None,
                           extra_feed_dict: Optional[dict] = None) -> float:
    """The largest absolute difference between the symbolic and the numeric Jacobian (over all xs
    when x is a list); the arguments are compute_gradient's."""
    result = compute_gradient(x, x_shape, y, y_shape, x_init_value, delta, init_targets,
                              extra_feed_dict)
    pairs = result if isinstance(result, list) else [result]
    return max([float(np.max(np.abs(s - n))) if s.size else 0.0 for s, n in pairs] + [0.0])


def _compute(xs: List[Node], x_shapes: list, y: Node, y_shape, x_values: list, delta: float,
             init_targets, extra_feed_dict: Optional[dict]) -> List[Jacobians]:
    for t, what in [(t, "x") for t in xs] + [(y, "y")]:
        if not isinstance(t, Node):
            raise TypeError(f"compute_gradient: {what} must be a tensor, got {t!r}")
        if not _dt.is_floating(t.dtype):
            raise TypeError(f"compute_gradient: {what} '{t.op_name}' has dtype "
                            f"{t.dtype.name if t.dtype is not None else 'None'}; only float "
                            f"tensors have gradients")
    y_shape = tuple(int(d) for d in y_shape)
    if y.shape is not None and not compatible(y.shape, y_shape):
        raise ValueError(f"compute_gradient: y_shape {y_shape} does not fit '{y.op_name}' of shape "
                         f"{fmt(y.shape)}")
    fed = [_initial_value(x, tuple(int(d) for d in s), v, k)
           for k, (x, s, v) in enumerate(zip(xs, x_shapes, x_values))]
    extra = {k: v for k, v in (extra_feed_dict or {}).items() if not any(k is x for x in xs)}
    extra_keys = list(extra)

    session = get_default_session()
    own = session is None
    if own:
        session = Session(y.graph)
    elif session.graph is not y.graph:
        raise ValueError(f"compute_gradient: the default session's graph is not the graph of "
                         f"'{y.op_name}'; leave the session's `with` block or use one on that "
                         f"graph")
    try:
        for target in _as_list(init_targets):
            session.run(target)
        with y.graph.as_default():
            dy = placeholder(y.dtype, y_shape, name="gradient_checker/dy")
        grads = gradients(y, xs, grad_ys=[dy])
        forward = session.make_callable(y, xs + extra_keys)
        wanted = [g for g in grads if g is not None]
        backward = session.make_callable(wanted, xs + [dy] + extra_keys)
        extra_values = [extra[k] for k in extra_keys]

        y_value = np.asarray(forward(*fed, *extra_values))
        if y_value.shape != y_shape:
            raise ValueError(f"compute_gradient: y '{y.op_name}' has shape {y_value.shape}, but "
                             f"y_shape says {y_shape}")
        y_size = int(np.prod(y_shape))
        symbolic = [np.zeros((v.size, y_size)) for v in fed]
        seed = np.zeros(y_shape, y.dtype)
        for j in range(y_size):
            seed.flat[j] = 1
            columns = iter(backward(*fed, seed, *extra_values))
            seed.flat[j] = 0
            for k, g in enumerate(grads):
                if g is not None:
                    symbolic[k][:, j] = np.asarray(next(columns), np.float64).ravel()

        pairs = []
        for k, x in enumerate(xs):
            numeric = np.zeros((fed[k].size, y_size))
            center = fed[k].astype(np.float64)
            for i in range(center.size):
                up, down = center.copy(), center.copy()
                up.flat[i] += delta
                down.flat[i] -= delta
                up, down = up.astype(x.dtype), down.astype(x.dtype)
                # The step actually fed: delta rounded to the dtype of x.
                step = float(up.flat[i]) - float(down.flat[i])
                if step == 0:
                    raise ValueError(f"compute_gradient: delta {delta} is too small to change "
                                     f"'{x.op_name}' ({x.dtype.name}) at {center.flat[i]}")
                args_up, args_down = list(fed), list(fed)
                args_up[k], args_down[k] = up, down
                y_up = np.asarray(forward(*args_up, *extra_values), np.float64)
                y_down = np.asarray(forward(*args_down, *extra_values), np.float64)
                numeric[i] = ((y_up - y_down) / step).ravel()
            pairs.append((symbolic[k], numeric))
        return pairs
    finally:
        if own:
            session.close()


def _initial_value(x: Node, shape: tuple, value, index: int) -> np.ndarray:
    if x.shape is not None and not compatible(x.shape, shape):
        raise ValueError(f"compute_gradient: x_shape {shape} does not fit '{x.op_name}' of shape "
                         f"{fmt(x.shape)}")
    if value is None:
        value = np.random.default_rng(index).random(shape)
    value = np.asarray(value)
    if value.shape != shape:
        raise ValueError(f"compute_gradient: x_init_value for '{x.op_name}' has shape "
                         f"{value.shape}, "
                         f"but x_shape says {shape}")
    return value.astype(x.dtype)


def _as_list(targets) -> list:
    if targets is None:
        return []
    return list(targets) if isinstance(targets, (list, tuple)) else [targets]
