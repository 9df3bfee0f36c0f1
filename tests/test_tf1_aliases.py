"""TF1's deprecated spellings (tf.to_float, tf.arg_max, tf.initialize_all_variables, ...)."""

import inspect

import numpy as np
import pytest

import graphflow as gf

VALUES = np.array([[1.5, -2.7, 9.0], [7.2, 0.0, -3.9]])


@pytest.mark.parametrize("alias, dtype, name", [
    (gf.to_float, np.float32, "ToFloat"), (gf.to_double, np.float64, "ToDouble"),
    (gf.to_int32, np.int32, "ToInt32"), (gf.to_int64, np.int64, "ToInt64")])
def test_casts(alias, dtype, name):
    assert list(inspect.signature(alias).parameters) == ["x", "name"]
    assert inspect.signature(alias).parameters["name"].default == name  # TF1's default names
    x = gf.constant(VALUES)  # float64
    out = alias(x)
    assert out.op.name == name and out.dtype == dtype
    with gf.Session() as sess:
        got = sess.run(out)
    np.testing.assert_array_equal(got, VALUES.astype(dtype))  # C's truncation toward zero


def test_arg_max_and_arg_min():
    for alias in (gf.arg_max, gf.arg_min):
        assert list(inspect.signature(alias).parameters) == [
            "input", "dimension", "output_type", "name"]
    x = gf.constant(VALUES)
    fetches = [gf.arg_max(x, 1), gf.arg_min(x, 0), gf.arg_max(x, 0, gf.int32, name="am")]
    assert [f.dtype for f in fetches] == [np.int64, np.int64, np.int32]
    assert fetches[2].op.name == "am"
    with gf.Session() as sess:
        got = sess.run(fetches)
    for g, w in zip(got, [VALUES.argmax(1), VALUES.argmin(0), VALUES.argmax(0)]):
        np.testing.assert_array_equal(g, w)
    with pytest.raises(TypeError, match="dimension"):
        gf.arg_max(x, None)


def test_initializer_aliases():
    v = gf.Variable(np.float32(1.0), name="v")
    w = gf.Variable(np.float32(2.0), name="w")
    bump = [gf.assign(v, 10.0), gf.assign(w, 20.0)]
    only_v = gf.initialize_variables([v], name="init_v")
    assert only_v.name == "init_v"
    everything = gf.initialize_all_variables()
    with gf.Session() as sess:
        sess.run(bump)
        sess.run(only_v)
        assert sess.run([v, w]) == [1.0, 20.0]
        sess.run(everything)
        assert sess.run([v, w]) == [1.0, 2.0]
