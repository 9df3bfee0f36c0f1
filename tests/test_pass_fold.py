"""The fold pass: constant-only subexpressions are evaluated once, at compile time; never
placeholders, variables, fed tensors or assignments, and never a result much bigger than its
inputs."""

import numpy as np
import pytest

import graphflow as gf
from compiler.function import extract
from compiler.passes import check_graph, fold
from compiler.passes.rewrite import signature

F32 = np.dtype(np.float32)


def types(fn):
    return [n.type for n in fn.nodes]


def run_pure(fn):
    """fold.run(fn), checking that fn itself is left as it was and the result is well formed."""
    nodes, sig = list(fn.nodes), signature(fn)
    out = fold.run(fn)
    assert list(fn.nodes) == nodes and signature(fn) == sig, "fold changed its input"
    assert out.graph is not fn.graph
    check_graph(out, after="fold")
    return out


def const_value(node):
    assert node.type == "constant", node.describe()
    return node.attrs["value"]


def test_a_constant_subexpression_becomes_one_constant():
    x = gf.placeholder(gf.float32, shape=(2, 3), name="x")
    c = gf.multiply(gf.constant(2.0), gf.constant(3.0), name="c")
    y = c + x
    out = run_pure(extract([y], {x: ((2, 3), F32)}))
    assert types(out).count("multiply") == 0 and types(out).count("add") == 1
    (folded,) = [n for n in out.nodes if n.op_name == "c"]
    assert const_value(folded) == 6.0 and folded.dtype == np.float32 and folded.shape == ()

    xv = np.arange(6, dtype=np.float32).reshape(2, 3)
    for sess in (gf.Session(passes=["fold"], check=True), gf.Session()):
        prog = sess.make_callable(y, [x])
        np.testing.assert_array_equal(prog(xv), xv + 6)
        assert prog.ops == ("add",)
    assert gf.Session(passes=[]).make_callable(y, [x]).ops == ("multiply", "add")


def test_a_fully_constant_fetch_runs_no_op():
    y = gf.exp(gf.constant(np.float64([0.0, 1.0]))) * 2.0 - gf.constant(1.0, gf.float64)
    out = run_pure(extract([y], {}))
    assert const_value(out.outputs[0]).tolist() == (np.exp([0.0, 1.0]) * 2 - 1).tolist()
    prog = gf.Session(passes=["fold"]).make_callable(y)
    assert prog.ops == ()
    np.testing.assert_array_equal(prog(), gf.Session(optimize=False).run(y))


@pytest.mark.parametrize("build", [
    lambda: gf.constant(7, gf.int32) * gf.constant(np.int32([1, 2, 3])) - 4,
    lambda: gf.constant(np.int32([1, 2, 3])) / 2,              # int / int gives float64
    lambda: gf.cast(gf.constant(np.float32([2.7, -2.7])), gf.int32),
    lambda: gf.constant(1.0) / gf.constant(np.float32([0.0, -0.0])),
    lambda: gf.log(gf.constant(np.float32([0.0, -1.0]))),      # -inf and NaN are values too
    lambda: gf.greater(gf.constant([1.0, 2.0]), 1.5),
    lambda: gf.reduce_mean(gf.constant(np.arange(12.0).reshape(3, 4)), axis=1),
    lambda: gf.transpose(gf.reshape(gf.constant(np.arange(6.0)), (2, 3))),
    lambda: gf.where(gf.constant([True, False]), gf.constant([1.0, 2.0]), 0.0),
])
def test_folded_values_dtypes_and_shapes_are_the_interpreters(build):
    y = build()
    out = run_pure(extract([y], {}))
    value = const_value(out.outputs[0])
    want = gf.Session(optimize=False).run(y)
    np.testing.assert_array_equal(value, want)
    assert value.dtype == np.asarray(want).dtype == y.dtype and value.shape == y.shape
    np.testing.assert_array_equal(gf.Session(passes=["fold"]).run(y), want)


def test_the_gradient_seed_ones_like_becomes_a_constant():
    x = gf.placeholder(gf.float32, shape=(None, 3), name="x")
    loss = gf.reduce_sum(gf.tanh(x))
    (g,) = gf.gradients(loss, [x])
    fn = extract([g], {x: ((2, 3), F32)})
    assert "ones_like" in types(fn)
    out = run_pure(fn)
    assert "ones_like" not in types(out)
    (seed,) = [n for n in out.nodes if n.op_name == "gradients/ones_like"]
    assert const_value(seed) == 1.0 and seed.dtype == np.float32
    assert "tanh" in types(out) and "reduce_sum" in types(out)  # x-dependent: not folded

    xv = np.float32([[0.0, 1.0, -2.0], [3.0, 0.5, -0.5]])
    want = 1 - np.tanh(xv) ** 2
    prog = gf.Session(passes=["fold"], check=True).make_callable(g, [x])
    np.testing.assert_allclose(prog(xv), want, rtol=1e-6)
    assert "ones_like" not in prog.ops
    np.testing.assert_allclose(gf.Session(optimize=False).run(g, {x: xv}), want, rtol=1e-6)


def test_reduction_size_and_zeros_like_of_a_static_shape_fold():
    x = gf.placeholder(gf.float32, shape=(None, 3), name="x")  # the batch size is unknown here
    (g,) = gf.gradients(gf.reduce_mean(x * x), [x])
    z = gf.zeros_like(x, dtype=gf.float64) + gf.ones_like(x, dtype=gf.float64)
    fn = extract([g, z], {x: ((4, 3), F32)})  # ... and known once fed
    assert {"reduction_size", "zeros_like", "ones_like"} <= set(types(fn))
    out = run_pure(fn)
    assert {"reduction_size", "zeros_like", "ones_like"}.isdisjoint(types(out))
    (count,) = [n for n in out.nodes if n.op_name == "gradients/reduction_size"]
    assert const_value(count) == 12.0 and count.dtype == np.float32
    (zeros,) = [n for n in out.nodes if n.op_name == "zeros_like"]
    assert const_value(zeros).shape == (4, 3) and not const_value(zeros).any()
    assert zeros.dtype == np.float64

    xv = np.arange(12, dtype=np.float32).reshape(4, 3)
    for sess in (gf.Session(passes=["fold"]), gf.Session(), gf.Session(optimize=False)):
        gv, zv = sess.run([g, z], {x: xv})
        np.testing.assert_allclose(gv, 2 * xv / 12, rtol=1e-6)
        np.testing.assert_array_equal(zv, np.ones((4, 3)))
        assert zv.dtype == np.float64
    prog = gf.Session(passes=["fold"]).make_callable([g, z], [x])
    prog(xv)
    assert {"reduction_size", "zeros_like", "ones_like"}.isdisjoint(prog.ops)


def test_an_unknown_size_is_not_folded():
    # Without a concrete feed shape the count of a mean is only known at run time.
    x = gf.placeholder(gf.float32, shape=(None, 3), name="x")
    (g,) = gf.gradients(gf.reduce_mean(x), [x])
    out = run_pure(extract([g], {x: ((None, 3), F32)}))
    assert "reduction_size" in types(out)


def test_placeholders_are_never_folded():
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    y = gf.exp(x) + gf.constant(1.0) * 2.0
    out = run_pure(extract([y], {x: ((2,), F32)}))
    assert out.inputs[0].type == "placeholder" and "exp" in types(out)
    assert types(out).count("add") == 1


def test_a_fed_tensor_is_never_folded_even_if_it_is_constant_in_the_graph():
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    h = gf.multiply(gf.constant(2.0), gf.constant(3.0), name="h")  # constant-only, but fed below
    y = h + x
    fn = extract([y], {h: ((), F32), x: ((2,), F32)})
    out = run_pure(fn)
    assert [n.type for n in out.inputs] == ["placeholder", "placeholder"]
    assert types(out).count("add") == 1
    xv = np.float32([1, 2])
    for sess in (gf.Session(passes=["fold"], check=True), gf.Session(), gf.Session(optimize=False)):
        np.testing.assert_array_equal(sess.run(y, {h: np.float32(10), x: xv}), [11, 12])
        np.testing.assert_array_equal(sess.run(y, {x: xv}), [7, 8])  # not fed: folded is fine


def test_variables_are_never_folded():
    v = gf.Variable(np.float32([1.0, 2.0]), name="v")
    y = v * gf.constant(3.0)
    out = run_pure(extract([y], {}))
    assert "variable" in types(out) and "multiply" in types(out)
    sess = gf.Session(passes=["fold"], check=True)
    prog = sess.make_callable(y)
    np.testing.assert_array_equal(prog(), [3, 6])
    sess.run(v.assign(np.float32([5.0, 7.0])))
    np.testing.assert_array_equal(prog(), [15, 21])  # not the initial value baked in


def test_assignments_are_never_folded_but_their_constant_operands_are():
    v = gf.Variable(np.float32(1.0), name="v")
    step = gf.assign_add(v, gf.constant(2.0) * gf.constant(3.0))
    out = run_pure(extract([step], {}))
    assert types(out).count("assign_add") == 1 and "multiply" not in types(out)
    assert const_value(out.outputs[0].inputs[1]) == 6.0
    sess = gf.Session(passes=["fold"], check=True)
    prog = sess.make_callable(step.op)
    prog()
    prog()
    assert prog.ops == ("assign_add",)
    assert sess.run(v) == 13.0


def test_a_big_broadcast_of_a_constant_is_not_materialized():
    ones = gf.broadcast_to(gf.constant(1.0), (1000, 1000))
    out = run_pure(extract([ones], {}))
    assert out.outputs[0].type == "broadcast_to"
    assert all(n.attrs["value"].size == 1 for n in out.nodes if n.type == "constant")
    for sess in (gf.Session(passes=["fold"]), gf.Session()):
        prog = sess.make_callable(ones)
        assert prog.ops == ("broadcast_to",)
        value = prog()
        assert value.shape == (1000, 1000) and value.dtype == np.float32 and (value == 1).all()


def test_a_big_zeros_like_of_a_small_input_is_not_materialized():
    x = gf.placeholder(gf.float32, shape=(300, 300), name="x")
    z = gf.zeros_like(x)
    out = run_pure(extract([z], {x: ((300, 300), F32)}))
    assert out.outputs[0].type == "zeros_like"
    assert all(n.attrs["value"].size <= 64 for n in out.nodes if n.type == "constant")


def test_a_result_as_big_as_its_constant_input_is_folded():
    big = gf.constant(np.arange(1000, dtype=np.float32))
    y = big * 2.0 + 1.0
    out = run_pure(extract([y], {}))
    np.testing.assert_array_equal(const_value(out.outputs[0]), np.arange(1000) * 2 + 1)
