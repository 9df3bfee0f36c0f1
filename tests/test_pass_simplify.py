"""The simplify pass: exact algebraic rewrites only. Every rewrite gives bit-for-bit the value the
reference interpreter gives (NaN and inf included) and keeps the node's shape and dtype."""

import numpy as np
import pytest

import graphflow as gf
from compiler.function import extract
from compiler.passes import check_graph, fold, prune, simplify
from compiler.passes.rewrite import signature

F32 = np.dtype(np.float32)
NAN, INF = np.nan, np.inf


def types(fn):
    return [n.type for n in fn.nodes]


def run_pure(fn):
    """simplify.run(fn), checking that fn itself is left as it was and the result is well
    formed."""
    nodes, sig = list(fn.nodes), signature(fn)
    out = simplify.run(fn)
    assert list(fn.nodes) == nodes and signature(fn) == sig, "simplify changed its input"
    assert out.graph is not fn.graph
    check_graph(out, after="simplify")
    return out


def computed(fn):
    """The op types that compute something the outputs need (no sources, no dead nodes)."""
    return sorted(n.type for n in prune.run(fn).nodes
                  if n.type not in ("placeholder", "constant", "variable"))


def check_simplified(y, feeds, want_ops):
    """simplify alone turns y's graph into one computing exactly `want_ops`, with y's shape and
    dtype, and the same values (bit for bit) as the interpreter."""
    spec = {p: (v.shape, v.dtype) for p, v in feeds.items()}
    fn = extract([y], spec)
    out = run_pure(fn)
    assert computed(out) == sorted(want_ops), str(out)
    assert out.outputs[0].shape == fn.outputs[0].shape == y.shape
    assert out.outputs[0].dtype == fn.outputs[0].dtype == y.dtype
    want = gf.Session(optimize=False).run(y, feeds)
    order = list(feeds)
    for sess in (gf.Session(passes=["simplify", "prune"], check=True), gf.Session(check=True)):
        prog = sess.make_callable(y, order)
        got = prog(*[feeds[p] for p in order])
        assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_array_equal(got, want)
        assert sorted(prog.ops) == sorted(want_ops)
    return out


# Values with NaN, infinities and zeros of both signs: an inexact rewrite shows here.
XV = np.float32([[1.5, -2.0, 0.0], [NAN, INF, -INF]])
YV = np.float32([[0.25, INF, -0.0], [3.0, INF, 7.0]])


def xy():
    return (gf.placeholder(gf.float32, shape=(2, 3), name="x"),
            gf.placeholder(gf.float32, shape=(2, 3), name="y"))


ONES = np.ones((2, 3), np.float32)
ZEROS = np.zeros((2, 3), np.float32)


@pytest.mark.parametrize("build, want_ops", [
    (lambda x, y: gf.tanh(x) * 1.0, ["tanh"]),
    (lambda x, y: 1.0 * gf.tanh(x), ["tanh"]),
    (lambda x, y: gf.tanh(x) * gf.constant(ONES), ["tanh"]),
    (lambda x, y: gf.tanh(x) * gf.constant(np.ones((1, 3), np.float32)), ["tanh"]),
    (lambda x, y: gf.tanh(x) + -0.0, ["tanh"]),
    (lambda x, y: -0.0 + gf.tanh(x), ["tanh"]),
    (lambda x, y: gf.tanh(x) + 0.0, ["tanh", "add"]),  # -0.0 + 0.0 is +0.0: not dropped
    (lambda x, y: 0.0 + gf.tanh(x), ["tanh", "add"]),
    (lambda x, y: gf.tanh(x) + gf.constant(ZEROS), ["tanh", "add"]),
    (lambda x, y: gf.tanh(x) - 0.0, ["tanh"]),
    (lambda x, y: gf.tanh(x) / 1.0, ["tanh"]),
    (lambda x, y: gf.tanh(x) ** 1.0, ["tanh"]),
    (lambda x, y: gf.negative(gf.negative(gf.tanh(x))), ["tanh"]),
    (lambda x, y: x * 1.0, []),
    (lambda x, y: gf.negative(-x), []),
    (lambda x, y: x + (-y), ["subtract"]),
    (lambda x, y: (-x) + y, ["subtract"]),
    (lambda x, y: x - (-y), ["add"]),
    (lambda x, y: -0.0 - y, ["negative"]),
    (lambda x, y: 0.0 - y, ["subtract"]),  # 0.0 - 0.0 is +0.0, -(0.0) is -0.0: not rewritten
    (lambda x, y: x * -1.0, ["negative"]),
    (lambda x, y: (-x) * (-y), ["multiply"]),
    (lambda x, y: -((-x) * y), ["multiply"]),
    (lambda x, y: gf.identity(gf.tanh(x)), ["tanh"]),
    (lambda x, y: gf.stop_gradient(gf.tanh(x)), ["tanh"]),
    (lambda x, y: gf.add_n([gf.tanh(x)]), ["tanh"]),
    (lambda x, y: gf.cast(x, gf.float32), []),
    (lambda x, y: gf.where(gf.constant(True), x, y), []),
    (lambda x, y: gf.where(gf.constant(False), x, y), []),
    (lambda x, y: gf.where(gf.constant([[True]]), x, y), []),
])
def test_exact_elementwise_rewrites(build, want_ops):
    x, y = xy()
    check_simplified(build(x, y), {x: XV, y: YV}, want_ops)


def test_x_plus_negative_y_becomes_one_subtract():
    x, y = xy()
    out = check_simplified(x + (-y), {x: XV, y: YV}, ["subtract"])
    sub = out.outputs[0]
    assert sub.type == "subtract" and [i.op_name for i in sub.inputs] == ["x", "y"]


@pytest.mark.parametrize("build, want_ops", [
    (lambda z: gf.transpose(gf.transpose(z, (1, 0, 2)), (1, 0, 2)), []),
    (lambda z: gf.transpose(gf.transpose(z, (1, 2, 0)), (2, 0, 1)), []),
    (lambda z: gf.transpose(gf.transpose(z, (1, 2, 0)), (1, 2, 0)), ["transpose"]),
    (lambda z: gf.transpose(gf.transpose(z, (1, 0, 2)), (0, 2, 1)), ["transpose"]),
    (lambda z: gf.transpose(z, (0, 1, 2)), []),
    (lambda z: gf.reshape(gf.reshape(z, (6, 4)), (4, 6)), ["reshape"]),
    (lambda z: gf.reshape(gf.reshape(z, (24,)), (2, 3, 4)), []),
    (lambda z: gf.reshape(gf.reshape(gf.reshape(z, (24,)), (4, -1)), (-1, 2)), ["reshape"]),
    (lambda z: gf.squeeze(gf.expand_dims(z, 1), 1), []),
    (lambda z: gf.expand_dims(gf.reshape(z, (6, 4)), 0), ["reshape"]),
    (lambda z: gf.reshape(z, (2, 3, 4)), []),
])
def test_transpose_and_reshape_chains(build, want_ops):
    z = gf.placeholder(gf.float64, shape=(2, 3, 4), name="z")
    zv = np.arange(24.0).reshape(2, 3, 4)
    check_simplified(build(z), {z: zv}, want_ops)


def test_transpose_of_transpose_with_default_perms_is_x():
    # gf.transpose(x) reverses the axes; twice is the identity (the docstring's own example).
    z = gf.placeholder(gf.float32, shape=(2, 3, 4), name="z")
    zv = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    check_simplified(gf.transpose(gf.transpose(z)), {z: zv}, [])


def test_two_transposes_combine_into_the_right_permutation():
    z = gf.placeholder(gf.float32, shape=(2, 3, 4), name="z")
    y = gf.transpose(gf.transpose(z, (2, 0, 1)), (0, 2, 1))
    out = check_simplified(y, {z: np.arange(24, dtype=np.float32).reshape(2, 3, 4)},
                           ["transpose"])
    assert out.outputs[0].attrs["perm"] == (2, 1, 0) and out.outputs[0].inputs[0].op_name == "z"


@pytest.mark.parametrize("reduce", [gf.reduce_sum, gf.reduce_mean, gf.reduce_max])
def test_a_reduction_over_size_1_axes_is_a_reshape(reduce):
    w = gf.placeholder(gf.float32, shape=(3, 1, 2), name="w")
    wv = np.float32([[[1, NAN]], [[-INF, 2]], [[-0.0, 5]]])
    # A sum of one -0.0 is +0.0 in numpy: the rewrite adds +0.0 to keep that bit exact.
    plus_zero = [] if reduce is gf.reduce_max else ["add"]
    check_simplified(reduce(w, axis=1), {w: wv}, ["reshape"] + plus_zero)
    check_simplified(reduce(w, axis=1, keepdims=True), {w: wv}, plus_zero)
    got = gf.Session().run(reduce(w, axis=1), {w: wv})
    want = gf.Session(optimize=False).run(reduce(w, axis=1), {w: wv})
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_a_reduction_over_a_bigger_axis_stays():
    w = gf.placeholder(gf.float32, shape=(3, 1, 2), name="w")
    wv = np.float32([[[1, 4]], [[-3, 2]], [[0.5, 5]]])
    check_simplified(gf.reduce_sum(w, axis=(1, 2)), {w: wv}, ["reduce_sum"])


def test_multiplying_by_the_all_ones_gradient_seed_disappears():
    x = gf.placeholder(gf.float32, shape=(2, 3), name="x")
    w = gf.placeholder(gf.float32, shape=(2, 3), name="w")
    (gw,) = gf.gradients(gf.reduce_sum(x * w), [w])  # = ones * x
    fn = fold.run(extract([gw], {x: ((2, 3), F32), w: ((2, 3), F32)}))
    assert "multiply" in computed(fn)
    out = run_pure(fn)
    assert computed(out) == [] and out.outputs[0] is out.inputs[0]  # the gradient is x itself

    xv, wv = np.float32([[1, 2, 3], [NAN, -INF, -0.0]]), np.ones((2, 3), np.float32)
    want = gf.Session(optimize=False).run(gw, {x: xv, w: wv})
    for sess in (gf.Session(passes=["fold", "simplify", "prune"], check=True), gf.Session()):
        prog = sess.make_callable(gw, [x, w])
        np.testing.assert_array_equal(prog(xv, wv), want)
        assert prog.ops == ()


def test_the_gradient_seed_disappears_for_a_big_batch_too():
    # Too big to be folded into a constant: the seed stays a broadcast that simplify removes.
    x = gf.placeholder(gf.float32, shape=(None, 100), name="x")
    w = gf.placeholder(gf.float32, shape=(None, 100), name="w")
    (gw,) = gf.gradients(gf.reduce_sum(x * w), [w])
    xv = np.random.default_rng(0).standard_normal((200, 100)).astype(np.float32)
    prog = gf.Session(check=True).make_callable(gw, [x, w])
    np.testing.assert_array_equal(prog(xv, xv), xv)
    assert prog.ops == ()


def test_autodiff_helpers_become_static_once_shapes_are_known():
    x = gf.placeholder(gf.float64, shape=(None, 3), name="x")
    b = gf.placeholder(gf.float64, shape=(3,), name="b")
    (gb,) = gf.gradients(gf.reduce_sum(gf.tanh(x + b)), [b])
    xv, bv = np.arange(6.0).reshape(2, 3) / 4, np.float64([0.1, -0.2, 0.3])
    fn = extract([gb], {x: ((2, 3), np.dtype(np.float64)), b: ((3,), np.dtype(np.float64))})
    assert "sum_to" in types(fn)
    out = run_pure(fn)
    assert {"sum_to", "broadcast_like", "reshape_like"}.isdisjoint(computed(out))
    want = (1 - np.tanh(xv + bv) ** 2).sum(axis=0)
    np.testing.assert_allclose(gf.Session(optimize=False).run(gb, {x: xv, b: bv}), want,
                               rtol=1e-12)
    prog = gf.Session(passes=["simplify", "prune"], check=True).make_callable(gb, [x, b])
    np.testing.assert_allclose(prog(xv, bv), want, rtol=1e-12)
    assert {"sum_to", "broadcast_like", "reshape_like"}.isdisjoint(prog.ops)


# -- what simplify must leave alone -----------------------------------------------------------
@pytest.mark.parametrize("build", [
    lambda x: x * 0.0,
    lambda x: 0.0 * x,
    lambda x: x * gf.constant(np.zeros(3, np.float32)),
])
def test_x_times_zero_is_not_zero(build):
    x = gf.placeholder(gf.float32, shape=(3,), name="x")
    y = build(x)
    xv = np.float32([NAN, INF, 2.0])
    out = check_simplified(y, {x: xv}, ["multiply"])
    assert out.outputs[0].type == "multiply"
    got = gf.Session().run(y, {x: xv})
    assert np.isnan(got[0]) and np.isnan(got[1]) and got[2] == 0


@pytest.mark.parametrize("build", [
    lambda v: v * gf.constant(np.ones((2, 3), np.float32)),
    lambda v: gf.constant(np.ones((2, 3), np.float32)) * v,
    lambda v: v + gf.constant(np.zeros((2, 3), np.float32)),
    lambda v: v - gf.constant(np.zeros((2, 3), np.float32)),
    lambda v: v / gf.constant(np.ones((2, 3), np.float32)),
    lambda v: gf.where(gf.constant(True), v, gf.constant(np.ones((2, 3), np.float32))),
])
def test_an_identity_operand_that_broadcasts_x_bigger_is_kept(build):
    v = gf.placeholder(gf.float32, shape=(3,), name="v")
    y = build(v)
    assert y.shape == (2, 3)
    out = check_simplified(y, {v: np.float32([1, NAN, -2])}, [y.type])
    assert out.outputs[0].shape == (2, 3)


def test_integer_division_by_one_keeps_its_float_result():
    i = gf.placeholder(gf.int32, shape=(3,), name="i")
    y = i / 1
    assert y.dtype == np.float64
    out = check_simplified(y, {i: np.int32([1, -7, 3])}, ["divide"])
    assert out.outputs[0].dtype == np.float64


def test_a_cast_to_another_dtype_stays():
    x = gf.placeholder(gf.float32, shape=(3,), name="x")
    check_simplified(gf.cast(x, gf.float64), {x: np.float32([0.1, 2, 3])}, ["cast"])


def test_where_with_a_condition_of_many_elements_stays():
    x, y = xy()
    cond = gf.constant(np.array([True, False, True]))
    check_simplified(gf.where(cond, x, y), {x: XV, y: YV}, ["where"])


def test_ordinary_arithmetic_is_left_alone():
    x, y = xy()
    fn = extract([(x * 2.0 + y) / 3.0 - 1.0], {x: ((2, 3), F32), y: ((2, 3), F32)})
    out = run_pure(fn)
    assert signature(out) == signature(fn)
