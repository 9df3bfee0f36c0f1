"""The torch backend: the optimized graph as generated code calling torch, on a CPU or CUDA device.

    sess = gf.Session(backend="torch", device="cuda")     # device=None: cuda if available
    step = sess.make_callable([loss, train_op], [x, y])
    print(step.source)                                    # W1.sub_(mul_3) ...

Variables live on the device as torch tensors and are updated in place (so their addresses stay
fixed, which CUDA graph capture needs: capture.py). Feeds may be numpy arrays (copied to the
device once per run; on the CPU they are shared, not copied) or torch tensors (used as they are
when dtype and device match). Results come back as numpy arrays, or as torch tensors when asked.

The package: lowering.py (one rule per op), runtime.py (devices, variable stores), capture.py.
Importing graphflow never imports it: get_backend("torch") does, and torch with it.
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from ... import dtypes
from ...errors import FeedError
from ...feeds import _what, check_feed, check_range
from ...shapes import compatible, fmt
from ..base import Backend
from . import conv, pool  # noqa: F401,E402  (their rules join the table)
from .capture import CapturedProgram
from .lowering import TORCH_TABLE
from .runtime import HostStore, TorchStore, import_torch, resolve_device

__all__ = ["TorchBackend", "make_backend", "TORCH_TABLE"]


class TorchBackend(Backend):
    """Generated torch code on one device (see the module docstring)."""

    name = "torch"
    table = TORCH_TABLE
    reuse_memory = False     # torch's caching allocator reuses memory; no out= planning
    scalar_results = False   # 0-d results stay tensors until results() converts them
    copy = "{}.clone()"
    has_tensors = True

    def __init__(self, device: Optional[str] = None):
        self.torch = import_torch()
        self.device = resolve_device(device)
        self.modules = {"np": np, "torch": self.torch, "dev": self.device}
        self._dtypes: Dict[np.dtype, object] = {}

    # -- dtypes and transfers ---------------------------------------------------------------------
    def torch_dtype(self, dtype):
        dtype = np.dtype(dtype)
        if dtype not in self._dtypes:
            self._dtypes[dtype] = self.torch.from_numpy(np.zeros(0, dtype)).dtype
        return self._dtypes[dtype]

    def to_device(self, array: np.ndarray):
        """A numpy array as a tensor on the device (on the CPU: sharing memory where it can).
        Strings (object arrays of bytes) stay host objects: no device holds them."""
        if array.dtype == dtypes.string:
            return array
        if not array.flags.writeable or any(s < 0 for s in array.strides):
            array = np.array(array)  # torch shares only writable, forward-strided arrays
        return self.torch.from_numpy(array).to(self.device)

    def to_numpy(self, value):
        if isinstance(value, self.torch.Tensor):
            out = value.detach().cpu().numpy()
            return out[()] if out.ndim == 0 else out
        if isinstance(value, np.ndarray) and value.ndim == 0:  # a host string: bytes, as TF1
            return value[()]
        return value

    # -- codegen ----------------------------------------------------------------------------------
    def dtype(self, dtype: np.dtype) -> str:
        return f"torch.{str(self.torch_dtype(dtype)).split('.')[-1]}"

    def constant(self, value):
        return self.to_device(np.asarray(value))

    def reference(self, kernel, stateful: bool):
        """Run a numpy kernel on host copies of tensors; its result goes to the device."""
        to_device, tensor = self.to_device, self.torch.Tensor

        def host_inputs(args):
            return [a.detach().cpu().numpy() if isinstance(a, tensor) else a for a in args]

        if stateful:
            def run(state, node, *args):
                return to_device(np.asarray(kernel(state, node, *host_inputs(args))))
        else:
            def run(*args):
                return to_device(np.asarray(kernel(*host_inputs(args))))
        run.__name__ = getattr(kernel, "__name__", "host_kernel")
        return run

    def check_numerics(self, check):
        """numerics.check on host copies (the error describes values as numpy sees them)."""
        to_numpy = self.to_numpy

        def check_tensor(value, node, label, inputs):
            check(to_numpy(value), node, label, [(n, to_numpy(v)) for n, v in inputs])
            return value
        return check_tensor

    # -- runtime ----------------------------------------------------------------------------------
    def make_store(self) -> TorchStore:
        return TorchStore(self.to_device)

    def host_store(self, store: TorchStore) -> HostStore:
        return store.host()

    def feed(self, node, value):
        """A fed value as a tensor of node's dtype on the device (FeedError naming the node)."""
        if isinstance(value, self.torch.Tensor):
            return self._feed_tensor(node, value)
        return self.to_device(check_feed(node, value))

    def _feed_tensor(self, node, value):
        if dtypes.is_string(node.dtype):
            raise FeedError(f"cannot feed a torch tensor to {_what(node)} of dtype string: "
                            f"feed str or bytes (or a list or array of them)")
        want = self.torch_dtype(node.dtype)
        if value.dtype != want:
            got = {self.torch_dtype(d): d for d in dtypes.SUPPORTED}.get(value.dtype)
            if got is None or not dtypes.can_feed(got, node.dtype):
                raise FeedError(f"cannot feed a {value.dtype} tensor to {_what(node)} "
                                f"of dtype {node.dtype.name}: the cast would "
                                f"lose information; cast it first")
            if got.kind in "iu" and node.dtype.kind in "iu" and value.numel():
                check_range(node, np.array([value.min().item(), value.max().item()], got))
            value = value.to(want)
        if not compatible(node.shape, tuple(value.shape)):
            raise FeedError(f"cannot feed value of shape {fmt(tuple(value.shape))} to "
                            f"{_what(node)} of shape {fmt(node.shape)}")
        return value.to(self.device)

    def results(self, outs, as_tensors: bool = False):
        if as_tensors:
            return list(outs)
        return [self.to_numpy(o) for o in outs]

    def snapshot(self, value):
        return value.clone()

    def restore(self, target, value) -> None:
        target.copy_(value)

    def clock(self) -> float:
        if self.device.type == "cuda":  # kernels run asynchronously: wait for them
            self.torch.cuda.synchronize(self.device)
        return super().clock()

    def captured_program(self, fetches, feeds, store, **options):
        return CapturedProgram(fetches, feeds, store, backend=self, **options)


def make_backend(device: Optional[str] = None) -> TorchBackend:
    """The torch backend on `device` ("cpu", "cuda", "cuda:N"; None: cuda when available)."""
    return TorchBackend(device)
