"""Reading numpy's .npz archives (a zip of "<key>.npy" members) from outside, as data.

Nothing in the file is trusted: every zip entry is checked (no encryption, stored or deflate,
sizes the file can hold) and every .npy header (a numeric dtype, a shape whose byte size is what
the entry holds) before any array is allocated; zipfile checks each entry's CRC-32 as its last
byte is read, so a changed byte is an error rather than a changed value. Nothing is unpickled.
Checkpoints (graphflow/train/checkpoint_file.py) and the MNIST cache (graphflow/datasets) read
their files with it and turn NpzError into their own error.
"""

from __future__ import annotations

import collections
import math
import os
import struct
import tokenize
import zipfile
import zlib
from typing import Dict, List, Tuple

import numpy as np

__all__ = ["NpzError", "read_npz", "MEMBER_SUFFIX", "NUMERIC_KINDS", "MAX_DEFLATE_RATIO"]

MEMBER_SUFFIX = ".npy"
NUMERIC_KINDS = "biufc"  # bool, signed and unsigned integers, floats, complex
# Deflate turns 258 bytes into 2 bits at best (RFC 1951), so it expands at most 1032 times;
# the slack covers block headers of tiny members.
MAX_DEFLATE_RATIO, DEFLATE_SLACK = 1032, 1024
CHUNK = 1 << 24  # bytes read at a time into the array being filled
# What zipfile, zlib and numpy's header parser raise for bad bytes: damaged zip structures,
# deflate streams and headers (a cut header reaches Python's tokenizer); zip features zipfile
# lacks; seeks to offsets a damaged field gives.
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, TypeError, OverflowError,
                NotImplementedError, OSError, RuntimeError, SyntaxError, tokenize.TokenError,
                struct.error)


class NpzError(ValueError):
    """A .npz file that is damaged or not what it claims; the message names the file."""


class _Damaged(Exception):
    """A problem found in the file; read_npz adds the file's path."""


def read_npz(path) -> Dict[str, np.ndarray]:
    """Every array of the .npz at `path`, by key (the entry name less ".npy", as np.load has it),
    in native byte order and C order. Raises NpzError, naming the file, if anything in it is
    wrong (OSError if it cannot be opened)."""
    with open(path, "rb") as f:
        if f.read(len(np.lib.format.MAGIC_PREFIX)) == np.lib.format.MAGIC_PREFIX:
            raise NpzError(f"'{path}' is a .npy array, not an .npz archive")
        file_size = os.fstat(f.fileno()).st_size
        try:
            with zipfile.ZipFile(f) as zf:
                return {key: _read_member(zf, info) for key, info in _entries(zf, file_size)}
        except _Damaged as exc:
            raise NpzError(f"'{path}': {exc}; the file is damaged") from None
        except _READ_ERRORS as exc:
            raise NpzError(f"'{path}' is damaged ({type(exc).__name__}: {exc})") from exc


def _entries(zf: zipfile.ZipFile, file_size: int) -> List[Tuple[str, zipfile.ZipInfo]]:
    """(key, entry) for every entry, each checked readable, with no key twice."""
    entries = []
    for info in zf.infolist():
        _check_entry(info, file_size)
        name = info.filename
        entries.append((name[:-len(MEMBER_SUFFIX)] if name.endswith(MEMBER_SUFFIX) else name, info))
    counts = collections.Counter(key for key, _ in entries)
    twice = sorted(key for key, count in counts.items() if count > 1)
    if twice:
        raise _Damaged(f"it holds more than one entry for {twice}")
    return entries


def _check_entry(info: zipfile.ZipInfo, file_size: int) -> None:
    """Refuse what zipfile cannot read and sizes the file cannot hold, before reading a byte."""
    where = f"entry '{info.filename}'"
    if info.flag_bits & 0x1:
        raise _Damaged(f"{where} is encrypted")
    if info.compress_type == zipfile.ZIP_STORED:
        most = info.compress_size
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        most = info.compress_size * MAX_DEFLATE_RATIO + DEFLATE_SLACK
    else:
        raise _Damaged(f"{where} uses compression method {info.compress_type}; np.savez writes "
                       f"stored entries and np.savez_compressed deflated ones")
    if info.header_offset + info.compress_size > file_size:
        raise _Damaged(f"{where} claims {info.compress_size} bytes at offset "
                       f"{info.header_offset}, past the end of the {file_size}-byte file")
    if info.file_size > most:
        raise _Damaged(f"{where} claims {info.file_size} bytes, more than its "
                       f"{info.compress_size} stored bytes can hold")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    with zf.open(info) as member:
        shape, fortran_order, dtype = _read_header(member, info.filename)
        nbytes = math.prod(shape) * dtype.itemsize
        if member.tell() + nbytes != info.file_size:
            raise _Damaged(f"entry '{info.filename}': its header claims shape {shape} of "
                           f"{dtype} ({nbytes} bytes) but the entry holds "
                           f"{info.file_size - member.tell()} bytes of data")
        # Reading up to the entry's last byte makes zipfile check its CRC-32.
        flat = np.frombuffer(_read_exactly(member, nbytes), dtype=dtype)
    array = flat.reshape(shape[::-1]).T if fortran_order else flat.reshape(shape)
    return array.astype(dtype.newbyteorder("="), order="C", copy=False)  # native, C order


def _read_header(member, name: str) -> Tuple[Tuple[int, ...], bool, np.dtype]:
    """The .npy header, checked: a numeric dtype and a shape of non-negative sizes."""
    fmt = np.lib.format
    major, minor = fmt.read_magic(member)
    if (major, minor) == (1, 0):
        shape, fortran_order, dtype = fmt.read_array_header_1_0(member)
    elif (major, minor) in ((2, 0), (3, 0)):
        # 3.0 is 2.0 with a UTF-8 header, which differs only in structured field names (refused)
        shape, fortran_order, dtype = fmt.read_array_header_2_0(member)
    else:
        raise _Damaged(f"entry '{name}' is .npy format version {major}.{minor}, which numpy "
                       f"does not write")
    if dtype.kind not in NUMERIC_KINDS:
        raise _Damaged(f"entry '{name}' holds an array of dtype {dtype}, not numbers")
    if any(isinstance(size, bool) or size < 0 for size in shape):
        raise _Damaged(f"entry '{name}' has the shape {shape}, not of sizes 0, 1, 2, ...")
    return shape, fortran_order, dtype


def _read_exactly(member, nbytes: int) -> bytearray:
    """nbytes from member (already checked to be what the entry holds), into one buffer."""
    out = bytearray(nbytes)
    view = memoryview(out)
    done = 0
    while done < nbytes:
        chunk = member.read(min(CHUNK, nbytes - done))
        if not chunk:
            raise EOFError(f"the entry ends after {done} of its {nbytes} bytes")
        view[done:done + len(chunk)] = chunk
        done += len(chunk)
    return out
