"""Reading an .npz archive (the zip of .npy files numpy.savez_compressed writes) whose members
must have known dtypes and numbers of dimensions.

Each member's header is checked before its data is read: the dtype and the number of dimensions
must be the expected ones, and the claimed size must fit in what the archive can inflate to; the
data is then read in bounded chunks and zip's CRC checked. Any damage gives FormatError.
"""

from __future__ import annotations

import math
import struct
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import Dict, Tuple

import numpy as np

from .errors import FormatError
from .idx import MAX_DEFLATE_RATIO, read_at_most

__all__ = ["read_npz"]

# What a damaged archive raises from zipfile, zlib and numpy's .npy header parser (a cut header
# reaches Python's tokenizer; a flipped flag bit makes zipfile ask for a password).
DAMAGE = (OSError, EOFError, ValueError, TypeError, RuntimeError, SyntaxError, zipfile.BadZipFile,
          zlib.error, tokenize.TokenError, struct.error)
HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                  (2, 0): np.lib.format.read_array_header_2_0}


def read_npz(path: Path, specs: Dict[str, Tuple[np.dtype, int]]) -> Dict[str, np.ndarray]:
    """The arrays named by `specs` ({key: (dtype, ndim)}) from the .npz file `path`, read without
    pickles. Raises FormatError naming the file and the member at fault."""
    try:
        limit = MAX_DEFLATE_RATIO * path.stat().st_size
        with zipfile.ZipFile(path) as zf:
            return {key: _read_member(zf, key + ".npy", np.dtype(dtype), ndim, limit)
                    for key, (dtype, ndim) in specs.items()}
    except FormatError as exc:  # before DAMAGE: a FormatError is a ValueError
        raise FormatError(f"{path}: {exc}") from exc
    except DAMAGE as exc:
        raise FormatError(f"{path} is damaged ({type(exc).__name__}: {exc})") from exc


def _read_member(zf: zipfile.ZipFile, name: str, dtype: np.dtype, ndim: int,
                 limit: int) -> np.ndarray:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise FormatError(f"it has no member {name}") from None
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise FormatError(f"{name} is compressed with method {info.compress_type}, not deflate")
    if info.file_size > limit:
        raise FormatError(f"{name} claims {info.file_size} bytes, more than the archive can hold")
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version not in HEADER_READERS:
            raise FormatError(f"{name} is an .npy file of version {version}, expected 1.0 or 2.0")
        shape, fortran, found = HEADER_READERS[version](f)
        if found != dtype or len(shape) != ndim or fortran or min(shape, default=0) < 0:
            raise FormatError(f"{name} holds {found} of shape {shape}"
                              f"{' in Fortran order' if fortran else ''}, expected {dtype} with "
                              f"{ndim} dimensions")
        size = math.prod(shape) * dtype.itemsize  # Python ints: no wrap-around
        if size > info.file_size:
            raise FormatError(f"{name} claims shape {shape} = {size} bytes, more than its "
                              f"{info.file_size} bytes")
        data = read_at_most(f, size)
        if len(data) < size:
            raise FormatError(f"{name} is truncated: shape {shape} needs {size} bytes, it holds "
                              f"{len(data)}")
        if f.read(1):
            raise FormatError(f"{name} holds more bytes than its shape {shape} needs")
    return np.frombuffer(data, dtype).reshape(shape)
