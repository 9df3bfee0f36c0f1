"""The native backend: the numpy backend's generated code, with each run of statements it can
compile (elementwise ops and fused chains, matrix products and GEMM updates through numpy's own
BLAS, sums and means, variable updates, transposes and reshapes) replaced by one call of a C
function compiled for the run's static shapes (segments.py), so a step pays one Python call per
run instead of one per op. Elementwise fusion is on by default (Session(fuse=None)).

    gf.Session(backend="native")

Needs a C compiler (`$CC`, Python's own, `cc` or `gcc`) and Python's and numpy's headers;
compiled modules are cached on disk (build.py). Values are numpy arrays in the same store as
the numpy backend's; the reference interpreter is the same oracle.
"""

from __future__ import annotations

import math

from ...errors import BackendError
from ..numpy import NumpyBackend, fused_jit
from . import build, segments

SMALL_FUSED = 4096  # elements


class NativeBackend(NumpyBackend):
    """Generated numpy code with native runs (module docstring)."""

    name = "native"
    fuses_by_default = True

    def regroup(self, listing, fn, bind):
        return segments.regroup(listing, fn, bind)

    def prepare(self, node):
        """As the numpy backend, but a fused node that stays numpy code (native runs compute
        most of them) runs its ops one by one where it is small (scalar arithmetic between
        numpy statements: not worth numba's start-up), and compiles its numba loop at its first
        call otherwise."""
        if node.type != "fused":
            return super().prepare(node)
        steps = node.attrs["steps"]
        if math.prod(node.shape) < SMALL_FUSED:
            return lambda *args, out=None: fused_jit._reference(steps, args, out)
        compiled = []

        def run(*args, **kwargs):
            if not compiled:
                compiled.append(fused_jit.prepare(node.attrs["steps"],
                                                  [i.shape for i in node.inputs],
                                                  [i.dtype for i in node.inputs]))
            return compiled[0](*args, **kwargs)
        return run

    def kernel_sources(self, nodes) -> str:
        return ""  # the C module's source comes with the program (Program.source)

    def __repr__(self) -> str:
        return "<graphflow native backend>"


def make_backend(device=None) -> NativeBackend:
    if device not in (None, "cpu"):
        raise ValueError(f"the native backend runs on the CPU only, not device={device!r}")
    if build.compiler() is None:
        raise BackendError("backend='native' needs a C compiler: none of $CC, Python's own "
                           "compiler, cc or gcc was found on PATH")
    return NativeBackend()
