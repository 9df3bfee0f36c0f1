"""The checkpoint file: numpy's .npz layout (a zip of "<key>.npy" members), written here and
read with graphflow/npz_file.py, which trusts nothing in the file."""

from __future__ import annotations

import zipfile
from typing import BinaryIO, Dict

import numpy as np

from compiler.errors import GraphflowError

from ..npz_file import MEMBER_SUFFIX, NUMERIC_KINDS, NpzError
from ..npz_file import read_npz as _read

__all__ = ["CheckpointError", "check_storable", "read_npz", "write_npz"]

MAX_NAME_BYTES = 0xFFFF  # a zip header stores the name's length in 16 bits


class CheckpointError(GraphflowError, ValueError):
    """A checkpoint that cannot be read, or that does not fit the variables it is restored into."""


def check_storable(key: str, variable_name: str, dtype: np.dtype) -> None:
    """Raise CheckpointError unless an array of `dtype` under `key` reads back as it was written:
    a zip entry name keeps no NUL, holds at most 65535 UTF-8 bytes, and may be rewritten
    (a Windows path separator); the reader takes numeric arrays only."""
    entry = key + MEMBER_SUFFIX
    problem = None
    try:
        size = len(entry.encode("utf-8"))
    except UnicodeEncodeError:
        problem = "it is not valid Unicode (a lone surrogate), which a zip entry name cannot hold"
    else:
        if size > MAX_NAME_BYTES:
            problem = (f"it is {size - len(MEMBER_SUFFIX)} bytes long in UTF-8; a zip entry name "
                       f"holds at most {MAX_NAME_BYTES - len(MEMBER_SUFFIX)}")
        elif "\x00" in entry:
            problem = "a zip entry name ends at a NUL byte, so it would read back cut short"
        elif zipfile.ZipInfo(entry).filename != entry:  # os.sep becomes "/" (Windows)
            problem = (f"a zip entry name on this system would change it to "
                       f"{zipfile.ZipInfo(entry).filename!r}")
    if problem is None and dtype.kind not in NUMERIC_KINDS:
        problem = f"its dtype {dtype} is not numeric; checkpoints hold numbers only"
    if problem is not None:
        raise CheckpointError(f"cannot save variable {variable_name!r} under the name {key!r}: "
                              f"{problem}; rename it (or give it another key in var_list)")


def write_npz(f: BinaryIO, arrays: Dict[str, np.ndarray]) -> None:
    """np.savez's format, written directly: np.savez(f, **arrays) would clash with variables named
    'file' or 'allow_pickle', and this refuses object arrays (allow_pickle=False)."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, value in arrays.items():
            with zf.open(key + MEMBER_SUFFIX, mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


def read_npz(path: str) -> Dict[str, np.ndarray]:
    """Every array of the checkpoint at `path`, by key (graphflow/npz_file.py checks it all);
    CheckpointError, naming the file, if anything in it is wrong."""
    try:
        return _read(path)
    except NpzError as exc:
        raise CheckpointError(f"cannot read checkpoint: {exc} or not a checkpoint") from exc
