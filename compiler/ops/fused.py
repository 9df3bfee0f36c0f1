"""The fused op: a chain of elementwise ops computed as one node, which the fuse pass
(compiler/passes/fuse.py) makes and a backend may run as one loop (the numpy backend through
numba where it is installed: compiler/backends/numpy/fused_jit.py).

    fused(x, b, steps=(Step("add", (0, 1)), Step("relu", (2,))))      # relu(x + b)

A node's inputs are the chain's leaves (each of the output's shape, or a 0-d/size-1 value, or of
a trailing part of the output's shape: a bias row). `steps` lists the chain's ops in order: each
takes its arguments from the leaves (indices 0 .. k-1) and the steps before it (k, k+1, ...), and
the last step is the node's value. The reference kernel runs each step's own reference kernel,
so a fused node computes exactly what its ops computed one by one; it has no gradient (fusion
runs after autodiff).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from ..graph import Node
from ..opdef import NOT_DIFFERENTIABLE, REGISTRY, OpDef, register
from .core import apply

__all__ = ["Step", "fused", "run_steps", "describe_steps"]


@dataclass(frozen=True)
class Step:
    """One op of a fused chain: its registry name, argument indices, attributes (sorted pairs)
    and its result's dtype (a numpy dtype name)."""

    op: str
    args: Tuple[int, ...]
    attrs: Tuple[Tuple[str, object], ...] = ()
    dtype: str = ""

    def __repr__(self) -> str:
        attrs = "".join(f", {k}={v!r}" for k, v in self.attrs)
        return f"{self.op}({', '.join(f'%{a}' for a in self.args)}{attrs})"


def run_steps(steps: Sequence[Step], values: list):
    """The chain's value: each step's reference kernel on its arguments, in order."""
    values = list(values)
    for step in steps:
        kernel = REGISTRY[step.op].kernel
        values.append(kernel(*[values[a] for a in step.args], **dict(step.attrs)))
    return values[-1]


def describe_steps(steps: Sequence[Step], n_inputs: int) -> str:
    """`%2 = add(%0, %1); %3 = relu(%2)`: the chain as printed in graphs and errors."""
    return "; ".join(f"%{n_inputs + k} = {step!r}" for k, step in enumerate(steps))


def _fused_infer(inputs, steps, shape, dtype):
    return shape, dtype


def _fused_kernel(*values, steps, shape, dtype):
    return run_steps(steps, values)


# Not inplace, though a loop reads element i of every input before it writes element i: a numba
# loop writing over one of its inputs is not vectorized (measured 7.7x slower, 1.59 ms against
# 0.21 ms for an Adam update of 784x1024 float32), so its output gets a buffer of its own.
FUSED = register(OpDef("fused", infer=_fused_infer, kernel=_fused_kernel,
                       grad=NOT_DIFFERENTIABLE, never_raises=True))


def fused(inputs: Sequence[Node], steps: Sequence[Step], shape, dtype,
          name: Optional[str] = None) -> Node:
    """One node computing the chain `steps` of `inputs` (module docstring)."""
    return apply(FUSED, list(inputs), name or "fused", steps=tuple(steps), shape=tuple(shape),
                 dtype=dtype)
