"""TF1's tf.strings namespace: ops on string tensors (numpy object arrays of bytes)."""

from compiler.ops.strings import as_string
from compiler.ops.strings import string_join as join

__all__ = ["join", "as_string"]
