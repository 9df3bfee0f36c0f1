"""ONNX rules for the nn and linalg families: matmul, activations, softmax and friends."""

from __future__ import annotations

from .elementwise import widened
from .lowering import ONNX_TABLE as T
from .math import log1p


@T.lowering("matmul")
def _matmul(b, node, x, y):
    """ONNX's MatMul has numpy's matmul semantics (1-D operands, broadcast batches); small ints
    and bools are multiplied in int32 and cast back (wrap-around and "any" kept exactly)."""
    return widened(b, "MatMul", node.dtype, [x, y])


def _unary(op_type):
    def rule(b, node, x):
        return b.op(op_type, x)
    return rule


for _name, _op_type in {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}.items():
    T.lowering(_name)(_unary(_op_type))


@T.lowering("softmax")
def _softmax(b, node, x):
    return b.op("Softmax", x, axis=node.attrs["axis"])  # one axis from opset 13 on, as graphflow


@T.lowering("log_softmax")
def _log_softmax(b, node, x):
    return b.op("LogSoftmax", x, axis=node.attrs["axis"])


def _log1p_exp_neg_abs(b, x, dtype):
    """log(1 + exp(-|x|)), the stable tail of softplus and of the sigmoid cross-entropy."""
    return log1p(b, b.op("Exp", b.op("Neg", b.op("Abs", x))), dtype)


@T.lowering("softplus")
def _softplus(b, node, x):
    """relu(x) + log1p(exp(-|x|)), graphflow's formula: exact for large |x|, and ORT has no
    float64 Softplus kernel."""
    return b.op("Add", b.op("Relu", x), _log1p_exp_neg_abs(b, x, node.dtype))


@T.lowering("sigmoid_cross_entropy_with_logits")
def _sigmoid_xent(b, node, labels, logits):
    """max(x, 0) - x * z + log1p(exp(-|x|)) of logits x and labels z, as graphflow's kernel."""
    linear = b.op("Sub", b.op("Relu", logits), b.op("Mul", logits, labels))
    return b.op("Add", linear, _log1p_exp_neg_abs(b, logits, node.dtype))
