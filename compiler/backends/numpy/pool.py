"""The numpy backend's lowering of the pool ops (compiler/ops/pool.py): skeleton."""

from .lowering import NUMPY_TABLE as T  # noqa: F401
