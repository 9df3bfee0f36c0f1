"""gf.device and the session option messages against TF 1.15.

Device strings follow TF1's DeviceSpec rules (merge_device's documented example); the messages
are checked field by field against TensorFlow's own config.proto, as tensorboard ships it.
"""

import numpy as np
import pytest
from tensorboard.compat.proto import config_pb2

import graphflow as gf


def test_device_strings_merge_inner_fields_first_as_tf1():
    g = gf.Graph()
    with g.as_default():
        plain = gf.constant(0.0)
        # TF1's merge_device docstring: each block's fields override the outer ones
        with gf.device("/device:GPU:0"):
            a = gf.constant(1.0)
            with gf.device("/job:worker"):
                b = a + 1
                with gf.device("/device:CPU:0"):
                    c = b + 1
                    with gf.device("/job:ps"):
                        d = c + 1
                        with gf.device(None):
                            e = d + 1
                with gf.device(""):
                    f = b * 2
    assert plain.device == "" and plain.op.device == ""
    assert a.device == "/device:GPU:0"
    assert b.device == "/job:worker/device:GPU:0"
    assert c.device == "/job:worker/device:CPU:0"
    assert d.device == d.op.device == "/job:ps/device:CPU:0"
    assert e.device == ""
    assert f.device == "/job:worker/device:GPU:0"


def test_short_forms_are_canonicalized_and_graph_device_is_the_same():
    g = gf.Graph()
    with g.as_default(), g.device("/gpu:1"):
        x = gf.placeholder(gf.float32, (2,))
        with gf.device("/replica:0/task:2/cpu:*"):
            y = x * 2
    assert x.device == "/device:GPU:1"
    assert y.device == "/replica:0/task:2/device:CPU:1"  # TF1 keeps the outer index


def test_device_functions_get_the_op():
    seen = []

    def by_type(op):
        seen.append(op.name)
        return "/cpu:0" if op.type == "VariableV2" else "/gpu:0"

    g = gf.Graph()
    with g.as_default(), gf.device(by_type):
        v = gf.Variable(np.ones(2, np.float32), name="v")
        y = v * 3.0
    assert v.device == "/cpu:0" and y.device == "/gpu:0"  # a function's string is kept as is
    assert "v" in seen


def test_bad_device_arguments():
    # as TF1's Graph.device (a generator), the argument is checked when the block is entered
    with pytest.raises(ValueError, match="unknown part 'tpu_pod:0'"):
        with gf.device("/tpu_pod:0"):
            pass
    with pytest.raises(ValueError, match="more than one device type"):
        with gf.device("/gpu:0/cpu:0"):
            pass
    with pytest.raises(TypeError, match="not a device string"):
        with gf.device(3):
            pass


def test_devices_change_no_values():
    g = gf.Graph()
    with g.as_default():
        with gf.device("/gpu:0"):
            x = gf.placeholder(gf.float32, (3,))
            y = gf.reduce_sum(x * x)
        with gf.Session(graph=g) as sess:
            assert sess.run(y, {x: np.arange(3, dtype=np.float32)}) == 5.0


MESSAGES = ["ConfigProto", "GPUOptions", "GraphOptions", "OptimizerOptions", "RunOptions",
            "RunMetadata"]


@pytest.mark.parametrize("name", MESSAGES)
def test_fields_and_defaults_match_tensorflows_proto(name):
    ours, proto = getattr(gf, name)(), getattr(config_pb2, name)()
    fields = {f.name: f for f in proto.DESCRIPTOR.fields}
    for field in type(ours).FIELDS:
        assert field in fields, f"{name}.{field} is not a TF field"
        value, expected = getattr(ours, field), getattr(proto, field)
        if fields[field].type == fields[field].TYPE_MESSAGE and not _is_list(expected):
            continue  # a submessage: checked by its own parametrized case
        if _is_list(expected):
            assert value == (dict(expected) if hasattr(expected, "keys") else list(expected))
        else:
            assert value == expected and type(value) is type(expected), field


def _is_list(value) -> bool:
    return hasattr(value, "__len__") and not isinstance(value, (str, bytes))


def test_enum_constants_match_tensorflows_proto():
    for const in ("NO_TRACE", "SOFTWARE_TRACE", "HARDWARE_TRACE", "FULL_TRACE"):
        assert getattr(gf.RunOptions, const) == getattr(config_pb2.RunOptions, const)
    for const in ("L0", "L1", "DEFAULT", "OFF", "ON_1", "ON_2"):
        assert getattr(gf.OptimizerOptions, const) == getattr(config_pb2.OptimizerOptions, const)


def make(module, name, **kwargs):
    return getattr(module, name)(**kwargs)


@pytest.mark.parametrize("module", [gf, config_pb2], ids=["graphflow", "tf_proto"])
def test_construction_and_assignment_rules_as_protobuf(module):
    config = make(module, "ConfigProto", allow_soft_placement=True, device_count={"GPU": 0},
                  gpu_options=make(module, "GPUOptions", per_process_gpu_memory_fraction=0.4),
                  inter_op_parallelism_threads=2, log_device_placement=None)
    config.gpu_options.allow_growth = True
    config.device_count["CPU"] = 4
    assert config.allow_soft_placement is True and config.log_device_placement is False
    assert dict(config.device_count) == {"GPU": 0, "CPU": 4}
    assert config.gpu_options.allow_growth and config.gpu_options.per_process_gpu_memory_fraction \
        == 0.4
    assert make(module, "ConfigProto", gpu_options={"allow_growth": True}).gpu_options.allow_growth
    assert make(module, "RunOptions", trace_level="FULL_TRACE").trace_level == 3
    with pytest.raises(ValueError, match="no \"allow_soft\" field"):
        make(module, "ConfigProto", allow_soft=True)
    with pytest.raises(AttributeError):
        config.allow_soft = True
    with pytest.raises(AttributeError):
        config.gpu_options = make(module, "GPUOptions")
    with pytest.raises(AttributeError):
        config.device_filters = ["/cpu:0"]
    with pytest.raises(TypeError):
        make(module, "ConfigProto", inter_op_parallelism_threads=1.5)
    with pytest.raises(TypeError):
        config.intra_op_parallelism_threads = "2"


def test_session_takes_tf1_positional_config_and_run_options():
    g = gf.Graph()
    with g.as_default():
        x = gf.constant(2.0) * 3.0
    config = gf.ConfigProto(allow_soft_placement=True)
    config.gpu_options.allow_growth = True
    with gf.Session("", g, config) as sess:
        metadata = gf.RunMetadata()
        options = gf.RunOptions(trace_level=gf.RunOptions.FULL_TRACE)
        assert sess.run(x, None, options, metadata) == 6.0
        assert sess.run(x, options=options, run_metadata=metadata) == 6.0
        assert metadata == gf.RunMetadata()  # nothing traced
        with pytest.raises(TypeError, match="options must be a gf.RunOptions"):
            sess.run(x, options={"trace_level": 3})
        with pytest.raises(TypeError, match="run_metadata must be a gf.RunMetadata"):
            sess.run(x, run_metadata=[])
    with pytest.raises(TypeError, match="config must be a gf.ConfigProto"):
        gf.Session(config={"allow_soft_placement": True})
    sess = gf.InteractiveSession("", g, config)
    assert gf.get_default_session() is sess
    sess.close()


def test_device_function_reading_node_defs_as_multi_gpu_scripts_do():
    """The multi-GPU pattern of TF1 examples: variables (op type VariableV2) on the CPU, the
    rest on the GPU, decided from `op.node_def.op` (or a NodeDef passed directly)."""
    ps_ops = ["Variable", "VariableV2", "AutoReloadVariable"]

    def assign_to_device(op):
        node_def = op if isinstance(op, gf.NodeDef) else op.node_def
        return "/cpu:0" if node_def.op in ps_ops else "/gpu:0"

    with gf.Graph().as_default():
        with gf.device(assign_to_device):
            w = gf.Variable(np.ones((2, 2), np.float32), name="w")
            y = gf.matmul(w, w, name="y")
        assert w.op.device == "/cpu:0" and y.op.device == "/gpu:0"
        nd = y.op.node_def
        assert (nd.name, nd.op, nd.device) == ("y", "MatMul", "/gpu:0")
        assert all(i.startswith("w") for i in nd.input)
