"""OpDef: everything about one op in one record (kernel, shape/dtype rule, gradient rule),
and the registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Optional


class _NotDifferentiable:
    """Marker for ops that have no gradient; asking for one through them is an error."""

    def __repr__(self) -> str:
        return "NOT_DIFFERENTIABLE"


NOT_DIFFERENTIABLE = _NotDifferentiable()


@dataclass(frozen=True, eq=False)
class OpDef:
    """One op type.

    name      the op's type name, lowercase as the builder function is named ("matmul").
    infer     infer(inputs, **attrs) -> (shape, dtype); raises ValueError/TypeError with a short
              reason.
    kernel    the numpy forward: kernel(*input_values, **attrs) -> array. Ops with `stateful_kernel`
              get kernel(state, node, *input_values) instead (variables, assignments).
    grad      grad(node, g) -> one gradient (a graph tensor or None) per input, written with
              graph ops;
              NOT_DIFFERENTIABLE where there is none.
    stateful  reads or writes session state or draws random numbers: never folded, merged or cached.
    broadcasts  inputs may be broadcast to the output shape, so autodiff must sum gradients back.
    value_inputs  how many leading inputs the kernel reads the values of; the rest are read for
              their shape (and dtype) only (zeros_like, sum_to's `like`). None: all of them.
    """

    name: str
    infer: Callable
    kernel: Callable
    grad: object = NOT_DIFFERENTIABLE
    emit: Optional[str] = None
    stateful: bool = False
    stateful_kernel: bool = False
    broadcasts: bool = False
    value_inputs: Optional[int] = None
    doc: str = field(default="", repr=False)

    def __repr__(self) -> str:
        return f"OpDef({self.name!r})"


REGISTRY: Dict[str, OpDef] = {}


def register(opdef: OpDef) -> OpDef:
    """Add an op to the registry; a second op of the same name is a programming error."""
    if opdef.name in REGISTRY:
        raise ValueError(f"op {opdef.name!r} is already registered")
    REGISTRY[opdef.name] = opdef
    return opdef
