"""check_numerics: the first inf/NaN stops the run and names the user's node, op, line, inputs."""

import inspect

import numpy as np
import pytest

import graphflow as gf

SESSIONS = [pytest.param(False, id="interpreter"), pytest.param(True, id="compiled")]


def here(offset=1):
    frame = inspect.currentframe().f_back
    return f"test_numerics.py:{frame.f_lineno + offset}"


@pytest.mark.parametrize("optimize", SESSIONS)
def test_a_log_of_a_negative_number_mid_way_is_named(optimize):
    x = gf.placeholder(gf.float64, (3,), name="x")
    shifted = gf.subtract(gf.exp(x), 2.0, name="shifted")
    site = here()
    bad = gf.log(shifted, name="bad_log")
    out = gf.reduce_sum(gf.square(bad), name="out")
    feed = {x: np.array([1.0, 0.1, 2.0])}  # exp(0.1) - 2 < 0
    sess = gf.Session(optimize=optimize, check_numerics=True)
    with pytest.raises(gf.errors.NumericsError) as info:
        sess.run(out, feed)
    message = str(info.value)
    assert "'bad_log'" in message and "log" in message and site in message
    assert "NaN" in message and "'shifted'" in message and "0 non-finite" in message
    # Off (the default), the NaN comes back as a value.
    assert np.isnan(gf.Session(optimize=optimize).run(out, feed))
    # The session still works after the error.
    assert np.isfinite(sess.run(out, {x: np.array([1.0, 1.5, 2.0])}))


def test_a_node_rewritten_by_the_compiler_is_reported_under_the_users_name():
    z = gf.placeholder(gf.float64, (2,), name="z")
    site = here()
    term = gf.log(1.0 - gf.sigmoid(z), name="user_term")  # stabilize: -softplus(z)
    loss = gf.reduce_sum(term, name="loss")
    prog = gf.Session(check_numerics=True).make_callable(loss, [z])
    with pytest.raises(gf.errors.NumericsError) as info:
        prog(np.array([np.nan, 1.0]))
    assert "'user_term'" in str(info.value) and site in str(info.value)
    assert "softplus" in prog.ops and "sigmoid" not in prog.ops


def test_finite_runs_are_unchanged_and_off_leaves_no_trace():
    x = gf.placeholder(gf.float32, (4,), name="x")
    y = gf.tanh(x) * 3.0
    xs = np.linspace(-2, 2, 4).astype(np.float32)
    on = gf.Session(check_numerics=True).make_callable(y, [x])
    off = gf.Session().make_callable(y, [x])
    np.testing.assert_array_equal(on(xs), off(xs))
    assert "check" in on.source and "check" not in off.source


@pytest.mark.parametrize("optimize", SESSIONS)
def test_the_check_numerics_op(optimize):
    x = gf.placeholder(gf.float64, (2,), name="x")
    checked = gf.debugging.check_numerics(gf.log(x), "log of x", name="checked")
    y = checked * 2.0
    sess = gf.Session(optimize=optimize)
    np.testing.assert_allclose(sess.run(y, {x: np.array([1.0, np.e])}), [0.0, 2.0])
    with pytest.raises(gf.errors.NumericsError, match="checked: log of x"):
        sess.run(y, {x: np.array([-1.0, 2.0])})
    (g,) = gf.gradients(gf.reduce_sum(checked), x)  # the gradient passes through it
    np.testing.assert_allclose(sess.run(g, {x: np.array([2.0, 4.0])}), [0.5, 0.25])
