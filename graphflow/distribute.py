"""gf.distribute: data-parallel training over torch.distributed, in the manner of Horovod for TF1.

Start N copies of one script with torchrun. Each worker builds the same graph, runs it on its own
shard of every global batch, and averages its gradients with the other workers' (all-reduce ops
in the graph) before the optimizer's update, so the weights stay equal on every worker:

    gf.distribute.init()                                    # reads torchrun's environment
    opt = gf.distribute.DistributedOptimizer(gf.train.AdamOptimizer(1e-3))
    train_op = opt.minimize(loss)
    sess = gf.Session()
    gf.distribute.broadcast_variables(sess)                 # every worker starts from rank 0's
    for xb, yb in gf.data.batches(x_train, y_train, 1024, seed=epoch):  # same order everywhere
        xs, ys = gf.distribute.shard((xb, yb))              # this worker's 1024 / N rows
        sess.run(train_op, {x: xs, y: ys})
    if gf.distribute.is_chief():                            # rank 0 prints and saves
        print(...)

    torchrun --nproc_per_node=2 train.py                    # or python -m torch.distributed.run

With equal shards, the mean of the workers' mean-loss gradients is the gradient of the mean loss
over the global batch, so after k steps the weights of an N-worker run equal those of a one-process
run on the same global batches, to floating-point rounding (the sums are added in another order).

The gradients travel in buckets: DistributedOptimizer flattens the gradients of one dtype into
buckets of at most `bucket_bytes` (25 MiB by default, as torch's DistributedDataParallel), one
all-reduce per bucket, so a step makes a few collective calls, not one per variable.

`gf.distribute.all_reduce_mean(t)` is the graph op itself, for anything else to average within
the step (the loss, to report the global batch's).

Without a process group (a plain `python script.py`) everything here is the identity: rank 0 of
a world of 1, all-reduces return their input, shard() returns the whole batch, and
broadcast_variables() changes nothing. The same script runs in one process or in N.

Every worker must run the same training steps in the same order (the all-reduces are collective
calls): fetch the training op on every worker, never on rank 0 alone. Evaluation that fetches no
gradient (a forward pass) may run on any subset of workers. gf.train.Saver.save writes only on
rank 0.
"""

from __future__ import annotations

import datetime
import numbers
import os
import sys
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from compiler.errors import GraphflowError
from compiler.ops.distributed import (
    Communicator,
    all_reduce_mean,
    register_communicator,
    worker_rank,
)
from compiler.ops.distributed import world_size as _world_size
from compiler.ops.state import Variable

from .gradient_averaging import DEFAULT_BUCKET_BYTES, DistributedOptimizer, average_gradients
from .session import Session
from .variables import global_variables

__all__ = ["init", "is_initialized", "rank", "local_rank", "world_size", "is_chief", "shutdown",
           "barrier", "average", "all_reduce_mean", "average_gradients", "DistributedOptimizer",
           "broadcast_variables", "shard", "DistributedError", "DEFAULT_BUCKET_BYTES"]

BACKENDS = ("gloo", "nccl")
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
TORCHRUN_HINT = ("start the script with `torchrun --nproc_per_node=N script.py` (or `python -m "
                 "torch.distributed.run --nproc_per_node=N script.py`), which sets RANK, "
                 "WORLD_SIZE, MASTER_ADDR, MASTER_PORT and LOCAL_RANK for every worker")

class DistributedError(GraphflowError, RuntimeError):
    """Data-parallel training cannot start or go on: no torchrun environment, no torch, a backend
    that is not there, or workers whose graphs differ."""


# -- the process group ----------------------------------------------------------------------------
def init(backend: Optional[str] = None, device: Optional[str] = None,
         timeout: Optional[float] = None) -> None:
    """Join the process group of the workers torchrun started (torch.distributed, env://).

    Reads RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT (and LOCAL_RANK, default 0) from the
    environment; raises DistributedError saying to start with torchrun when they are missing.
    `backend` is "gloo" (CPU tensors: the numpy backend, or the torch backend on the CPU) or
    "nccl" (CUDA). None picks nccl when `device` (the device the Session will run on, e.g.
    "cuda") is a CUDA device, gloo otherwise; with nccl, this worker's CUDA device becomes
    cuda:LOCAL_RANK. `timeout` (seconds) bounds how long a collective call waits for the other
    workers (torch's default: 30 minutes). A second call, once initialised, does nothing (it is
    an error if it asks for another backend).
    """
    chosen = _choose_backend(backend, device)
    dist = process_group()
    if dist is not None:
        asked = backend is not None or device is not None
        if asked and chosen != dist.get_backend():
            raise DistributedError(f"gf.distribute.init(backend={chosen!r}): the process group "
                                   f"is already initialised with backend "
                                   f"{dist.get_backend()!r}; call shutdown() first")
        return
    backend = chosen
    env = _torchrun_env()
    torch, dist = _import_distributed()
    if backend == "nccl":
        if not torch.cuda.is_available() or not dist.is_nccl_available():
            raise DistributedError("gf.distribute.init(backend='nccl'): nccl needs CUDA and a "
                                   "torch build with NCCL, and this one has none; use "
                                   "backend='gloo' on the CPU")
        if env["LOCAL_RANK"] >= torch.cuda.device_count():
            raise DistributedError(f"gf.distribute.init(): LOCAL_RANK={env['LOCAL_RANK']} but "
                                   f"there are only {torch.cuda.device_count()} CUDA device(s); "
                                   f"start at most that many workers per machine")
        torch.cuda.set_device(env["LOCAL_RANK"])
    elif not dist.is_gloo_available():
        raise DistributedError("gf.distribute.init(backend='gloo'): this torch build has no gloo "
                               "support")
    options = {}
    if timeout is not None:
        options["timeout"] = datetime.timedelta(seconds=float(timeout))
    dist.init_process_group(backend, init_method="env://", **options)


def is_initialized() -> bool:
    """Whether this process belongs to a torch.distributed process group (init() was called, or
    torch.distributed.init_process_group directly)."""
    return process_group() is not None


def rank() -> int:
    """This worker's rank, 0 .. world_size() - 1; 0 when not distributed."""
    return worker_rank()


def world_size() -> int:
    """The number of workers; 1 when not distributed."""
    return _world_size()


def local_rank() -> int:
    """This worker's rank on its machine (torchrun's LOCAL_RANK); 0 when not distributed."""
    return int(os.environ.get("LOCAL_RANK", 0)) if is_initialized() else 0


def is_chief() -> bool:
    """True on rank 0 (and in a process that is not distributed): the worker that prints, writes
    metrics and checkpoints."""
    return worker_rank() == 0


def shutdown() -> None:
    """Leave the process group (torch.distributed.destroy_process_group); nothing without one."""
    dist = process_group()
    if dist is not None:
        dist.destroy_process_group()


def barrier() -> None:
    """Wait until every worker has called barrier(); returns at once when not distributed."""
    dist = process_group()
    if dist is not None:
        dist.barrier()


def average(value):
    """The mean of a number or an array over the workers, computed now, outside the graph (for
    metrics: an epoch's loss). Every worker must call it. A number comes back as a float, an array
    as an array of its float dtype (integers are averaged in float64). Not distributed: `value`
    as a float or an array."""
    array = np.asarray(value)
    if array.dtype.kind not in "f":
        array = array.astype(np.float64)
    dist = process_group()
    if dist is not None:
        tensor = _on_backend_device(dist, _torch().from_numpy(np.array(array, order="C")))
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor /= dist.get_world_size()
        array = tensor.cpu().numpy()
    return float(array) if array.ndim == 0 else np.array(array)


# -- variables and data ---------------------------------------------------------------------------
def broadcast_variables(session: Session, variables: Optional[Sequence[Variable]] = None,
                        root: int = 0) -> None:
    """Give every worker the values `root`'s session holds for `variables` (default: every
    variable of the session's graph, slots and global step included). Call it on every worker,
    after building the graph and before training; variables not yet set take their initial
    value first. One broadcast per dtype. First checks that every worker names the same
    variables with the same shapes and dtypes (DistributedError otherwise, on every worker).
    Not distributed: nothing changes."""
    if not isinstance(session, Session):
        raise TypeError(f"broadcast_variables: {session!r} is not a gf.Session")
    if variables is None:
        variables = global_variables(graph=session.graph)
    variables = list(variables)
    for var in variables:
        if not isinstance(var, Variable):
            raise TypeError(f"broadcast_variables: {var!r} is not a gf.Variable")
        if var.graph is not session.graph:
            raise ValueError(f"broadcast_variables: variable '{var.op_name}' belongs to another "
                             f"graph than the session's")
    size = world_size()
    if isinstance(root, bool) or not isinstance(root, numbers.Integral) or not 0 <= root < size:
        raise ValueError(f"broadcast_variables: root must be a rank in 0..{size - 1}, got "
                         f"{root!r}")
    dist = process_group()
    if dist is None:
        return
    _check_same_variables(dist, variables, int(root))
    if not variables:
        return
    values = session._variable_values(variables)
    torch = _torch()
    by_dtype: Dict[np.dtype, List[Variable]] = {}
    for var in variables:
        by_dtype.setdefault(var.dtype, []).append(var)
    received = {}
    for dtype, group in by_dtype.items():
        flat = np.concatenate([values[var.op_name].reshape(-1) for var in group])
        wire = flat.view(np.uint8) if dtype == np.bool_ else flat  # gloo has no bool
        tensor = _on_backend_device(dist, torch.from_numpy(wire))
        dist.broadcast(tensor, src=int(root))
        flat = tensor.cpu().numpy().view(dtype)
        start = 0
        for var in group:
            stop = start + values[var.op_name].size
            received[var] = np.array(flat[start:stop].reshape(var.shape))  # its own memory
            start = stop
    session._load_variable_values(received)


def _check_same_variables(dist, variables: List[Variable], root: int) -> None:
    """Every worker's (name, shape, dtype) list must be root's: a mismatch would make the
    broadcasts disagree in size (or hang), so every worker raises the same error instead."""
    mine = [(var.op_name, tuple(var.shape), var.dtype.str) for var in variables]
    everyone: list = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, mine)
    expected = everyone[root]
    for r, theirs in enumerate(everyone):
        if theirs == expected:
            continue
        differ = [f"{a} != {b}" for a, b in zip(theirs, expected) if a != b][:1]
        if len(theirs) != len(expected):
            differ.append(f"{len(theirs)} variables != {len(expected)}")
        raise DistributedError(f"broadcast_variables: rank {r}'s variables differ from rank "
                               f"{root}'s (the root): {'; '.join(differ)}; every worker must "
                               f"build the same graph")


def shard(batch, rank: Optional[int] = None, world_size: Optional[int] = None):
    """This worker's contiguous part of a global batch: rank r of N gets rows
    [r*B//N, (r+1)*B//N) of an array of B rows. `batch` is one array (returns one) or a tuple or
    list of arrays with the same number of rows (returns a tuple or list of their shards).

    B must be a multiple of N (ValueError otherwise): equal shards are what makes the mean of
    the workers' gradients the gradient over the global batch. `rank` and `world_size` default to
    this worker's; not distributed, the batch comes back whole."""
    rank = worker_rank() if rank is None else rank
    size = _world_size() if world_size is None else world_size
    for what, value in (("world_size", size), ("rank", rank)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"shard: {what} must be an integer, got {value!r}")
    if size < 1 or not 0 <= rank < size:
        raise ValueError(f"shard: rank {rank} is not in 0..{size - 1} (world_size {size})")
    several = isinstance(batch, (tuple, list))
    arrays = list(batch) if several else [batch]
    if not arrays:
        raise ValueError("shard: the batch holds no arrays")
    rows = []
    for k, array in enumerate(arrays):
        if np.ndim(array) == 0:
            raise ValueError(f"shard: array {k} is a scalar; shard takes arrays of examples "
                             f"along their first axis")
        rows.append(len(array))
    if len(set(rows)) > 1:
        raise ValueError(f"shard: the arrays hold different numbers of examples: {rows}")
    total = rows[0]
    if total % size:
        raise ValueError(f"shard: a global batch of {total} examples does not split evenly over "
                         f"{size} workers; use a batch size that is a multiple of {size} (equal "
                         f"shards make the averaged gradient equal the global batch's)")
    start, stop = rank * total // size, (rank + 1) * total // size
    parts = [array[start:stop] for array in arrays]
    if not several:
        return parts[0]
    return tuple(parts) if isinstance(batch, tuple) else parts


# -- torch ----------------------------------------------------------------------------------------
def _choose_backend(backend: Optional[str], device: Optional[str]) -> str:
    if backend is None:
        return "nccl" if device is not None and str(device).startswith("cuda") else "gloo"
    if backend not in BACKENDS:
        raise ValueError(f"gf.distribute.init: backend {backend!r} is not one of {BACKENDS} "
                         f"(gloo: CPU, nccl: CUDA)")
    return backend


def _torchrun_env() -> Dict[str, Union[int, str]]:
    missing = [key for key in TORCHRUN_ENV if not os.environ.get(key)]
    if missing:
        raise DistributedError(f"gf.distribute.init(): the environment variable(s) "
                               f"{', '.join(missing)} are not set; {TORCHRUN_HINT}")
    env: Dict[str, Union[int, str]] = {"MASTER_ADDR": os.environ["MASTER_ADDR"]}
    for key, default in (("RANK", None), ("WORLD_SIZE", None), ("MASTER_PORT", None),
                         ("LOCAL_RANK", "0")):
        text = os.environ.get(key, default)
        try:
            env[key] = int(text)
        except ValueError:
            raise DistributedError(f"gf.distribute.init(): {key}={text!r} is not an integer; "
                                   f"{TORCHRUN_HINT}") from None
    if env["WORLD_SIZE"] < 1 or not 0 <= env["RANK"] < env["WORLD_SIZE"]:
        raise DistributedError(f"gf.distribute.init(): RANK={env['RANK']} is not in "
                               f"0..WORLD_SIZE-1 (WORLD_SIZE={env['WORLD_SIZE']})")
    return env


def _import_distributed():
    """(torch, torch.distributed), or a DistributedError saying how to get them."""
    try:
        import torch
        import torch.distributed as dist
    except ImportError as exc:
        raise DistributedError("gf.distribute needs PyTorch's torch.distributed: pip install "
                               "torch") from exc
    if not dist.is_available():
        raise DistributedError(f"this torch {torch.__version__} was built without "
                               f"torch.distributed; gf.distribute cannot run on it")
    return torch, dist


def _torch():
    return _import_distributed()[0]


def _on_backend_device(dist, tensor):
    """nccl reduces CUDA tensors only: move a host tensor to this worker's device."""
    if dist.get_backend() == "nccl":
        torch = _torch()
        return tensor.to(torch.device("cuda", torch.cuda.current_device()))
    return tensor


def process_group():
    """The torch.distributed module when its default process group is initialised, else None.

    Never imports torch: without torch.distributed in sys.modules there is no process group (one
    can only exist once something, init() or the user, has imported it)."""
    dist = sys.modules.get("torch.distributed")
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    return dist


class _TorchDistributed(Communicator):
    """torch.distributed's default process group, as compiler.ops.distributed's all_reduce_mean
    op sees it: the op's kernel averages host arrays through it."""

    def active(self) -> bool:
        return process_group() is not None

    def rank(self) -> int:
        return process_group().get_rank()

    def size(self) -> int:
        return process_group().get_world_size()

    def mean(self, array: np.ndarray) -> np.ndarray:
        dist = process_group()
        total = np.array(array, order="C")  # a copy: the input stays as it was
        if dist.get_backend() == "nccl":  # nccl reduces device tensors only
            tensor = _on_backend_device(dist, _torch().from_numpy(total))
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
            total = tensor.cpu().numpy()
        else:
            dist.all_reduce(_torch().from_numpy(total), op=dist.ReduceOp.SUM)  # into `total`
        # Divided by numpy, not torch: torch's thread pool would fight numpy's BLAS threads.
        total /= dist.get_world_size()
        return total


register_communicator(_TorchDistributed())
