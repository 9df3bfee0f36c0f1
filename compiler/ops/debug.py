"""check_numerics: an identity that stops the run when its input holds inf or NaN."""

from __future__ import annotations

from typing import Optional

from .. import numerics
from ..opdef import HOST, OpDef, register
from .core import apply, require_float

__all__ = ["check_numerics"]


def _check_numerics_infer(inputs, message):
    return inputs[0].shape, require_float(inputs[0])


def _check_numerics_kernel(state, node, x):
    # A stateful kernel only to know its node: the error names it and the user's message.
    return numerics.check(x, node, f"{node.name}: {node.attrs['message']}",
                          [(node.inputs[0].name, x)])


CHECK_NUMERICS = register(OpDef(
    "check_numerics", infer=_check_numerics_infer, kernel=_check_numerics_kernel,
    grad=lambda node, g: (g,), stateful_kernel=True, may_fail=True, view=True, torch=HOST))


def check_numerics(tensor, message: str, name: Optional[str] = None):
    """`tensor` itself, but a run stops with a NumericsError (naming this node, `message` and the
    input's summary) when it holds inf or NaN (TF1's tf.debugging.check_numerics)."""
    return apply(CHECK_NUMERICS, [tensor], name, message=str(message))
