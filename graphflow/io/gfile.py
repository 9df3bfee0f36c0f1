"""TF 1.15's tf.io.gfile: the lower-case (TF2-style) names of tf.gfile, on the local file system.

    if tf.io.gfile.exists(log_dir):
        tf.io.gfile.rmtree(log_dir)
    tf.io.gfile.makedirs(log_dir)

Each is graphflow.gfile's function of the same meaning (same errors: NotFoundError is also
FileNotFoundError, AlreadyExistsError also FileExistsError), under TF 1.15's name and parameters.
"""

from __future__ import annotations

from typing import Callable, Iterator, List, Optional, Tuple

from graphflow import gfile as _gfile
from graphflow.gfile import GFile

__all__ = ["GFile", "copy", "exists", "glob", "isdir", "listdir", "makedirs", "mkdir", "remove",
           "rename", "rmtree", "stat", "walk"]


def copy(src, dst, overwrite: bool = False) -> None:
    """Copy the file `src` to `dst`; AlreadyExistsError if `dst` exists unless overwrite."""
    _gfile.Copy(src, dst, overwrite)


def exists(path) -> bool:
    """Whether a file or directory is at `path`."""
    return _gfile.Exists(path)


def glob(pattern) -> List[str]:
    """The paths matching a pattern (or any of a list of patterns)."""
    return _gfile.Glob(pattern)


def isdir(path) -> bool:
    """Whether `path` is a directory."""
    return _gfile.IsDirectory(path)


def listdir(path) -> List[str]:
    """The names in directory `path`; NotFoundError if it is not one."""
    return _gfile.ListDirectory(path)


def makedirs(path) -> None:
    """Make directory `path` and its missing parents; fine if it exists."""
    _gfile.MakeDirs(path)


def mkdir(path) -> None:
    """Make one directory (its parent must exist)."""
    _gfile.MkDir(path)


def remove(path) -> None:
    """Delete the file `path`; NotFoundError if missing."""
    _gfile.Remove(path)


def rename(src, dst, overwrite: bool = False) -> None:
    """Rename or move `src` to `dst`; AlreadyExistsError if `dst` exists unless overwrite."""
    _gfile.Rename(src, dst, overwrite)


def rmtree(path) -> None:
    """Delete directory `path` and everything under it; NotFoundError if missing."""
    _gfile.DeleteRecursively(path)


def stat(path) -> _gfile.FileStatistics:
    """Length, mtime_nsec and is_directory of `path`; NotFoundError if missing."""
    return _gfile.Stat(path)


def walk(top, topdown: bool = True,
         onerror: Optional[Callable[[Exception], None]] = None
         ) -> Iterator[Tuple[str, List[str], List[str]]]:
    """(dirname, subdirectory names, file names) for `top` and each directory under it, parents
    first when topdown. A `top` that is not a directory yields nothing; onerror, if given, is
    called with the NotFoundError (it may raise it to abort)."""
    if not _gfile.IsDirectory(top):
        if onerror is not None:
            onerror(_gfile.NotFoundError(f"tf.io.gfile.walk: {top!r} is not a directory"))
        return
    yield from _gfile.Walk(top, in_order=topdown)
