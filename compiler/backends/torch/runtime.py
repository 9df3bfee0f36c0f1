"""The torch backend's runtime: the torch module, devices, and the variable stores (values as
tensors on the device, and the numpy view of them the reference interpreter runs against)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from ...errors import BackendError
from ...graph import Node
from ...interpreter import evaluate
from ...store import VariableStore

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

    def __init__(self, to_device):
        super().__init__(evaluate)
        self._to_device = to_device

    def read(self, var):
        if var.key not in self.values:
            init = var.initial_value
            if isinstance(init, Node):  # a tensor: evaluated now, once, by the interpreter
                init = evaluate(init, self.host())
            self.values[var.key] = self._to_device(np.array(init, dtype=var.dtype))
        return self.values[var.key]

    def numpy(self, var) -> np.ndarray:
        return self.read(var).detach().cpu().numpy().copy()

    def load_key(self, key: str, value: np.ndarray) -> None:
        """Set a variable's value in place (its tensor keeps its storage)."""
        tensor = self._to_device(np.array(value))  # never the caller's memory
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
    value, a step the code generator cannot order): numpy copies in, committed writes back. It
    shares the device store's random streams and lock."""

    def __init__(self, device_store: TorchStore):
        super().__init__(evaluate, shares=device_store)
        self._device = device_store

    def read(self, var):
        if var.key not in self.values:
            self.values[var.key] = self._device.numpy(var)
        return self.values[var.key]

    def apply(self, writes) -> None:
        for key, value in writes.items():
            self._device.load_key(key, value)
        super().apply(writes)
