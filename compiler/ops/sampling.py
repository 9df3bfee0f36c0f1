"""Candidate sampling (TF1's tf.nn.log_uniform_candidate_sampler): a stateful draw of class ids
from the log-uniform (Zipfian) distribution P(c) = log((c + 2) / (c + 1)) / log(range_max + 1),
and a pure op giving the expected count of classes in such a draw.

    draw = log_uniform_draw(true_classes, num_sampled=4, unique=True, range_max=10, seed=None)
    # draw: i64[5]: the 4 sampled ids, then the number of draws taken (num_tries)

The draw is stateful like the ops in random.py (its own seeded stream in the session, new ids
each run, never folded or merged); the counts are computed from it, so the ids and the counts
always come from the same draw.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .. import dtypes as _dt
from ..graph import Node
from ..opdef import NOT_DIFFERENTIABLE, OpDef, register
from .core import apply, convert_to_tensor

__all__ = ["log_uniform_draw", "log_uniform_expected_count"]


def _draw_infer(inputs, num_sampled, unique, range_max, seed):
    return (num_sampled + 1,), _dt.int64


def _log_uniform_ids(rng, count: int, range_max: int) -> np.ndarray:
    """`count` ids: floor(exp(u * log(range_max + 1))) - 1 for uniform u (TF1's LogUniformSampler),
    which has exactly the log-uniform probabilities."""
    ids = np.floor(np.exp(rng.random(count) * np.log(range_max + 1.0))).astype(np.int64) - 1
    return np.clip(ids, 0, range_max - 1)  # guards rounding at the top end


def _unique_ids(rng, count: int, range_max: int):
    """Draws until `count` different ids have come up (TF1's unique=True): the ids in the order
    first seen and the number of draws taken."""
    seen: dict = {}
    tries = 0
    while len(seen) < count:
        for value in _log_uniform_ids(rng, count, range_max).tolist():
            tries += 1
            seen.setdefault(value, None)
            if len(seen) == count:
                break
    return np.fromiter(seen, np.int64, count), tries


def _draw_kernel(state, node, *unused):
    attrs = node.attrs
    rng, n, range_max = state.random(node), attrs["num_sampled"], attrs["range_max"]
    if attrs["unique"]:
        ids, tries = _unique_ids(rng, n, range_max)
    else:
        ids, tries = _log_uniform_ids(rng, n, range_max), n
    return np.append(ids, np.int64(tries))


LOG_UNIFORM_DRAW = register(OpDef(
    "log_uniform_draw", tf_type="LogUniformCandidateSampler", infer=_draw_infer,
    kernel=_draw_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, stateful_kernel=True,
    value_inputs=0))


def log_uniform_draw(like: Node, num_sampled: int, unique: bool, range_max: int,
                     seed: Optional[int] = None, name: Optional[str] = None) -> Node:
    """num_sampled log-uniform ids in [0, range_max) followed by the number of draws taken (int64
    [num_sampled + 1]); `like` only places the op in its graph."""
    like = convert_to_tensor(like)
    return apply(LOG_UNIFORM_DRAW, [like], name, num_sampled=int(num_sampled),
                 unique=bool(unique), range_max=int(range_max), seed=like.graph.op_seed(seed))


def _count_infer(inputs, num_sampled, range_max):
    return inputs[0].shape, _dt.float32


def _count_kernel(classes, draw, num_sampled, range_max):
    """TF1's expected count of each class: p * num_sampled when no draw was rejected, else
    1 - (1 - p)^num_tries computed as -expm1(num_tries * log1p(-p))."""
    classes = np.asarray(classes, np.float64)
    p = np.log((classes + 2.0) / (classes + 1.0)) / np.log(range_max + 1.0)
    tries = int(np.asarray(draw)[-1])
    if tries == num_sampled:
        return (p * num_sampled).astype(np.float32)
    return (-np.expm1(tries * np.log1p(-p))).astype(np.float32)


LOG_UNIFORM_EXPECTED_COUNT = register(OpDef(
    "log_uniform_expected_count", tf_type="LogUniformExpectedCount", infer=_count_infer,
    kernel=_count_kernel, grad=NOT_DIFFERENTIABLE))


def log_uniform_expected_count(classes, draw: Node, num_sampled: int, range_max: int,
                               name: Optional[str] = None) -> Node:
    """The expected count (float32, classes' shape) of each class in `draw` (log_uniform_draw)."""
    return apply(LOG_UNIFORM_EXPECTED_COUNT, [convert_to_tensor(classes), draw], name,
                 num_sampled=int(num_sampled), range_max=int(range_max))
