"""Graph building: default graphs, tensors' attributes, names, name scopes, printing."""

import inspect
import os
import threading

import numpy as np
import pytest

import graphflow as gf

HERE = os.path.basename(__file__)


# -- default graphs --------------------------------------------------------------------------------
def test_as_default_sets_and_restores_the_default_graph(fresh_graph):
    assert gf.get_default_graph() is fresh_graph
    g = gf.Graph()
    with g.as_default() as entered:
        assert entered is g
        assert gf.get_default_graph() is g
        inner = gf.Graph()
        with inner.as_default():
            assert gf.get_default_graph() is inner
        assert gf.get_default_graph() is g
    assert gf.get_default_graph() is fresh_graph


def test_ops_are_built_into_the_default_graph(fresh_graph):
    g = gf.Graph()
    with g.as_default():
        x = gf.placeholder(gf.float32, shape=(2,), name="x")
        y = x * 2.0
    z = gf.constant(1.0)
    assert x.graph is g and y.graph is g and x.op.graph is g
    assert z.graph is fresh_graph


def test_reset_default_graph_replaces_the_global_default_graph():
    # conftest keeps every test inside `with graph.as_default()`; the default-graph stack is
    # per thread, so a new thread sees the global default graph.
    seen = {}

    def body():
        before = gf.get_default_graph()
        gf.constant(1.0, name="old")
        gf.reset_default_graph()
        after = gf.get_default_graph()
        seen.update(before=before, after=after, node=gf.constant(2.0, name="old"))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen["after"] is not seen["before"]
    assert seen["node"].graph is seen["after"]
    assert seen["node"].op.name == "old"  # a new, empty graph: the name is free again


def test_reset_default_graph_inside_as_default_is_refused():
    with pytest.raises(RuntimeError, match="reset_default_graph"):
        gf.reset_default_graph()


# -- tensors -----------------------------------------------------------------------------------
def test_placeholder_attributes():
    x = gf.placeholder(gf.float32, shape=(None, 784), name="x")
    assert x.shape == (None, 784)
    assert x.dtype == gf.float32
    assert x.name == "x:0"
    assert x.op.name == "x"
    assert x.op.type == "Placeholder"  # TF1's op type
    assert isinstance(x, gf.Tensor)


def test_placeholder_shapes_are_normalized_to_tuples():
    assert gf.placeholder(gf.float32, shape=None).shape is None
    assert gf.placeholder(gf.float32, shape=[2, None]).shape == (2, None)
    assert gf.placeholder(gf.int64, shape=()).shape == ()
    assert gf.placeholder(gf.int64, shape=5).shape == (5,)


def test_variable_attributes():
    w = gf.Variable(np.zeros((784, 10), np.float32), name="w", trainable=True)
    assert w.shape == (784, 10)
    assert w.dtype == gf.float32
    assert w.name == "w:0"
    assert w.trainable
    assert isinstance(w, gf.Tensor)
    assert not gf.Variable(1.0, trainable=False).trainable


def test_variable_keeps_its_own_copy_of_the_initial_value():
    init = np.zeros(3, np.float32)
    v = gf.Variable(init)
    init[0] = 5.0
    assert gf.Session().run(v).tolist() == [0.0, 0.0, 0.0]


def test_static_shapes_propagate_through_ops():
    x = gf.placeholder(gf.float32, shape=(None, 784), name="x")
    w = gf.Variable(np.zeros((784, 10), np.float32), name="w")
    b = gf.Variable(np.zeros(10, np.float32), name="b")
    logits = x @ w + b
    assert logits.shape == (None, 10)
    assert logits.dtype == gf.float32
    assert gf.reduce_sum(logits, axis=1).shape == (None,)
    assert gf.reduce_mean(logits).shape == ()
    assert gf.argmax(logits, 1).dtype == gf.int64
    assert (gf.placeholder(gf.float32, shape=None) * 2.0).shape is None


@pytest.mark.parametrize("value, dtype", [
    (3.0, gf.float32),
    (3, gf.int32),
    (True, gf.bool_),
    (np.zeros(2, np.float64), gf.float64),
    (np.zeros(2, np.float32), gf.float32),
    (np.zeros(2, np.int64), gf.int64),
    (np.zeros(2, np.int32), gf.int32),
])
def test_constant_dtype(value, dtype):
    c = gf.constant(value)
    assert c.dtype == dtype
    assert c.shape == np.shape(value)


def test_constant_with_explicit_dtype():
    assert gf.constant(3.0, dtype=gf.float64).dtype == gf.float64
    assert gf.constant(3, dtype=gf.float32).dtype == gf.float32
    assert gf.Session().run(gf.constant(3, dtype=gf.float32)).dtype == np.float32


def test_dtypes_are_numpy_dtypes():
    pairs = [(gf.float32, np.float32), (gf.float64, np.float64), (gf.int32, np.int32),
             (gf.int64, np.int64), (gf.bool_, np.bool_)]
    for ours, theirs in pairs:
        assert isinstance(ours, np.dtype)
        assert ours == np.dtype(theirs)


# -- identity semantics ------------------------------------------------------------------------
def test_tensors_are_hashable_and_compare_by_identity():
    a = gf.constant(1.0)
    b = gf.constant(1.0)
    assert (a == a) is True
    assert (a == b) is False
    assert len({a, b, a}) == 2
    values = {a: "a", b: "b"}
    assert values[a] == "a" and values[b] == "b"
    assert a in [a] and b not in [a]  # list membership uses ==, which must not build ops


def test_gf_equal_is_elementwise():
    x = gf.constant(np.array([1.0, 2.0, 3.0], np.float32))
    y = gf.constant(np.array([1.0, 0.0, 3.0], np.float32))
    eq = gf.equal(x, y)
    assert isinstance(eq, gf.Tensor)
    assert eq.dtype == gf.bool_
    assert gf.Session().run(eq).tolist() == [True, False, True]


def test_op_of_a_tensor():
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    y = gf.add(x, 1.0, name="y")
    assert y.op.name == "y"
    assert y.op.type == "Add"
    assert y.op == y.op
    assert x in y.op.inputs
    assert y.op.outputs == [y]


# -- names -----------------------------------------------------------------------------------
def test_names_are_unique_in_a_graph():
    names = [gf.placeholder(gf.float32, name="x").op.name for _ in range(3)]
    assert names == ["x", "x_1", "x_2"]
    assert gf.constant(1.0).op.name != gf.constant(1.0).op.name


def test_names_are_unique_when_a_user_name_looks_generated():
    first = gf.constant(1.0, name="x")
    taken = gf.constant(1.0, name="x_1")
    third = gf.constant(1.0, name="x")
    assert [first.op.name, taken.op.name] == ["x", "x_1"]
    assert third.op.name not in ("x", "x_1")


def test_names_are_per_graph():
    g = gf.Graph()
    with g.as_default():
        a = gf.constant(1.0, name="x")
    b = gf.constant(1.0, name="x")
    assert a.op.name == b.op.name == "x"


def test_all_names_in_a_graph_are_distinct(fresh_graph):
    x = gf.placeholder(gf.float32, shape=(None, 3), name="x")
    w = gf.Variable(np.ones((3, 2), np.float32), name="w")
    loss = gf.reduce_mean(gf.square(x @ w)) + gf.reduce_mean(gf.square(x @ w))
    gf.gradients(loss, [w])
    names = [n.op_name for n in fresh_graph.nodes]
    assert len(names) == len(set(names))


def test_name_scope_prefixes_names():
    with gf.name_scope("layer1"):
        w = gf.Variable(np.zeros(2, np.float32), name="w")
        y = w * 2.0
    assert w.op.name == "layer1/w"
    assert y.op.name.startswith("layer1/")
    assert gf.constant(1.0, name="c").op.name == "c"


def test_nested_name_scopes_join():
    with gf.name_scope("outer"):
        with gf.name_scope("inner"):
            a = gf.constant(1.0, name="a")
        b = gf.constant(1.0, name="b")
    assert a.op.name == "outer/inner/a"
    assert b.op.name == "outer/b"


def test_reused_name_scope_keeps_names_unique():
    with gf.name_scope("layer"):
        a = gf.constant(1.0, name="a")
    with gf.name_scope("layer"):
        b = gf.constant(1.0, name="a")
    assert a.op.name == "layer/a"
    assert b.op.name != a.op.name


# -- printing ----------------------------------------------------------------------------------
def test_print_graph_shows_one_node_per_line(fresh_graph):
    x_line = inspect.currentframe().f_lineno + 1
    x = gf.placeholder(gf.float32, shape=(None, 784), name="x")
    w = gf.Variable(np.zeros((784, 10), np.float32), name="w")
    logits = gf.matmul(x, w, name="logits")
    lines = str(fresh_graph).splitlines()
    assert len(lines) == 3
    x_text, w_text, logits_text = lines
    assert "x" in x_text and "placeholder" in x_text and "784" in x_text
    assert f"{HERE}:{x_line}" in x_text
    assert "w" in w_text and "variable" in w_text.lower() and "784" in w_text and "10" in w_text
    assert f"{HERE}:{x_line + 1}" in w_text
    assert logits.op.name in logits_text and "matmul" in logits_text and "10" in logits_text
    assert f"{HERE}:{x_line + 2}" in logits_text


def test_print_graph_marks_unknown_sizes(fresh_graph):
    gf.placeholder(gf.float32, shape=(None, 3), name="x")
    (line,) = str(fresh_graph).splitlines()
    assert "?" in line or "None" in line
