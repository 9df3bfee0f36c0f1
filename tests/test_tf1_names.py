"""TF1's names: a tensor is 'op_name:0', its op 'op_name'; graphs and sessions look both up by name.

Expected values are TF 1.15's documented behaviour (tf.Tensor.name, tf.Operation.name,
Graph.get_tensor_by_name / get_operation_by_name / as_graph_element, Session.run's fetches and
feed_dict keys given as names), including its exception classes.
"""

import numpy as np
import pytest

import graphflow as gf


def _scoped_model():
    with gf.name_scope("scope"):
        v = gf.Variable(np.array([1.0, 2.0], np.float32), name="v")
    x = gf.placeholder(gf.float32, (2,), name="x")
    y = gf.add(x, v, name="y")
    train = gf.group(v.assign_add(x), name="train")
    return v, x, y, train


def test_tensor_names_are_op_name_colon_zero_and_op_names_are_plain():
    v, x, y, train = _scoped_model()
    assert (v.name, v.op.name) == ("scope/v:0", "scope/v")
    assert (x.name, x.op.name) == ("x:0", "x")
    assert (y.name, y.op.name) == ("y:0", "y")
    assert train.name == "train"  # an Operation's name has no output index
    assert [t.name for t in y.op.outputs] == ["y:0"]
    assert "'y:0'" in repr(y) and "'scope/v:0'" in repr(v)  # as TF1's <tf.Tensor 'y:0' ...>


def test_get_tensor_and_operation_by_name():
    v, x, y, train = _scoped_model()
    g = gf.get_default_graph()
    assert g.get_tensor_by_name("scope/v:0") is v
    assert g.get_tensor_by_name("y:0") is y
    assert g.get_operation_by_name("scope/v") == v.op
    assert g.get_operation_by_name("train") == train
    assert g.get_operation_by_name(b"y") == y.op  # bytes names too, as TF1's compat.as_str


def test_lookup_errors_have_tf1s_classes_and_name_the_name():
    _, x, _, _ = _scoped_model()
    g = x.graph
    with pytest.raises(KeyError, match="'nope:0'"):
        g.get_tensor_by_name("nope:0")
    with pytest.raises(ValueError, match=r"'x' .*operation.*'<op_name>:<output_index>'"):
        g.get_tensor_by_name("x")  # an op's name, not a tensor's
    with pytest.raises(ValueError, match="'nope'"):
        g.get_tensor_by_name("nope")
    with pytest.raises(KeyError, match="'x:1'"):
        g.get_tensor_by_name("x:1")  # x has one output
    with pytest.raises(KeyError, match="'train:0'.*no value"):
        g.get_tensor_by_name("train:0")  # a group makes no tensor
    with pytest.raises(ValueError, match="'x:0'"):
        g.get_operation_by_name("x:0")
    with pytest.raises(KeyError, match="'nope'"):
        g.get_operation_by_name("nope")
    with pytest.raises(TypeError):
        g.get_tensor_by_name(x)
    with pytest.raises(TypeError):
        g.get_operation_by_name(3)


def test_as_graph_element():
    v, x, y, train = _scoped_model()
    g = x.graph
    assert g.as_graph_element("y:0") is y
    assert g.as_graph_element("y") == y.op
    assert g.as_graph_element(y) is y and g.as_graph_element(train) == train
    with pytest.raises(TypeError):
        g.as_graph_element(1.5)
    with pytest.raises(TypeError):
        g.as_graph_element(train, allow_operation=False)
    with pytest.raises(ValueError):
        g.as_graph_element("y", allow_tensor=True, allow_operation=False)
    with pytest.raises(ValueError):
        g.as_graph_element("y:0", allow_tensor=False)
    with pytest.raises(ValueError):
        g.as_graph_element(y, allow_tensor=False, allow_operation=False)
    with gf.Graph().as_default():
        other = gf.constant(1.0, name="y")
    with pytest.raises(ValueError, match="not an element of this graph"):
        g.as_graph_element(other)


def test_run_fetches_and_feeds_by_name():
    v, x, y, train = _scoped_model()
    sess = gf.Session()
    xv = np.array([10.0, 20.0], np.float32)
    np.testing.assert_array_equal(sess.run("y:0", {"x:0": xv}), [11.0, 22.0])
    np.testing.assert_array_equal(sess.run("scope/v:0"), [1.0, 2.0])
    assert sess.run("train", feed_dict={"x:0": xv}) is None  # an op's name fetches the op
    np.testing.assert_array_equal(sess.run(v), [11.0, 22.0])
    assert sess.run("y", {x: xv}) is None  # TF1: 'y' names the op, and an op gives None


def test_names_in_nested_fetches_and_mixed_feeds():
    v, x, y, train = _scoped_model()
    sess = gf.Session()
    xv = np.array([1.0, 1.0], np.float32)
    out = sess.run({"a": ["y:0", (v, "scope/v:0")], "op": "train"}, feed_dict={"x:0": xv})
    assert out["op"] is None
    np.testing.assert_array_equal(out["a"][0], [2.0, 3.0])
    assert isinstance(out["a"][1], tuple)
    np.testing.assert_array_equal(out["a"][1][0], [1.0, 2.0])  # values from before the update
    np.testing.assert_array_equal(out["a"][1][1], [1.0, 2.0])
    assert y.eval(feed_dict={"x:0": xv}, session=sess).tolist() == [3.0, 4.0]
    call = sess.make_callable("y:0", ["x:0"])
    np.testing.assert_array_equal(call(xv), [3.0, 4.0])


def test_unknown_or_wrong_names_in_run_are_clear_errors():
    _, x, _, _ = _scoped_model()
    sess = gf.Session()
    xv = np.zeros(2, np.float32)
    with pytest.raises(ValueError, match="'nope:0'"):
        sess.run("nope:0")
    with pytest.raises(ValueError, match="'nope'"):
        sess.run(["y:0", {"k": "nope"}], {x: xv})
    with pytest.raises(TypeError, match="feed_dict key.*'nope:0'"):
        sess.run("y:0", {"nope:0": xv})
    with pytest.raises(TypeError, match="feed_dict key.*'x'.*operation"):
        sess.run("y:0", {"x": xv})  # TF1 wants the tensor's name, 'x:0'


def test_checkpoints_keep_keys_by_op_name(tmp_path):
    with gf.variable_scope("dense"):
        w = gf.get_variable("kernel", [2, 3])
    assert (w.name, w.op.name) == ("dense/kernel:0", "dense/kernel")
    sess = gf.Session()
    path = gf.train.Saver().save(sess, tmp_path / "model")
    with np.load(path) as npz:
        assert npz.files == ["dense/kernel"]  # TF1 keys a checkpoint by the op's name
    path = gf.train.Saver([w]).save(sess, tmp_path / "listed")
    with np.load(path) as npz:
        assert npz.files == ["dense/kernel"]


def test_collections_filter_by_scope_on_tf1_names():
    v, _, _, _ = _scoped_model()
    assert gf.get_collection(gf.GraphKeys.GLOBAL_VARIABLES, scope="scope") == [v]
    assert gf.global_variables(scope=r"scope/v:0$") == [v]  # re.match on 'scope/v:0'
