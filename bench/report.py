"""What every benchmark writes: the machine it ran on, and its results as JSON under results/."""

from __future__ import annotations

import json
import os
import platform

import numpy as np


def machine(**extra) -> dict:
    """The machine and the versions that decide the numbers, plus what a benchmark adds."""
    return {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "numpy": np.__version__, **extra}


def write_json(path: str, result: dict) -> None:
    """Write `result` to `path` (making its directory) and say so."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {path}")
