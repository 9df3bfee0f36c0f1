"""Errors name what is at fault: the op, the shapes or dtypes, the tensors, and the file:line
where the user made the op. A failed run changes nothing and the session keeps working."""

import inspect
import os
import re

import numpy as np
import pytest

import graphflow as gf
from compiler.ops.shape import reshape_like

HERE = os.path.basename(__file__)


def f32(shape, name):
    return gf.constant(np.zeros(shape, np.float32), name=name)


def site_of(build) -> str:
    """'test_errors.py:N' for the line where the lambda `build` (and so its op) is written."""
    return f"{HERE}:{build.__code__.co_firstlineno}"


def next_line_site() -> str:
    """'test_errors.py:N' for the line just after the caller's."""
    return f"{HERE}:{inspect.currentframe().f_back.f_lineno + 1}"


def assert_names_site(message: str, site: str):
    assert re.search(re.escape(site) + r"(?!\d)", message), (site, message)


def assert_mentions(message: str, *fragments: str):
    for fragment in fragments:
        assert fragment in message, (fragment, message)


# -- build time: shapes --------------------------------------------------------------------------
@pytest.mark.parametrize("build, fragments", [
    pytest.param(lambda: gf.matmul(f32((3, 4), "a"), f32((5, 6), "b")),
                 ["matmul", "(3, 4)", "(5, 6)"], id="matmul"),
    pytest.param(lambda: f32((3, 4), "a") @ f32((5, 6), "b"),
                 ["matmul", "(3, 4)", "(5, 6)"], id="matmul-operator"),
    pytest.param(lambda: f32((2, 3), "a") + f32((4,), "b"),
                 ["add", "(2, 3)", "(4,)"], id="broadcast"),
    pytest.param(lambda: gf.multiply(f32((2, 3), "a"), f32((3, 2), "b")),
                 ["multiply", "(2, 3)", "(3, 2)"], id="broadcast-multiply"),
    pytest.param(lambda: gf.reshape(f32((3, 4), "a"), (5, -1)),
                 ["reshape", "(3, 4)", "(5, -1)"], id="reshape-inferred"),
    pytest.param(lambda: gf.reshape(f32((3, 4), "a"), (5,)),
                 ["reshape", "(3, 4)", "(5,)"], id="reshape"),
    pytest.param(lambda: gf.reduce_sum(f32((3, 4), "a"), axis=2),
                 ["reduce_sum", "(3, 4)", "axis"], id="reduce-axis"),
    pytest.param(lambda: gf.reduce_mean(f32((3, 4), "a"), axis=-3),
                 ["reduce_mean", "(3, 4)", "axis"], id="reduce-negative-axis"),
    pytest.param(lambda: gf.reduce_max(f32((3, 4), "a"), axis=(0, 5)),
                 ["reduce_max", "(3, 4)", "axis"], id="reduce-axis-tuple"),
    pytest.param(lambda: gf.concat([f32((3, 4), "a"), f32((4,), "b")], 0),
                 ["concat", "(3, 4)", "(4,)"], id="concat-rank"),
    pytest.param(lambda: gf.concat([f32((3, 4), "a"), f32((3, 5), "b")], 0),
                 ["concat", "(3, 4)", "(3, 5)"], id="concat-sizes"),
    pytest.param(lambda: gf.squeeze(f32((3, 4), "a"), 0),
                 ["squeeze", "(3, 4)"], id="squeeze"),
])
def test_build_time_shape_errors_name_op_shapes_and_site(build, fragments):
    with pytest.raises(ValueError) as info:
        build()
    assert isinstance(info.value, gf.ShapeError)
    message = str(info.value)
    assert_mentions(message, *fragments)
    assert_names_site(message, site_of(build))


def test_shape_error_names_a_user_given_op_name():
    a, b = f32((3, 4), "a"), f32((5, 6), "b")
    with pytest.raises(gf.ShapeError) as info:
        site = next_line_site()
        gf.matmul(a, b, name="logits")
    assert_mentions(str(info.value), "logits", "'a'", "'b'")
    assert_names_site(str(info.value), site)


def test_shape_errors_with_unknown_sizes_are_caught_when_the_known_sizes_clash():
    x = gf.placeholder(gf.float32, shape=(None, 784), name="x")
    w = gf.Variable(np.zeros((748, 10), np.float32), name="w")
    with pytest.raises(gf.ShapeError, match=r"784.*748|748.*784"):
        x @ w


def test_failed_build_leaves_no_half_made_node(fresh_graph):
    a, b = f32((3, 4), "a"), f32((5, 6), "b")
    before = str(fresh_graph)
    with pytest.raises(gf.ShapeError):
        gf.matmul(a, b)
    assert str(fresh_graph) == before


# -- build time: graphs and dtypes ----------------------------------------------------------------
def test_mixing_graphs_names_both_tensors():
    other = gf.Graph()
    with other.as_default():
        theirs = gf.constant(1.0, name="theirs")
    mine = gf.constant(1.0, name="mine")
    for build in (lambda: mine + theirs, lambda: gf.matmul(theirs, mine),
                  lambda: gf.concat([mine, theirs], 0), lambda: gf.group(mine, theirs)):
        with pytest.raises(gf.GraphMismatchError) as info:
            build()
        assert_mentions(str(info.value), "mine", "theirs")


def test_gradients_across_graphs_names_both_tensors():
    other = gf.Graph()
    with other.as_default():
        theirs = gf.constant(1.0, name="theirs")
    mine = gf.constant(1.0, name="mine")
    with pytest.raises(gf.GraphMismatchError) as info:
        gf.gradients(mine, [theirs])
    assert_mentions(str(info.value), "mine", "theirs")


def test_float32_with_float64_is_a_type_error_naming_both():
    single = gf.constant(np.zeros(3, np.float32), name="single")
    double = gf.constant(np.zeros(3, np.float64), name="double")
    with pytest.raises(TypeError) as info:
        site = next_line_site()
        gf.add(single, double)
    message = str(info.value)
    assert_mentions(message, "single", "double", "float32", "float64")
    assert_names_site(message, site)


def test_assign_of_the_wrong_static_shape_or_dtype():
    v = gf.Variable(np.zeros(3, np.float32), name="v")
    with pytest.raises(ValueError, match=r"'v'.*\(3,\)|\(3,\).*'v'"):
        gf.assign(v, gf.constant(np.zeros(4, np.float32), name="four"))
    with pytest.raises(TypeError) as info:
        gf.assign(v, gf.constant(np.zeros(3, np.float64), name="double"))
    assert_mentions(str(info.value), "float32", "float64")


def test_a_tensor_has_no_truth_value():
    t = gf.constant(0.5, name="t")
    with pytest.raises(TypeError, match="'t'"):
        bool(t)
    with pytest.raises(TypeError):
        if t:
            pass
    with pytest.raises(TypeError):
        _ = 0.0 < t < 1.0  # a chained comparison calls bool() on `0.0 < t`
    with pytest.raises(TypeError):
        _ = t and t


# -- run time: feeds ------------------------------------------------------------------------------
def test_an_unfed_placeholder_is_named():
    site = next_line_site()
    x = gf.placeholder(gf.float32, shape=(None, 3), name="images")
    with pytest.raises(gf.FeedError) as info:
        gf.Session().run(x * 2.0)
    assert_mentions(str(info.value), "images")
    assert_names_site(str(info.value), site)


def test_every_unfed_placeholder_is_named():
    x = gf.placeholder(gf.float32, shape=(), name="first")
    y = gf.placeholder(gf.float32, shape=(), name="second")
    with pytest.raises(gf.FeedError) as info:
        gf.Session().run(x + y)
    assert_mentions(str(info.value), "first", "second")


def test_an_unfed_placeholder_is_named_when_only_another_one_is_fed():
    x = gf.placeholder(gf.float32, shape=(), name="fed")
    y = gf.placeholder(gf.float32, shape=(), name="forgotten")
    with pytest.raises(gf.FeedError, match="forgotten"):
        gf.Session().run(x + y, {x: 1.0})


@pytest.mark.parametrize("value, got", [
    (np.zeros((2, 4), np.float32), r"\(2, 4\)"),
    (np.zeros((3,), np.float32), r"\(3,\)"),
    (np.zeros((1, 2, 3), np.float32), r"\(1, 2, 3\)"),
])
def test_a_fed_value_of_the_wrong_shape(value, got):
    x = gf.placeholder(gf.float32, shape=(None, 3), name="x")
    with pytest.raises(gf.FeedError) as info:
        gf.Session().run(x, {x: value})
    message = str(info.value)
    assert "'x'" in message
    assert re.search(got, message), message
    assert re.search(r"\((\?|None), 3\)", message), message


def test_a_known_size_must_match_exactly():
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    with pytest.raises(gf.FeedError, match=r"\(3,\)"):
        gf.Session().run(x, {x: np.zeros(3, np.float32)})


def test_a_float_value_fed_to_an_int_placeholder():
    n = gf.placeholder(gf.int32, shape=(2,), name="counts")
    with pytest.raises(gf.FeedError) as info:
        gf.Session().run(n, {n: np.array([1.5, 2.0])})
    assert_mentions(str(info.value), "counts", "float64", "int32")


def test_a_feed_key_that_is_not_a_tensor():
    x = gf.placeholder(gf.float32, shape=(), name="x")
    sess = gf.Session()
    for key in ("x", 0, x.op):
        with pytest.raises(gf.FeedError):
            sess.run(x, {key: 1.0, x: 1.0})


def test_a_feed_key_of_another_graph():
    other = gf.Graph()
    with other.as_default():
        theirs = gf.placeholder(gf.float32, shape=(), name="theirs")
    x = gf.placeholder(gf.float32, shape=(), name="x")
    with pytest.raises(gf.FeedError, match="theirs"):
        gf.Session().run(x, {x: 1.0, theirs: 1.0})


def test_make_callable_rejects_a_feed_list_entry_that_is_not_a_tensor():
    x = gf.placeholder(gf.float32, shape=(), name="x")
    with pytest.raises(gf.FeedError):
        gf.Session().make_callable(x, ["x"])


# -- run time: fetches --------------------------------------------------------------------------
# names that name nothing in the graph ("x" names the placeholder's op: a valid fetch, as in TF1)
@pytest.mark.parametrize("fetch", ["nope", 3, None, np.zeros(2), ["nope:0"], {"a": 1.5}],
                         ids=["str", "int", "None", "array", "nested-str", "nested-float"])
def test_fetching_something_that_is_not_a_tensor_or_op(fetch):
    gf.placeholder(gf.float32, shape=(), name="x")
    with pytest.raises(gf.FetchError):
        gf.Session().run(fetch)


def test_fetching_a_tensor_of_another_graph():
    other = gf.Graph()
    with other.as_default():
        theirs = gf.constant(1.0, name="theirs")
    with pytest.raises(gf.FetchError, match="theirs"):
        gf.Session().run(theirs)


# -- run time: kernels ----------------------------------------------------------------------------
def test_a_kernel_failure_in_assign_names_the_node_and_its_site():
    v = gf.Variable(np.zeros(3, np.float32), name="v")
    value = gf.placeholder(gf.float32, shape=None, name="value")
    site = next_line_site()
    update = gf.assign(v, value, name="update")
    with pytest.raises(gf.OpError) as info:
        gf.Session().run(update, {value: np.zeros(4, np.float32)})
    assert_mentions(str(info.value), "update")
    assert_names_site(str(info.value), site)


def test_a_reshape_like_failure_names_the_node_and_its_site():
    x = gf.placeholder(gf.float32, shape=None, name="x")
    like = gf.constant(np.zeros((3, 4), np.float32), name="like")
    site = next_line_site()
    y = reshape_like(x, like, name="reshaped")
    with pytest.raises(gf.OpError) as info:
        gf.Session().run(y, {x: np.zeros(5, np.float32)})
    assert_mentions(str(info.value), "reshaped")
    assert_names_site(str(info.value), site)


def test_a_run_time_axis_error_is_an_op_error():
    x = gf.placeholder(gf.float32, shape=None, name="x")
    site = next_line_site()
    total = gf.reduce_sum(x, axis=1, name="total")
    with pytest.raises(gf.OpError) as info:
        gf.Session().run(total, {x: np.zeros(3, np.float32)})
    assert_mentions(str(info.value), "total")
    assert_names_site(str(info.value), site)


# -- failed runs change nothing -------------------------------------------------------------------
@pytest.mark.parametrize("bad_feed", [
    lambda x: {},  # x missing
    lambda x: {x: np.zeros(4, np.float32)},  # wrong shape
    lambda x: {x: np.array([0.5, 1.5])},  # float for int
    lambda x: {x: np.zeros(2, np.int32), "x": 1},  # a key that is not a tensor
], ids=["missing", "shape", "dtype", "bad-key"])
def test_a_run_rejected_for_its_feeds_changes_nothing(bad_feed):
    x = gf.placeholder(gf.int32, shape=(2,), name="x")
    v = gf.Variable(np.array([1.0, 2.0], np.float32), name="v")
    sess = gf.Session()
    sess.run(v.assign(np.array([5.0, 6.0], np.float32)))
    inc = v.assign_add(np.array([1.0, 1.0], np.float32))
    with pytest.raises(gf.FeedError):
        sess.run([inc, x], bad_feed(x))
    assert sess.run(v).tolist() == [5.0, 6.0]
    values = sess.run([inc, x], {x: [1, 2]})  # the session still works
    assert values[0].tolist() == [6.0, 7.0] and values[1].tolist() == [1, 2]


def test_a_run_that_fails_midway_changes_no_variable():
    v = gf.Variable(np.zeros(3, np.float32), name="v")
    w = gf.Variable(np.ones(2, np.float32), name="w")
    value = gf.placeholder(gf.float32, shape=None, name="value")
    sess = gf.Session()
    sess.run([v.assign(np.full(3, 5.0, np.float32)), w.assign(np.full(2, 7.0, np.float32))])
    inc = v.assign_add(np.ones(3, np.float32))  # made first, so it runs before the failure
    reset = w.initializer
    bad = gf.assign(v, value)
    with pytest.raises(gf.OpError):
        sess.run(gf.group(inc, reset, bad), {value: np.zeros(4, np.float32)})
    assert sess.run(v).tolist() == [5.0, 5.0, 5.0]
    assert sess.run(w).tolist() == [7.0, 7.0]
    sess.run(gf.group(inc, reset, bad), {value: np.full(3, 2.0, np.float32)})
    assert sess.run(v).tolist() == [2.0, 2.0, 2.0]
    assert sess.run(w).tolist() == [1.0, 1.0]


def test_the_session_keeps_working_after_errors():
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    v = gf.Variable(np.zeros(2, np.float32), name="v")
    inc = v.assign_add(x)
    sess = gf.Session()
    for fetch, feed in [(inc, {}), (inc, {x: [1.0]}), ("inc", {x: [1.0, 1.0]})]:
        with pytest.raises((gf.FeedError, gf.FetchError)):
            sess.run(fetch, feed)
    assert sess.run(inc, {x: [1.0, 2.0]}).tolist() == [1.0, 2.0]
    assert sess.run(inc, {x: [1.0, 2.0]}).tolist() == [2.0, 4.0]


def test_errors_are_graphflow_errors_of_the_builtin_kinds():
    assert issubclass(gf.ShapeError, ValueError)
    assert issubclass(gf.DTypeError, TypeError)
    for cls in (gf.ShapeError, gf.DTypeError, gf.GraphMismatchError, gf.FeedError,
                gf.FetchError, gf.NoGradientError, gf.OpError):
        assert issubclass(cls, gf.errors.GraphflowError)


# -- gradients ------------------------------------------------------------------------------------
def test_gradient_through_an_op_without_one_names_it():
    x = gf.placeholder(gf.float32, shape=(3,), name="x")
    v = gf.Variable(np.zeros(3, np.float32), name="v")
    site = next_line_site()
    stored = gf.assign(v, x * 2.0, name="stored")
    with pytest.raises(gf.NoGradientError) as info:
        gf.gradients(gf.reduce_sum(stored), [x])
    assert_mentions(str(info.value), "stored")
    assert_names_site(str(info.value), site)


def test_stop_gradient_around_an_op_without_a_gradient():
    x = gf.placeholder(gf.float32, shape=(3,), name="x")
    v = gf.Variable(np.zeros(3, np.float32), name="v")
    stored = gf.assign(v, gf.stop_gradient(x * 2.0))
    assert gf.gradients(gf.reduce_sum(stored), [x]) == [None]


def test_gradients_through_integer_outputs_are_none():
    x = gf.placeholder(gf.float32, shape=(3,), name="x")
    y = gf.one_hot(gf.argmax(x * 2.0, 0), 3)
    assert gf.gradients(gf.reduce_sum(y), [x]) == [None]
    z = gf.cast(gf.argmax(x, 0), gf.float32)
    assert gf.gradients(z, [x]) == [None]
