"""The numpy backend's lowering of the conv ops (compiler/ops/conv.py): skeleton."""

from .lowering import NUMPY_TABLE as T  # noqa: F401
