"""Session: fetch structures, variables' lifetime, partial runs, feeding, make_callable, and the
rule that arrays handed to the caller are the caller's."""

import collections

import numpy as np
import pytest

import graphflow as gf

Pair = collections.namedtuple("Pair", "first second")


def f32(*values):
    return np.array(values, np.float32)


# -- fetches -----------------------------------------------------------------------------------
def test_run_a_tensor_returns_a_numpy_value():
    x = gf.placeholder(gf.float32, shape=(None, 2), name="x")
    y = x * 2.0 + 1.0
    with gf.Session() as sess:
        out = sess.run(y, feed_dict={x: [[1.0, 2.0]]})
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[3.0, 5.0]])


def test_run_a_scalar():
    out = gf.Session().run(gf.constant(2.0) * 3.0)
    assert out == 6.0
    assert np.asarray(out).dtype == np.float32


def test_run_an_op_returns_none():
    v = gf.Variable(f32(1.0))
    sess = gf.Session()
    assert sess.run(gf.group(v.assign_add(f32(1.0)))) is None
    assert sess.run(gf.global_variables_initializer()) is None
    assert sess.run(v.initializer) is None
    assert sess.run(gf.constant(1.0).op) is None


def test_run_keeps_the_structure_of_nested_fetches():
    a = gf.constant(1.0)
    b = gf.constant(np.array([2, 3], np.int32))
    v = gf.Variable(f32(4.0))
    out = gf.Session().run({"list": [a, (b, v.initializer)], "pair": Pair(a, [b]), "t": (a,)})
    assert set(out) == {"list", "pair", "t"}
    first, (second, op) = out["list"]
    assert isinstance(out["list"], list) and isinstance(out["list"][1], tuple)
    assert first == 1.0 and second.tolist() == [2, 3] and op is None
    assert isinstance(out["pair"], Pair)
    assert out["pair"].first == 1.0 and out["pair"].second[0].tolist() == [2, 3]
    assert isinstance(out["t"], tuple) and out["t"] == (1.0,)


def test_run_an_empty_and_a_repeated_fetch():
    a = gf.constant(f32(1.0, 2.0))
    sess = gf.Session()
    assert sess.run([]) == []
    first, second = sess.run([a, a])
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("make", [
    lambda items: collections.OrderedDict(items),
    lambda items: collections.defaultdict(list, items),
], ids=["OrderedDict", "defaultdict"])
def test_run_accepts_dict_subclasses(make):
    a, b = gf.constant(1.0), gf.constant(2.0)
    fetches = make([("a", a), ("b", b)])
    out = gf.Session().run(fetches)
    assert type(out) is type(fetches)
    assert dict(out) == {"a": 1.0, "b": 2.0}


def test_session_on_another_graph():
    g = gf.Graph()
    with g.as_default():
        a = gf.constant(2.0)
        b = a * 3.0
    assert gf.Session(graph=g).run(b) == 6.0


# -- closing -----------------------------------------------------------------------------------
def test_closed_session_cannot_run():
    a = gf.constant(1.0)
    sess = gf.Session()
    assert sess.run(a) == 1.0
    sess.close()
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(a)


def test_context_manager_closes_the_session():
    a = gf.constant(1.0)
    with gf.Session() as sess:
        assert sess.run(a) == 1.0
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(a)


def test_callable_of_a_closed_session_cannot_run():
    a = gf.constant(1.0)
    sess = gf.Session()
    call = sess.make_callable(a)
    sess.close()
    with pytest.raises(RuntimeError, match="closed"):
        call()


# -- variables ---------------------------------------------------------------------------------
def test_variable_is_initialized_the_first_time_it_is_needed():
    v = gf.Variable(f32(1.0, 2.0), name="v")
    np.testing.assert_array_equal(gf.Session().run(v), [1.0, 2.0])


def test_two_sessions_on_one_graph_have_independent_variables():
    v = gf.Variable(f32(0.0), name="v")
    inc = v.assign_add(f32(1.0))
    first, second = gf.Session(), gf.Session()
    first.run(inc)
    first.run(inc)
    second.run(inc)
    assert first.run(v).tolist() == [2.0]
    assert second.run(v).tolist() == [1.0]


def test_global_variables_initializer_resets_every_variable():
    v = gf.Variable(f32(1.0), name="v")
    w = gf.Variable(np.int32(5), name="w", trainable=False)
    change = gf.group(v.assign(f32(7.0)), w.assign_add(3))
    sess = gf.Session()
    sess.run(change)
    v_value, w_value = sess.run([v, w])
    assert v_value.tolist() == [7.0] and w_value == 8
    sess.run(gf.global_variables_initializer())
    assert sess.run(v).tolist() == [1.0]
    assert sess.run(w) == 5


def test_variable_initializer_resets_only_that_variable():
    v = gf.Variable(f32(1.0), name="v")
    w = gf.Variable(f32(2.0), name="w")
    sess = gf.Session()
    sess.run([v.assign(f32(10.0)), w.assign(f32(20.0))])
    sess.run(v.initializer)
    v_value, w_value = sess.run([v, w])
    assert v_value.tolist() == [1.0] and w_value.tolist() == [20.0]


def test_assign_ops_return_the_new_value():
    v = gf.Variable(f32(1.0, 2.0), name="v")
    sess = gf.Session()
    assert sess.run(gf.assign(v, f32(5.0, 6.0))).tolist() == [5.0, 6.0]
    assert sess.run(gf.assign_add(v, f32(1.0, 1.0))).tolist() == [6.0, 7.0]
    assert sess.run(gf.assign_sub(v, f32(2.0, 4.0))).tolist() == [4.0, 3.0]
    assert sess.run(v).tolist() == [4.0, 3.0]


def test_variable_assign_methods():
    v = gf.Variable(f32(1.0), name="v")
    sess = gf.Session()
    assert sess.run(v.assign(f32(3.0))).tolist() == [3.0]
    assert sess.run(v.assign_add(f32(2.0))).tolist() == [5.0]
    assert sess.run(v.assign_sub(f32(1.5))).tolist() == [3.5]
    assert sess.run(v).tolist() == [3.5]


def test_assign_from_a_graph_value_and_training_step():
    x = gf.placeholder(gf.float32, shape=(None, 1), name="x")
    w = gf.Variable(f32(0.0), name="w")
    loss = gf.reduce_mean(gf.square(x * w - 2.0))
    (dw,) = gf.gradients(loss, [w])
    step = w.assign_sub(dw * 0.25)
    sess = gf.Session()
    for _ in range(50):
        sess.run(step, {x: [[1.0], [1.0]]})
    np.testing.assert_allclose(sess.run(w), [2.0], rtol=1e-5)


def test_global_and_trainable_variables():
    a = gf.Variable(1.0, name="a")
    b = gf.Variable(2.0, name="b", trainable=False)
    c = gf.Variable(3.0, name="c")
    assert gf.global_variables() == [a, b, c]
    assert gf.trainable_variables() == [a, c]


def test_variable_collections_are_per_graph(fresh_graph):
    g = gf.Graph()
    with g.as_default():
        other = gf.Variable(1.0)
    mine = gf.Variable(2.0)
    assert gf.global_variables() == [mine]
    assert gf.global_variables(g) == [other]
    assert gf.trainable_variables(g) == [other]


# -- what runs ---------------------------------------------------------------------------------
def test_only_the_needed_nodes_run():
    v = gf.Variable(f32(0.0), name="v")
    inc = v.assign_add(f32(1.0))
    doubled = v * 2.0
    sess = gf.Session()
    assert sess.run(doubled).tolist() == [0.0]  # `inc` is not needed, so it must not run
    sess.run(inc)
    assert sess.run(doubled).tolist() == [2.0]


def test_an_unfed_placeholder_on_an_unused_branch_is_fine():
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    unused = gf.placeholder(gf.float32, shape=(2,), name="unused")
    y = x * 2.0
    gf.add(y, unused)  # a branch that needs `unused`
    assert gf.Session().run(y, {x: f32(1.0, 2.0)}).tolist() == [2.0, 4.0]


def test_feeding_an_intermediate_tensor_overrides_it():
    x = gf.placeholder(gf.float32, shape=(None,), name="x")
    y = x * 2.0
    z = y + 1.0
    sess = gf.Session()
    assert sess.run(z, {y: f32(10.0)}).tolist() == [11.0]  # x is not needed any more
    assert sess.run(z, {x: f32(10.0)}).tolist() == [21.0]


def test_feeding_a_variable_overrides_it_for_that_run_only():
    v = gf.Variable(f32(1.0, 2.0), name="v")
    sess = gf.Session()
    assert sess.run(v * 2.0, {v: f32(5.0, 6.0)}).tolist() == [10.0, 12.0]
    assert sess.run(v).tolist() == [1.0, 2.0]


def test_feeding_a_constant_overrides_it():
    c = gf.constant(1.0)
    assert gf.Session().run(c + 1.0, {c: 5.0}) == 6.0


def test_float64_fed_to_float32_placeholder_is_cast():
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    out = gf.Session().run(x * 1.0, {x: np.array([0.5, 1.5], np.float64)})
    assert out.dtype == np.float32
    assert out.tolist() == [0.5, 1.5]


def test_python_lists_and_numbers_can_be_fed():
    x = gf.placeholder(gf.float32, shape=(None, 2), name="x")
    n = gf.placeholder(gf.int32, shape=(), name="n")
    sess = gf.Session()
    out = sess.run(x + 1.0, {x: [[1, 2], [3.5, 4]]})
    assert out.dtype == np.float32
    assert out.tolist() == [[2.0, 3.0], [4.5, 5.0]]
    assert sess.run(n * 2, {n: 4}) == 8


def test_a_placeholder_of_unknown_rank_takes_any_shape():
    x = gf.placeholder(gf.float32, shape=None, name="x")
    sess = gf.Session()
    assert sess.run(x, {x: 3.0}) == 3.0
    assert sess.run(x, {x: np.ones((2, 3, 4))}).shape == (2, 3, 4)


# -- make_callable -----------------------------------------------------------------------------
def test_make_callable_takes_feeds_positionally():
    x = gf.placeholder(gf.float32, shape=(None,), name="x")
    y = gf.placeholder(gf.float32, shape=(None,), name="y")
    v = gf.Variable(f32(0.0), name="v")
    total = x * 10.0 + y
    step = gf.group(v.assign_add(gf.reduce_sum(total, keepdims=True)))
    sess = gf.Session()
    call = sess.make_callable([total, {"step": step}], [x, y])
    out, ops = call(f32(1.0, 2.0), [3.0, 4.0])
    assert out.tolist() == [13.0, 24.0]
    assert ops == {"step": None}
    out, _ = call(f32(0.0), f32(1.0))
    assert out.tolist() == [1.0]
    assert sess.run(v).tolist() == [38.0]


def test_make_callable_without_feeds():
    v = gf.Variable(f32(0.0))
    call = gf.Session().make_callable(v.assign_add(f32(1.0)))
    assert call().tolist() == [1.0]
    assert call().tolist() == [2.0]


def test_make_callable_checks_the_number_of_values():
    x = gf.placeholder(gf.float32, shape=(), name="x")
    call = gf.Session().make_callable(x * 2.0, [x])
    with pytest.raises(TypeError, match="x"):
        call()
    with pytest.raises(TypeError):
        call(1.0, 2.0)
    assert call(1.0) == 2.0


# -- returned arrays belong to the caller --------------------------------------------------------
def test_a_kept_variable_value_is_not_changed_by_a_later_assign():
    v = gf.Variable(f32(1.0, 2.0), name="v")
    sess = gf.Session()
    kept = sess.run(v)
    sess.run(v.assign(f32(8.0, 9.0)))
    sess.run(v.assign_add(f32(1.0, 1.0)))
    assert kept.tolist() == [1.0, 2.0]


def test_a_kept_assign_result_is_not_changed_by_a_later_assign():
    v = gf.Variable(f32(1.0), name="v")
    inc = v.assign_add(f32(1.0))
    sess = gf.Session()
    kept = sess.run(inc)
    sess.run(inc)
    assert kept.tolist() == [2.0]
    assert sess.run(v).tolist() == [3.0]


def test_mutating_a_returned_array_does_not_change_the_session():
    v = gf.Variable(f32(1.0, 2.0), name="v")
    inc = v.assign_add(f32(1.0, 1.0))
    sess = gf.Session()
    sess.run(v)[0] = 100.0
    assert sess.run(v).tolist() == [1.0, 2.0]
    sess.run(inc)[1] = 100.0
    assert sess.run(v).tolist() == [2.0, 3.0]


def test_mutating_a_returned_constant_does_not_change_the_graph():
    c = gf.constant(f32(1.0, 2.0))
    sess = gf.Session()
    sess.run(c)[0] = 100.0
    assert sess.run(c).tolist() == [1.0, 2.0]


def test_two_fetches_of_one_tensor_are_separate_arrays():
    v = gf.Variable(f32(1.0, 2.0), name="v")
    first, second = gf.Session().run([v, v])
    first[0] = 100.0
    assert second.tolist() == [1.0, 2.0]


def test_a_fed_array_is_not_returned_or_changed():
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    fed = f32(1.0, 2.0)
    out = gf.Session().run(gf.identity(x), {x: fed})
    out[0] = 100.0
    assert fed.tolist() == [1.0, 2.0]


def test_a_variable_assigned_from_a_fed_array_does_not_alias_it():
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    v = gf.Variable(f32(0.0, 0.0), name="v")
    fed = f32(1.0, 2.0)
    sess = gf.Session()
    sess.run(v.assign(x), {x: fed})
    fed[0] = 100.0
    assert sess.run(v).tolist() == [1.0, 2.0]
