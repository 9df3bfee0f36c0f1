"""Ranking ops: in_top_k (TF1's tf.nn.in_top_k), a metric with no gradient.

    hit = gf.nn.in_top_k(logits, labels, 5)
    # hit: bool[?] = in_top_k(logits, labels, k=5)
"""

from __future__ import annotations

import numbers
from typing import Optional

import numpy as np

from .. import dtypes as _dt
from ..graph import graph_of, user_site
from ..opdef import NOT_DIFFERENTIABLE, OpDef, register
from ..shapes import fmt
from .core import CONSTANT, apply, convert_to_tensor

__all__ = ["in_top_k"]


def _in_top_k_infer(inputs, k):
    predictions, targets = inputs
    if predictions.dtype != _dt.float32:
        raise TypeError(f"predictions '{predictions.op_name}' must be float32 (as TF1's InTopK), "
                        f"got {predictions.dtype.name}; use gf.cast")
    if targets.dtype not in (_dt.int32, _dt.int64):
        raise TypeError(f"targets '{targets.op_name}' must be int32 or int64, got "
                        f"{targets.dtype.name}")
    if predictions.shape is not None and len(predictions.shape) != 2:
        raise ValueError(f"predictions '{predictions.op_name}' must be 2-D (batch, classes), got "
                         f"{fmt(predictions.shape)}")
    if targets.shape is not None and len(targets.shape) != 1:
        raise ValueError(f"targets '{targets.op_name}' must be 1-D (batch,), got "
                         f"{fmt(targets.shape)}")
    batch = [s[0] for s in (predictions.shape, targets.shape) if s is not None]
    known = {b for b in batch if b is not None}
    if len(known) > 1:
        raise ValueError(f"predictions {fmt(predictions.shape)} and targets "
                         f"{fmt(targets.shape)} differ in batch size")
    return (known.pop() if known else None,), _dt.bool_


def _in_top_k_kernel(predictions, targets, k):
    """out[i]: the target's prediction is finite and fewer than k classes score strictly more
    (so ties at the k-th place count as in); a target outside [0, classes) gives False."""
    batch, classes = predictions.shape
    valid = (targets >= 0) & (targets < classes)
    if classes == 0:
        return np.zeros(batch, dtype=bool)
    picked = predictions[np.arange(batch), np.where(valid, targets, 0)]
    more = (predictions > picked[:, None]).sum(axis=1)
    return valid & np.isfinite(picked) & (more < k)


IN_TOP_K = register(OpDef("in_top_k", tf_type="InTopKV2", infer=_in_top_k_infer,
                          kernel=_in_top_k_kernel,
                          grad=NOT_DIFFERENTIABLE, never_raises=True))


def _static_k(k) -> int:
    """k as an int: a Python int, or a constant scalar tensor (TF1's InTopKV2 takes a tensor;
    one known only at run time is not supported here)."""
    if hasattr(k, "opdef") and k.opdef is CONSTANT:
        k = k.attrs["value"][()]
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"in_top_k ({user_site()}): k must be an int (or a constant int "
                        f"tensor), got {k!r}")
    if k < 0:
        raise ValueError(f"in_top_k ({user_site()}): k must be non-negative, got {k}")
    return int(k)


def in_top_k(predictions, targets, k, name: Optional[str] = None):
    """TF1's tf.nn.in_top_k: a bool vector, True where the prediction for the target class is
    finite and among the k largest of its row, ties included (a target tied with the k-th
    largest counts as in). predictions are float32 (batch, classes), targets int (batch,)."""
    graph = graph_of([predictions, targets])
    predictions = convert_to_tensor(predictions, graph=graph)
    targets = convert_to_tensor(targets, graph=graph)
    return apply(IN_TOP_K, [predictions, targets], name or "in_top_k", k=_static_k(k))
