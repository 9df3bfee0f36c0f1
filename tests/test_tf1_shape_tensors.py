"""Shapes given as tensors, as TF1 takes them: tf.random_normal(tf.shape(z)),
tf.zeros([tf.shape(x)[0], 10]), tf.fill(dims, value), on the interpreter and the generated numpy
and torch code, with the static shape known where TF1 knows it. The draws of a tensor-shaped op
are those of the same op with the shape written out (same graph seed, same op seed)."""

import numpy as np
import pytest
from reference import compare_with_torch, describe, sessions

import graphflow as gf

Z = np.zeros((4, 20), np.float32)


def draw(op, shape, **kw):
    return {"random_normal": gf.random_normal, "truncated_normal": gf.truncated_normal,
            "random_uniform": gf.random_uniform}[op](shape, seed=7, **kw)


def values_in_fresh_graph(build):
    """build() in a new graph with graph seed 3, run once in each session."""
    with gf.Graph().as_default():
        gf.set_random_seed(3)
        fetch, feed = build()
        return [sess.run(fetch, feed) for sess in sessions()]


@pytest.mark.parametrize("op", ["random_normal", "truncated_normal", "random_uniform"])
def test_draw_shaped_by_a_tensor_equals_the_static_draw(op):
    def dynamic():
        z = gf.placeholder(gf.float32, (None, 20), name="z")
        out = draw(op, gf.shape(z))
        assert out.shape == (None, 20)  # what TF1 infers from shape(z)
        return out, {z: Z}

    got = values_in_fresh_graph(dynamic)
    expected = values_in_fresh_graph(lambda: (draw(op, [4, 20]), None))
    for sess, a, b in zip(sessions(), got, expected):
        assert a.shape == (4, 20) and a.dtype == np.float32, describe(sess)
        np.testing.assert_array_equal(a, b, err_msg=describe(sess))


def test_shape_list_mixing_ints_and_scalar_tensors():
    x = gf.placeholder(gf.float32, (None, 3), name="x")
    u = gf.random_uniform([gf.shape(x)[0], 10], minval=2.0, maxval=3.0)
    z = gf.zeros([gf.shape(x)[0], 10], gf.int32)
    assert u.shape == (None, 10) and z.shape == (None, 10)
    for sess in sessions():
        uv, zv = sess.run([u, z], {x: np.zeros((7, 3), np.float32)})
        assert uv.shape == (7, 10) and 2.0 <= uv.min() and uv.max() < 3.0, describe(sess)
        np.testing.assert_array_equal(zv, np.zeros((7, 10), np.int32))
        assert zv.dtype == np.int32


def test_zeros_ones_fill_of_a_shape_tensor():
    z = gf.placeholder(gf.float32, (None, 20), name="z")
    outs = [gf.zeros(gf.shape(z)), gf.ones(gf.shape(z), gf.float64),
            gf.fill(gf.shape(z), 2.5), gf.fill([3, gf.shape(z)[1]], 7)]
    assert [o.shape for o in outs] == [(None, 20), (None, 20), (None, 20), (3, 20)]
    assert [o.dtype for o in outs] == [gf.float32, gf.float64, gf.float32, gf.int32]
    expected = [np.zeros((4, 20), np.float32), np.ones((4, 20)), np.full((4, 20), 2.5, np.float32),
                np.full((3, 20), 7, np.int32)]
    for sess in sessions():
        for got, want in zip(sess.run(outs, {z: Z}), expected):
            assert got.dtype == want.dtype, describe(sess)
            np.testing.assert_array_equal(got, want, err_msg=describe(sess))


def test_dims_known_only_at_run_time():
    dims = gf.placeholder(gf.int32, (2,), name="dims")
    out = gf.zeros(dims) + 1.0
    assert out.shape == (None, None)
    for sess in sessions():
        np.testing.assert_array_equal(sess.run(out, {dims: [2, 3]}), np.ones((2, 3)))
        with pytest.raises(gf.OpError, match="non-negative"):
            sess.run(out, {dims: [2, -1]})
    with pytest.raises(NotImplementedError, match="known only at run time"):
        gf.random_normal(dims)


def test_fill_value_gradient_against_torch():
    def build(value, x):
        return gf.fill(gf.shape(x), value) * x

    compare_with_torch(build, lambda v, x: v.expand(x.shape) * x,
                       [np.array(1.5), np.arange(6.0).reshape(2, 3)])


def test_vae_reparameterisation_with_a_shape_tensor():
    mean = gf.placeholder(gf.float64, (None, 2), name="mean")
    log_var = gf.placeholder(gf.float64, (None, 2), name="log_var")
    eps = gf.random_normal(gf.shape(mean), dtype=gf.float64, seed=1)
    z = mean + gf.exp(0.5 * log_var) * eps
    loss = gf.reduce_sum(z)
    g_mean, g_log_var = gf.gradients(loss, [mean, log_var])
    feed = {mean: np.zeros((5, 2)), log_var: np.log(np.full((5, 2), 4.0))}
    for sess in sessions():
        zv, eps_v, gm, glv = sess.run([z, eps, g_mean, g_log_var], feed)
        np.testing.assert_allclose(zv, 2.0 * eps_v, err_msg=describe(sess))  # sigma = 2
        np.testing.assert_array_equal(gm, np.ones((5, 2)))
        # d/dlog_var of exp(log_var / 2) * eps = exp(log_var / 2) * eps / 2 = eps
        np.testing.assert_allclose(glv, eps_v, err_msg=describe(sess))


def test_static_shapes_stay_on_the_constant_path():
    r = gf.random_normal([2, 3], seed=1)
    assert "fill" not in {n.type for n in r.graph.nodes}
    assert gf.zeros([2, 3]).type == "constant" and gf.fill([2], 1.0).type == "constant"


def test_bad_shape_tensors_name_the_culprit():
    x = gf.placeholder(gf.float32, (None, 3), name="x")
    with pytest.raises(TypeError, match="'Cast'.*1-D int32 or int64"):
        gf.zeros(gf.cast(gf.shape(x), gf.float32, name="Cast"))
    with pytest.raises(TypeError, match="scalar int tensors only; 'x'"):
        gf.random_normal([x, 3])
    with pytest.raises(gf.ShapeError, match="must be a scalar"):
        gf.fill(gf.shape(x), np.ones(2, np.float32))


def test_torch_fill_uses_the_device_value():
    # the torch rule expands the value tensor: the result must be a fresh, writable tensor
    x = gf.placeholder(gf.float32, (None, 2), name="x")
    out = gf.fill(gf.shape(x), 3.0) + x
    got = gf.Session(backend="torch", device="cpu").run(out, {x: np.ones((2, 2), np.float32)})
    np.testing.assert_array_equal(got, np.full((2, 2), 4.0, np.float32))
