"""OpDef: what one op means, in one record (shape/dtype rule, reference kernel, gradient rule,
flags), and the registry. How a backend runs an op is that backend's lowering table
(compiler/backends/<name>/lowering.py), not part of the op."""

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
    tf_type   TF1's op type name for it ("MatMul", "ConcatV2"): what TensorBoard shows, and the
              default node name where the builder gives none (TF1's generated op wrappers name a
              node after its op type). Empty for graphflow-only ops (autodiff and pass helpers
              with no TF1 counterpart), which keep `name`.
    infer     infer(inputs, **attrs) -> (shape, dtype); raises ValueError/TypeError with a short
              reason.
    kernel    the numpy forward: kernel(*input_values, **attrs) -> array. Ops with `stateful_kernel`
              get kernel(state, node, *input_values) instead (variables, assignments).
    grad      grad(node, g) -> one gradient (a graph tensor or None) per input, written with
              graph ops; NOT_DIFFERENTIABLE where there is none.
    stateful  reads or writes session state or draws random numbers: never folded, merged or cached.
    broadcasts  inputs may be broadcast to the output shape, so autodiff must sum gradients back.
    value_inputs  how many leading inputs the kernel reads the values of; the rest are read for
              their shape (and dtype) only (zeros_like, sum_to's `like`). None: all of them.
    updates   the op writes input 0 (a variable) in place, and the node's value is input 0 after
              the write (assign, assign_add, assign_sub); generated code does these writes last.
    inplace   the output may be written over an input of the same shape and dtype (elementwise).
    view      the output may share memory with input 0 (transpose, reshape, slices, identity).
    never_raises  the kernel cannot raise on inputs of the node's (fully known) shapes and dtypes:
              True, or a predicate on the node (float_inputs, as integer power with a negative
              exponent raises; nonempty_input; see compiler/atomic.py). The default, False, means
              "can raise": generated code keeps copies of the variables it updated before such a
              node, to undo them if it raises. An op left unmarked costs a copy, never a
              half-applied step.
    strings   the op takes or makes string tensors (identity, equal, reshape, the string and
              summary ops); every other op refuses them when the graph is built, so no string
              reaches a numeric kernel, an `out=` buffer or a device.
    """

    name: str
    infer: Callable
    kernel: Callable
    grad: object = NOT_DIFFERENTIABLE
    tf_type: str = ""
    stateful: bool = False
    stateful_kernel: bool = False
    broadcasts: bool = False
    value_inputs: Optional[int] = None
    updates: bool = False
    inplace: bool = False
    view: bool = False
    never_raises: object = False
    strings: bool = False
    doc: str = field(default="", repr=False)

    def __repr__(self) -> str:
        return f"OpDef({self.name!r})"


def float_inputs(node) -> bool:
    """never_raises for ops safe on floating inputs only (integer power with a negative exponent
    raises)."""
    n = node.opdef.value_inputs
    inputs = node.inputs if n is None else node.inputs[:n]
    return all(i.dtype is not None and i.dtype.kind in "fc" for i in inputs)


def nonempty_input(node) -> bool:
    """never_raises for reductions without an identity (max, argmax): an empty input raises."""
    shape = node.inputs[0].shape
    return shape is not None and None not in shape and 0 not in shape


REGISTRY: Dict[str, OpDef] = {}


def register(opdef: OpDef) -> OpDef:
    """Add an op to the registry; a second op of the same name is a programming error."""
    if opdef.name in REGISTRY:
        raise ValueError(f"op {opdef.name!r} is already registered")
    REGISTRY[opdef.name] = opdef
    return opdef
