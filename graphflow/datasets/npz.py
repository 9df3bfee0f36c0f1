"""The MNIST cache's .npz archive: read with graphflow/npz_file.py (which checks every entry and
header before allocating, and every CRC), then each array checked for its expected dtype and
number of dimensions. Any damage gives FormatError."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

import numpy as np

from ..npz_file import NpzError
from ..npz_file import read_npz as _read
from .errors import FormatError

__all__ = ["read_npz"]


def read_npz(path: Path, specs: Dict[str, Tuple[np.dtype, int]]) -> Dict[str, np.ndarray]:
    """The arrays named by `specs` ({key: (dtype, ndim)}) from the .npz file `path`, read without
    pickles. Raises FormatError naming the file and the member at fault."""
    try:
        arrays = _read(path)
    except NpzError as exc:
        raise FormatError(str(exc)) from exc
    out = {}
    for key, (dtype, ndim) in specs.items():
        if key not in arrays:
            raise FormatError(f"{path}: it has no member {key}.npy")
        found = arrays[key]
        if found.dtype != np.dtype(dtype) or found.ndim != ndim:
            raise FormatError(f"{path}: {key}.npy holds {found.dtype} of shape {found.shape}, "
                              f"expected {np.dtype(dtype)} with {ndim} dimensions")
        out[key] = found
    return out
