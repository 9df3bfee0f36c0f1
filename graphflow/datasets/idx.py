"""IDX files (the format of LeCun's MNIST files), raw or gzip-compressed, read as a stream.

The format: a big-endian uint32 magic number 0x0000TTNN (TT the element type, 0x08 for uint8; NN
the number of dimensions), NN big-endian uint32 sizes, then the elements in row-major order.
A header is checked against what the file can hold before any data is read: a raw file must hold
exactly the claimed bytes, a gzip file can inflate to at most 1032 times its size.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ..npz_file import MAX_DEFLATE_RATIO  # deflate: at most 258 bytes per 2 bits
from .errors import FormatError

__all__ = ["read_idx", "read_at_most"]

CHUNK = 1 << 20


def read_idx(path: Path, magic: int) -> np.ndarray:
    """The uint8 array of the IDX file `path`, whose magic number must be `magic` (2051 for
    images, 2049 for labels; its low byte is the number of dimensions). Raises FormatError, naming
    the file, for a wrong magic number or a size that does not match the header."""
    ndim = magic & 0xFF
    try:
        with _open(path) as f:
            dims = _read_header(f, path, magic, ndim)
            size = math.prod(dims)  # Python ints: a product of huge sizes cannot wrap around
            _check_claim(path, dims, size, 4 + 4 * ndim)
            data = read_at_most(f, size)
            if len(data) < size:
                raise FormatError(f"{path} is truncated: header says {dims} = {size} bytes of "
                                  f"data, the file holds {len(data)}")
            if f.read(1):  # also makes gzip check the stream's CRC and length
                raise FormatError(f"{path} is longer than its header says: header says {dims} = "
                                  f"{size} bytes of data, the file holds more")
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError; a cut stream: EOF
        raise FormatError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc
    return np.frombuffer(data, np.uint8).reshape(dims)


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _read_header(f, path: Path, magic: int, ndim: int) -> tuple:
    header = read_at_most(f, 4 + 4 * ndim)
    if len(header) < 4 + 4 * ndim:
        raise FormatError(f"{path} is truncated: {len(header)} bytes, shorter than its header")
    found = struct.unpack(">I", header[:4])[0]
    if found != magic:
        raise FormatError(f"{path} is not an IDX file of the expected kind: magic number {found}, "
                          f"expected {magic}")
    return struct.unpack(f">{ndim}I", header[4:])


def _check_claim(path: Path, dims: tuple, size: int, header: int) -> None:
    """Refuse a header that claims more data than the file can hold, before reading any."""
    on_disk = path.stat().st_size
    if path.suffix != ".gz":
        if size > on_disk - header:
            raise FormatError(f"{path} is truncated: header says {dims} = {size} bytes of data, "
                              f"the file holds {on_disk - header}")
    elif size > MAX_DEFLATE_RATIO * on_disk:
        raise FormatError(f"{path} is truncated or damaged: header says {dims} = {size} bytes of "
                          f"data, more than its {on_disk} compressed bytes can hold (at most "
                          f"{MAX_DEFLATE_RATIO * on_disk}); delete it and fetch it again")


def read_at_most(f, n: int) -> bytearray:
    """Up to n bytes of f, read in bounded chunks so that a short file costs only what it holds."""
    data = bytearray()
    while len(data) < n:
        chunk = f.read(min(CHUNK, n - len(data)))
        if not chunk:
            break
        data += chunk
    return data
