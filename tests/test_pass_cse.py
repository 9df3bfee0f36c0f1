"""The cse pass: nodes of the same op on the same inputs with the same attributes become one; never
variables, placeholders or assignments; small constants merged by value."""

import numpy as np
import pytest

import graphflow as gf
from compiler.function import extract
from compiler.passes import check_graph, cse
from compiler.passes.rewrite import signature

F32 = np.dtype(np.float32)


def types(fn):
    return [n.type for n in fn.nodes]


def run_pure(fn):
    """cse.run(fn), checking that fn itself is left as it was and the result is well formed."""
    nodes, sig = list(fn.nodes), signature(fn)
    out = cse.run(fn)
    assert list(fn.nodes) == nodes and signature(fn) == sig, "cse changed its input"
    assert out.graph is not fn.graph
    check_graph(out, after="cse")
    return out


def test_two_identical_exps_run_once():
    x = gf.placeholder(gf.float32, shape=(2, 3), name="x")
    y = gf.exp(x) + gf.exp(x)
    out = run_pure(extract([y], {x: ((2, 3), F32)}))
    assert types(out).count("exp") == 1
    (add,) = [n for n in out.nodes if n.type == "add"]
    assert add.inputs[0] is add.inputs[1]

    xv = np.float32([[0, 1, 2], [-1, -2, 0.5]])
    want = gf.Session(optimize=False).run(y, {x: xv})
    for sess in (gf.Session(passes=["cse"], check=True), gf.Session()):
        prog = sess.make_callable(y, [x])
        np.testing.assert_array_equal(prog(xv), want)
        assert prog.ops.count("exp") == 1
    assert gf.Session(passes=[]).make_callable(y, [x]).ops.count("exp") == 2
    np.testing.assert_allclose(want, 2 * np.exp(xv), rtol=1e-6)


def test_merging_cascades_down_a_chain():
    x = gf.placeholder(gf.float64, shape=(3,), name="x")
    a = gf.reduce_sum(gf.tanh(x * 2.0), keepdims=True)
    b = gf.reduce_sum(gf.tanh(x * 2.0), keepdims=True)
    out = run_pure(extract([a - b, a], {x: ((3,), np.dtype(np.float64))}))
    for op in ("multiply", "tanh", "reduce_sum", "constant"):
        assert types(out).count(op) == 1, op
    (sub,) = [n for n in out.nodes if n.type == "subtract"]
    assert sub.inputs[0] is sub.inputs[1] is out.outputs[1]


@pytest.mark.parametrize("make", [
    lambda x: (gf.reduce_sum(x, axis=0), gf.reduce_sum(x, axis=1)),
    lambda x: (gf.reduce_sum(x, axis=1), gf.reduce_sum(x, axis=1, keepdims=True)),
    lambda x: (gf.reduce_sum(x, axis=1), gf.reduce_max(x, axis=1)),
    lambda x: (gf.transpose(x, (1, 0)), gf.reshape(x, (3, 2))),
    lambda x: (gf.cast(x, gf.float64), gf.cast(x, gf.int32)),
    lambda x: (gf.exp(x), gf.exp(gf.transpose(gf.transpose(x, (1, 0)), (1, 0)))),
    lambda x: (x - gf.exp(x), x - gf.tanh(x)),
    lambda x: (x * 2.0, x * 3.0),
])
def test_different_ops_attributes_or_inputs_are_not_merged(make):
    x = gf.placeholder(gf.float32, shape=(2, 3), name="x")
    a, b = make(x)
    fn = extract([a, b], {x: ((2, 3), F32)})
    out = run_pure(fn)
    assert out.outputs[0] is not out.outputs[1]
    assert len(out.nodes) == len(fn.nodes)
    xv = np.float32([[1, 2, 3], [4, 5, 6.5]])
    want = gf.Session(optimize=False).run([a, b], {x: xv})
    got = gf.Session(passes=["cse"], check=True).run([a, b], {x: xv})
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


def test_the_sum_over_axis_0_and_axis_1_stay_two_reductions():
    x = gf.placeholder(gf.float32, shape=(2, 3), name="x")
    a = gf.reduce_sum(x, axis=0)
    b = gf.reduce_sum(x, axis=1)
    xv = np.float32([[1, 2, 3], [4, 5, 6]])
    prog = gf.Session(passes=["cse"]).make_callable([a, b], [x])
    got_a, got_b = prog(xv)
    np.testing.assert_array_equal(got_a, [5, 7, 9])
    np.testing.assert_array_equal(got_b, [6, 15])
    assert prog.ops.count("reduce_sum") == 2


def test_equal_small_constants_are_merged_by_value():
    x = gf.placeholder(gf.float32, shape=(3,), name="x")
    y = x * gf.constant(2.0) + x * gf.constant(2.0) + gf.constant(np.float32([1, 2, 3])) \
        - gf.constant(np.float32([1, 2, 3]))
    fn = extract([y], {x: ((3,), F32)})
    assert types(fn).count("constant") == 4
    out = run_pure(fn)
    assert types(out).count("constant") == 2
    assert types(out).count("multiply") == 1  # the two x * 2.0 merge once their constants do
    xv = np.float32([1, -2, 0.5])
    np.testing.assert_array_equal(gf.Session(passes=["cse"]).run(y, {x: xv}), 4 * xv)


@pytest.mark.parametrize("a, b", [
    (np.array(2.0, np.float32), np.array(2.0, np.float64)),  # same number, different dtype
    (np.array(0.0, np.float32), np.array(-0.0, np.float32)),  # equal numbers, 1/x differs
    (np.float32([1, 2]), np.float32([[1, 2]])),               # same elements, other shape
    (np.array(1, np.int32), np.array(True)),
])
def test_constants_that_differ_in_dtype_shape_or_bits_are_not_merged(a, b):
    ca, cb = gf.constant(a), gf.constant(b)
    out = run_pure(extract([ca, cb], {}))
    assert types(out).count("constant") == 2
    va, vb = gf.Session(passes=["cse"]).run([ca, cb])
    assert np.asarray(va).dtype == a.dtype and np.asarray(vb).dtype == b.dtype
    assert np.shape(va) == a.shape and np.shape(vb) == b.shape
    assert np.signbit(va).tolist() == np.signbit(a).tolist()
    assert np.signbit(vb).tolist() == np.signbit(b).tolist()


def test_large_constants_are_not_compared_by_content():
    big = np.ones(5000, np.float32)
    a, b = gf.constant(big), gf.constant(big)
    out = run_pure(extract([a + b], {}))
    assert types(out).count("constant") == 2
    np.testing.assert_array_equal(gf.Session(passes=["cse"]).run(a + b), 2 * big)


def test_two_assign_adds_in_one_group_both_apply():
    v = gf.Variable(np.float32(1.0), name="v")
    step = gf.group(gf.assign_add(v, 1.0), gf.assign_add(v, 1.0))
    out = run_pure(extract([step.node], {}))
    assert types(out).count("assign_add") == 2
    assert types(out).count("constant") == 1  # their equal operands may merge, they may not

    for sess in (gf.Session(passes=["cse"], check=True), gf.Session(), gf.Session(optimize=False)):
        assert sess.run(v) == 1.0
        sess.run(step)
        assert sess.run(v) == 3.0
        sess.run(step)
        assert sess.run(v) == 5.0
    prog = gf.Session(passes=["cse"]).make_callable(step)
    prog()
    assert prog.ops == ("assign_add", "assign_add")


def test_two_variables_with_the_same_value_are_not_merged():
    v1 = gf.Variable(np.float32([1.0, 2.0]), name="v1")
    v2 = gf.Variable(np.float32([1.0, 2.0]), name="v2")
    total = v1 + v2
    out = run_pure(extract([total], {}))
    assert types(out).count("variable") == 2
    sess = gf.Session(passes=["cse"], check=True)
    prog = sess.make_callable(total)
    np.testing.assert_array_equal(prog(), [2, 4])
    sess.run(v1.assign(np.float32([10.0, 20.0])))
    np.testing.assert_array_equal(prog(), [11, 22])


def test_two_placeholders_of_the_same_type_are_not_merged():
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    y = gf.placeholder(gf.float32, shape=(2,), name="y")
    d = gf.exp(x) - gf.exp(y)
    out = run_pure(extract([d], {x: ((2,), F32), y: ((2,), F32)}))
    assert types(out).count("placeholder") == 2 and types(out).count("exp") == 2
    prog = gf.Session(passes=["cse"]).make_callable(d, [x, y])
    np.testing.assert_allclose(prog(np.float32([0, 1]), np.float32([0, 0])), [0, np.e - 1],
                               rtol=1e-6)
