"""Compiling a native module: C source -> a CPython extension, with the system's C compiler,
cached on disk by the hash of its source, its flags and the compiler.

The cache is the folder the fused kernels use ($GRAPHFLOW_CACHE_DIR, else
~/.cache/graphflow/kernels), and only if no other user can write it: a cached module is machine
code this process loads and runs. A module is written under a temporary name and renamed into
place, so a reader finds a whole file or none; one that fails to load is compiled again.

Flags: -O3 -march=native (vectorized loops, with this CPU's vector width: the key holds the
CPU's model and feature flags, so a cache shared between machines never hands one the other's
code), no -ffast-math and -ffp-contract=off (a*b+c is rounded twice, as
numpy rounds it), -fno-math-errno (sqrt vectorizes; errno is never read).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import os
import platform
import shlex
import shutil
import subprocess
import sysconfig
import tempfile
import threading
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional, Tuple

import numpy as np

from ...errors import BackendError
from ..numpy.fused_jit import _cache_dir

FLAGS = ["-O3", "-march=native", "-fno-math-errno", "-ffp-contract=off", "-fPIC", "-shared",
         "-fvisibility=hidden", "-w"]
_LOADED: Dict[str, ModuleType] = {}
_LOCK = threading.Lock()
_COMPILER: List[Optional[List[str]]] = []


def compiler() -> Optional[List[str]]:
    """The C compiler's command ($CC, else the one Python was built with, else cc or gcc), or
    None where there is none."""
    if not _COMPILER:
        found = None
        for cmd in (os.environ.get("CC"), sysconfig.get_config_var("CC"), "cc", "gcc"):
            if cmd:
                words = shlex.split(cmd)
                if words and shutil.which(words[0]):
                    found = words
                    break
        _COMPILER.append(found)
    return _COMPILER[0]


@functools.lru_cache(maxsize=None)
def _cpu() -> str:
    """This CPU's model and feature flags (Linux), else what platform says."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith(("model name", "flags"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor() + platform.machine()


@functools.lru_cache(maxsize=None)
def _version(cc: Tuple[str, ...]) -> str:
    try:
        out = subprocess.run(list(cc) + ["--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()[0] if out.stdout else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def _includes() -> List[str]:
    return ["-I" + sysconfig.get_paths()["include"], "-I" + np.get_include()]


def load(name_hint: str, source: str) -> ModuleType:
    """The extension module compiled from `source` (its init function must be PyInit_<name>,
    with `<name>` standing for the name this gives it)."""
    cc = compiler()
    if cc is None:
        raise BackendError("backend='native' needs a C compiler: none of $CC, Python's own "
                           "compiler, cc or gcc was found on PATH")
    key = hashlib.sha256("\0".join([source, " ".join(cc), _version(tuple(cc)), " ".join(FLAGS),
                                    _cpu(),
                                    sysconfig.get_config_var("EXT_SUFFIX") or "",
                                    np.__version__]).encode()).hexdigest()[:20]
    name = f"{name_hint}_{key}"
    with _LOCK:
        if name in _LOADED:
            return _LOADED[name]
        folder = _cache_dir()
        path = folder / (name + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))
        module = _import(name, path) if path.exists() else None
        if module is None:
            _compile(cc, source.replace("@NAME@", name), path)
            module = _import(name, path)
            if module is None:
                raise BackendError(f"the native module {path} was compiled but does not load")
        _LOADED[name] = module
        return module


def _import(name: str, path: Path) -> Optional[ModuleType]:
    try:
        loader = importlib.machinery.ExtensionFileLoader(name, str(path))
        spec = importlib.util.spec_from_file_location(name, str(path), loader=loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        return module
    except (ImportError, OSError):
        return None


def _compile(cc: List[str], source: str, path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="graphflow-native-") as tmp:
        c_file = Path(tmp) / "module.c"
        c_file.write_text(source)
        fd, out = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
        os.close(fd)
        try:
            command = cc + FLAGS + _includes() + [str(c_file), "-o", out, "-lm"]
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
            if done.returncode != 0 and "-march=native" in command:
                # a compiler that does not know this CPU (or the flag): portable code instead
                command.remove("-march=native")
                done = subprocess.run(command, capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                raise BackendError(f"compiling a native module failed ({' '.join(cc)}):\n"
                                   f"{done.stderr[-4000:]}")
            os.replace(out, path)
        finally:
            if os.path.exists(out):
                os.unlink(out)
