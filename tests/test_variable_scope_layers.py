"""gf.layers share their variables through variable scopes, as TF1's tf.layers: names, reuse,
and the values computed with the shared weights (against numpy)."""

import numpy as np
import pytest

import graphflow as gf


@pytest.fixture(autouse=True)
def fresh_graph():
    with gf.Graph().as_default() as graph:
        yield graph


def names(variables):
    return [v.op.name for v in variables]


def test_discriminator_applied_twice_shares_its_weights():
    real = gf.placeholder(gf.float32, (None, 4), name="real")
    fake = gf.placeholder(gf.float32, (None, 4), name="fake")

    def discriminator(x, reuse):
        with gf.variable_scope("disc", reuse=reuse):
            h = gf.layers.dense(x, 3, activation=gf.nn.relu)
            return gf.layers.dense(h, 1)

    d_real = discriminator(real, reuse=False)
    d_fake = discriminator(fake, reuse=True)
    assert names(gf.trainable_variables()) == ["disc/dense/kernel", "disc/dense/bias",
                                               "disc/dense_1/kernel", "disc/dense_1/bias"]
    assert d_real.name.startswith("disc/dense_1/") and d_fake.name.startswith("disc_1/dense_1/")
    xr, xf = np.ones((2, 4), np.float32), np.arange(8, dtype=np.float32).reshape(2, 4)
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        k1, b1, k2, b2 = sess.run(gf.trainable_variables())
        out_real, out_fake = sess.run([d_real, d_fake], {real: xr, fake: xf})
    for x, out in ((xr, out_real), (xf, out_fake)):
        np.testing.assert_allclose(out, np.maximum(x @ k1 + b1, 0) @ k2 + b2, rtol=1e-5)


def test_auto_reuse_scope_and_named_layers_with_reuse():
    x = gf.placeholder(gf.float32, (None, 5))
    for _ in range(3):
        with gf.variable_scope("d", reuse=gf.AUTO_REUSE):
            gf.layers.dense(x, 2, name="fc")
    gf.layers.dense(x, 2, name="head")
    gf.layers.dense(x, 2, name="head", reuse=True)
    assert names(gf.global_variables()) == ["d/fc/kernel", "d/fc/bias", "head/kernel",
                                            "head/bias"]


def test_unnamed_layers_get_unique_scopes_and_a_repeated_name_is_refused():
    x = gf.placeholder(gf.float32, (None, 5))
    gf.layers.dense(x, 2)
    gf.layers.dense(x, 2)
    assert names(gf.global_variables()) == ["dense/kernel", "dense/bias", "dense_1/kernel",
                                            "dense_1/bias"]
    gf.layers.dense(x, 2, name="fc")
    with pytest.raises(ValueError, match="Variable fc/kernel already exists, disallowed"):
        gf.layers.dense(x, 2, name="fc")
    # TF1: with reuse and no name, the layer's scope is its default name: dense's variables
    assert gf.layers.dense(x, 2, reuse=True).op.inputs[0].op.inputs[1].op.name == "dense/kernel"


def test_layers_ignore_name_scopes_for_variables_but_not_for_ops():
    x = gf.placeholder(gf.float32, (None, 5))
    with gf.name_scope("tower"):
        y = gf.layers.dense(x, 2)
    assert names(gf.global_variables()) == ["dense/kernel", "dense/bias"]
    assert y.op.name == "tower/dense/BiasAdd"


def test_scope_initializer_reaches_layer_kernels_but_not_default_biases():
    x = gf.placeholder(gf.float32, (None, 2))
    with gf.variable_scope("s", initializer=gf.constant_initializer(0.5)):
        y = gf.layers.dense(x, 3)
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        kernel, bias = sess.run(gf.trainable_variables())
        out = sess.run(y, {x: np.array([[1.0, 2.0]], np.float32)})
    np.testing.assert_array_equal(kernel, np.full((2, 3), 0.5))
    np.testing.assert_array_equal(bias, np.zeros(3))  # tf.layers' bias_initializer: zeros
    np.testing.assert_allclose(out, [[1.5, 1.5, 1.5]])


def test_conv_and_batch_norm_layers_share_under_reuse():
    x = gf.placeholder(gf.float32, (None, 6, 6, 2))
    z = gf.placeholder(gf.float32, (None, 6, 6, 2))
    outputs = []
    for inputs, reuse in ((x, None), (z, True)):
        with gf.variable_scope("enc", reuse=reuse):
            h = gf.layers.conv2d(inputs, 3, 3, padding="same")
            h = gf.layers.batch_normalization(h, training=False)
            outputs.append(gf.layers.conv2d_transpose(h, 2, 2, strides=2))
    assert names(gf.global_variables()) == [
        "enc/conv2d/kernel", "enc/conv2d/bias", "enc/batch_normalization/gamma",
        "enc/batch_normalization/beta", "enc/batch_normalization/moving_mean",
        "enc/batch_normalization/moving_variance", "enc/conv2d_transpose/kernel",
        "enc/conv2d_transpose/bias"]
    data = np.random.default_rng(0).normal(size=(1, 6, 6, 2)).astype(np.float32)
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        a, b = sess.run(outputs, {x: data, z: data})
    np.testing.assert_array_equal(a, b)  # one set of weights, one input: one answer


def test_layer_regularizers_are_added_once_per_variable():
    x = gf.placeholder(gf.float32, (None, 3))
    gf.layers.dense(x, 2, kernel_regularizer=gf.nn.l2_loss, name="r")
    gf.layers.dense(x, 2, kernel_regularizer=gf.nn.l2_loss, name="r", reuse=True)
    assert len(gf.get_collection(gf.GraphKeys.REGULARIZATION_LOSSES)) == 1
