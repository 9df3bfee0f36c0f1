"""Saver: checkpoints of variables as one .npz file, written atomically.

    saver = gf.train.Saver()
    path = saver.save(sess, "ckpt/model")      # -> "ckpt/model.npz"
    saver.restore(sess, path)
    saver.restore(sess, gf.train.latest_checkpoint("ckpt"))   # TF1's way, via the state file

The file is a plain numpy .npz archive, one array per variable, keyed by the variable's name
("dense/kernel"): `np.load(path)` reads it without graphflow, and nothing in it is pickled.
"""

from __future__ import annotations

import os
import re
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from compiler.ops.distributed import worker_rank
from compiler.ops.state import Variable

from ..atomic_file import TEMP_TOKEN_BYTES, write_atomically
from ..session import Session
from ..variables import global_variables
from .checkpoint_file import CheckpointError, check_storable, read_npz, write_npz
from .checkpoint_state import checkpoint_exists, update_checkpoint_state

__all__ = ["Saver"]

SUFFIX = ".npz"


class Saver:
    """Saves and restores variables of a session.

    var_list: None (every variable of the session's graph, taken when saving or restoring), a list
    of variables (stored under their names), or a dict {name in the checkpoint: variable}.

    restore() checks the whole checkpoint first (names, shapes, dtypes) and changes nothing unless
    everything fits. A checkpoint entry no variable asks for is an error with var_list=None (the
    file is of another model); with an explicit var_list it is skipped, as in TF1, so a subset can
    be restored from a full checkpoint.

    save_relative_paths: write the state file's paths relative to its directory even when the
    save path is absolute (TF1's option; relative save paths are always written relative), so the
    directory can be moved.
    """

    def __init__(self, var_list: Union[None, Sequence[Variable], Mapping[str, Variable]] = None,
                 max_to_keep: Optional[int] = 5, *, save_relative_paths: bool = False):
        self._var_list = None if var_list is None else _check_var_list(var_list)
        self._max_to_keep = max_to_keep
        self._relative = save_relative_paths
        self.last_checkpoints: List[str] = []  # the files kept (as save returned), oldest first

    def save(self, sess: Session, save_path: Union[str, os.PathLike], global_step=None,
             latest_filename: Optional[str] = None, meta_graph_suffix: str = "meta",
             write_meta_graph: bool = True, write_state: bool = True,
             strip_default_attrs: bool = False, save_debug_info: bool = False) -> str:
        """Write the variables' current values to `save_path` (".npz" is added if missing) and
        return that path. The file is replaced atomically: a save that fails or is interrupted
        leaves the previous checkpoint as it was, and the temporary file of a save that was killed
        is removed by the next save to the same path. Missing directories of the path, as written,
        are created ("sub/dir/../m" makes sub/dir, through which the OS resolves the "..").
        A name a .npz cannot hold (over 65531 UTF-8 bytes, a NUL byte) is a CheckpointError.

        With `global_step` (an int, or a tensor/variable read in `sess`), the path gets TF1's
        "-<step>" suffix. With write_state (the default), as in TF1, the checkpoint joins
        `last_checkpoints`, only the newest `max_to_keep` of those are kept (older files are
        deleted), and the state file `latest_filename` ("checkpoint") next to it lists them, for
        gf.train.latest_checkpoint. Meta graphs are not written: meta_graph_suffix,
        write_meta_graph, strip_default_attrs and save_debug_info are accepted for TF1 code and
        do nothing.

        In data-parallel training (gf.distribute) only rank 0 writes: on any other worker, whose
        variables hold the same values, save writes nothing and returns the path rank 0 writes."""
        if global_step is not None:
            step = global_step if isinstance(global_step, int) else sess.run(global_step)
            root = os.fspath(save_path)
            root = root[:-4] if root.endswith(".npz") else root
            save_path = f"{root}-{int(step)}"
        path = _with_suffix(save_path)
        if worker_rank() != 0:
            return path
        variables = self._variables(sess)
        for key, var in variables.items():
            check_storable(key, var.op_name, var.dtype)
        values = sess._variable_values(variables.values())
        arrays = {key: values[var.op_name] for key, var in variables.items()}
        # The directory as written, not normalized: the OS resolves "sub/dir/.." through sub/dir
        # (maybe a symlink), and the temporary file must be where the checkpoint will be.
        directory = os.path.dirname(path) or os.curdir
        os.makedirs(directory, exist_ok=True)
        _remove_leftover_temps(directory, os.path.basename(path))
        write_atomically(path, lambda f: write_npz(f, arrays))
        _fsync_directory(directory)
        if write_state:
            self._keep(path)
            # The state file names prefixes, as TF1's: restore and latest_checkpoint take them.
            update_checkpoint_state(os.path.dirname(path), _prefix(path),
                                    [_prefix(p) for p in self.last_checkpoints],
                                    latest_filename, save_relative_paths=self._relative)
        return path

    def _keep(self, path: str) -> None:
        """TF1: with max_to_keep None or 0 nothing is tracked (nor deleted)."""
        if not self._max_to_keep:
            return
        if path in self.last_checkpoints:
            self.last_checkpoints.remove(path)
        self.last_checkpoints.append(path)
        while len(self.last_checkpoints) > self._max_to_keep:
            old = self.last_checkpoints.pop(0)
            if os.path.exists(old):
                os.remove(old)

    def recover_last_checkpoints(self, checkpoint_paths: Sequence[str]) -> None:
        """Take over `checkpoint_paths` (a state file's list, oldest first) as the checkpoints
        this saver manages, those whose file still exists (TF1's name); later saves then delete
        the oldest beyond max_to_keep."""
        paths = [_with_suffix(p) for p in checkpoint_paths]
        self.last_checkpoints = [p for p in paths if checkpoint_exists(p)]

    def restore(self, sess: Session, save_path: Union[str, os.PathLike]) -> None:
        """Set the variables to the values saved in `save_path` (with or without ".npz").

        Any .npz of numeric arrays is read (np.savez, np.savez_compressed, either byte order:
        values are converted to native byte order). Raises FileNotFoundError if there is no such
        file, and CheckpointError (a ValueError) if the file is damaged or not a checkpoint, or if
        any name, shape or dtype does not match; in both cases no variable is changed."""
        if save_path is None:  # what latest_checkpoint gives for a directory with no checkpoint
            raise ValueError("Can't load save_path when it is None: no checkpoint was given (did "
                             "gf.train.latest_checkpoint find none in its directory?)")
        path = os.fspath(save_path)
        if not os.path.isfile(path) and os.path.isfile(path + SUFFIX):
            path = path + SUFFIX
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no checkpoint file '{path}'")
        arrays = read_npz(path)
        variables = self._variables(sess)
        problems = _mismatches(variables, arrays, strict=self._var_list is None)
        if problems:
            raise CheckpointError(f"checkpoint '{path}' does not fit the variables; nothing was "
                                  f"restored:\n  " + "\n  ".join(problems))
        sess._load_variable_values({var: arrays[key] for key, var in variables.items()})

    def _variables(self, sess: Session) -> Dict[str, Variable]:
        """{checkpoint key: variable}, each checked to belong to the session's graph."""
        if self._var_list is None:
            variables = {v.op_name: v for v in global_variables(graph=sess.graph)}
            if not variables:
                raise ValueError("no variables to save or restore: the session's graph has none")
            return variables
        for key, var in self._var_list.items():
            if var.graph is not sess.graph:
                raise ValueError(f"variable '{var.op_name}' (checkpoint key '{key}') belongs to "
                                 f"another graph than the session's")
        return self._var_list


def _check_var_list(var_list) -> Dict[str, Variable]:
    if isinstance(var_list, Mapping):
        items = list(var_list.items())
    elif isinstance(var_list, (list, tuple)):
        items = [(getattr(v, "op_name", None), v) for v in var_list]
    else:
        raise TypeError(f"var_list must be None, a list of variables or a dict name -> variable, "
                        f"not {type(var_list).__name__}")
    if not items:
        raise ValueError("var_list is empty: there is nothing to save or restore")
    out: Dict[str, Variable] = {}
    for key, var in items:
        if not isinstance(var, Variable):
            raise TypeError(f"var_list holds {var!r}, which is not a gf.Variable")
        if not isinstance(key, str) or not key:
            raise TypeError(f"checkpoint names must be non-empty strings, got {key!r} for "
                            f"variable '{var.op_name}'")
        if key in out:
            raise ValueError(f"var_list names '{key}' twice")
        out[key] = var
    return out


def _prefix(path: str) -> str:
    return path[:-len(SUFFIX)]


def _with_suffix(save_path) -> str:
    path = os.fspath(save_path)
    return path if path.endswith(SUFFIX) else path + SUFFIX


def _remove_leftover_temps(directory: str, basename: str) -> None:
    """Remove the temporary files of earlier saves to this path that were killed before they could
    clean up (a save that fails in Python removes its own)."""
    pattern = re.compile(re.escape(f".{basename}.") + f"[0-9a-f]{{{2 * TEMP_TOKEN_BYTES}}}"
                         + re.escape(".tmp"))
    for name in os.listdir(directory):
        if pattern.fullmatch(name):
            try:
                os.remove(os.path.join(directory, name))
            except OSError:  # gone already, or not ours to remove: it does not block this save
                pass


def _mismatches(variables: Dict[str, Variable], arrays: Dict[str, np.ndarray],
                strict: bool) -> List[str]:
    """One line per problem: a variable missing from the checkpoint, an entry no variable takes
    (when strict), a shape or a dtype that differs."""
    problems = []
    for key, var in variables.items():
        if key not in arrays:
            problems.append(f"variable '{var.op_name}': no entry '{key}' in the checkpoint")
            continue
        found = arrays[key]
        if found.shape != var.shape:
            problems.append(f"variable '{var.op_name}': expected shape {var.shape}, the checkpoint "
                            f"has {found.shape}")
        if found.dtype != var.dtype:
            problems.append(f"variable '{var.op_name}': expected dtype {var.dtype.name}, the "
                            f"checkpoint has {found.dtype.name}")
    if strict:
        extra = sorted(set(arrays) - set(variables))
        if extra:
            problems.append(f"entries with no variable of that name in the graph: {extra}")
    return problems


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

