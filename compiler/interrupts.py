"""Holding Ctrl-C while a run writes: a step either happens or does not.

Generated code updates variables in place. Once the first write is made, a KeyboardInterrupt
raised between two statements would leave a step half done, so from the first write to the end
of the run (and while an undo puts variables back) SIGINT is recorded instead of raised, and
delivered as soon as the run is over:

    mark = interrupts.depth()
    try:
        ...                      # generated code calls interrupts.hold() before its first write
    finally:
        interrupts.release(mark)  # raises the KeyboardInterrupt that arrived meanwhile, if any

Only Python-level handlers can be held, and only in the main thread (where Python runs them);
a Ctrl-C that arrives before the first write stops the run at once, and the run changes nothing.
"""

from __future__ import annotations

import signal
import threading

try:  # the C module under `signal`: the same calls without the enum conversions (3 us each)
    import _signal as _raw
except ImportError:  # pragma: no cover - Pythons without it
    _raw = signal

_MAIN = threading.main_thread().ident
_SIGINT = int(signal.SIGINT)


class _Held:
    depth = 0          # nested holds of the main thread
    previous = None    # the handler in place when the outermost hold began
    pending = None     # (signum, frame) of a SIGINT that arrived while held


_held = _Held()


def _record(signum, frame) -> None:
    _held.pending = (signum, frame)


def depth() -> int:
    """How many holds are open in this thread (0 outside the main thread)."""
    return _held.depth if threading.get_ident() == _MAIN else 0


def hold() -> None:
    """Record SIGINT instead of raising it until the matching release()."""
    if threading.get_ident() != _MAIN:
        return  # signals are handled in the main thread only: nothing can interrupt this one
    if _held.depth == 0:
        previous = _raw.getsignal(_SIGINT)
        if not callable(previous) or previous is _record:
            return  # SIG_DFL ends the process, SIG_IGN ignores it: nothing to hold
        _held.previous = previous
        _raw.signal(_SIGINT, _record)
    _held.depth += 1


def release(mark: int) -> None:
    """Close the holds opened since depth() was `mark`; the outermost release puts the user's
    handler back and calls it with a SIGINT that arrived meanwhile (KeyboardInterrupt, usually)."""
    if threading.get_ident() != _MAIN or _held.depth <= mark:
        return
    _held.depth = mark
    if mark:
        return
    previous, pending = _held.previous, _held.pending
    _held.previous = _held.pending = None
    _raw.signal(_SIGINT, previous)
    if pending is not None:
        previous(*pending)
