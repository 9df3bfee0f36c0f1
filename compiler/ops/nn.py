"""Activations, softmax family and the fused, numerically stable sigmoid cross-entropy."""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..opdef import OpDef, register
from ..shapes import axis_arg, normalize_axis
from .core import apply, require_float
from .elementwise import _binary, cast, exp, greater
from .reduce import reduce_sum

__all__ = ["relu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax",
           "sigmoid_cross_entropy_with_logits"]


def _float_unary(inputs):
    return inputs[0].shape, require_float(inputs[0])


def _relu_kernel(x):
    return np.maximum(x, 0)


def _sigmoid_kernel(x, out=None):
    # 1 / (1 + exp(-x)) in place; for x < -88 (float32) exp overflows to inf and the result is
    # 0, which is sigmoid(x) to within the smallest normal float: no NaN anywhere.
    out = np.negative(x, out=np.empty_like(x) if out is None else out)
    np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def _softplus_kernel(x, out=None):
    # max(x, 0) + log1p(exp(-|x|)): exact for large |x| and, unlike np.logaddexp, cheap.
    t = np.abs(x, out=np.empty_like(x))  # an array even for 0-d x, so the steps work in place
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=t)
    out = np.maximum(x, 0, out=np.empty_like(x) if out is None else out)
    out += t
    return out


def _relu_grad(node, g):
    # As TF1's ReluGrad(grad, op.outputs[0]): the gradient passes where the output is positive
    # (where the input is: the same mask, NaN included). Reading the output, not the input, lets
    # the input die at the relu, which then computes in place: one array kept for the backward
    # pass instead of two.
    return (g * cast(greater(node, 0), g.dtype),)


RELU = register(OpDef("relu", tf_type="Relu", infer=_float_unary, kernel=_relu_kernel,
                      grad=_relu_grad,
                      inplace=True,
                      never_raises=True))
SIGMOID = register(OpDef("sigmoid", tf_type="Sigmoid", never_raises=True, infer=_float_unary,
                         kernel=_sigmoid_kernel,
                         grad=lambda node, g: (g * node * (1 - node),), inplace=True))
TANH = register(OpDef("tanh", tf_type="Tanh", never_raises=True, infer=_float_unary, kernel=np.tanh,
                      grad=lambda node, g: (g * (1 - node * node),), inplace=True))
SOFTPLUS = register(OpDef("softplus", tf_type="Softplus", infer=_float_unary,
                          kernel=_softplus_kernel,
                          grad=lambda node, g: (g * sigmoid(node.inputs[0]),), inplace=True,
                          never_raises=True))


def relu(x, name: Optional[str] = None):
    """max(x, 0); its gradient at 0 is 0, as in torch and TF."""
    return apply(RELU, [x], name)


def sigmoid(x, name: Optional[str] = None):
    """1 / (1 + exp(-x)), computed without overflow for large |x|."""
    return apply(SIGMOID, [x], name)


def tanh(x, name: Optional[str] = None):
    return apply(TANH, [x], name)


def softplus(x, name: Optional[str] = None):
    """log(1 + exp(x)), computed stably for large |x|."""
    return apply(SOFTPLUS, [x], name)


def _axis_infer(inputs, axis):
    x = inputs[0]
    require_float(x)
    if x.shape is not None:
        normalize_axis(axis, len(x.shape))
    return x.shape, x.dtype


def _softmax_kernel(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax_kernel(x, axis):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _softmax_grad(node, g):
    axis = node.attrs["axis"]
    return (node * (g - reduce_sum(g * node, axis, keepdims=True)),)


def _log_softmax_grad(node, g):
    axis = node.attrs["axis"]
    return (g - exp(node) * reduce_sum(g, axis, keepdims=True),)


SOFTMAX = register(OpDef("softmax", tf_type="Softmax", never_raises=True, infer=_axis_infer,
                         kernel=_softmax_kernel,
                         grad=_softmax_grad))
LOG_SOFTMAX = register(OpDef("log_softmax", tf_type="LogSoftmax", infer=_axis_infer,
                             kernel=_log_softmax_kernel,
                             grad=_log_softmax_grad,
                             never_raises=True))


def softmax(x, axis: int = -1, name: Optional[str] = None):
    """exp(x) / sum(exp(x)) along axis, shifted by the max so it never overflows."""
    return apply(SOFTMAX, [x], name, axis=axis_arg(axis))


def log_softmax(x, axis: int = -1, name: Optional[str] = None):
    """x - logsumexp(x) along axis, computed stably."""
    return apply(LOG_SOFTMAX, [x], name, axis=axis_arg(axis))


def _sigmoid_xent_infer(inputs):
    shape, dtype = _binary(inputs)
    require_float(inputs[1])
    return shape, dtype


def _sigmoid_xent_kernel(labels, logits, out=None):
    # max(x, 0) - x*z + log(1 + exp(-|x|)): never overflows, exact for saturated logits.
    return np.add(np.maximum(logits, 0) - logits * labels, np.log1p(np.exp(-np.abs(logits))),
                  out=out)


def _sigmoid_xent_grad(node, g):
    labels, logits = node.inputs
    return -g * logits, g * (sigmoid(logits) - labels)


SIGMOID_XENT = register(OpDef("sigmoid_cross_entropy_with_logits", infer=_sigmoid_xent_infer,
                              kernel=_sigmoid_xent_kernel, grad=_sigmoid_xent_grad,
                              broadcasts=True, never_raises=True))


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name: Optional[str] = None):
    """Elementwise binary cross-entropy of sigmoid(logits) against labels, in the stable form
    max(x, 0) - x*z + log(1 + exp(-|x|)). The gradient is sigmoid(x) - z, exact even at x = 0."""
    if labels is None or logits is None:
        raise ValueError("sigmoid_cross_entropy_with_logits needs both labels= and logits=")
    return apply(SIGMOID_XENT, [labels, logits], name)
