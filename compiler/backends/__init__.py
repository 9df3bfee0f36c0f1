"""Backends: what the generated code computes with.

    numpy  the default and the oracle: generated numpy code, `out=` buffers planned ahead.
    torch  the same optimized graph as generated code calling torch on a CPU or CUDA device
           (compiler/backends/torch_backend.py); torch is imported only when it is asked for.

A backend is a Target (how codegen spells each op, a dtype, a copy; what it binds constants as)
plus the runtime half Program uses (turning feeds into the backend's arrays and results back into
numpy, copying and restoring variables). Each op keeps its rule for every backend in its own
record (OpDef.emit for numpy, OpDef.torch for torch).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..errors import BackendError
from ..feeds import check_feed
from ..interpreter import evaluate
from ..opdef import HOST
from ..store import VariableStore

BACKENDS = ("numpy", "torch")


class NumpyBackend:
    """Generated numpy code; variables are numpy arrays in a VariableStore."""

    name = "numpy"
    device = "cpu"
    modules = {"np": np}
    reuse_memory = True       # `out=` buffers and in-place elementwise ops
    scalar_results = True     # 0-d results as numpy scalars, in the generated code
    copy = "np.array({})"

    # -- codegen ----------------------------------------------------------------------------------
    def rule(self, node):
        """The op's emit template, or None: call its kernel."""
        return node.opdef.emit

    def dtype(self, dtype: np.dtype) -> str:
        return f"np.{dtype.name}"

    def constant(self, value):
        return value

    def check_numerics(self, check):
        return check

    # -- runtime ----------------------------------------------------------------------------------
    def make_store(self) -> VariableStore:
        return VariableStore(evaluate)

    def feed(self, node, value):
        return check_feed(node, value)

    def errstate(self):
        return np.errstate(all="ignore")  # inf/NaN come back as values, as in TF

    def results(self, outs, as_tensors: bool = False):
        return outs

    def snapshot(self, value):
        return np.array(value)

    def restore(self, target, value) -> None:
        np.copyto(target, value)

    def to_numpy(self, value):
        return value

    def __repr__(self) -> str:
        return "<graphflow numpy backend>"


NUMPY = NumpyBackend()


def get_backend(name: str = "numpy", device: Optional[str] = None):
    """The backend called `name` ("numpy" or "torch"); `device` is for torch only ("cpu", "cuda",
    "cuda:N"; None: cuda when available, else cpu)."""
    if name == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"device={device!r}: the numpy backend runs on the CPU; use "
                             f"backend='torch' for device {device!r}")
        return NUMPY
    if name == "torch":
        from .torch_backend import TorchBackend
        return TorchBackend(device)
    raise ValueError(f"unknown backend {name!r}; the backends are {list(BACKENDS)}")


__all__ = ["BACKENDS", "HOST", "NUMPY", "NumpyBackend", "BackendError", "get_backend"]
