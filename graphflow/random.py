"""TF 1.15's tf.random namespace: the random ops under their newer names (tf.random.normal is
tf.random_normal, and so on), same parameters.

    initial = tf.random.truncated_normal([784, 10], stddev=0.1)
"""

from __future__ import annotations

from compiler.graph import get_default_graph
from compiler.ops.random import random_normal as normal
from compiler.ops.random import random_shuffle as shuffle
from compiler.ops.random import random_uniform as uniform
from compiler.ops.random import truncated_normal

__all__ = ["normal", "shuffle", "truncated_normal", "uniform", "set_random_seed"]


def set_random_seed(seed: int) -> None:
    """Graph-level seed of the default graph: makes initializers and random ops reproducible
    (tf.set_random_seed, and TF 1.15's tf.random.set_random_seed)."""
    get_default_graph().seed = int(seed)
