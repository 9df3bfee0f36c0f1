"""gf.nn.embedding_lookup: TF1's lookup of rows of an embedding table, whole or split in shards."""

from __future__ import annotations

from typing import Optional

import numpy as np

from compiler.graph import Node, graph_of, user_site
from compiler.ops.array import gather
from compiler.ops.core import constant, convert_to_tensor
from compiler.ops.elementwise import (
    divide,
    greater,
    identity,
    maximum,
    multiply,
    ones_like,
    sqrt,
    where,
)
from compiler.ops.reduce import reduce_sum
from compiler.ops.shape import concat


def embedding_lookup(params, ids, partition_strategy: str = "mod", name: Optional[str] = None,
                     validate_indices=True, max_norm=None) -> Node:
    """The rows of `params` at `ids`: shape ids.shape + params.shape[1:] (TF 1.15's v1 name).

    params is one tensor or a list of P shards split along axis 0; with P > 1 an id goes to shard
    id % P, row id // P ("mod", the default) or to contiguous blocks of ids, the first
    (total % P) shards holding one id more ("div"). max_norm clips each looked-up embedding to
    that L2 norm. validate_indices is ignored, as in TF1 (an id out of range is a run-time error).
    The gradient reaching params adds up the rows of repeated ids.
    """
    del validate_indices  # TF1: deprecated, unused
    shards = list(params) if isinstance(params, (list, tuple)) else [params]
    if not shards:
        raise ValueError("embedding_lookup: params is an empty list; it needs at least one tensor")
    if partition_strategy not in ("mod", "div"):
        raise ValueError(f"embedding_lookup: unrecognized partition_strategy "
                         f"{partition_strategy!r}; use 'mod' or 'div'")
    graph = graph_of(shards + [ids])
    with graph.as_default(), graph.name_scope(name or "embedding_lookup"):
        shards = [convert_to_tensor(p) for p in shards]
        ids = convert_to_tensor(ids)
        if ids.dtype is None or np.dtype(ids.dtype).kind not in "iu":
            raise TypeError(f"embedding_lookup ({user_site()}): ids '{ids.op_name}' must be int32 "
                            f"or int64, got {getattr(ids.dtype, 'name', ids.dtype)}")
        if len(shards) == 1:
            table = shards[0]
        else:
            table = concat(shards, 0)
            ids = gather(_row_map(shards, partition_strategy), ids)
        result = gather(table, ids, name="embedding_lookup")
        if max_norm is not None:
            if ids.shape is None:
                raise ValueError(f"embedding_lookup ({user_site()}): max_norm needs ids "
                                 f"'{ids.op_name}' of known rank")
            result = _clip_rows(result, len(ids.shape), max_norm)
        return identity(result)


def _row_map(shards: list, strategy: str) -> Node:
    """For every id, its row in the shards concatenated along axis 0 (a constant: the shard sizes
    are static)."""
    sizes = [p.shape[0] if p.shape is not None else None for p in shards]
    if None in sizes:
        unknown = shards[sizes.index(None)]
        raise ValueError(f"embedding_lookup ({user_site()}): shard '{unknown.op_name}' has an "
                         f"unknown first dimension; give every shard a static shape")
    n, count = sum(sizes), len(shards)
    ids = np.arange(n)
    if strategy == "mod":
        shard, row = ids % count, ids // count
    else:  # "div": the first n % count shards hold one id more
        per, extras = n // count, n % count
        big = ids < extras * (per + 1)
        shard = np.where(big, ids // (per + 1), extras + (ids - extras * (per + 1)) // max(per, 1))
        row = np.where(big, ids % (per + 1), (ids - extras * (per + 1)) % max(per, 1))
    expected = np.bincount(shard, minlength=count)
    if list(expected) != sizes:
        raise ValueError(f"embedding_lookup ({user_site()}): shards of sizes {sizes} do not fit "
                         f"the '{strategy}' strategy for {n} ids, which needs {list(expected)}")
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return constant((offsets[shard] + row).astype(np.int64), name="row_map")


def _clip_rows(t: Node, ids_rank: int, max_norm) -> Node:
    """TF1's clip_by_norm of each embedding (the axes after the ids' own) to L2 norm max_norm."""
    axes = list(range(ids_rank, len(t.shape)))
    sum_sq = reduce_sum(t * t, axes, keepdims=True)
    nonzero = greater(sum_sq, 0.0)
    # sqrt only where the sum is positive, so a zero row has a finite gradient
    norm = where(nonzero, sqrt(where(nonzero, sum_sq, ones_like(sum_sq))), sum_sq)
    return divide(multiply(t, max_norm), maximum(norm, max_norm))
