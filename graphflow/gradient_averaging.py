"""Averaging gradients over data-parallel workers: buckets of all-reduce ops in the graph, and
DistributedOptimizer, which puts them between an optimizer's gradients and its update. Used
through gf.distribute (graphflow/distribute.py), which re-exports these names."""

from __future__ import annotations

import numbers
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from compiler.graph import Node, Operation, graph_of
from compiler.ops.array import split
from compiler.ops.core import convert_to_tensor
from compiler.ops.distributed import all_reduce_mean
from compiler.ops.shape import concat, reshape
from compiler.ops.state import Variable
from compiler.shapes import fmt

from .train.optimizers import Optimizer

__all__ = ["DEFAULT_BUCKET_BYTES", "average_gradients", "DistributedOptimizer"]

DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024  # torch DistributedDataParallel's bucket_cap_mb=25

GradsAndVars = List[Tuple[Optional[Node], Variable]]


def average_gradients(grads_and_vars, bucket_bytes: int = DEFAULT_BUCKET_BYTES,
                      name: str = "AllReduce") -> GradsAndVars:
    """(gradient averaged over the workers, variable) for each (gradient, variable) pair, in the
    same order; None gradients stay None.

    The gradients are grouped by dtype into buckets of at most `bucket_bytes` (a gradient larger
    than that has a bucket of its own), taken in the order given. Each bucket is one graph
    expression: concat of the flattened gradients, one all_reduce_mean, then slices reshaped back
    to the variables' shapes; a bucket of one gradient is all-reduced as it is. So a step makes
    one all-reduce per bucket, not one per variable. The nodes are named under `name`/bucket_<k>.
    """
    bucket_bytes = _check_bucket_bytes(bucket_bytes)
    pairs = [_check_pair(pair) for pair in grads_and_vars]
    present = [(k, grad, var) for k, (grad, var) in enumerate(pairs) if grad is not None]
    if not present:
        return pairs
    graph = graph_of([node for _, grad, var in present for node in (grad, var)])
    averaged = list(pairs)
    with graph.as_default(), graph.name_scope(name):
        for b, bucket in enumerate(_buckets(present, bucket_bytes)):
            with graph.name_scope(f"bucket_{b}"):
                for (k, _, var), grad in zip(bucket, _reduce_bucket(bucket)):
                    averaged[k] = (grad, var)
    return averaged


def _check_bucket_bytes(bucket_bytes) -> int:
    if (isinstance(bucket_bytes, bool) or not isinstance(bucket_bytes, numbers.Integral)
            or bucket_bytes < 1):
        raise ValueError(f"bucket_bytes must be a positive integer (bytes per all-reduce), got "
                         f"{bucket_bytes!r}")
    return int(bucket_bytes)


def _check_pair(pair) -> Tuple[Optional[Node], Variable]:
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise TypeError(f"average_gradients takes (gradient, variable) pairs, got {pair!r}")
    grad, var = pair
    if not isinstance(var, Variable):
        raise TypeError(f"average_gradients: {var!r} is not a gf.Variable")
    if grad is None:
        return None, var
    if isinstance(grad, Operation) or not isinstance(grad, Node):
        grad = convert_to_tensor(grad, graph=var.graph)
    if grad.dtype.kind != "f":
        raise TypeError(f"average_gradients: gradient '{grad.op_name}' of variable "
                        f"'{var.op_name}' is "
                        f"{grad.dtype.name}; only float gradients can be averaged")
    if grad.shape is not None and (
            len(grad.shape) != len(var.shape)
            or any(g is not None and g != v for g, v in zip(grad.shape, var.shape))):
        raise ValueError(f"average_gradients: gradient '{grad.op_name}' has shape "
                         f"{fmt(grad.shape)} "
                         f"but variable '{var.op_name}' has shape {fmt(var.shape)}")
    return grad, var


def _buckets(present, bucket_bytes: int) -> List[list]:
    """The (index, gradient, variable) items in buckets: one dtype each, at most bucket_bytes
    unless a single gradient is larger. Deterministic, so every worker builds the same ones."""
    done: List[list] = []
    filling: Dict[np.dtype, Tuple[list, int]] = {}
    for item in present:
        _, grad, var = item
        nbytes = int(np.prod(var.shape, dtype=np.int64)) * grad.dtype.itemsize
        bucket, size = filling.get(grad.dtype, ([], 0))
        if bucket and size + nbytes > bucket_bytes:
            done.append(bucket)
            bucket, size = [], 0
        bucket.append(item)
        filling[grad.dtype] = (bucket, size + nbytes)
    done.extend(bucket for bucket, _ in filling.values())
    return done


def _reduce_bucket(bucket) -> List[Node]:
    """One all-reduce for the bucket's gradients; returns the averaged ones, in bucket order."""
    if len(bucket) == 1:
        return [all_reduce_mean(bucket[0][1])]
    flat = concat([reshape(grad, [-1]) for _, grad, _ in bucket], 0, name="flat")
    mean = all_reduce_mean(flat)
    sizes = [int(np.prod(var.shape, dtype=np.int64)) for _, _, var in bucket]
    return [reshape(part, var.shape, name=var.op_name.replace("/", "_"))
            for part, (_, _, var) in zip(split(mean, sizes), bucket)]


class DistributedOptimizer(Optimizer):
    """Wraps any gf.train optimizer so that its gradients are averaged over the workers before the
    update (Horovod's hvd.DistributedOptimizer):

        opt = gf.distribute.DistributedOptimizer(gf.train.AdamOptimizer(1e-3))
        train_op = opt.minimize(loss)           # or compute_gradients / clip / apply_gradients

    compute_gradients() returns the wrapped optimizer's gradients, averaged through buckets of at
    most `bucket_bytes` (see average_gradients); apply_gradients() is the wrapped optimizer's, so
    its slots ("W1/Adam", ...), hyperparameters and names are those of the unwrapped optimizer
    (checkpoints of both fit each other). Not distributed, the averages are the gradients
    themselves and training runs as with the wrapped optimizer.
    """

    def __init__(self, optimizer: Optimizer, bucket_bytes: int = DEFAULT_BUCKET_BYTES,
                 name: Optional[str] = None):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"DistributedOptimizer wraps a gf.train optimizer (AdamOptimizer, "
                            f"...), got {optimizer!r}")
        if isinstance(optimizer, DistributedOptimizer):
            raise TypeError("DistributedOptimizer: the optimizer is already distributed; wrap "
                            "the plain optimizer once")
        super().__init__(name or f"Distributed{optimizer.get_name()}")
        self._optimizer = optimizer
        self._bucket_bytes = _check_bucket_bytes(bucket_bytes)

    @property
    def optimizer(self) -> Optimizer:
        """The wrapped optimizer."""
        return self._optimizer

    @property
    def bucket_bytes(self) -> int:
        return self._bucket_bytes

    def get_slot_names(self) -> List[str]:
        return self._optimizer.get_slot_names()

    def get_slot(self, var: Variable, name: str) -> Optional[Variable]:
        return self._optimizer.get_slot(var, name)

    def compute_gradients(self, loss: Node, var_list: Optional[Sequence[Variable]] = None
                          ) -> GradsAndVars:
        """The wrapped optimizer's [(gradient, variable)], each gradient averaged over the
        workers (one all-reduce per bucket, named under this optimizer's name)."""
        pairs = self._optimizer.compute_gradients(loss, var_list)
        return average_gradients(pairs, self._bucket_bytes, name=self._name)

    def apply_gradients(self, grads_and_vars, global_step: Optional[Variable] = None,
                        name: Optional[str] = None) -> Operation:
        """The wrapped optimizer's apply_gradients: the gradients given are applied as they are
        (average them with compute_gradients or average_gradients first)."""
        return self._optimizer.apply_gradients(grads_and_vars, global_step=global_step,
                                               name=name)
