"""gf.layers' conv2d, conv2d_transpose, max_pooling2d, average_pooling2d and flatten, and
gf.contrib.layers.flatten: TF1's variable names and shapes, TF's default initializer, values
against torch (float64, with the layers' own variables), and the errors TF1 code can meet."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import graphflow as gf


def _run(fetches, feed):
    sess = gf.Session()
    sess.run(gf.global_variables_initializer())
    return sess, sess.run(fetches, feed)


def _variables():
    return {v.op.name: v for v in gf.global_variables()}


def test_deep_mnist_layers_are_named_as_tf():
    x = gf.placeholder(gf.float32, (None, 28, 28, 1))
    h = gf.layers.conv2d(x, 32, 5, padding="same", activation=gf.nn.relu)
    h = gf.layers.max_pooling2d(h, 2, 2)
    h = gf.layers.conv2d(h, 64, (5, 5), padding="SAME", activation=gf.nn.relu)
    h = gf.layers.max_pooling2d(h, pool_size=(2, 2), strides=2)
    h = gf.layers.flatten(h)
    logits = gf.layers.dense(gf.layers.dense(h, 1024, activation=gf.nn.relu), 10)
    shapes = {name: tuple(v.shape) for name, v in _variables().items()}
    assert shapes == {"conv2d/kernel": (5, 5, 1, 32), "conv2d/bias": (32,),
                      "conv2d_1/kernel": (5, 5, 32, 64), "conv2d_1/bias": (64,),
                      "dense/kernel": (7 * 7 * 64, 1024), "dense/bias": (1024,),
                      "dense_1/kernel": (1024, 10), "dense_1/bias": (10,)}
    assert h.shape == (None, 3136) and logits.shape == (None, 10)
    assert all(v.dtype == np.float32 for v in _variables().values())


def test_the_kernel_starts_glorot_uniform_and_the_bias_zero():
    x = gf.placeholder(gf.float32, (None, 28, 28, 3))
    gf.layers.conv2d(x, 64, 5)
    sess = gf.Session()
    sess.run(gf.global_variables_initializer())
    kernel, bias = sess.run([_variables()["conv2d/kernel"], _variables()["conv2d/bias"]])
    limit = np.sqrt(6 / (5 * 5 * 3 + 5 * 5 * 64))  # fans times the receptive field, as TF
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.05)
    np.testing.assert_array_equal(bias, np.zeros(64, np.float32))


@pytest.mark.parametrize("padding, strides, dilation", [("valid", 1, 1), ("same", 2, 1),
                                                        ("same", 1, 2), ("valid", (2, 1), 1)])
def test_conv2d_layer_matches_torch(padding, strides, dilation):
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((2, 9, 8, 3))
    x = gf.placeholder(gf.float64, (None, 9, 8, 3))
    y = gf.layers.conv2d(x, 4, (3, 2), strides=strides, padding=padding, dilation_rate=dilation,
                         bias_initializer=gf.constant_initializer(0.5), activation=gf.nn.tanh)
    sess, out = _run(y, {x: xb})
    kernel = sess.run(_variables()["conv2d/kernel"])
    s = (strides, strides) if isinstance(strides, int) else strides
    t = torch.tensor(xb).permute(0, 3, 1, 2)
    if padding == "same":  # TF: the odd pixel of padding goes after
        pads = []
        for size, k, st in ((8, 2, s[1]), (9, 3, s[0])):
            span = (k - 1) * dilation + 1
            total = max((-(-size // st) - 1) * st + span - size, 0)
            pads += [total // 2, total - total // 2]
        t = F.pad(t, pads)
    expected = torch.tanh(F.conv2d(t, torch.tensor(kernel).permute(3, 2, 0, 1), stride=s,
                                   dilation=dilation) + 0.5).permute(0, 2, 3, 1).numpy()
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k, stride", [(3, 2), (2, 2), (4, 1)])
def test_conv2d_transpose_layer_matches_torch_with_valid_padding(k, stride):
    rng = np.random.default_rng(1)
    xb = rng.standard_normal((2, 4, 5, 3))
    x = gf.placeholder(gf.float64, (None, 4, 5, 3))
    y = gf.layers.conv2d_transpose(x, 6, k, strides=stride, use_bias=False)
    assert tuple(_variables()["conv2d_transpose/kernel"].shape) == (k, k, 6, 3)
    # TF's output size with "valid": in * stride + max(k - stride, 0)
    assert y.shape[1:] == (4 * stride + max(k - stride, 0), 5 * stride + max(k - stride, 0), 6)
    sess, out = _run(y, {x: xb})
    kernel = sess.run(_variables()["conv2d_transpose/kernel"])
    expected = F.conv_transpose2d(torch.tensor(xb).permute(0, 3, 1, 2),
                                  torch.tensor(kernel).permute(3, 2, 0, 1), stride=stride)
    np.testing.assert_allclose(out, expected.permute(0, 2, 3, 1).numpy(), rtol=1e-10,
                               atol=1e-12)


def test_conv2d_transpose_layer_same_padding_doubles_the_size():
    x = gf.placeholder(gf.float32, (None, 7, 7, 8))
    y = gf.layers.conv2d_transpose(x, 1, 5, strides=2, padding="same")
    assert y.shape == (None, 14, 14, 1)
    _, out = _run(y, {x: np.ones((3, 7, 7, 8), np.float32)})
    assert out.shape == (3, 14, 14, 1)


def test_pooling_layers_match_torch():
    rng = np.random.default_rng(2)
    xb = rng.standard_normal((2, 6, 6, 3))
    x = gf.placeholder(gf.float64, (None, 6, 6, 3))
    pooled = [gf.layers.max_pooling2d(x, 2, 2), gf.layers.average_pooling2d(x, (3, 3), 1)]
    _, (mx, avg) = _run(pooled, {x: xb})
    t = torch.tensor(xb).permute(0, 3, 1, 2)
    np.testing.assert_allclose(mx, F.max_pool2d(t, 2, 2).permute(0, 2, 3, 1).numpy())
    np.testing.assert_allclose(avg, F.avg_pool2d(t, 3, 1).permute(0, 2, 3, 1).numpy(),
                               rtol=1e-12)
    assert [p.op.name.split("/")[0] for p in pooled] == ["max_pooling2d", "average_pooling2d"]


def test_flatten_keeps_nhwc_order_and_contrib_is_the_same():
    xb = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    x = gf.placeholder(gf.float32, (None, 3, 4, 5))
    _, (flat, contrib) = _run([gf.layers.flatten(x), gf.contrib.layers.flatten(x)], {x: xb})
    np.testing.assert_array_equal(flat, xb.reshape(2, 60))
    np.testing.assert_array_equal(contrib, xb.reshape(2, 60))
    with pytest.raises(NotImplementedError, match="tf.contrib.slim"):
        gf.contrib.slim  # noqa: B018
    with pytest.raises(NotImplementedError, match="tf.contrib.layers.xavier_initializer"):
        gf.contrib.layers.xavier_initializer  # noqa: B018


def test_regularizers_add_their_losses():
    x = gf.placeholder(gf.float32, (None, 5, 5, 2))
    gf.layers.conv2d(x, 3, 3, kernel_regularizer=gf.nn.l2_loss, bias_regularizer=gf.nn.l2_loss)
    assert len(gf.get_collection(gf.GraphKeys.REGULARIZATION_LOSSES)) == 2


def test_layer_errors_name_the_layer_and_the_argument():
    x = gf.placeholder(gf.float32, (None, 8, 8, 3))
    with pytest.raises(NotImplementedError, match="conv2d: data_format='channels_first'"):
        gf.layers.conv2d(x, 4, 3, data_format="channels_first")
    with pytest.raises(ValueError, match="Variable conv2d/kernel does not exist"):
        gf.layers.conv2d(x, 4, 3, reuse=True)  # TF1: reuse shares, nothing to share yet
    with pytest.raises(ValueError, match="conv2d: filters must be a positive int"):
        gf.layers.conv2d(x, 0, 3)
    with pytest.raises(ValueError, match="conv2d: padding must be 'valid' or 'same'"):
        gf.layers.conv2d(x, 4, 3, padding="full")
    with pytest.raises(ValueError, match="max_pooling2d: pool_size must be an int or a pair"):
        gf.layers.max_pooling2d(x, [1, 2, 2, 1], 2)
    with pytest.raises(gf.errors.ShapeError, match="conv2d: inputs .* must be 4-D"):
        gf.layers.conv2d(gf.placeholder(gf.float32, (None, 8, 3)), 4, 3)
    with pytest.raises(gf.errors.ShapeError, match="flatten: inputs"):
        gf.layers.flatten(gf.placeholder(gf.float32, (None, None, 3)))
