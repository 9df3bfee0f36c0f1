"""Matrix products with numpy's matmul semantics: 1-D operands, 2-D, and broadcast batches; and
the update the epilogues pass makes of `var -= c * (a @ b)`: one GEMM adding into the variable."""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..graph import graph_of
from ..opdef import NOT_DIFFERENTIABLE, OpDef, register
from ..shapes import broadcast, fmt
from .core import apply, convert_to_tensor, same_dtype
from .shape import expand_dims, squeeze, transpose

__all__ = ["matmul", "matmul_accumulate"]


def _matmul_infer(inputs):
    a, b = inputs
    dtype = same_dtype(inputs)
    if a.shape is None or b.shape is None:
        raise ValueError("matmul needs operands of known rank")
    if not a.shape or not b.shape:
        raise ValueError("matmul operands must have at least one dimension")
    k_a = a.shape[-1]
    k_b = b.shape[0] if len(b.shape) == 1 else b.shape[-2]
    if k_a is not None and k_b is not None and k_a != k_b:
        raise ValueError(f"inner dimensions differ: '{a.op_name}' is {fmt(a.shape)}, "
                         f"'{b.op_name}' is {fmt(b.shape)}")
    try:
        batch = broadcast(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"batch dimensions cannot be broadcast: {fmt(a.shape)} @ "
                         f"{fmt(b.shape)}") from None
    rows = a.shape[-2:-1] if len(a.shape) >= 2 else ()
    cols = b.shape[-1:] if len(b.shape) >= 2 else ()
    return batch + rows + cols, dtype


def _swap_last(x):
    perm = list(range(len(x.shape)))
    perm[-2], perm[-1] = perm[-1], perm[-2]
    return transpose(x, perm)


def _matmul_grad(node, g):
    a, b = node.inputs
    # Promote 1-D operands to matrices, as numpy does, so one formula covers every case.
    a2 = expand_dims(a, 0) if len(a.shape) == 1 else a
    b2 = expand_dims(b, -1) if len(b.shape) == 1 else b
    g2 = expand_dims(g, -1) if len(b.shape) == 1 else g
    g2 = expand_dims(g2, -2) if len(a.shape) == 1 else g2
    ga = matmul(g2, _swap_last(b2))
    gb = matmul(_swap_last(a2), g2)
    if len(a.shape) == 1:
        ga = squeeze(ga, -2)
    if len(b.shape) == 1:
        gb = squeeze(gb, -1)
    return ga, gb  # autodiff sums broadcast batch dimensions back


MATMUL = register(OpDef("matmul", tf_type="MatMul", infer=_matmul_infer, kernel=np.matmul,
                        grad=_matmul_grad,
                        broadcasts=True, never_raises=True))


def matmul(a, b, transpose_a: bool = False, transpose_b: bool = False,
           name: Optional[str] = None):
    """Matrix product a @ b (numpy semantics: 1-D operands and broadcast batch dimensions);
    transpose_a/transpose_b swap the last two axes of an operand first (TF1)."""
    graph = graph_of([a, b])
    a, b = (convert_to_tensor(v, graph=graph) for v in (a, b))
    if transpose_a:
        a = _swap_last(a)
    if transpose_b:
        b = _swap_last(b)
    return apply(MATMUL, [a, b], name)


def _accumulate_infer(inputs, alpha, beta):
    var, a, b = inputs
    if var.opdef.name != "variable":
        raise TypeError(f"'{var.op_name}' is not a variable; only variables can be updated")
    if var.dtype is None or var.dtype.kind != "f" or not a.dtype == b.dtype == var.dtype:
        raise TypeError(f"matmul_accumulate needs float operands of the variable's dtype, got "
                        f"{var.dtype}, {a.dtype}, {b.dtype}")
    if a.shape is None or b.shape is None or len(a.shape) != 2 or len(b.shape) != 2:
        raise ValueError("matmul_accumulate multiplies two matrices")
    shape, _ = _matmul_infer([a, b])
    if len(shape) != 2 or any(s is not None and s != v for s, v in zip(shape, var.shape)):
        raise ValueError(f"{fmt(a.shape)} @ {fmt(b.shape)} does not fit variable "
                         f"'{var.op_name}' of shape {fmt(var.shape)}")
    return var.shape, var.dtype


def _accumulate_kernel(state, node, old, a, b):
    """The reference: beta * var + alpha * (a @ b), in the variable's dtype, staged as a write."""
    var = node.inputs[0]
    alpha, beta = (np.asarray(node.attrs[k], var.dtype) for k in ("alpha", "beta"))
    product = np.matmul(a, b)
    if product.shape != var.shape:
        raise ValueError(f"a product of shape {product.shape} does not fit variable "
                         f"'{var.op_name}' of shape {var.shape}")
    return state.write(var, beta * state.latest(var) + alpha * product)


MATMUL_ACCUMULATE = register(OpDef(
    "matmul_accumulate", tf_type="MatMulAccumulate", infer=_accumulate_infer,
    kernel=_accumulate_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, stateful_kernel=True,
    updates=True, never_raises=True,
    doc="var = beta * var + alpha * (a @ b), written in place: BLAS's GEMM with C = var. Made by "
        "the epilogues pass (compiler/passes/epilogues.py) from `var -= c * (a @ b)`."))


def matmul_accumulate(var, a, b, alpha: float = 1.0, beta: float = 1.0,
                      name: Optional[str] = None):
    """Set variable `var` to beta * var + alpha * (a @ b) (2-D a, b), in place; the result holds
    the new value, as assign's does. One GEMM call where the backend has BLAS."""
    return apply(MATMUL_ACCUMULATE, [var, a, b], name or "MatMulAccumulate",
                 alpha=float(alpha), beta=float(beta))
