"""Backends: what the generated code computes with. One package per backend, registered here by
name; each holds its lowering table and its runtime and answers the Backend interface
(compiler/backends/base.py).

    numpy  the default and the oracle: generated numpy code, `out=` buffers planned ahead
           (compiler/backends/numpy/).
    torch  the same optimized graph as generated code calling torch on a CPU or CUDA device
           (compiler/backends/torch/); imported only when it is asked for, and torch with it.

Adding a backend: a package with a lowering table (a rule for every op, checked by
tests/test_registry.py), a Backend subclass, and a `make_backend(device)` function, registered
with register_backend().
"""

from __future__ import annotations

import importlib
from typing import Dict, Optional, Tuple

from ..errors import BackendError
from .base import Backend
from .lowering import REFERENCE, LoweringTable, Template
from .numpy import NUMPY, NumpyBackend

_PACKAGES: Dict[str, Tuple[str, str]] = {}  # name -> (module, what to install when it is missing)


def register_backend(name: str, module: str, install: str = "") -> None:
    """Make backend `name` available to get_backend(): `module` (imported on first use) has
    make_backend(device); `install` says how to get what it imports, should that be missing."""
    _PACKAGES[name] = (module, install)


register_backend("numpy", "compiler.backends.numpy")
register_backend("native", "compiler.backends.native",
                 "the native backend compiles C with the system's C compiler")
register_backend("torch", "compiler.backends.torch",
                 "the torch backend needs PyTorch: pip install 'graphflow[torch]' "
                 "(or pip install torch)")
BACKENDS = tuple(_PACKAGES)


def get_backend(name: str = "numpy", device: Optional[str] = None) -> Backend:
    """The backend called `name` ("numpy" or "torch") on `device` (the numpy backend: "cpu" only;
    torch: "cpu", "cuda", "cuda:N", or None for cuda when available, else cpu)."""
    if name not in _PACKAGES:
        raise ValueError(f"unknown backend {name!r}; the backends are {list(_PACKAGES)}")
    module, install = _PACKAGES[name]
    try:
        package = importlib.import_module(module)
    except ImportError as exc:
        raise BackendError(f"backend={name!r}: {install or exc}") from exc
    return package.make_backend(device)


__all__ = ["BACKENDS", "Backend", "BackendError", "LoweringTable", "NUMPY", "NumpyBackend",
           "REFERENCE", "Template", "get_backend", "register_backend"]
