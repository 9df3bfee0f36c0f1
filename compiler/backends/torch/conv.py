"""The torch backend's lowering of the conv ops (compiler/ops/conv.py): skeleton."""

from .lowering import TORCH_TABLE as T  # noqa: F401
