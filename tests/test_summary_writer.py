"""gf.summary.FileWriter (TF1's tf.summary.FileWriter): real TensorBoard event files, read back
with TensorBoard's own readers; the graph as a GraphDef with names, TF1 op types, inputs, dtypes
and shapes; errors for what cannot be written."""

import socket

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.compat.proto import summary_pb2, types_pb2

import graphflow as gf


def read_back(logdir):
    acc = ea.EventAccumulator(str(logdir), size_guidance={k: 0 for k in ea.DEFAULT_SIZE_GUIDANCE})
    acc.Reload()
    return acc


def test_the_event_file_is_named_and_framed_as_tensorflow_writes_it(tmp_path):
    with gf.summary.FileWriter(str(tmp_path), filename_suffix=".v1") as writer:
        assert writer.get_logdir() == str(tmp_path)
        writer.add_summary(summary_pb2.Summary(value=[
            summary_pb2.Summary.Value(tag="t", simple_value=2.5)]), global_step=9)
    (path,) = tmp_path.iterdir()
    assert path.name.startswith("events.out.tfevents.")
    assert socket.gethostname() in path.name and path.name.endswith(".v1")
    # The raw loader checks every record's CRCs; the first event is the file version.
    events = list(event_file_loader.LegacyEventFileLoader(str(path)).Load())
    assert events[0].file_version == "brain.Event:2"
    assert events[1].step == 9 and events[1].summary.value[0].simple_value == 2.5


def test_graph_def_has_names_op_types_inputs_dtypes_and_shapes(tmp_path):
    x = gf.placeholder(gf.float32, [None, 3], name="x")
    with gf.name_scope("layer"):
        w = gf.Variable(np.ones((3, 2), np.float32), name="w")
        y = gf.matmul(x, w, name="y")
    with gf.Session() as sess, gf.summary.FileWriter(str(tmp_path), sess.graph):
        pass
    nodes = {n.name: n for n in read_back(tmp_path).Graph().node}
    assert {"x", "layer/w", "layer/y"} <= set(nodes)
    assert nodes["x"].op == "Placeholder" and nodes["layer/y"].op == "MatMul"
    assert list(nodes["layer/y"].input) == ["x", "layer/w"]
    assert nodes["layer/y"].attr["dtype"].type == types_pb2.DT_FLOAT
    (shape,) = nodes["layer/y"].attr["_output_shapes"].list.shape
    assert [d.size for d in shape.dim] == [-1, 2]
    assert y.shape == (None, 2)


def test_add_graph_takes_a_graph_or_a_graph_def_not_both(tmp_path):
    graph = gf.get_default_graph()
    gf.constant("s", name="text")
    with gf.summary.FileWriter(str(tmp_path)) as writer:
        with pytest.raises(ValueError, match="not both"):
            writer.add_graph(graph, graph_def=object())
        with pytest.raises(TypeError, match="gf.Graph"):
            writer.add_graph(42)
        writer.add_graph(graph, global_step=3)
    (node,) = read_back(tmp_path).Graph().node
    assert node.name == "text" and node.attr["dtype"].type == types_pb2.DT_STRING


def test_run_metadata_is_accepted_once_per_tag(tmp_path):
    with gf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_run_metadata(gf.RunMetadata(), "step1", global_step=1)
        with pytest.raises(ValueError, match="already used"):
            writer.add_run_metadata(gf.RunMetadata(), "step1")
    assert read_back(tmp_path).Tags()["run_metadata"] == ["step1"]


def test_a_closed_writer_drops_events_as_tf1_and_says_so(tmp_path, caplog):
    s = gf.summary.scalar("loss", gf.constant(1.0))
    writer = gf.summary.FileWriter(str(tmp_path))
    writer.close()
    summary = gf.Session().run(s)
    with caplog.at_level("WARNING", logger="tensorflow"):
        writer.add_summary(summary, 1)  # TF1's EventFileWriter ignores events after close()
    assert "is closed" in caplog.text
    writer.close()  # twice is fine
    writer.reopen()
    writer.add_summary(summary, 2)
    writer.close()
    assert [e.step for e in read_back(tmp_path).Scalars("loss")] == [2]


def test_add_summary_takes_bytes_or_a_summary(tmp_path):
    with gf.summary.FileWriter(str(tmp_path)) as writer:
        with pytest.raises(TypeError, match="add_summary takes the bytes"):
            writer.add_summary(1.5)
        writer.add_summary(gf.Session().run(gf.summary.scalar("a", gf.constant(3.0))), 1)
        writer.add_summary(gf.summary.Summary(value=[gf.summary.Summary.Value(
            tag="b", simple_value=4.0)]), 1)
        writer.flush()
    acc = read_back(tmp_path)
    assert acc.Scalars("a")[0].value == 3.0 and acc.Scalars("b")[0].value == 4.0
