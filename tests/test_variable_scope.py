"""gf.variable_scope / gf.get_variable against TF 1.15's documented behaviour (the examples of
tf.compat.v1.variable_scope's docstring, quoted where used) and numpy."""

import numpy as np
import pytest

import graphflow as gf


@pytest.fixture(autouse=True)
def fresh_graph():
    with gf.Graph().as_default() as graph:
        yield graph


def run(*fetches):
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        return sess.run(list(fetches))


# -- TF1's docstring examples ---------------------------------------------------------------------
def test_nested_scopes_name_variables():
    # with tf.variable_scope("foo"):
    #     with tf.variable_scope("bar"):
    #         v = tf.get_variable("v", [1])
    #         assert v.name == "foo/bar/v:0"
    with gf.variable_scope("foo"):
        with gf.variable_scope("bar"):
            v = gf.get_variable("v", [1])
    assert v.name == "foo/bar/v:0"
    assert gf.get_variable_scope().name == ""


def test_auto_reuse_makes_then_shares():
    def foo():
        with gf.variable_scope("foo", reuse=gf.AUTO_REUSE):
            return gf.get_variable("v", [1])
    v1 = foo()
    v2 = foo()
    assert v1 is v2
    assert [v.name for v in gf.global_variables()] == ["foo/v:0"]


def test_reuse_true_shares_and_reuse_variables_shares():
    with gf.variable_scope("foo"):
        v = gf.get_variable("v", [1])
    with gf.variable_scope("foo", reuse=True):
        assert gf.get_variable("v", [1]) is v
    with gf.variable_scope("bar") as scope:
        w = gf.get_variable("w", [2])
        scope.reuse_variables()
        assert scope.reuse is True and gf.get_variable_scope().reuse is True
        assert gf.get_variable("w", [2]) is w


def test_reuse_is_inherited_by_inner_scopes():
    with gf.variable_scope("a"):
        with gf.variable_scope("b"):
            v = gf.get_variable("v", [3])
    with gf.variable_scope("a", reuse=True):
        with gf.variable_scope("b"):  # reuse=None inherits True
            assert gf.get_variable_scope().reuse is True
            assert gf.get_variable("v", [3]) is v
        with gf.variable_scope("b", reuse=False):  # False means None since TF 1.1
            assert gf.get_variable("v") is v


def test_existing_variable_without_reuse_is_refused_naming_where_it_was_made():
    with gf.variable_scope("foo"):
        gf.get_variable("v", [1])
        with pytest.raises(ValueError, match=r"Variable foo/v already exists, disallowed\. "
                                             r"Did you mean to set reuse=True or "
                                             r"reuse=tf\.AUTO_REUSE in VarScope\? "
                                             r"Originally defined at: test_variable_scope\.py:"):
            gf.get_variable("v", [1])


def test_missing_variable_under_reuse_is_refused():
    with gf.variable_scope("foo", reuse=True):
        with pytest.raises(ValueError, match=r"Variable foo/v does not exist, or was not created "
                                             r"with tf\.get_variable\(\)\. Did you mean to set "
                                             r"reuse=tf\.AUTO_REUSE in VarScope\?"):
            gf.get_variable("v", [1])


def test_a_shape_or_dtype_mismatch_on_reuse_names_both():
    with gf.variable_scope("s"):
        gf.get_variable("w", [3, 2])
    with gf.variable_scope("s", reuse=True):
        with pytest.raises(ValueError, match=r"Trying to share variable s/w, but specified shape "
                                             r"\(2, 3\) and found shape \(3, 2\)"):
            gf.get_variable("w", [2, 3])
        with pytest.raises(ValueError, match="specified dtype float64 and found dtype float32"):
            gf.get_variable("w", [3, 2], gf.float64)
        assert gf.get_variable("w").shape == (3, 2)  # no shape: TF1 takes it as it is
        assert gf.get_variable("w", [None, 2]).shape == (3, 2)  # compatible


def test_reentering_a_scope_object_keeps_its_name_and_original_name_scope():
    # with tf.variable_scope("foo") as vs:
    #   pass
    # with tf.variable_scope(vs, auxiliary_name_scope=False) as vs1:
    #   with tf.name_scope(vs1.original_name_scope):
    #       v = tf.get_variable("v", [1]); assert v.name == "foo/v:0"
    #       c = tf.constant([1], name="c"); assert c.name == "foo/c:0"
    with gf.variable_scope("foo") as vs:
        pass
    assert vs.original_name_scope == "foo/"
    with gf.variable_scope(vs, auxiliary_name_scope=False) as vs1:
        with gf.name_scope(vs1.original_name_scope):
            v = gf.get_variable("v", [1])
            c = gf.constant([1], name="c")
    assert (v.name, c.name) == ("foo/v:0", "foo/c:0")
    with gf.variable_scope(vs) as vs2:  # a new name scope, the same variable scope
        d = gf.constant(1, name="d")
        assert gf.get_variable("w", [1]).name == "foo/w:0"
    assert (vs2.name, d.name) == ("foo", "foo_1/d:0")


def test_default_name_counters_restart_when_the_parent_is_reentered():
    # The docstring's example: foo/bar/a, foo/bar_1/b, then in `vs` again foo/bar/c.
    with gf.variable_scope("foo") as vs:
        with gf.variable_scope(None, default_name="bar"):
            a = gf.get_variable("a", [1])
        with gf.variable_scope(None, default_name="bar"):
            b = gf.get_variable("b", [1])
    with gf.variable_scope(vs):
        with gf.variable_scope(None, default_name="bar"):
            c = gf.get_variable("c", [1])
    assert [a.name, b.name, c.name] == ["foo/bar/a:0", "foo/bar_1/b:0", "foo/bar/c:0"]


# -- name scopes and variable scopes ------------------------------------------------------------
def test_a_second_scope_of_one_name_opens_a_new_name_scope_but_the_same_variables():
    with gf.variable_scope("a"):
        w = gf.get_variable("w", [2])
        y = gf.multiply(w, 2.0, name="y")
    with gf.variable_scope("a", reuse=True) as scope:
        w2 = gf.get_variable("w", [2])
        y2 = gf.multiply(w2, 2.0, name="y")
    assert w2 is w and scope.original_name_scope == "a_1/"
    assert (y.name, y2.name) == ("a/y:0", "a_1/y:0")


def test_name_scope_does_not_change_get_variable_names():
    with gf.variable_scope("vs"):
        with gf.name_scope("ns"):
            v = gf.get_variable("v", [1])
            op = gf.add(v, 1.0, name="op")
    assert (v.name, op.name) == ("vs/v:0", "vs/ns/op:0")
    with gf.name_scope("outer"):
        assert gf.get_variable("top", [1]).name == "top:0"


def test_get_collection_filters_by_scope_regex_from_the_start():
    with gf.variable_scope("disc"):
        d = gf.get_variable("w", [1])
    with gf.variable_scope("gen"):
        g = gf.get_variable("w", [1])
    with gf.variable_scope("gen") as scope:  # TF1: VariableScope.trainable_variables()
        assert scope.trainable_variables() == [g]
    keys = gf.GraphKeys.TRAINABLE_VARIABLES
    assert gf.get_collection(keys, scope="disc") == [d]
    assert gf.get_collection(keys, scope="gen|disc") == [d, g]
    assert gf.get_collection(keys, scope="w") == []  # match from the start, as re.match


# -- defaults and initializers ------------------------------------------------------------------
def test_scope_initializer_regularizer_and_dtype_are_inherited():
    with gf.variable_scope("s", initializer=gf.constant_initializer(3.0), dtype=gf.float64,
                           regularizer=gf.nn.l2_loss):
        with gf.variable_scope("inner"):
            v = gf.get_variable("v", [2, 2])
            assert gf.get_variable_scope().dtype == np.float64
    (losses,) = [gf.get_collection(gf.GraphKeys.REGULARIZATION_LOSSES)]
    assert v.dtype == np.float64 and len(losses) == 1
    value, loss = run(v, losses[0])
    np.testing.assert_array_equal(value, np.full((2, 2), 3.0))
    assert loss == pytest.approx(np.sum(np.full((2, 2), 3.0) ** 2) / 2)  # tf.nn.l2_loss


def test_default_initializers_are_glorot_uniform_for_floats_and_zeros_for_ints():
    w = gf.get_variable("w", [30, 20])
    n = gf.get_variable("n", [4], dtype=gf.int32)
    b = gf.get_variable("b", [2], dtype=gf.bool)
    wv, nv, bv = run(w, n, b)
    limit = np.sqrt(6.0 / (30 + 20))  # glorot_uniform's bound
    assert w.dtype == np.float32 and np.abs(wv).max() <= limit
    assert np.abs(wv).max() > 0.8 * limit and abs(wv.mean()) < 0.1 * limit  # uniform, not zeros
    np.testing.assert_array_equal(nv, np.zeros(4, np.int32))
    np.testing.assert_array_equal(bv, np.zeros(2, bool))


def test_constant_initializers_give_shape_and_dtype():
    a = gf.get_variable("a", initializer=np.arange(6.0).reshape(2, 3))  # float64, as TF1
    b = gf.get_variable("b", initializer=5)  # a Python int: int32
    c = gf.get_variable("c", initializer=gf.ones([2]) * 4.0)  # a tensor
    assert (a.shape, a.dtype, b.dtype, c.shape) == ((2, 3), np.float64, np.int32, (2,))
    av, bv, cv = run(a, b, c)
    np.testing.assert_array_equal(av, np.arange(6.0).reshape(2, 3))
    assert bv == 5 and list(cv) == [4.0, 4.0]
    with pytest.raises(ValueError, match="if initializer is a constant, do not specify shape"):
        gf.get_variable("d", [3], initializer=np.zeros(3))
    with pytest.raises(ValueError, match="Initializer type 'float64' and explicit dtype "
                                         "'float32' don't match"):
        gf.get_variable("e", dtype=gf.float32, initializer=np.zeros(3))
    with pytest.raises(ValueError, match="'f': the shape of a new variable must be fully known"):
        gf.get_variable("f")


def test_regularizer_argument_and_trainable_flag():
    w = gf.get_variable("w", [3], initializer=gf.ones_initializer(), trainable=False,
                        regularizer=lambda v: gf.reduce_sum(v) * 0.5)
    assert w not in gf.trainable_variables() and w in gf.global_variables()
    (loss,) = gf.get_collection(gf.GraphKeys.REGULARIZATION_LOSSES)
    assert loss.op.name.startswith("w/Regularizer/")
    assert run(loss)[0] == pytest.approx(1.5)


def test_custom_getter_wraps_the_real_getter():
    seen = []

    def custom_getter(getter, name, *args, **kwargs):  # TF1 passes the real one as getter=
        seen.append(name)
        return getter(name + "_suffix", *args, **kwargs)

    with gf.variable_scope("s", custom_getter=custom_getter):
        v = gf.get_variable("v", [1])
    assert (seen, v.name) == (["s/v"], "s/v_suffix:0")


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="If default_name is None then name_or_scope is required"):
        gf.variable_scope(None)
    with pytest.raises(ValueError, match="The reuse parameter must be True or False or None"):
        gf.variable_scope("s", reuse="yes")
    with pytest.raises(ValueError, match="reuse=True cannot be used without a name_or_scope"):
        with gf.variable_scope(None, default_name="d", reuse=True):
            pass
    with pytest.raises(NotImplementedError, match="partitioner"):
        gf.get_variable("p", [4], partitioner=lambda shape, dtype: [2])
    assert gf.get_variable_scope().name == ""  # every failed entry left the scope as it was


# -- local variables: collections without GLOBAL_VARIABLES, tf.get_local_variable ----------------
def _reset_by(initializer, variable, value):
    """The variable's value after assigning `value` to it and then running `initializer`."""
    with gf.Session() as sess:
        sess.run([gf.global_variables_initializer(), gf.local_variables_initializer()])
        sess.run(variable.assign(value))
        sess.run(initializer)
        return sess.run(variable)


def test_local_collections_keep_a_variable_out_of_the_global_ones():
    # TF1: collections=[LOCAL_VARIABLES] puts the variable there and only there (plus
    # TRAINABLE_VARIABLES when trainable, which get_variable's trainable=None means)
    with gf.variable_scope("s"):
        local = gf.get_variable("l", [2], collections=[gf.GraphKeys.LOCAL_VARIABLES],
                                initializer=gf.zeros_initializer())
        frozen = gf.get_variable("f", [1], trainable=False,
                                 collections=[gf.GraphKeys.LOCAL_VARIABLES, "mine"])
        keys = [gf.GraphKeys.LOCAL_VARIABLES, gf.GraphKeys.TRAINABLE_VARIABLES] * 2
        twice = gf.get_variable("t", [1], collections=keys)  # TF1 adds to each key once
    assert local.name == "s/l:0"
    assert gf.local_variables() == [local, frozen, twice]
    assert gf.global_variables() == [] and gf.trainable_variables() == [local, twice]
    assert gf.get_collection("mine") == [frozen]
    with gf.variable_scope("s", reuse=True):
        assert gf.get_variable("l") is local  # shared by name, as any get_variable variable
    np.testing.assert_array_equal(
        _reset_by(gf.global_variables_initializer(), local, [5.0, 6.0]), [5.0, 6.0])
    np.testing.assert_array_equal(
        _reset_by(gf.local_variables_initializer(), local, [5.0, 6.0]), [0.0, 0.0])


def test_get_local_variable_is_get_variable_local_and_not_trainable():
    # TF1: "Behavior is the same as in get_variable, except that variables are added to the
    # LOCAL_VARIABLES collection and trainable is set to False."
    kept = ["extra"]
    with gf.variable_scope("m"):
        count = gf.get_local_variable("count", [], dtype=gf.int32)
        total = gf.get_local_variable("total", [3], trainable=True, collections=kept,
                                      initializer=gf.ones_initializer())
    assert (count.name, count.dtype, total.name) == ("m/count:0", gf.int32, "m/total:0")
    assert gf.local_variables() == [count, total] and gf.get_collection("extra") == [total]
    assert gf.global_variables() == [] and gf.trainable_variables() == []
    assert kept == ["extra"]  # the caller's list is not changed
    np.testing.assert_array_equal(
        _reset_by(gf.local_variables_initializer(), total, [7.0, 8.0, 9.0]), [1.0, 1.0, 1.0])


def test_saver_skips_local_variables(tmp_path):
    kept = gf.get_variable("kept", initializer=np.float32(3.0))
    gf.get_local_variable("scratch", initializer=np.float32(4.0))
    with gf.Session() as sess:
        sess.run([gf.global_variables_initializer(), gf.local_variables_initializer()])
        path = gf.train.Saver().save(sess, str(tmp_path / "model"))
    with np.load(path, allow_pickle=False) as saved:  # the checkpoint is an .npz archive
        assert list(saved.keys()) == ["kept"] and saved["kept"] == 3.0
    assert kept.name == "kept:0"
