"""TF1's tf.summary.FileWriter: summaries, graphs and run metadata written as TensorBoard event
files (events.out.tfevents.<time>.<host>...) by TensorBoard's own EventFileWriter, which frames
each record with its CRCs."""

from __future__ import annotations

import logging
import time
from typing import Optional

import numpy as np

from compiler.graph import Graph
from compiler.ops.summary import INSTALL_HINT

from .graph_def import graph_def as _graph_def


def _tensorboard():
    """tensorboard's event_pb2, summary_pb2 and EventFileWriter, or how to install it."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as exc:
        raise ImportError(f"gf.summary.FileWriter: {INSTALL_HINT}") from exc
    return event_pb2, summary_pb2, EventFileWriter


class FileWriter:
    """Writes Summary protocol buffers (what sess.run of a summary op returns), graphs and run
    metadata to a new event file in `logdir`, for TensorBoard:

        merged = gf.summary.merge_all()
        writer = gf.summary.FileWriter("logs/run1", sess.graph)
        writer.add_summary(sess.run(merged, feed), global_step=step)
        writer.close()

    Events are queued (at most max_queue) and written every flush_secs seconds, on flush() and
    on close(). `session` is accepted for TF1's signature; the events go to the file all the
    same. Unlike TF1, which drops them silently, events added after close() are an error.
    """

    def __init__(self, logdir: str, graph: Optional[Graph] = None, max_queue: int = 10,
                 flush_secs: float = 120, filename_suffix: Optional[str] = None,
                 session=None):
        self._event_pb2, self._summary_pb2, writer_class = _tensorboard()
        self._writer_args = (str(logdir), int(max_queue), flush_secs, filename_suffix or "")
        self._writer = writer_class(str(logdir), max_queue_size=int(max_queue),
                                    flush_secs=flush_secs, filename_suffix=filename_suffix or "")
        self._closed = False
        self._warned = False
        self._seen_tags = set()
        self._run_tags = set()
        if graph is not None:
            self.add_graph(graph)

    # -- what TF1 programs add --------------------------------------------------------------------
    def add_summary(self, summary, global_step: Optional[int] = None) -> None:
        """Add a Summary: the bytes sess.run returns for a summary op, or a Summary proto.
        A tag's plugin metadata is written only the first time, as TF1 does."""
        if isinstance(summary, np.ndarray) and summary.shape == ():
            summary = summary[()]
        if isinstance(summary, (bytes, bytearray)):
            summary = self._summary_pb2.Summary.FromString(bytes(summary))
        elif not isinstance(summary, self._summary_pb2.Summary):
            raise TypeError(f"add_summary takes the bytes a summary op returns (sess.run of "
                            f"gf.summary.scalar/merge_all...) or a Summary proto, got "
                            f"{type(summary).__name__}")
        summary = self._summary_pb2.Summary.FromString(summary.SerializeToString())  # a copy
        for value in summary.value:
            if value.HasField("metadata") and value.tag in self._seen_tags:
                value.ClearField("metadata")
            self._seen_tags.add(value.tag)
        self._add(self._event_pb2.Event(summary=summary), global_step)

    def add_graph(self, graph, global_step: Optional[int] = None, graph_def=None) -> None:
        """Add a graph (a gf.Graph, or a GraphDef proto) for TensorBoard's Graphs tab."""
        if graph is not None and graph_def is not None:
            raise ValueError("Please pass only graph, or graph_def (deprecated), but not both.")
        graph = graph if graph is not None else graph_def
        if isinstance(graph, Graph):
            graph = _graph_def(graph)
        if not hasattr(graph, "SerializeToString"):
            raise TypeError(f"add_graph takes a gf.Graph (sess.graph) or a GraphDef, got "
                            f"{type(graph).__name__}")
        self._add(self._event_pb2.Event(graph_def=graph.SerializeToString()), global_step)

    def add_run_metadata(self, run_metadata, tag: str, global_step: Optional[int] = None):
        """Add run metadata under `tag` (each tag once, as TF1); graphflow's RunMetadata
        carries no step statistics, so the record holds what its SerializeToString gives."""
        if tag in self._run_tags:
            raise ValueError("The provided tag was already used for this event type")
        self._run_tags.add(tag)
        serialize = getattr(run_metadata, "SerializeToString", None)
        tagged = self._event_pb2.TaggedRunMetadata(
            tag=tag, run_metadata=serialize() if callable(serialize) else b"")
        self._add(self._event_pb2.Event(tagged_run_metadata=tagged), global_step)

    def add_event(self, event) -> None:
        """Add an Event proto as it is."""
        if self._closed:  # TF1 drops events added after close(); say so once
            if not self._warned:
                logging.getLogger("tensorflow").warning(
                    "FileWriter(%s) is closed: events added after close() are dropped, as in "
                    "TF1; call reopen() to write again", self.get_logdir())
                self._warned = True
            return
        self._writer.add_event(event)

    def _add(self, event, global_step: Optional[int]) -> None:
        event.wall_time = time.time()
        if global_step is not None:
            event.step = int(global_step)
        self.add_event(event)

    # -- the file ---------------------------------------------------------------------------------
    def get_logdir(self) -> str:
        """The directory the event file is written in."""
        return self._writer_args[0]

    def flush(self) -> None:
        """Write the queued events to disk."""
        if not self._closed:
            self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file; add_* raise afterwards (reopen() to go on)."""
        if not self._closed:
            self._writer.close()
            self._closed = True

    def reopen(self) -> None:
        """After close(): go on in a new event file in the same directory."""
        if self._closed:
            logdir, max_queue, flush_secs, suffix = self._writer_args
            self._writer = _tensorboard()[2](logdir, max_queue_size=max_queue,
                                             flush_secs=flush_secs, filename_suffix=suffix)
            self._closed = False

    def __enter__(self) -> "FileWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
