"""gf.layers.batch_normalization against torch.nn.functional.batch_norm (float64), in training and
inference mode, with its variables, the moving-average updates in UPDATE_OPS, and a bool
placeholder switching between the two modes in one graph."""

import numpy as np
import pytest
import torch

import graphflow as gf

SESSIONS = [pytest.param(dict(optimize=False), id="interpreter"),
            pytest.param(dict(check=True), id="compiled")]
RTOL, ATOL = 1e-10, 1e-12


def _variables():
    return {v.op.name.rsplit("/", 1)[1]: v for v in gf.global_variables()}


def _set(sess, values):
    """Give variables values (by assign ops, as a user would)."""
    sess.run([gf.assign(var, value) for var, value in values.items()])


def _torch_reference(xv, gamma, beta, mean, var, training, cot, momentum, epsilon):
    xt = torch.tensor(xv, requires_grad=True)
    gt = torch.tensor(gamma, requires_grad=True)
    bt = torch.tensor(beta, requires_grad=True)
    running_mean, running_var = torch.tensor(mean), torch.tensor(var)
    yt = torch.nn.functional.batch_norm(xt, running_mean, running_var, gt, bt, training=training,
                                        momentum=1 - momentum, eps=epsilon)
    grads = torch.autograd.grad(yt, [xt, gt, bt], torch.tensor(cot))
    return yt.detach().numpy(), [g.numpy() for g in grads]


@pytest.mark.parametrize("options", SESSIONS)
@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("shape, axis", [((8, 5), -1), ((8, 5), 1), ((6, 4, 3), 1)],
                         ids=["2d", "2d-axis1", "3d-axis1"])
def test_values_and_gradients_match_torch(options, training, shape, axis):
    rng = np.random.default_rng(0)
    xv = rng.standard_normal(shape) * 3 + 1
    channels = shape[axis]
    gamma, beta = rng.uniform(0.5, 2, channels), rng.standard_normal(channels)
    mean, var = rng.standard_normal(channels), rng.uniform(0.5, 2, channels)
    cot = rng.standard_normal(shape)
    x = gf.placeholder(gf.float64, (None,) + shape[1:], name="x")
    y = gf.layers.batch_normalization(x, axis=axis, momentum=0.9, epsilon=1e-3,
                                      training=training)
    v = _variables()
    grads = gf.gradients(gf.reduce_sum(y * cot), [x, v["gamma"], v["beta"]])
    sess = gf.Session(**options)
    _set(sess, {v["gamma"]: gamma, v["beta"]: beta, v["moving_mean"]: mean,
                v["moving_variance"]: var})
    # torch's batch_norm takes channels on axis 1
    moved = np.moveaxis(xv, axis, 1)
    expected, expected_grads = _torch_reference(moved, gamma, beta, mean, var, training,
                                                np.moveaxis(cot, axis, 1), 0.9, 1e-3)
    out, gx, ggamma, gbeta = sess.run([y] + grads, {x: xv})
    np.testing.assert_allclose(np.moveaxis(out, axis, 1), expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.moveaxis(gx, axis, 1), expected_grads[0], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ggamma, expected_grads[1], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(gbeta, expected_grads[2], rtol=RTOL, atol=ATOL)


def test_variables_and_names():
    x = gf.placeholder(gf.float32, (None, 4), name="x")
    y = gf.layers.batch_normalization(x)
    gf.layers.batch_normalization(y)
    gf.layers.batch_normalization(x, name="bn", center=False, scale=False)
    names = [v.op.name for v in gf.global_variables()]
    assert names == [f"{scope}/{n}" for scope in ("batch_normalization", "batch_normalization_1")
                     for n in ("gamma", "beta", "moving_mean", "moving_variance")] + [
        "bn/moving_mean", "bn/moving_variance"]
    assert [v.op.name for v in gf.trainable_variables()] == [
        "batch_normalization/gamma", "batch_normalization/beta",
        "batch_normalization_1/gamma", "batch_normalization_1/beta"]
    sess = gf.Session()
    initial = sess.run(gf.global_variables()[:4])
    for value, fill in zip(initial, (1, 0, 0, 1)):
        assert value.dtype == np.float32 and value.shape == (4,)
        assert np.array_equal(value, np.full(4, fill, np.float32))
    assert y.dtype == np.float32 and y.shape == (None, 4)


def test_inference_without_center_and_scale():
    xv = np.random.default_rng(1).standard_normal((5, 3))
    x = gf.placeholder(gf.float64, (None, 3), name="x")
    y = gf.layers.batch_normalization(x, center=False, scale=False, epsilon=0.5)
    # inference mode with the initial averages: x / sqrt(1 + epsilon)
    np.testing.assert_allclose(gf.Session().run(y, {x: xv}), xv / np.sqrt(1.5), rtol=1e-14)
    assert gf.get_collection(gf.GraphKeys.UPDATE_OPS) == []


@pytest.mark.parametrize("options", SESSIONS)
def test_moving_averages_follow_the_update_ops_under_control_dependencies(options):
    momentum = 0.9
    x = gf.placeholder(gf.float64, (None, 3), name="x")
    y = gf.layers.batch_normalization(x, momentum=momentum, training=True)
    loss = gf.reduce_mean(gf.square(y - 1.0))
    updates = gf.get_collection(gf.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2
    with gf.control_dependencies(updates):
        train_op = gf.train.GradientDescentOptimizer(0.1).minimize(loss)
    v = _variables()
    sess = gf.Session(**options)
    rng = np.random.default_rng(2)
    mean, var = np.zeros(3), np.ones(3)
    for step in range(4):
        batch = rng.standard_normal((16, 3)) * (step + 1) + step
        sess.run(train_op, {x: batch})
        mean = mean * momentum + batch.mean(axis=0) * (1 - momentum)
        var = var * momentum + batch.var(axis=0) * (1 - momentum)  # biased, as TF1
        got_mean, got_var = sess.run([v["moving_mean"], v["moving_variance"]])
        np.testing.assert_allclose(got_mean, mean, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(got_var, var, rtol=1e-12, atol=1e-14)
    # the forward pass alone leaves them as they are
    sess.run(y, {x: batch})
    np.testing.assert_allclose(sess.run(v["moving_mean"]), mean, rtol=1e-12, atol=1e-14)
    assert not np.allclose(sess.run(v["gamma"]), 1.0)  # the train op trained gamma too


@pytest.mark.parametrize("options", SESSIONS)
def test_fetching_the_update_ops_directly(options):
    x = gf.placeholder(gf.float32, (None, 2), name="x")
    y = gf.layers.batch_normalization(x, momentum=0.5, training=True)
    batch = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    sess = gf.Session(**options)
    out, new_mean, new_var = sess.run([y] + gf.get_collection(gf.GraphKeys.UPDATE_OPS),
                                      {x: batch})
    np.testing.assert_allclose(new_mean, [1.0, 2.0], rtol=1e-6)    # 0 * .5 + [2, 4] * .5
    np.testing.assert_allclose(new_var, [1.0, 2.5], rtol=1e-6)     # 1 * .5 + [1, 4] * .5
    np.testing.assert_allclose(out, [[-1, -1], [1, 1]], rtol=1e-3)  # (x - mean) / sqrt(var)


@pytest.mark.parametrize("options", SESSIONS)
def test_a_bool_placeholder_switches_modes_in_one_graph(options):
    momentum, epsilon = 0.8, 1e-3
    x = gf.placeholder(gf.float64, (None, 4), name="x")
    training = gf.placeholder(gf.bool_, (), name="training")
    y = gf.layers.batch_normalization(x, momentum=momentum, epsilon=epsilon, training=training)
    v = _variables()
    rng = np.random.default_rng(3)
    cot = rng.standard_normal((10, 4))
    (gx,) = gf.gradients(gf.reduce_sum(y * cot), [x])
    updates = gf.get_collection(gf.GraphKeys.UPDATE_OPS)
    sess = gf.Session(**options)
    batch = rng.standard_normal((10, 4)) * 2 + 3
    # training: batch statistics, and the updates move the averages
    out, grad, _, _ = sess.run([y, gx] + updates, {x: batch, training: True})
    ref, ref_grads = _torch_reference(batch, np.ones(4), np.zeros(4), np.zeros(4), np.ones(4),
                                      True, cot, momentum, epsilon)
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad, ref_grads[0], rtol=1e-9, atol=1e-11)
    mean = batch.mean(axis=0) * (1 - momentum)
    var = momentum + batch.var(axis=0) * (1 - momentum)
    averages = sess.run([v["moving_mean"], v["moving_variance"]])
    np.testing.assert_allclose(averages[0], mean, rtol=1e-12)
    np.testing.assert_allclose(averages[1], var, rtol=1e-12)
    # inference: the moving averages, and running the updates changes nothing
    other = rng.standard_normal((10, 4))
    out, grad, _, _ = sess.run([y, gx] + updates, {x: other, training: False})
    np.testing.assert_allclose(out, (other - mean) / np.sqrt(var + epsilon), rtol=1e-12)
    np.testing.assert_allclose(grad, cot / np.sqrt(var + epsilon), rtol=1e-12)
    np.testing.assert_array_equal(sess.run(v["moving_mean"]), averages[0])
    np.testing.assert_array_equal(sess.run(v["moving_variance"]), averages[1])


def test_an_unshaped_training_placeholder_keeps_the_static_shape():
    x = gf.placeholder(gf.float64, (None, 3), name="x")
    training = gf.placeholder(gf.bool_, name="training")  # as TF1 tutorials write it
    y = gf.layers.batch_normalization(x, training=training)
    assert y.shape == (None, 3)
    assert all(u.shape == (3,) for u in gf.get_collection(gf.GraphKeys.UPDATE_OPS))
    xv = np.arange(6.0).reshape(2, 3)
    out = gf.Session().run(y, {x: xv, training: True})
    np.testing.assert_allclose(out, [[-1, -1, -1], [1, 1, 1]], rtol=1e-3)


def test_argument_errors():
    with pytest.raises(TypeError, match="needs float inputs"):
        gf.layers.batch_normalization(gf.placeholder(gf.int32, (None, 3)))
    with pytest.raises(gf.ShapeError, match="must be known"):
        gf.layers.batch_normalization(gf.placeholder(gf.float32, (4, None)))
    with pytest.raises(gf.ShapeError, match="known rank"):
        gf.layers.batch_normalization(gf.placeholder(gf.float32))
    with pytest.raises(ValueError, match="out of range"):
        gf.layers.batch_normalization(gf.placeholder(gf.float32, (None, 3)), axis=2)
    with pytest.raises(TypeError, match="scalar bool tensor"):
        gf.layers.batch_normalization(gf.placeholder(gf.float32, (None, 3)),
                                      training=gf.placeholder(gf.bool_, (2,)))
