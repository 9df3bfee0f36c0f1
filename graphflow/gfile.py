"""TF1's tf.gfile (gf.gfile) on the local file system.

    if not gf.gfile.Exists(log_dir):
        gf.gfile.MakeDirs(log_dir)
    with gf.gfile.GFile(os.path.join(log_dir, "notes.txt"), "w") as f:
        f.write("hello\\n")

Local paths only (and file://): gs://, hdfs://, s3:// and other URLs raise NotImplementedError.
A missing file raises an error that is both TF1's tf.errors.NotFoundError and Python's
FileNotFoundError, an existing one where none may be both tf.errors.AlreadyExistsError and
FileExistsError, so `except` clauses written either way work.
"""

from __future__ import annotations

import contextlib
import functools
import glob as _glob
import os
import re
import shutil
from typing import Iterator, List, NamedTuple, Tuple, Union

from compiler import tf_errors

__all__ = ["Copy", "DeleteRecursively", "Exists", "FastGFile", "GFile", "Glob", "IsDirectory",
           "ListDirectory", "MakeDirs", "MkDir", "NotFoundError", "AlreadyExistsError", "Open",
           "Remove", "Rename", "Stat", "Walk"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_MODES = ("r", "rb", "w", "wb", "a", "ab")


class NotFoundError(tf_errors.NotFoundError, FileNotFoundError):
    """A missing file or directory: TF1's NotFoundError and Python's FileNotFoundError."""


class AlreadyExistsError(tf_errors.AlreadyExistsError, FileExistsError):
    """A path that exists where it may not: TF1's AlreadyExistsError and FileExistsError."""


@contextlib.contextmanager
def _as_tf_errors(what: str):
    """Re-raise the OS's missing/existing-file errors as the classes above, naming `what`."""
    try:
        yield
    except (NotFoundError, AlreadyExistsError):
        raise
    except FileNotFoundError as exc:
        raise NotFoundError(f"gf.gfile.{what}: {exc}") from None
    except FileExistsError as exc:
        raise AlreadyExistsError(f"gf.gfile.{what}: {exc}") from None


def _tf_errors(fn):
    """Run `fn` under _as_tf_errors, named after it."""
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with _as_tf_errors(fn.__name__):
            return fn(*args, **kwargs)
    return wrapped


def _local(path) -> str:
    """`path` as a local path; a URL of another file system is an error naming it."""
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = path.decode("utf-8")
    if path.startswith("file://"):
        return path[len("file://"):]
    if _URL.match(path):
        raise NotImplementedError(f"gf.gfile: {path!r}: graphflow reads and writes local files "
                                  f"only; copy the data to a local path first")
    return path


class GFile:
    """TF1's file object: read, readline, readlines, iteration, write, seek, tell, size, and a
    context manager. mode is 'r', 'rb', 'w', 'wb', 'a' or 'ab' ('r' reads str, 'rb' bytes).
    As in TF1 the file opens on first use: a missing file raises on the first read."""

    def __init__(self, name, mode: str = "r"):
        if mode not in _MODES:
            raise ValueError(f"GFile({name!r}): mode {mode!r} is not one of {', '.join(_MODES)}")
        self._name = name
        self._path = _local(name)
        self._mode = mode
        self._binary = "b" in mode
        self._file = None

    name = property(lambda self: self._name, doc="The path given.")
    mode = property(lambda self: self._mode, doc="The mode given.")

    def _handle(self):
        if self._file is None:
            with _as_tf_errors(f"GFile({self._name!r})"):
                self._file = self._open()
        return self._file

    def _open(self):
        # newline="\n": lines end at '\n' only and nothing is translated, as in TF1
        return (open(self._path, self._mode) if self._binary else
                open(self._path, self._mode, encoding="utf-8", newline="\n"))

    def read(self, n: int = -1) -> Union[str, bytes]:
        """Up to `n` characters (bytes in 'rb'), or everything left when n is -1."""
        return self._handle().read(n)

    def readline(self) -> Union[str, bytes]:
        """The next line, with its '\\n'; empty at the end."""
        return self._handle().readline()

    def readlines(self) -> list:
        """All lines left."""
        return self._handle().readlines()

    def __iter__(self) -> "GFile":
        return self

    def __next__(self) -> Union[str, bytes]:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__  # TF1's GFile.next()

    def write(self, file_content: Union[str, bytes]) -> None:
        """Write str or bytes (either is taken in either mode, as in TF1; text is UTF-8)."""
        if self._binary and isinstance(file_content, str):
            file_content = file_content.encode("utf-8")
        elif not self._binary and isinstance(file_content, bytes):
            file_content = file_content.decode("utf-8")
        self._handle().write(file_content)

    def seek(self, offset: int = None, whence: int = 0, position: int = None) -> None:
        """Move to `offset` (TF1 also calls it `position`) from whence 0, 1 or 2."""
        if position is not None:
            offset = position
        self._handle().seek(0 if offset is None else offset, whence)

    def tell(self) -> int:
        return self._handle().tell()

    def size(self) -> int:
        """The file's length in bytes."""
        if self._file is not None:
            self._file.flush()
        return os.path.getsize(self._path)

    def seekable(self) -> bool:
        return True

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "GFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


Open = GFile
FastGFile = GFile


def Exists(filename) -> bool:  # noqa: N802 - TF1's names
    """Whether a file or directory is at `filename`."""
    return os.path.exists(_local(filename))


def IsDirectory(dirname) -> bool:  # noqa: N802
    """Whether `dirname` is a directory (False if nothing is there)."""
    return os.path.isdir(_local(dirname))


def MakeDirs(dirname) -> None:  # noqa: N802
    """Make `dirname` and its missing parents; fine if it already is a directory."""
    os.makedirs(_local(dirname), exist_ok=True)


@_tf_errors
def MkDir(dirname) -> None:  # noqa: N802
    """Make one directory: AlreadyExistsError if it exists, NotFoundError if its parent
    is missing."""
    os.mkdir(_local(dirname))


@_tf_errors
def Remove(filename) -> None:  # noqa: N802
    """Delete a file (NotFoundError if missing)."""
    os.remove(_local(filename))


@_tf_errors
def DeleteRecursively(dirname) -> None:  # noqa: N802
    """Delete a directory and everything under it (NotFoundError if missing)."""
    path = _local(dirname)
    if not os.path.lexists(path):
        raise NotFoundError(f"gf.gfile.DeleteRecursively: {path!r} does not exist")
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.remove(path)


@_tf_errors
def ListDirectory(dirname) -> List[str]:  # noqa: N802
    """The names in a directory, without '.' and '..', in no particular order."""
    path = _local(dirname)
    if not os.path.isdir(path):
        raise NotFoundError(f"gf.gfile.ListDirectory: could not find directory {path!r}")
    return os.listdir(path)


def Glob(filename) -> List[str]:  # noqa: N802
    """The paths matching a pattern (or any of a list of patterns): *, ?, [...]."""
    patterns = [filename] if isinstance(filename, (str, bytes, os.PathLike)) else filename
    return [match for pattern in patterns for match in _glob.glob(_local(pattern))]


@_tf_errors
def Copy(oldpath, newpath, overwrite: bool = False) -> None:  # noqa: N802
    """Copy a file; if `newpath` exists, AlreadyExistsError unless
    overwrite=True."""
    src, dst = _local(oldpath), _local(newpath)
    if not overwrite and os.path.exists(dst):
        raise AlreadyExistsError(f"gf.gfile.Copy: {dst!r} exists; pass overwrite=True to "
                                 f"replace it")
    shutil.copyfile(src, dst)


@_tf_errors
def Rename(oldname, newname, overwrite: bool = False) -> None:  # noqa: N802
    """Rename or move a file or directory; if `newname` exists, AlreadyExistsError unless
    overwrite=True."""
    src, dst = _local(oldname), _local(newname)
    if not os.path.exists(src):
        raise NotFoundError(f"gf.gfile.Rename: {src!r} does not exist")
    if not overwrite and os.path.exists(dst):
        raise AlreadyExistsError(f"gf.gfile.Rename: {dst!r} exists; pass overwrite=True to "
                              f"replace it")
    os.replace(src, dst)


class FileStatistics(NamedTuple):
    """What Stat returns, as TF1's FileStatistics."""

    length: int
    mtime_nsec: int
    is_directory: bool


@_tf_errors
def Stat(filename) -> FileStatistics:  # noqa: N802
    """Length in bytes, modification time in ns and whether it is a directory."""
    result = os.stat(_local(filename))
    return FileStatistics(result.st_size, result.st_mtime_ns, os.path.isdir(_local(filename)))


def Walk(top, in_order: bool = True) -> Iterator[Tuple[str, List[str], List[str]]]:  # noqa: N802
    """(dirname, subdirectory names, file names) for `top` and every directory under it; parents
    before children when in_order, else after. A missing `top` gives nothing."""
    yield from os.walk(_local(top), topdown=in_order)
