"""A statement's C code that needs more than its operands (emit.py's emitters may return one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List


@dataclass
class Kernel:
    """C lines that may call helper functions (`helpers`: C text the module holds once) and use
    a scratch buffer, `gf_scratch`, of at least `scratch` bytes: an array the program owns,
    passed to the segment function as its last argument (segments.py)."""

    lines: List[str]
    scratch: int = 0
    helpers: str = ""
