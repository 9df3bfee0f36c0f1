"""Checks: identities that stop the run when their input is out of bounds.

    check_numerics  inf or NaN in a float tensor (TF1's tf.debugging.check_numerics)
    check_labels    a class index outside [0, classes) (what TF1's sparse cross-entropy refuses)
"""

from __future__ import annotations

from typing import Optional

from .. import numerics
from ..opdef import NOT_DIFFERENTIABLE, OpDef, register
from .core import apply, require_float

__all__ = ["check_numerics", "check_labels"]


def _check_numerics_infer(inputs, message):
    return inputs[0].shape, require_float(inputs[0])


def _check_numerics_kernel(state, node, x):
    # A stateful kernel only to know its node: the error names it and the user's message.
    return numerics.check(x, node, f"{node.op_name}: {node.attrs['message']}",
                          [(node.inputs[0].op_name, x)])


CHECK_NUMERICS = register(OpDef(
    "check_numerics", tf_type="CheckNumerics", infer=_check_numerics_infer,
    kernel=_check_numerics_kernel,
    grad=lambda node, g: (g,), stateful_kernel=True, view=True))


def check_numerics(tensor, message: str, name: Optional[str] = None):
    """`tensor` itself, but a run stops with a NumericsError (naming this node, `message` and the
    input's summary) when it holds inf or NaN (TF1's tf.debugging.check_numerics)."""
    return apply(CHECK_NUMERICS, [tensor], name, message=str(message))


def _check_labels_infer(inputs, classes, op):
    labels = inputs[0]
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers (class indices), got {labels.dtype.name}")
    return labels.shape, labels.dtype


def label_error(value, classes: int, op: str) -> ValueError:
    return ValueError(f"{op}: received a label value of {value} which is outside the valid "
                      f"range of [0, {classes}); labels must be class indices")


def _check_labels_kernel(labels, classes, op):
    bad = (labels < 0) | (labels >= classes)
    if bad.any():
        raise label_error(labels[bad].flat[0], classes, op)
    return labels


CHECK_LABELS = register(OpDef(
    "check_labels", infer=_check_labels_infer, kernel=_check_labels_kernel,
    grad=NOT_DIFFERENTIABLE, view=True))


def check_labels(labels, classes: int, op: str, name: Optional[str] = None):
    """`labels` itself, but a run stops with an error naming `op`, the label and the number of
    classes when a label lies outside [0, classes)."""
    return apply(CHECK_LABELS, [labels], name or "check_labels", classes=int(classes), op=op)
