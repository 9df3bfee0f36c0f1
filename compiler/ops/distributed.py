"""all_reduce_mean: a tensor averaged over the workers of a torch.distributed process group.

Data-parallel training (graphflow.distribute) puts this op between the gradients and the
optimizer's updates: every worker runs the same graph on its own shard of the global batch, and
the op turns each worker's gradient into the mean of all the workers' gradients, so the updates
(and the weights) stay the same everywhere.

    g_avg = all_reduce_mean(g)      # on every worker: (g_0 + g_1 + ... + g_{N-1}) / N

With no process group initialised the op is the identity (a world of one worker): a graph built
for N workers runs unchanged in one plain process. The op never imports torch itself: a process
group can only exist once torch.distributed has been imported (by graphflow.distribute.init), so
the kernels look for it in sys.modules and a plain numpy run never loads torch.

The op is stateful (never folded, merged or cached: two all-reduces of the same tensor are two
collective calls), and every worker must run the same all-reduces in the same order. Each
worker builds the same graph and compiles it the same way, so the generated code calls them in
the same order everywhere; fetching them on one worker only blocks it until the others join.
"""

from __future__ import annotations

import sys
from typing import Optional

import numpy as np

from ..opdef import OpDef, register
from .core import apply, require_float

__all__ = ["all_reduce_mean", "process_group", "worker_rank", "world_size"]


def process_group():
    """The torch.distributed module when its default process group is initialised, else None.

    Never imports torch: without torch.distributed in sys.modules there is no process group."""
    dist = sys.modules.get("torch.distributed")
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    return dist


def worker_rank() -> int:
    """This worker's rank in the process group; 0 without one."""
    dist = process_group()
    return 0 if dist is None else dist.get_rank()


def world_size() -> int:
    """The number of workers in the process group; 1 without one."""
    dist = process_group()
    return 1 if dist is None else dist.get_world_size()


def _all_reduce_mean_infer(inputs):
    # A mean of integers is no integer: the op takes float tensors only.
    return inputs[0].shape, require_float(inputs[0])


def _all_reduce_mean_kernel(x):
    dist = process_group()
    if dist is None:
        return x  # one worker: the mean is the value itself (the op is a view)
    torch = sys.modules["torch"]
    total = np.array(x, order="C")  # a copy: the input stays as it was
    if dist.get_backend() == "nccl":  # nccl reduces device tensors only
        tensor = torch.from_numpy(total).to(torch.device("cuda", torch.cuda.current_device()))
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        total = tensor.cpu().numpy()
    else:
        dist.all_reduce(torch.from_numpy(total), op=dist.ReduceOp.SUM)  # sums into `total`
    # Divided by numpy, not torch: torch's thread pool would fight numpy's BLAS threads.
    total /= dist.get_world_size()
    return total


def _all_reduce_mean_torch(x):
    """The torch backend's rule: all-reduce a clone of `x` on its own device, in place."""
    dist = process_group()
    if dist is None:
        return x
    out = x.clone(memory_format=sys.modules["torch"].contiguous_format)
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    out /= dist.get_world_size()
    return out


def _all_reduce_mean_grad(node, g):
    # The mean over workers is linear, and its adjoint is itself: each worker's cotangent
    # contributes 1/N to every worker's input.
    return (all_reduce_mean(g),)


ALL_REDUCE_MEAN = register(OpDef(
    "all_reduce_mean", infer=_all_reduce_mean_infer, kernel=_all_reduce_mean_kernel,
    grad=_all_reduce_mean_grad, stateful=True, view=True, torch=_all_reduce_mean_torch))


def all_reduce_mean(x, name: Optional[str] = None):
    """The mean of `x` (a float tensor) over every worker of the torch.distributed process group,
    computed when the node runs; `x` itself when no process group is initialised. Every worker
    must run the same all-reduces in the same order (graphflow.distribute sees to it)."""
    return apply(ALL_REDUCE_MEAN, [x], name or "AllReduceMean")
