"""TF 1.15's tf.io namespace, for the part graphflow has: `tf.io.gfile`."""

from . import gfile

__all__ = ["gfile"]
