"""gf.contrib: the one piece of tf.contrib found in most TF1 scripts, tf.contrib.layers.flatten.
Everything else in tf.contrib is refused with NotImplementedError saying so."""

from __future__ import annotations

from . import layers

__all__ = ["layers"]


def __getattr__(name: str):
    raise NotImplementedError(f"graphflow does not support tf.contrib.{name}: of tf.contrib it "
                              f"has tf.contrib.layers.flatten only")
