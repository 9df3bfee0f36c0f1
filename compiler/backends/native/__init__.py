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

from ...errors import BackendError
from ..numpy import NumpyBackend, fused_jit
from . import build, segments


class NativeBackend(NumpyBackend):
    """Generated numpy code with native runs (module docstring)."""

    name = "native"
    fuses_by_default = True

    def regroup(self, listing, fn, bind):
        return segments.regroup(listing, fn, bind)

    def prepare(self, node):
        """As the numpy backend, but a fused node's numba loop is compiled only if the node
        stays numpy code (a native run computes most of them itself)."""
        if node.type != "fused":
            return super().prepare(node)
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
