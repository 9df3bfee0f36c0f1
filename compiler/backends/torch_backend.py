"""The torch backend: the optimized graph as generated code calling torch, on a CPU or CUDA device.

    sess = gf.Session(backend="torch", device="cuda")     # device=None: cuda if available
    step = sess.make_callable([loss, train_op], [x, y])
    print(step.source)                                    # W1.sub_(mul_3) ...

Variables live on the device as torch tensors and are updated in place (so their addresses stay
fixed, which CUDA graph capture needs). Feeds may be numpy arrays (copied to the device once per
run; on the CPU they are shared, not copied) or torch tensors (used as they are when dtype and
device match). Results come back as numpy arrays, or as torch tensors when asked.

Each op's rule is `OpDef.torch` in the op's own module. torch is imported here only: importing
graphflow never imports torch.
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from .. import dtypes
from ..errors import BackendError, FeedError
from ..feeds import _what, check_feed, check_range
from ..graph import Node
from ..interpreter import evaluate
from ..shapes import compatible, fmt
from ..store import VariableStore

INSTALL_HINT = ("the torch backend needs PyTorch: pip install 'graphflow[torch]' "
                "(or pip install torch)")


def import_torch():
    """The torch module, or a BackendError saying how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise BackendError(f"backend='torch': {INSTALL_HINT}") from exc
    return torch


def resolve_device(device: Optional[str]):
    """A torch.device from "cpu", "cuda", "cuda:N" or None (cuda when available, else cpu)."""
    torch = import_torch()
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a torch device (use 'cpu', 'cuda' or "
                         f"'cuda:N')") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise BackendError(f"device={device!r}: CUDA is not available here (this torch "
                               f"{torch.__version__} sees no GPU); use device='cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise BackendError(f"device={device!r}: there are only "
                               f"{torch.cuda.device_count()} CUDA device(s)")
    elif dev.type != "cpu":
        raise BackendError(f"device={device!r}: the torch backend runs on 'cpu' or 'cuda'")
    return dev


class TorchStore(VariableStore):
    """Variable values as torch tensors on the device. Initial values are computed with numpy (the
    reference kernels, the same random streams) and moved to the device once; later writes are
    made in place, so a tensor keeps its storage for the life of the session."""

    def __init__(self, backend: "TorchBackend"):
        super().__init__(evaluate)
        self._backend = backend

    def read(self, var):
        if var.key not in self.values:
            init = var.initial_value
            if isinstance(init, Node):  # a tensor: evaluated now, once, by the interpreter
                init = evaluate(init, self.host())
            self.values[var.key] = self._backend.to_device(np.array(init, dtype=var.dtype))
        return self.values[var.key]

    def numpy(self, var) -> np.ndarray:
        return self.read(var).detach().cpu().numpy().copy()

    def load_key(self, key: str, value: np.ndarray) -> None:
        """Set a variable's value in place (its tensor keeps its storage)."""
        tensor = self._backend.to_device(np.array(value))  # never the caller's memory
        if key in self.values and self.values[key].shape == tensor.shape:
            self.values[key].copy_(tensor)
        else:
            self.values[key] = tensor

    def host(self) -> "HostStore":
        """A numpy view of this store for the reference interpreter (it copies values to the
        host on first read and writes back on commit)."""
        return HostStore(self)


class HostStore(VariableStore):
    """What the interpreter runs against when a torch session needs it (a variable's initial
    value, a step the code generator cannot order): numpy copies in, committed writes back."""

    def __init__(self, device_store: TorchStore):
        super().__init__(evaluate)
        self._device = device_store
        self._generators = device_store._generators  # one random stream per op and session
        self.lock = device_store.lock                # runs of the session take turns

    def read(self, var):
        if var.key not in self.values:
            self.values[var.key] = self._device.numpy(var)
        return self.values[var.key]

    def apply(self, writes) -> None:
        for key, value in writes.items():
            self._device.load_key(key, value)
        super().apply(writes)


class TorchBackend:
    """Generated torch code on one device (see the module docstring)."""

    name = "torch"
    reuse_memory = False     # torch's caching allocator reuses memory; no out= planning
    scalar_results = False   # 0-d results stay tensors until results() converts them
    copy = "{}.clone()"

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
        """A numpy array as a tensor on the device (on the CPU: sharing memory where it can)."""
        if not array.flags.writeable or any(s < 0 for s in array.strides):
            array = np.array(array)  # torch shares only writable, forward-strided arrays
        return self.torch.from_numpy(array).to(self.device)

    def to_numpy(self, value):
        if isinstance(value, self.torch.Tensor):
            out = value.detach().cpu().numpy()
            return out[()] if out.ndim == 0 else out
        return value

    # -- codegen ----------------------------------------------------------------------------------
    def rule(self, node):
        rule = node.opdef.torch
        if rule is None:
            raise BackendError(f"the torch backend has no rule for op '{node.opdef.name}', used by "
                               f"{node.describe()}; run this graph with backend='numpy'")
        return rule

    def dtype(self, dtype: np.dtype) -> str:
        return f"torch.{str(self.torch_dtype(dtype)).split('.')[-1]}"

    def constant(self, value):
        return self.to_device(np.asarray(value))

    def host(self, kernel, stateful: bool):
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
        return TorchStore(self)

    def feed(self, node, value):
        """A fed value as a tensor of node's dtype on the device (FeedError naming the node)."""
        if isinstance(value, self.torch.Tensor):
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
        return self.to_device(check_feed(node, value))

    def errstate(self):
        return np.errstate(all="ignore")

    def results(self, outs, as_tensors: bool = False):
        if as_tensors:
            return list(outs)
        return [self.to_numpy(o) for o in outs]

    def snapshot(self, value):
        return value.clone()

    def restore(self, target, value) -> None:
        target.copy_(value)

    def __repr__(self) -> str:
        return f"<graphflow torch backend on {self.device}>"
