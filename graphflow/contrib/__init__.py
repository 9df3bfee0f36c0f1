"""gf.contrib: the pieces of tf.contrib found in most TF1 scripts, tf.contrib.layers.flatten and
tf.contrib.rnn's basic cells and static_rnn. Everything else in tf.contrib is refused with
NotImplementedError saying so."""

from __future__ import annotations

from ..compat import UnsupportedError
from . import layers, rnn

__all__ = ["layers", "rnn"]


def __getattr__(name: str):
    raise UnsupportedError(f"graphflow does not support tf.contrib.{name}: of tf.contrib it "
                           f"has tf.contrib.layers.flatten and tf.contrib.rnn's basic cells "
                           f"and static_rnn only")
