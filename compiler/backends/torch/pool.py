"""The torch backend's lowering of the pool ops (compiler/ops/pool.py): skeleton."""

from .lowering import TORCH_TABLE as T  # noqa: F401
