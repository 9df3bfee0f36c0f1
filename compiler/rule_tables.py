"""Rule tables keyed by op names (the simplify rules, the stabilize patterns), checked against the
op registry when they are made: a misspelt op name fails loudly at import, instead of making a
rule that silently never fires.

    RULES = checked({"add": [_add], "multiply": [_multiply]}, "simplify.RULES")
"""

from __future__ import annotations

import difflib
from typing import Collection, TypeVar

from . import ops  # noqa: F401  (registers every op before a table is checked)
from .opdef import REGISTRY

__all__ = ["UnknownOpError", "checked"]

Table = TypeVar("Table", bound=Collection[str])


class UnknownOpError(LookupError):
    """A rule table names an op that is not registered."""


def checked(table: Table, where: str) -> Table:
    """`table` itself (a dict keyed by op names, or a set of op names) once every name in it is a
    registered op; else UnknownOpError naming the table `where` and each unknown name."""
    unknown = sorted(name for name in table if name not in REGISTRY)
    if unknown:
        raise UnknownOpError(f"{where} names op(s) that are not registered: "
                             f"{', '.join(_with_hint(name) for name in unknown)}; use the names "
                             f"of compiler.opdef.REGISTRY (an op's OpDef name)")
    return table


def _with_hint(name: str) -> str:
    close = difflib.get_close_matches(name, REGISTRY, n=1)
    return f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)
