"""all_reduce_mean: a tensor averaged over the workers of a process group.

Data-parallel training (graphflow.distribute) puts this op between the gradients and the
optimizer's updates: every worker runs the same graph on its own shard of the global batch, and
the op turns each worker's gradient into the mean of all the workers' gradients, so the updates
(and the weights) stay the same everywhere.

    g_avg = all_reduce_mean(g)      # on every worker: (g_0 + g_1 + ... + g_{N-1}) / N

The compiler knows no communication library: a Communicator registered here says whether this
process is in a group of workers and averages host arrays over it. graphflow.distribute registers
PyTorch's torch.distributed when it is imported (as `import graphflow` does); a backend whose
values live on a device may average them there itself (the torch backend's lowering does). With
no communicator active the op is the identity (a world of one worker): a graph built for N
workers runs unchanged in one plain process.

The op is stateful (never folded, merged or cached: two all-reduces of the same tensor are two
collective calls), and every worker must run the same all-reduces in the same order. Each
worker builds the same graph and compiles it the same way, so the generated code calls them in
the same order everywhere; fetching them on one worker only blocks it until the others join.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np

from ..opdef import OpDef, register
from .core import apply, require_float

__all__ = ["Communicator", "all_reduce_mean", "communicator", "register_communicator",
           "worker_rank", "world_size"]


class Communicator:
    """A group of workers, as the op sees it (graphflow.distribute implements one)."""

    def active(self) -> bool:
        """Whether this process is in a group now."""
        raise NotImplementedError

    def rank(self) -> int:
        raise NotImplementedError

    def size(self) -> int:
        raise NotImplementedError

    def mean(self, array: np.ndarray) -> np.ndarray:
        """The mean of `array` over the workers, as a new array (the input stays as it was)."""
        raise NotImplementedError


_COMMUNICATORS: List[Communicator] = []


def register_communicator(comm: Communicator) -> Communicator:
    """Make `comm` known to the op (once; registering it again does nothing)."""
    if comm not in _COMMUNICATORS:
        _COMMUNICATORS.append(comm)
    return comm


def communicator() -> Optional[Communicator]:
    """The first registered communicator that is active, or None (one worker)."""
    return next((c for c in _COMMUNICATORS if c.active()), None)


def worker_rank() -> int:
    """This worker's rank in the group; 0 without one."""
    comm = communicator()
    return 0 if comm is None else comm.rank()


def world_size() -> int:
    """The number of workers in the group; 1 without one."""
    comm = communicator()
    return 1 if comm is None else comm.size()


def _all_reduce_mean_infer(inputs):
    # A mean of integers is no integer: the op takes float tensors only.
    return inputs[0].shape, require_float(inputs[0])


def _all_reduce_mean_kernel(x):
    comm = communicator()
    if comm is None:
        return x  # one worker: the mean is the value itself (the op is a view)
    return comm.mean(x)


def _all_reduce_mean_grad(node, g):
    # The mean over workers is linear, and its adjoint is itself: each worker's cotangent
    # contributes 1/N to every worker's input.
    return (all_reduce_mean(g),)


ALL_REDUCE_MEAN = register(OpDef(
    "all_reduce_mean", infer=_all_reduce_mean_infer, kernel=_all_reduce_mean_kernel,
    grad=_all_reduce_mean_grad, stateful=True, view=True))


def all_reduce_mean(x, name: Optional[str] = None):
    """The mean of `x` (a float tensor) over every worker of the process group, computed when the
    node runs; `x` itself when there is no group (module docstring). Every worker
    must run the same all-reduces in the same order (graphflow.distribute sees to it)."""
    return apply(ALL_REDUCE_MEAN, [x], name or "AllReduceMean")
