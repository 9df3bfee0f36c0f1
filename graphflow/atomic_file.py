"""Files written whole or not at all: a temporary file in the same directory, flushed to disk,
then renamed over the target (a reader sees the old file or the new one, never half of one)."""

from __future__ import annotations

import os
import secrets
from typing import BinaryIO, Callable, Union

__all__ = ["write_atomically", "temp_name", "TEMP_TOKEN_BYTES"]

TEMP_TOKEN_BYTES = 6  # the random part of a temporary file's name, in bytes (hex doubles it)


def temp_name(basename: str) -> str:
    """'.<basename>.<12 hex digits>.tmp': the temporary file a write of `basename` goes through."""
    return f".{basename}.{secrets.token_hex(TEMP_TOKEN_BYTES)}.tmp"


def write_atomically(path: Union[str, os.PathLike], write: Callable[[BinaryIO], None]) -> None:
    """Replace `path` with what write(f) writes to the binary file f. The temporary file
    ('.<name>.<random>.tmp' beside it, mode 0o666 less the umask, as any new file) is removed if
    writing fails or is interrupted."""
    path = os.fspath(path)
    directory = os.path.dirname(path) or os.curdir
    tmp = os.path.join(directory, temp_name(os.path.basename(path)))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt too: never leave a half-written temporary file
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
