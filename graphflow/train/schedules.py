"""The global step and learning-rate schedules computed from it, with TF1's names and formulas.

    global_step = gf.train.get_or_create_global_step()
    lr = gf.train.exponential_decay(0.1, global_step, decay_steps=1000, decay_rate=0.96)
    train_op = gf.train.GradientDescentOptimizer(lr).minimize(loss, global_step=global_step)

A schedule is an ordinary graph op of the step, recomputed at every run; it reads the step at the
start of the run, so the step op that increments it runs with the value from before the increment.
As in TF1 a schedule is computed in the dtype of `learning_rate` (float32 for a Python number;
pass a float64 tensor for float64) and the step is cast to that dtype.
"""

from __future__ import annotations

import numbers
from typing import Optional, Sequence, Union

import numpy as np

from compiler import dtypes as _dt
from compiler.graph import Graph, Node, get_default_graph, graph_of
from compiler.ops.core import constant, convert_to_tensor
from compiler.ops.elementwise import (
    add,
    cast,
    divide,
    equal,
    greater,
    less_equal,
    minimum,
    multiply,
    negative,
    subtract,
    where,
)
from compiler.ops.elementwise import power as _power
from compiler.ops.state import Variable

__all__ = ["get_global_step", "create_global_step", "get_or_create_global_step",
           "exponential_decay", "piecewise_constant", "polynomial_decay"]

GLOBAL_STEP = "global_step"  # the collection key, and the variable's name, as in TF1

Scalar = Union[int, float, Node]


# -- the global step -----------------------------------------------------------------------------
def get_global_step(graph: Optional[Graph] = None) -> Optional[Variable]:
    """The global step of `graph` (default: the default graph): the variable in the
    "global_step" collection, else a variable named "global_step"; None if there is neither."""
    graph = graph or get_default_graph()
    found = graph.get_collection(GLOBAL_STEP)
    if len(found) > 1:
        raise TypeError(f"the '{GLOBAL_STEP}' collection holds {len(found)} tensors "
                        f"({[v.op_name for v in found]}); there must be one global step")
    if found:
        step = found[0]
    else:
        step = next((n for n in graph.nodes if n.op_name == GLOBAL_STEP), None)
        if step is None:
            return None
    if not isinstance(step, Variable):
        raise TypeError(f"the global step '{step.op_name}' ({step.site}) is not a gf.Variable")
    if step.dtype.kind not in "iu" or step.shape != ():
        raise TypeError(f"the global step '{step.op_name}' ({step.site}) must be a scalar integer "
                        f"variable, got {step.dtype.name} of shape {step.shape}")
    return step


def create_global_step(graph: Optional[Graph] = None) -> Variable:
    """Make the global step of `graph`: an int64 scalar variable "global_step", 0 at the start,
    not trainable, in the "global_step" collection. It is an error if one exists already."""
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError(f"'{GLOBAL_STEP}' already exists in this graph; use "
                         f"gf.train.get_or_create_global_step()")
    with graph.as_default(), graph.within_scope(""):  # TF1: never "train/global_step"
        step = Variable(np.int64(0), name=GLOBAL_STEP, trainable=False, dtype=_dt.int64)
    if step.op_name != GLOBAL_STEP:  # the name was taken by something that is not a variable
        raise ValueError(f"the name '{GLOBAL_STEP}' is taken; the global step became "
                         f"'{step.op_name}'")
    graph.add_to_collection(GLOBAL_STEP, step)
    return step


def get_or_create_global_step(graph: Optional[Graph] = None) -> Variable:
    """The global step of `graph` (default: the default graph), made on the first call."""
    graph = graph or get_default_graph()
    step = get_global_step(graph)
    return create_global_step(graph) if step is None else step


# -- helpers -------------------------------------------------------------------------------------
def _learning_rate(value, graph: Graph, who: str, scope: str) -> Node:
    if not isinstance(value, Node):
        value = constant(value, name=f"{scope}/learning_rate", graph=graph)
    if not _dt.is_floating(value.dtype):
        raise TypeError(f"{who}: learning_rate must be a float, got {value.dtype.name} "
                        f"'{value.op_name}'")
    return value


def _as(value, dtype: np.dtype, name: str, graph: Graph) -> Node:
    """`value` as a tensor of dtype: a number becomes a constant, a tensor is cast."""
    if isinstance(value, Node):
        return value if value.dtype == dtype else cast(value, dtype, name=name)
    return constant(value, dtype=dtype, name=name, graph=graph)


def _positive(value, what: str, who: str) -> None:
    if isinstance(value, numbers.Number) and not value > 0:
        raise ValueError(f"{who}: {what} must be positive, got {value!r}")


def _check_step(global_step, who: str) -> None:
    if global_step is None:
        raise ValueError(f"global_step is required for {who}")
    if not isinstance(global_step, Node) or global_step.dtype.kind not in "iuf":
        raise TypeError(f"{who}: global_step must be an int or float tensor (see "
                        f"gf.train.get_or_create_global_step()), got {global_step!r}")


def _floor(x: Node, scope: str) -> Node:
    """floor(x) from casts: graphflow has no floor op. Truncation toward zero (the int64 cast)
    is the floor for x >= 0; below zero a non-integer is one more step down."""
    trunc = cast(cast(x, _dt.int64, name=f"{scope}/Trunc"), x.dtype, name=f"{scope}/Cast_trunc")
    above = cast(greater(trunc, x, name=f"{scope}/Greater"), x.dtype, name=f"{scope}/Cast")
    return subtract(trunc, above, name=f"{scope}/Floor")


def _ceil(x: Node, scope: str) -> Node:
    return negative(_floor(negative(x, name=f"{scope}/Neg"), scope), name=f"{scope}/Ceil")


# -- schedules -----------------------------------------------------------------------------------
def exponential_decay(learning_rate: Scalar, global_step: Node, decay_steps: Scalar,
                      decay_rate: Scalar, staircase: bool = False,
                      name: Optional[str] = None) -> Node:
    """TF1's tf.train.exponential_decay:

        learning_rate * decay_rate ** (global_step / decay_steps)

    with the exponent floored (a step function) when staircase=True.
    """
    who = "exponential_decay"
    _check_step(global_step, who)
    _positive(decay_steps, "decay_steps", who)
    graph = graph_of([v for v in (learning_rate, global_step, decay_steps, decay_rate)
                      if isinstance(v, Node)])
    base = name or "ExponentialDecay"
    with graph.as_default():
        lr = _learning_rate(learning_rate, graph, who, base)
        dtype = lr.dtype
        step = _as(global_step, dtype, f"{base}/global_step", graph)
        steps = _as(decay_steps, dtype, f"{base}/decay_steps", graph)
        rate = _as(decay_rate, dtype, f"{base}/decay_rate", graph)
        p = divide(step, steps, name=f"{base}/truediv")
        if staircase:
            p = _floor(p, base)
        return multiply(lr, _power(rate, p, name=f"{base}/Pow"), name=base)


def piecewise_constant(x: Scalar, boundaries: Sequence, values: Sequence,
                       name: Optional[str] = None) -> Node:
    """TF1's tf.train.piecewise_constant: values[0] where x <= boundaries[0], values[i] where
    boundaries[i-1] < x <= boundaries[i], values[-1] where x > boundaries[-1].

    Boundaries that are numbers take x's dtype (an int boundary for an int64 step; a fractional
    boundary for an int x is an error, not rounded); tensor boundaries must have x's dtype (int32
    ones are cast up to an int64 x, as TF1 does). Values take the dtype of the first tensor
    among them, else float32 if any is a float, else int32; they must all agree.
    """
    who = "piecewise_constant"
    boundaries, values = list(boundaries), list(values)
    if not boundaries or len(boundaries) != len(values) - 1:
        raise ValueError(f"{who}: boundaries must be one shorter than values (and not empty), "
                         f"got {len(boundaries)} boundaries and {len(values)} values")
    plain = [b for b in boundaries if not isinstance(b, Node)]
    if len(plain) == len(boundaries) and any(b > c for b, c in zip(plain, plain[1:])):
        raise ValueError(f"{who}: boundaries must be increasing, got {plain}")
    tensors = [v for v in [x] + boundaries + values if isinstance(v, Node)]
    graph = graph_of(tensors)
    base = name or "PiecewiseConstant"
    with graph.as_default():
        x = convert_to_tensor(x, graph=graph)
        bounds = []
        for i, b in enumerate(boundaries):
            if not isinstance(b, Node):
                b = constant(b, dtype=x.dtype, name=f"{base}/boundary_{i}", graph=graph)
            elif b.dtype != x.dtype:
                if b.dtype == _dt.int32 and x.dtype == _dt.int64:
                    b = cast(b, _dt.int64)
                else:
                    raise TypeError(f"{who}: boundary '{b.op_name}' is {b.dtype.name} but x "
                                    f"'{x.op_name}' is {x.dtype.name}; they must agree")
            bounds.append(b)
        like = next((v.dtype for v in values if isinstance(v, Node)), None)
        if like is None:
            like = _dt.float32 if any(isinstance(v, float) for v in values) else None
        vals = [v if isinstance(v, Node) else
                constant(v, dtype=like, name=f"{base}/value_{i}", graph=graph)
                for i, v in enumerate(values)]
        if len({v.dtype for v in vals}) != 1:
            shown = ", ".join(f"'{v.op_name}' {v.dtype.name}" for v in vals)
            raise TypeError(f"{who}: values must all have one dtype, got {shown}")
        # From the last interval down, so the first boundary that x does not exceed wins.
        out = vals[-1]
        for i in reversed(range(len(bounds))):
            out = where(less_equal(x, bounds[i], name=f"{base}/LessEqual"), vals[i], out,
                        name=base if i == 0 else f"{base}/Select")
        return out


def polynomial_decay(learning_rate: Scalar, global_step: Node, decay_steps: Scalar,
                     end_learning_rate: Scalar = 0.0001, power: Scalar = 1.0, cycle: bool = False,
                     name: Optional[str] = None) -> Node:
    """TF1's tf.train.polynomial_decay:

        step = min(global_step, decay_steps)
        (learning_rate - end_learning_rate) * (1 - step / decay_steps) ** power + end_learning_rate

    With cycle=True decay_steps is instead stretched to the first multiple of it that is at
    least global_step (decay_steps * ceil(global_step / decay_steps), and decay_steps itself at
    step 0), so the rate jumps back up after each cycle.
    """
    who = "polynomial_decay"
    _check_step(global_step, who)
    _positive(decay_steps, "decay_steps", who)
    graph = graph_of([v for v in (learning_rate, global_step, decay_steps, end_learning_rate,
                                  power) if isinstance(v, Node)])
    base = name or "PolynomialDecay"
    with graph.as_default():
        lr = _learning_rate(learning_rate, graph, who, base)
        dtype = lr.dtype
        step = _as(global_step, dtype, f"{base}/global_step", graph)
        steps = _as(decay_steps, dtype, f"{base}/decay_steps", graph)
        one = constant(1, dtype=dtype, name=f"{base}/one", graph=graph)
        end = _as(end_learning_rate, dtype, f"{base}/end_learning_rate", graph)
        exponent = _as(power, dtype, f"{base}/power", graph)
        if cycle:
            zero = constant(0, dtype=dtype, name=f"{base}/zero", graph=graph)
            ratio = divide(step, steps, name=f"{base}/div_cycle")
            multiplier = where(equal(step, zero, name=f"{base}/Equal"), one, _ceil(ratio, base),
                               name=f"{base}/multiplier")
            steps = multiply(steps, multiplier, name=f"{base}/cycle_steps")
        else:
            step = minimum(step, steps, name=f"{base}/Minimum")
        p = divide(step, steps, name=f"{base}/truediv")
        span = subtract(lr, end, name=f"{base}/Sub")
        fall = _power(subtract(one, p, name=f"{base}/Sub_1"), exponent, name=f"{base}/Pow")
        decayed = multiply(span, fall, name=f"{base}/Mul")
        return add(decayed, end, name=base)

