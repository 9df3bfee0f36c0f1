"""TF1's tf.logging (exported as gf.logging): Python's logging, under the logger "tensorflow".

    gf.logging.set_verbosity(gf.logging.INFO)
    gf.logging.info("step %d: loss %.3f", step, loss)

As in TF 1.15 the logger is named "tensorflow", so `logging.getLogger("tensorflow")` settings in
TF1 programs keep working. On first use, if the root logger has no handlers, it gets its own
stderr handler printing "INFO:tensorflow:message" (stdout and level INFO in an interactive
shell); otherwise records go to the root's handlers only. Records name the caller's file:line.
"""

from __future__ import annotations

import logging as _logging
import os
import sys
import threading
from logging import DEBUG, ERROR, FATAL, INFO, WARN

__all__ = ["DEBUG", "ERROR", "FATAL", "INFO", "WARN", "TaskLevelStatusMessage", "debug", "error",
           "fatal", "flush", "get_verbosity", "info", "log", "log_every_n", "log_first_n",
           "log_if", "set_verbosity", "vlog", "warn", "warning"]

_logger = None
_lock = threading.Lock()
_counts: dict = {}  # log_every_n / log_first_n calls so far, per call site
_SKIP = (os.path.normcase(__file__), os.path.normcase(_logging.__file__))


def _find_caller(stack_info: bool = False, stacklevel: int = 1):
    """Where the user called gf.logging: the first frame outside this module and `logging`."""
    frame = sys._getframe(1)
    while frame is not None and os.path.normcase(frame.f_code.co_filename) in _SKIP:
        frame = frame.f_back
    if frame is None:
        return "(unknown file)", 0, "(unknown function)", None
    return frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name, None


def _get_logger() -> _logging.Logger:
    """The "tensorflow" logger, given a stderr handler on first use as TF1 does."""
    global _logger
    with _lock:
        if _logger is None:
            logger = _logging.getLogger("tensorflow")
            logger.findCaller = _find_caller
            if not _logging.getLogger().handlers:  # a configured root would log twice
                interactive = hasattr(sys, "ps1") or bool(sys.flags.interactive)
                if interactive:
                    logger.setLevel(INFO)
                handler = _logging.StreamHandler(sys.stdout if interactive else sys.stderr)
                handler.setFormatter(_logging.Formatter(_logging.BASIC_FORMAT))
                logger.addHandler(handler)
            _logger = logger
    return _logger


def log(level: int, msg, *args, **kwargs) -> None:
    """Log `msg % args` at `level`."""
    _get_logger().log(level, msg, *args, **kwargs)


def debug(msg, *args, **kwargs) -> None:
    """Log at DEBUG (10)."""
    _get_logger().debug(msg, *args, **kwargs)


def info(msg, *args, **kwargs) -> None:
    """Log at INFO (20)."""
    _get_logger().info(msg, *args, **kwargs)


def warning(msg, *args, **kwargs) -> None:
    """Log at WARN (30)."""
    _get_logger().warning(msg, *args, **kwargs)


def warn(msg, *args, **kwargs) -> None:
    """Log at WARN (30); TF1's older spelling of warning."""
    _get_logger().warning(msg, *args, **kwargs)


def error(msg, *args, **kwargs) -> None:
    """Log at ERROR (40)."""
    _get_logger().error(msg, *args, **kwargs)


def fatal(msg, *args, **kwargs) -> None:
    """Log at FATAL (50). As in TF1 this only logs; the program goes on."""
    _get_logger().critical(msg, *args, **kwargs)


def vlog(level: int, msg, *args, **kwargs) -> None:
    """Log at `level` (TF1's vlog is plain log)."""
    _get_logger().log(level, msg, *args, **kwargs)


def log_if(level: int, msg, condition, *args) -> None:
    """Log `msg % args` at `level` only if `condition` holds."""
    if condition:
        vlog(level, msg, *args)


def log_every_n(level: int, msg, n: int, *args) -> None:
    """Log the 1st, (n+1)th, (2n+1)th, ... call made from this line of the caller."""
    count = _next_count(sys._getframe(1))
    log_if(level, msg, not count % n, *args)


def log_first_n(level: int, msg, n: int, *args) -> None:
    """Log only the first `n` calls made from this line of the caller."""
    count = _next_count(sys._getframe(1))
    log_if(level, msg, count < n, *args)


def _next_count(frame) -> int:
    """How many times the call at `frame`'s file:line was made before (0 the first time)."""
    site = (frame.f_code.co_filename, frame.f_lineno)
    _counts[site] = _counts.get(site, -1) + 1
    return _counts[site]


def TaskLevelStatusMessage(msg) -> None:  # noqa: N802 - TF1's name
    """Log `msg` at ERROR, as TF1 does."""
    error(msg)


def flush() -> None:
    """Not implemented in TF 1.15 either: it raises NotImplementedError there too."""
    raise NotImplementedError("tf.logging.flush is not implemented (in TF 1.15 either); flush "
                              "the handlers of logging.getLogger('tensorflow') instead")


def get_verbosity() -> int:
    """The effective level of the "tensorflow" logger (WARN, 30, unless set)."""
    return _get_logger().getEffectiveLevel()


def set_verbosity(v: int) -> None:
    """Log only messages at level `v` and above (gf.logging.INFO, DEBUG, ...)."""
    _get_logger().setLevel(v)
