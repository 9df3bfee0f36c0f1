"""The numpy backend, the default and the oracle: generated numpy code, with `out=` buffers
planned ahead and elementwise ops computed over dying inputs. Variables are numpy arrays in a
VariableStore; the reference interpreter runs on the same store."""

from __future__ import annotations

import numpy as np

from ...feeds import check_feed
from ...interpreter import evaluate
from ...ops.fused import describe_steps
from ...store import VariableStore
from ..base import Backend
from . import blas, conv, fused_jit, pool  # noqa: F401,E402  (their rules join the table)
from .lowering import NUMPY_TABLE


class NumpyBackend(Backend):
    """Generated numpy code; variables are numpy arrays in a VariableStore."""

    name = "numpy"
    device = "cpu"
    table = NUMPY_TABLE
    modules = {"np": np}
    reuse_memory = True
    scalar_results = True     # 0-d results as numpy scalars, as TF1 returns them
    copy = "np.array({})"
    interprets = True
    fuses = True

    def dtype(self, dtype: np.dtype) -> str:
        return f"np.{dtype.name}"

    def constant(self, value):
        return value

    def reference(self, kernel, stateful: bool):
        return kernel

    def make_store(self) -> VariableStore:
        return VariableStore(evaluate)

    def feed(self, node, value):
        return check_feed(node, value)

    def signature(self, values):
        # Exact numpy arrays of a shape and dtype seen before were checked then.
        # Object arrays (strings) are always checked: their elements must be made bytes.
        key = tuple([(v.shape, v.dtype) for v in values
                     if type(v) is np.ndarray and v.dtype != object])
        return key if len(key) == len(values) else None

    def results(self, outs, as_tensors: bool = False):
        return outs

    def snapshot(self, value):
        return np.array(value)

    def restore(self, target, value) -> None:
        np.copyto(target, value)

    def to_numpy(self, value):
        return value

    def prepare(self, node):
        """A fused node's loop, compiled now for its inputs' static shapes and dtypes; a
        matmul_accumulate's GEMM call (blas.py); a max pool's kernel (pool.py)."""
        if node.type == "matmul_accumulate":
            return blas.prepare(node)
        if node.type in pool.PREPARED:
            return pool.PREPARED[node.type]
        return fused_jit.prepare(node.attrs["steps"], [i.shape for i in node.inputs],
                                 [i.dtype for i in node.inputs])

    def kernel_sources(self, nodes) -> str:
        """Each fused node's loop (the numba source it compiles), after a comment naming it."""
        parts = []
        for node in nodes:
            if node.type != "fused":
                continue
            steps = node.attrs["steps"]
            shaped = [np.broadcast_to(np.zeros((), i.dtype), i.shape) for i in node.inputs]
            text = fused_jit.source(steps, *shaped) if fused_jit.available() else None
            parts.append(f"# {node.op_name} = fused({', '.join(i.op_name for i in node.inputs)}"
                         f"): {describe_steps(steps, len(node.inputs))}\n"
                         + (text or "# (run op by op: numba is not installed, or the leaves "
                                    "broadcast in a way the loop does not read)\n"))
        return "\n".join(parts)

    def __repr__(self) -> str:
        return "<graphflow numpy backend>"


NUMPY = NumpyBackend()


def make_backend(device=None) -> NumpyBackend:
    """The numpy backend (`device` must be None or "cpu")."""
    if device not in (None, "cpu"):
        raise ValueError(f"device={device!r}: the numpy backend runs on the CPU; use "
                         f"backend='torch' for device {device!r}")
    return NUMPY
