"""TF1's checkpoint state file: the text file `checkpoint` that names a directory's checkpoints.

    model_checkpoint_path: "model.ckpt-20"
    all_model_checkpoint_paths: "model.ckpt-10"
    all_model_checkpoint_paths: "model.ckpt-20"

Saver.save writes it next to the checkpoints (TF1's CheckpointState protobuf in text format);
`gf.train.latest_checkpoint(dir)` reads it back, so `saver.restore(sess, latest_checkpoint(dir))`
works as in TF1. Paths are checkpoint prefixes, without graphflow's ".npz" (restore takes either).
The file is data: it is parsed field by field, never evaluated. As in TF1 a file that does not
parse is logged and ignored (None), and one without a model_checkpoint_path is a ValueError.
"""

from __future__ import annotations

import os
import re
from typing import List, Optional, Sequence

from .. import tf_logging as logging
from ..atomic_file import write_atomically

__all__ = ["CheckpointState", "checkpoint_exists", "get_checkpoint_state", "latest_checkpoint",
           "update_checkpoint_state"]

STATE_FILENAME = "checkpoint"  # TF1's default latest_filename
SUFFIX = ".npz"
_STRING_FIELDS = ("model_checkpoint_path", "all_model_checkpoint_paths")
_FLOAT_FIELDS = ("all_model_checkpoint_timestamps", "last_preserved_timestamp")
_REPEATED = ("all_model_checkpoint_paths", "all_model_checkpoint_timestamps")
# One text-format field: a name, ':' and a quoted string or a number; '#' starts a comment.
_SKIP = re.compile(r"(?:\s|#[^\n]*)*")
_FIELD = re.compile(r"""(\w+)\s*:\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'
                        |[-+]?(?:inf|nan|[0-9.]+(?:[eE][-+]?[0-9]+)?))""", re.VERBOSE)
_SIMPLE_ESCAPES = {"n": 10, "r": 13, "t": 9, "'": 39, '"': 34, "\\": 92, "a": 7, "b": 8,
                   "f": 12, "v": 11, "?": 63}


class ParseError(ValueError):
    """The state file is not a CheckpointState in text format."""


class CheckpointState:
    """What a `checkpoint` file says: the newest checkpoint and all those kept (TF1's proto)."""

    def __init__(self, model_checkpoint_path: str = "",
                 all_model_checkpoint_paths: Sequence[str] = (),
                 all_model_checkpoint_timestamps: Sequence[float] = (),
                 last_preserved_timestamp: float = 0.0):
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths: List[str] = list(all_model_checkpoint_paths)
        self.all_model_checkpoint_timestamps: List[float] = list(all_model_checkpoint_timestamps)
        self.last_preserved_timestamp = last_preserved_timestamp

    def __repr__(self) -> str:
        return to_text(self)

    def __eq__(self, other) -> bool:
        return isinstance(other, CheckpointState) and vars(self) == vars(other)


def to_text(state: CheckpointState) -> str:
    """The protobuf text format of `state`, as TF1 writes it (strings C-escaped, non-ASCII bytes
    as octal escapes)."""
    lines = [f'model_checkpoint_path: "{_escape(state.model_checkpoint_path)}"']
    lines += [f'all_model_checkpoint_paths: "{_escape(p)}"'
              for p in state.all_model_checkpoint_paths]
    lines += [f"all_model_checkpoint_timestamps: {t!r}"
              for t in state.all_model_checkpoint_timestamps]
    if state.last_preserved_timestamp:
        lines.append(f"last_preserved_timestamp: {state.last_preserved_timestamp!r}")
    return "\n".join(lines) + "\n"


def parse(text: str) -> CheckpointState:
    """A CheckpointState from its text format; ParseError (naming the line) if it is not one."""
    state = CheckpointState()
    pos = _SKIP.match(text).end()
    while pos < len(text):
        match = _FIELD.match(text, pos)
        if match is None:
            raise ParseError(f"line {text.count(chr(10), 0, pos) + 1}: expected 'field: value'")
        name, raw = match.groups()
        value = _value(name, raw)
        if name in _REPEATED:
            getattr(state, name).append(value)
        else:  # text_format.Merge: a repeated singular field keeps the last value
            setattr(state, name, value)
        pos = _SKIP.match(text, match.end()).end()
    return state


def _value(name: str, raw: str):
    if name in _STRING_FIELDS:
        if raw[0] not in "\"'":
            raise ParseError(f"field '{name}' takes a quoted string, got {raw}")
        try:
            return _unescape(raw[1:-1]).decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError(f"field '{name}' is not valid UTF-8") from None
    if name in _FLOAT_FIELDS:
        if raw[0] in "\"'":
            raise ParseError(f"field '{name}' takes a number, got {raw}")
        try:
            return float(raw)
        except ValueError:
            raise ParseError(f"field '{name}' takes a number, got {raw}") from None
    raise ParseError(f"CheckpointState has no field named '{name}'")


def _escape(text: str) -> str:
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in "\"'\\":
            out.append("\\" + char)
        elif char in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)


def _unescape(body: str) -> bytes:
    """The bytes of a C-escaped string body (\\n, \\", octal \\ooo, hex \\xHH); raw non-ASCII
    characters stand for their UTF-8 bytes."""
    out = bytearray()
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out += char.encode("utf-8")
            i += 1
            continue
        code = body[i + 1] if i + 1 < len(body) else ""
        octal = re.match(r"[0-7]{1,3}", body[i + 1:i + 4])
        hexa = re.match(r"x([0-9a-fA-F]{1,2})", body[i + 1:i + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + octal.end()
        elif hexa:
            out.append(int(hexa.group(1), 16))
            i += 1 + hexa.end()
        elif code in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[code])
            i += 2
        else:
            raise ParseError(f"invalid escape sequence '\\{code}'")
    return bytes(out)


def _state_path(checkpoint_dir, latest_filename: Optional[str]) -> str:
    return os.path.join(os.fspath(checkpoint_dir), latest_filename or STATE_FILENAME)


def get_checkpoint_state(checkpoint_dir, latest_filename: Optional[str] = None
                         ) -> Optional[CheckpointState]:
    """The CheckpointState in `checkpoint_dir/latest_filename` ("checkpoint"), relative paths made
    relative to checkpoint_dir, as TF1's tf.train.get_checkpoint_state. None if there is no such
    file, or (logged as a warning) if it cannot be read or parsed; ValueError if it names no
    model_checkpoint_path."""
    path = _state_path(checkpoint_dir, latest_filename)
    if not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        state = parse(text)
    except (OSError, UnicodeDecodeError, ParseError) as exc:
        logging.warning("%s: %s", type(exc).__name__, exc)
        logging.warning("%s: Checkpoint ignored", path)
        return None
    if not state.model_checkpoint_path:
        raise ValueError(f"Invalid checkpoint state loaded from {os.fspath(checkpoint_dir)}: "
                         f"'{path}' names no model_checkpoint_path; delete it or save again")
    directory = os.fspath(checkpoint_dir)
    state.model_checkpoint_path = _under(directory, state.model_checkpoint_path)
    state.all_model_checkpoint_paths = [_under(directory, p)
                                        for p in state.all_model_checkpoint_paths]
    return state


def _under(directory: str, path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(directory, path)


def checkpoint_exists(checkpoint_prefix) -> bool:
    """Whether a checkpoint is saved under `checkpoint_prefix` (with or without ".npz")."""
    prefix = os.fspath(checkpoint_prefix)
    return os.path.isfile(prefix + SUFFIX) or (prefix.endswith(SUFFIX) and os.path.isfile(prefix))


def latest_checkpoint(checkpoint_dir, latest_filename: Optional[str] = None) -> Optional[str]:
    """The prefix of the newest checkpoint in `checkpoint_dir`, as its state file names it, for
    `saver.restore`; None if there is none (or its file is gone, logged as an error, as TF1)."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None or not state.model_checkpoint_path:
        return None
    if checkpoint_exists(state.model_checkpoint_path):
        return state.model_checkpoint_path
    logging.error("Couldn't match files for checkpoint %s", state.model_checkpoint_path)
    return None


def update_checkpoint_state(save_dir, model_checkpoint_path: str,
                            all_model_checkpoint_paths: Optional[Sequence[str]] = None,
                            latest_filename: Optional[str] = None,
                            all_model_checkpoint_timestamps: Optional[Sequence[float]] = None,
                            last_preserved_timestamp: Optional[float] = None,
                            save_relative_paths: bool = False) -> None:
    """Write the state file of `save_dir` atomically (TF1's tf.train.update_checkpoint_state).
    The newest path is appended to the list if it is not its last. Paths are written relative to
    save_dir when save_dir is relative (or save_relative_paths), else as given."""
    save_dir = os.fspath(save_dir) or os.curdir
    paths = list(all_model_checkpoint_paths or [])
    if not paths or paths[-1] != model_checkpoint_path:
        paths.append(model_checkpoint_path)
    relative = save_relative_paths or not os.path.isabs(save_dir)

    def written(p: str) -> str:
        return os.path.relpath(p, save_dir) if relative and _same_kind(p, save_dir) else p

    state = CheckpointState(written(model_checkpoint_path), [written(p) for p in paths],
                            all_model_checkpoint_timestamps or (), last_preserved_timestamp or 0.0)
    target = _state_path(save_dir, latest_filename)
    if os.path.abspath(target) == os.path.abspath(_under(save_dir, state.model_checkpoint_path)):
        raise RuntimeError(f"Save path '{model_checkpoint_path}' conflicts with path used for "
                           f"checkpoint state. Please use a different save path.")
    atomic_write_text(target, to_text(state))


def _same_kind(path: str, directory: str) -> bool:
    """relpath of an absolute path against a relative directory (or the reverse) would go through
    the current directory; TF1 rewrites only paths of the same kind as the directory."""
    return os.path.isabs(path) == os.path.isabs(directory)


def atomic_write_text(path: str, text: str) -> None:
    """Replace `path` with `text` (UTF-8) in one rename: a reader sees the old file or the new
    one."""
    write_atomically(path, lambda f: f.write(text.encode("utf-8")))
