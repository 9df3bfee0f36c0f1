"""Random ops: each draws from its own stream in the session (VariableStore.random), so every run
draws new numbers, and a graph seed plus an op seed (TF1's rules, Graph.op_seed) make a program
built again in a fresh graph draw the same ones. They are stateful: never folded, never merged.

    x = gf.random_normal([2, 3], mean=1.0, stddev=0.1, seed=0)
    # random_normal/RandomStandardNormal: f32[2,3] = random_standard_normal(shape=(2, 3), ...)
    # random_normal/mul: f32[2,3] = multiply(random_normal/RandomStandardNormal, stddev)
    # random_normal: f32[2,3] = add(random_normal/mul, mean)

As in TF1, the draws themselves have no gradient, but random_normal and truncated_normal are
built as `draw * stddev + mean` from graph ops, so gradients reach mean and stddev; the gradient of
random_uniform with respect to minval and maxval is that of TF1's `draw * (maxval - minval) +
minval`. random_shuffle has none (TF1 defines none: asking for one is an error).

A draw's shape comes from the `shape` attribute, a static tuple; an internal `like` input (read for
its shape only) supplies the sizes left None, so dropout can draw a mask of a batch whose size is
known only at run time. A shape given as a tensor (TF1's `tf.random_normal(tf.shape(z))`) is
such a `like`: a fill of that shape (generate.py), with the sizes known while building kept.
"""

from __future__ import annotations

import numbers
from typing import Optional, Sequence

import numpy as np

from .. import dtypes as _dt
from ..graph import Node, graph_of, user_site
from ..opdef import NOT_DIFFERENTIABLE, OpDef, register
from ..shapes import as_shape, fmt, static_shape
from .core import apply, constant, convert_to_tensor, no_grad
from .elementwise import add, multiply
from .generate import fill, is_shape_tensor, shape_sources, shape_tensor

__all__ = ["random_normal", "truncated_normal", "random_uniform", "random_shuffle"]


# -- shapes ----------------------------------------------------------------------------------------

def _draw_shape(inputs, n_values: int, shape):
    """The static shape of a draw: `shape`, its None sizes taken from the `like` input if any."""
    like = inputs[n_values] if len(inputs) > n_values else None
    if like is None:
        if shape is None or None in shape:
            raise ValueError(f"the shape {fmt(shape)} of a draw needs an input to take its "
                             f"unknown sizes from")
        return shape
    if shape is None:
        return like.shape
    if like.shape is None:
        return tuple(shape)
    if len(like.shape) != len(shape):
        raise ValueError(f"shape {fmt(shape)} and '{like.op_name}' {fmt(like.shape)} differ in "
                         f"rank")
    return tuple(like.shape[i] if d is None else d for i, d in enumerate(shape))


def _run_shape(shape, like) -> tuple:
    """The concrete shape of a draw at run time (like: the shape-only input's value, if any)."""
    if not like:
        return shape
    actual = like[0].shape
    if shape is None:
        return tuple(actual)
    return tuple(actual[i] if d is None else d for i, d in enumerate(shape))


def _shape_parts(shape) -> list:
    """The tensors in a shape argument (for finding the graph)."""
    if isinstance(shape, Node):
        return [shape]
    return [d for d in shape if isinstance(d, Node)] if isinstance(shape, (list, tuple)) else []


def _shape_and_like(shape, dtype, what: str, base: str):
    """A draw's static shape and its shape-only `like` input: a static list of ints as today (no
    input); a shape tensor (or a list with scalar tensors) becomes a fill of that shape, whose
    run-time shape the draw takes, and whose static shape is what is known of it now."""
    if not is_shape_tensor(shape):
        return static_shape(shape, what), None
    dims = shape_tensor(shape, what)
    if shape_sources(dims) is None:
        raise NotImplementedError(
            f"{what} ({user_site()}): shape '{dims.op_name}' holds values known only at run time; "
            f"a draw's shape may be a list of ints, gf.shape(x), or ints and gf.shape(x)[i] "
            f"stacked or concatenated")
    like = fill(dims, np.zeros((), dtype), name=base + "/shape_of_draw")
    return like.shape, like


def _draw(opdef: OpDef, values: Sequence[Node], shape, dtype, seed, name: Optional[str],
          like: Optional[Node] = None) -> Node:
    """A random node: its seed pair is taken from its graph now, once (TF1's rules)."""
    graph = graph_of(list(values) + ([like] if like is not None else []))
    inputs = list(values) + ([like] if like is not None else [])
    return apply(opdef, inputs, name, shape=shape, dtype=dtype, seed=graph.op_seed(seed))


# -- normal draws ----------------------------------------------------------------------------------
def _float_draw_infer(inputs, shape, dtype, seed):
    if not _dt.is_floating(dtype):
        raise TypeError(f"draws normal values of a float dtype only, not {dtype.name}")
    return _draw_shape(inputs, 0, shape), dtype


def _standard_normal_kernel(state, node, *like):
    shape = _run_shape(node.attrs["shape"], like)
    return state.random(node).standard_normal(shape, dtype=node.attrs["dtype"])


def _truncated_normal_kernel(state, node, *like):
    """Standard normal draws, those beyond 2 redrawn until none is (TF1's TruncatedNormal)."""
    rng, dtype = state.random(node), node.attrs["dtype"]
    out = np.asarray(rng.standard_normal(_run_shape(node.attrs["shape"], like), dtype=dtype))
    outside = np.abs(out) > 2
    while outside.any():
        out[outside] = rng.standard_normal(int(outside.sum()), dtype=dtype)
        outside = np.abs(out) > 2
    return out


RANDOM_STANDARD_NORMAL = register(OpDef(
    "random_standard_normal", tf_type="RandomStandardNormal", infer=_float_draw_infer,
    kernel=_standard_normal_kernel,
    grad=no_grad, stateful=True, stateful_kernel=True, value_inputs=0))
TRUNCATED_NORMAL = register(OpDef(
    "truncated_normal", tf_type="TruncatedNormal", infer=_float_draw_infer,
    kernel=_truncated_normal_kernel,
    grad=no_grad, stateful=True, stateful_kernel=True, value_inputs=0))


def _parameter(value, dtype, name: str) -> Node:
    """A distribution's parameter as a tensor of the draw's dtype (a number becomes a constant
    named as in TF1)."""
    if isinstance(value, Node):
        return convert_to_tensor(value, dtype)
    return constant(value, dtype, name=name)


# TF1's names for the draw inside a random_normal / truncated_normal scope.
_TF_NAMES = {"random_standard_normal": "RandomStandardNormal",
             "truncated_normal": "TruncatedNormal"}


def _scaled(primitive: OpDef, what: str, shape, mean, stddev, dtype, seed, name) -> Node:
    dtype = _dt.as_dtype(dtype)
    if not _dt.is_floating(dtype):
        raise TypeError(f"{what}: dtype must be a float dtype, got {dtype.name}")
    graph = graph_of([mean, stddev] + _shape_parts(shape))
    base = name or what
    with graph.as_default():
        shape, like = _shape_and_like(shape, dtype, what, base)
        mean = _parameter(mean, dtype, base + "/mean")
        stddev = _parameter(stddev, dtype, base + "/stddev")
        draw = _draw(primitive, [], shape, dtype, seed, base + "/" + _TF_NAMES[primitive.name],
                     like=like)
        value = add(multiply(draw, stddev, name=base + "/mul"), mean, name=base)
        shape = draw.shape
    if value.shape != shape:
        raise ValueError(f"{what}: mean {fmt(mean.shape)} and stddev {fmt(stddev.shape)} must "
                         f"broadcast to the shape {fmt(shape)}, but give {fmt(value.shape)}")
    return value


def random_normal(shape, mean=0.0, stddev=1.0, dtype=_dt.float32, seed: Optional[int] = None,
                  name: Optional[str] = None) -> Node:
    """Normal draws of `shape` (a list of ints; or, as TF1, a 1-D int tensor such as
    gf.shape(z), or a list of ints and scalar tensors), new ones each run (TF1's
    tf.random_normal). mean and stddev are numbers or tensors broadcasting to `shape`; gradients
    reach them (the value is draw * stddev + mean), not the draw. `seed` with gf.set_random_seed
    makes the draws reproducible."""
    return _scaled(RANDOM_STANDARD_NORMAL, "random_normal", shape, mean, stddev, dtype, seed,
                   name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=_dt.float32,
                     seed: Optional[int] = None, name: Optional[str] = None) -> Node:
    """Normal draws with those more than 2 stddev from the mean drawn again, so every value lies
    in [mean - 2 stddev, mean + 2 stddev] (TF1's tf.truncated_normal; its standard deviation is
    about 0.88 stddev). `shape` as random_normal's."""
    return _scaled(TRUNCATED_NORMAL, "truncated_normal", shape, mean, stddev, dtype, seed, name)


# -- uniform draws ---------------------------------------------------------------------------------
def _uniform_infer(inputs, shape, dtype, seed):
    lo, hi = inputs[:2]
    if dtype.kind not in "fi":
        raise TypeError(f"draws uniform values of a float or int dtype only, not {dtype.name}")
    for bound in (lo, hi):
        if bound.dtype != dtype:
            raise TypeError(f"bound '{bound.op_name}' is {bound.dtype.name}, the draw {dtype.name}")
        if bound.shape is not None and bound.shape != ():
            raise ValueError(f"minval and maxval must be scalars; '{bound.op_name}' has shape "
                             f"{fmt(bound.shape)}")
    return _draw_shape(inputs, 2, shape), dtype


def _uniform_kernel(state, node, lo, hi, *like):
    dtype, shape = node.attrs["dtype"], _run_shape(node.attrs["shape"], like)
    lo, hi = np.asarray(lo, dtype), np.asarray(hi, dtype)
    if not lo < hi:
        raise ValueError(f"random_uniform needs minval < maxval, got {lo} and {hi}")
    rng = state.random(node)
    if dtype.kind == "i":
        return rng.integers(lo, hi, size=shape, dtype=dtype)
    value = lo + rng.random(shape, dtype=dtype) * (hi - lo)
    # Rounding can carry lo + u * (hi - lo) up to hi itself; the range is half-open.
    return np.asarray(np.minimum(value, np.nextafter(hi, lo)))


def _uniform_grad(node, g):
    # TF1 computes draw * (maxval - minval) + minval: that expression's gradients.
    lo, hi = node.inputs[:2]
    if not _dt.is_floating(node.dtype):
        return (None,) * len(node.inputs)
    width = hi - lo
    rest = (None,) * (len(node.inputs) - 2)
    return (g * ((hi - node) / width), g * ((node - lo) / width)) + rest


RANDOM_UNIFORM = register(OpDef(
    "random_uniform", tf_type="RandomUniform", infer=_uniform_infer, kernel=_uniform_kernel,
    grad=_uniform_grad,
    stateful=True, stateful_kernel=True, broadcasts=True, value_inputs=2))


def _uniform_bounds(minval, maxval, dtype, what: str, base: str):
    dtype = _dt.as_dtype(dtype)
    if dtype.kind not in "fi":
        raise TypeError(f"{what}: dtype must be a float or int dtype, got {dtype.name}")
    if maxval is None:
        if dtype.kind == "i":
            raise ValueError(f"{what}: an {dtype.name} draw needs maxval (there is no default "
                             f"upper bound for integers)")
        maxval = 1
    numbers_given = [isinstance(b, numbers.Real) for b in (minval, maxval)]
    if all(numbers_given) and not minval < maxval:
        raise ValueError(f"{what}: needs minval < maxval, got {minval} and {maxval}")
    graph = graph_of([minval, maxval])
    with graph.as_default():
        lo = _parameter(minval, dtype, base + "/min")
        hi = _parameter(maxval, dtype, base + "/max")
    return lo, hi, dtype


def random_uniform(shape, minval=0, maxval=None, dtype=_dt.float32, seed: Optional[int] = None,
                   name: Optional[str] = None) -> Node:
    """Uniform draws in [minval, maxval) of `shape` (as random_normal's), new ones each run
    (TF1's tf.random_uniform). maxval=None means 1 for floats; integer dtypes need maxval. The
    bounds are scalars (numbers or tensors); for floats, gradients reach them as through TF1's
    draw * (maxval - minval) + minval."""
    base = name or "random_uniform"
    lo, hi, dtype = _uniform_bounds(minval, maxval, dtype, "random_uniform", base)
    with lo.graph.as_default():
        shape, like = _shape_and_like(shape, dtype, "random_uniform", base)
    return _draw(RANDOM_UNIFORM, [lo, hi], shape, dtype, seed, base, like=like)


def random_uniform_like(like: Node, shape=None, minval=0, maxval=None, dtype=None,
                        seed: Optional[int] = None, name: Optional[str] = None) -> Node:
    """Uniform draws shaped like `like` at run time (its size may be unknown while building):
    `shape`, when given, has like's rank and the sizes to use instead, None keeping like's."""
    like = convert_to_tensor(like)
    shape = None if shape is None else as_shape(shape)
    base = name or "random_uniform"
    with like.graph.as_default():
        lo, hi, dtype = _uniform_bounds(minval, maxval, dtype or like.dtype, "random_uniform",
                                        base)
    return _draw(RANDOM_UNIFORM, [lo, hi], shape, dtype, seed, base, like=like)


# -- shuffling -------------------------------------------------------------------------------------
def _shuffle_infer(inputs, seed):
    return inputs[0].shape, inputs[0].dtype


def _shuffle_kernel(state, node, value):
    rng = state.random(node)
    value = np.asarray(value)
    return np.array(value) if value.ndim == 0 else rng.permutation(value, axis=0)


RANDOM_SHUFFLE = register(OpDef(
    "random_shuffle", tf_type="RandomShuffle", infer=_shuffle_infer, kernel=_shuffle_kernel,
    grad=NOT_DIFFERENTIABLE,
    stateful=True, stateful_kernel=True))


def random_shuffle(value, seed: Optional[int] = None, name: Optional[str] = None) -> Node:
    """`value` with its slices along the first axis in a new random order each run (TF1's
    tf.random_shuffle). It has no gradient, as in TF1."""
    value = convert_to_tensor(value)
    return apply(RANDOM_SHUFFLE, [value], name or "random_shuffle",
                 seed=value.graph.op_seed(seed))
