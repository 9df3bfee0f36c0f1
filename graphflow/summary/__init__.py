"""TF1's tf.summary: summary ops (scalar, histogram, image, text, merge, merge_all) and the
FileWriter that writes what they return to TensorBoard event files. Needs the tensorboard
package (pip install 'graphflow[tensorboard]'), imported when first used."""

from .ops import histogram, image, merge, merge_all, scalar, text
from .writer import FileWriter

__all__ = ["scalar", "histogram", "image", "text", "merge", "merge_all", "FileWriter",
           "Summary", "Event"]


def __getattr__(name: str):
    """tf.summary.Summary and tf.summary.Event: tensorboard's protocol buffer classes."""
    if name in ("Summary", "Event"):
        from tensorboard.compat.proto import event_pb2, summary_pb2

        return summary_pb2.Summary if name == "Summary" else event_pb2.Event
    raise AttributeError(f"module 'graphflow.summary' has no attribute {name!r}")
