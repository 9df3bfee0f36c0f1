"""gf.contrib.layers: tf.contrib.layers.flatten; nothing else of tf.contrib.layers."""

from __future__ import annotations

from typing import Optional

from compiler.graph import Node

from ..compat import UnsupportedError
from ..conv_layers import flatten as _flatten

__all__ = ["flatten"]


def flatten(inputs, outputs_collections=None, scope: Optional[str] = None) -> Node:
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...), as tf.contrib.layers.flatten (the same as
    gf.layers.flatten; outputs_collections is not supported)."""
    if outputs_collections is not None:
        raise NotImplementedError("contrib.layers.flatten: outputs_collections is not supported")
    return _flatten(inputs, name=scope or "Flatten")


def __getattr__(name: str):
    raise UnsupportedError(f"graphflow does not support tf.contrib.layers.{name}: of "
                           f"tf.contrib.layers it has flatten only (gf.layers has dense, "
                           f"conv2d, pooling and batch_normalization)")
