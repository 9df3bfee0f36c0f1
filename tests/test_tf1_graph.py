"""TF1 parity: control dependencies and variable reads, default sessions, eval/run, collections."""

import warnings

import numpy as np
import pytest

import graphflow as gf

SESSIONS = [pytest.param(dict(optimize=False), id="interpreter"),
            pytest.param(dict(check=True), id="compiled")]


@pytest.mark.parametrize("options", SESSIONS)
def test_reads_under_a_control_dependency_see_the_assigned_value(options):
    v = gf.Variable(0.0, name="v")
    with gf.control_dependencies([v.assign_add(1.0)]):
        first = gf.identity(v)
        second = v * 1.0
    sess = gf.Session(**options)
    assert [sess.run([first, second]) for _ in range(3)] == [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]


@pytest.mark.parametrize("options", SESSIONS)
def test_a_plain_read_sees_the_value_at_the_start_of_the_run(options):
    v = gf.Variable(5.0, name="v")
    update = v.assign(v * 2.0)
    sess = gf.Session(**options)
    assert sess.run([v, update]) == [5.0, 10.0]
    assert sess.run(v) == 10.0


@pytest.mark.parametrize("options", SESSIONS)
def test_control_dependency_runs_the_dependency_first(options):
    counter = gf.Variable(0.0, name="counter")
    tick = counter.assign_add(1.0)
    x = gf.placeholder(gf.float32, (), name="x")
    with gf.control_dependencies([tick]):
        y = x * 2.0  # no data dependency on tick: only the control edge makes it run
    sess = gf.Session(**options)
    for _ in range(4):
        assert sess.run(y, {x: 3.0}) == 6.0
    assert sess.run(counter) == 4.0


def test_passes_keep_control_dependencies():
    counter = gf.Variable(0.0, name="counter")
    tick = counter.assign_add(1.0)
    with gf.control_dependencies([tick]):
        folded = gf.constant(2.0) * 3.0  # constant-only: folding it must not lose the edge
        dup_a = gf.exp(gf.constant(1.0))
    dup_b = gf.exp(gf.constant(1.0))
    sess = gf.Session(check=True)
    assert sess.run(folded) == 6.0
    assert sess.run(counter) == 1.0
    a, b = sess.run([dup_a, dup_b])
    assert a == b and sess.run(counter) == 2.0


def test_no_op_and_nested_blocks():
    a = gf.Variable(0.0, name="a")
    b = gf.Variable(0.0, name="b")
    with gf.control_dependencies([a.assign_add(1.0)]):
        with gf.control_dependencies([b.assign_add(10.0)]):
            both = gf.no_op(name="both")
        with gf.control_dependencies(None):
            neither = gf.no_op(name="neither")
    sess = gf.Session()
    assert sess.run(both) is None
    sess.run(neither)
    assert sess.run([a, b]) == [1.0, 10.0]


def test_control_dependencies_refuses_non_tensors():
    with pytest.raises(TypeError, match="not a tensor or an operation"):
        with gf.control_dependencies([3.0]):
            pass


def test_with_session_is_the_default_and_eval_run_use_it():
    v = gf.Variable(2.0, name="v")
    double = v.assign(v * 2.0)
    assert gf.get_default_session() is None
    with gf.Session() as sess:
        assert gf.get_default_session() is sess
        assert v.eval() == 2.0
        double.op.run()
        assert v.eval() == 4.0
        assert (v * 3.0).eval(feed_dict={v: 1.0}) == 3.0
    assert gf.get_default_session() is None
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(v)


def test_as_default_does_not_close_and_nests():
    v = gf.Variable(1.0, name="v")
    outer, inner = gf.Session(), gf.Session()
    inner.run(v.assign(7.0))
    with outer.as_default():
        assert v.eval() == 1.0
        with inner.as_default():
            assert v.eval() == 7.0
        assert v.eval() == 1.0
    assert outer.run(v) == 1.0  # still open


def test_interactive_session_until_closed_and_explicit_session():
    x = gf.constant(3.0)
    sess = gf.InteractiveSession()
    assert x.eval() == 3.0
    sess.close()
    with pytest.raises(ValueError, match="no default session"):
        x.eval()
    assert x.eval(session=gf.Session()) == 3.0


def test_eval_with_a_session_of_another_graph_is_refused():
    x = gf.constant(1.0, name="x")
    other = gf.Graph()
    with pytest.raises(ValueError, match="not the graph of 'x'"):
        x.eval(session=gf.Session(graph=other))


def test_collections_and_graph_keys():
    w = gf.Variable(np.ones(3, np.float32), name="w")
    gf.Variable(0, name="steps", trainable=False)
    assert gf.get_collection(gf.GraphKeys.TRAINABLE_VARIABLES) == [w]
    assert [v.op.name for v in gf.get_collection(gf.GraphKeys.GLOBAL_VARIABLES)] == ["w", "steps"]
    assert gf.get_collection(gf.GraphKeys.GLOBAL_VARIABLES, scope="st")[0].op.name == "steps"
    gf.add_to_collection(gf.GraphKeys.REGULARIZATION_LOSSES, gf.nn.l2_loss(w))
    gf.add_to_collection(gf.GraphKeys.REGULARIZATION_LOSSES, gf.reduce_sum(w))
    assert gf.Session().run(gf.losses.get_regularization_loss()) == pytest.approx(1.5 + 3.0)
    with gf.Graph().as_default():
        assert gf.Session().run(gf.losses.get_regularization_loss()) == 0.0


@pytest.mark.parametrize("options", SESSIONS)
def test_variable_from_a_tensor_is_evaluated_once(options):
    a = gf.Variable(np.arange(3.0), name="a")
    b = gf.Variable(a * 2.0 + 1.0, name="b")
    c = gf.Variable(gf.zeros_like(a), name="c", dtype=gf.float32)
    assert b.shape == (3,) and c.dtype == gf.float32
    sess = gf.Session(**options)
    np.testing.assert_array_equal(sess.run(b), [1.0, 3.0, 5.0])
    sess.run(a.assign([5.0, 5.0, 5.0]))
    np.testing.assert_array_equal(sess.run(b), [1.0, 3.0, 5.0])  # not evaluated again
    sess.run(b.initializer)
    np.testing.assert_array_equal(sess.run(b), [11.0, 11.0, 11.0])


def test_variable_initial_value_needs_a_known_shape_and_no_feed():
    x = gf.placeholder(gf.float32, (None,), name="x")
    with pytest.raises(ValueError, match="fully known shape"):
        gf.Variable(x * 2.0)
    y = gf.placeholder(gf.float32, (2,), name="y")
    v = gf.Variable(y * 2.0, name="v")
    with pytest.raises(gf.FeedError, match="depends on placeholder"):
        gf.Session().run(v)


def _run_both(build, runs=2, feed=None):
    """The same graph built twice: the interpreter's and the compiled session's results."""
    results = []
    for options in (dict(optimize=False), dict()):
        with gf.Graph().as_default():
            fetches = build()
            sess = gf.Session(**options)
            results.append([sess.run(fetches, feed) for _ in range(runs)])
    return results


def _assert_same(results):
    interp, compiled = results
    for a, b in zip(interp, compiled):
        for x, y in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
            if x is None or y is None:
                assert x is y
            else:
                np.testing.assert_array_equal(x, y)


def test_a_plain_read_used_after_an_update_keeps_the_start_of_run_value():
    def build():
        v = gf.Variable(np.array([1.0]), name="v")
        r0 = gf.identity(v)  # a plain read: the value at the start of the run
        up = v.assign_add([1.0])
        with gf.control_dependencies([up]):
            return [r0 * 2.0, (v * 1.0) + 0.0]
    results = _run_both(build)
    _assert_same(results)
    assert results[0][0][0] == [2.0]


def test_updates_reading_other_updated_variables_see_start_values():
    def copy_target():  # w_old <- w, in the same run as w's own update
        w = gf.Variable(np.ones(3), name="w")
        w_old = gf.Variable(np.zeros(3), name="w_old", trainable=False)
        return [gf.group(w.assign_sub(np.full(3, 0.5)), w_old.assign(w)), w_old, w]

    def swap():
        a, b = gf.Variable([1.0], name="a"), gf.Variable([2.0], name="b")
        return [gf.group(a.assign(b), b.assign(a)), a, b]

    def accumulate():
        w, acc = gf.Variable([1.0], name="w"), gf.Variable([0.0], name="acc")
        return [gf.group(w.assign_add([1.0]), acc.assign_add(w)), acc]
    for build in (copy_target, swap, accumulate):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a swap runs in the interpreter, with a warning
            _assert_same(_run_both(build, runs=3))


def test_assign_inside_control_dependencies_reads_the_assigned_value_in_both():
    def build():
        v, w = gf.Variable([1.0], name="v"), gf.Variable([10.0], name="w")
        uv = v.assign_add([1.0])
        with gf.control_dependencies([uv]):
            return w.assign(v)
    results = _run_both(build)
    _assert_same(results)
    assert results[0][0][0] == 2.0
