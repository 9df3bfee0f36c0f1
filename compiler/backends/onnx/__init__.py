"""ONNX export as one more lowering table: ONNX_TABLE holds a rule per exportable op (one module
per op family registers them), export.to_model writes an optimized Function with it. Imported
only by gf.onnx.export, and onnx with it (the `onnx` extra)."""

# each family module registers its rules
from . import array, conv, conv_transpose, elementwise, indexing, math, nn, reduce, shape  # noqa: F401
from .export import to_model
from .lowering import ONNX_TABLE

__all__ = ["ONNX_TABLE", "to_model"]
