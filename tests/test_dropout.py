"""gf.nn.dropout and gf.layers.dropout with TF1's semantics: the fraction kept, the exact
1/keep_prob scale, keep_prob fed 1.0 giving x back, noise_shape, the gradient using the run's own
mask, and the layer's `training` switch."""

import numpy as np
import pytest
import torch

import graphflow as gf

SESSIONS = [pytest.param(dict(optimize=False), id="interpreter"),
            pytest.param(dict(check=True), id="compiled")]


def _inputs(shape, dtype=np.float32, seed=0):
    """Values that are never 0, so a 0 in the output means a dropped element."""
    x = np.random.default_rng(seed).uniform(0.5, 2.0, shape) * np.where(
        np.arange(np.prod(shape)).reshape(shape) % 2, 1, -1)
    return x.astype(dtype)


@pytest.mark.parametrize("options", SESSIONS)
@pytest.mark.parametrize("keep_prob", [0.3, 0.7, 0.9])
def test_fraction_kept_and_exact_scale(options, keep_prob):
    xv = _inputs((400, 500))
    x = gf.placeholder(gf.float32, (None, 500), name="x")
    y = gf.nn.dropout(x, keep_prob=keep_prob)
    out = gf.Session(**options).run(y, {x: xv})
    kept = out != 0
    # 200,000 draws: the standard error of the fraction is below 0.0011
    assert abs(kept.mean() - keep_prob) < 0.006
    np.testing.assert_array_equal(out[kept], xv[kept] * np.float32(1 / keep_prob))
    assert out.dtype == np.float32 and out.shape == xv.shape


@pytest.mark.parametrize("options", SESSIONS)
def test_rate_is_one_minus_keep_prob(options):
    xv = _inputs((300, 300), np.float64)
    x = gf.placeholder(gf.float64, (300, 300), name="x")
    y = gf.nn.dropout(x, rate=0.25)
    out = gf.Session(**options).run(y, {x: xv})
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_array_equal(out[kept], xv[kept] * (1 / 0.75))


@pytest.mark.parametrize("options", SESSIONS)
def test_each_run_draws_a_new_mask(options):
    x = gf.constant(np.ones((50, 40), np.float32))
    y = gf.nn.dropout(x, keep_prob=0.5)
    sess = gf.Session(**options)
    masks = [sess.run(y) != 0 for _ in range(3)]
    assert not np.array_equal(masks[0], masks[1]) and not np.array_equal(masks[1], masks[2])


@pytest.mark.parametrize("options", SESSIONS)
def test_keep_prob_placeholder_fed_one_gives_the_input_exactly(options):
    x = gf.placeholder(gf.float32, (None, 30), name="x")
    keep_prob = gf.placeholder(gf.float32, (), name="keep_prob")
    y = gf.nn.dropout(x, keep_prob=keep_prob)
    xv = np.random.default_rng(1).standard_normal((64, 30)).astype(np.float32) * 1e3
    sess = gf.Session(**options)
    out = sess.run(y, {x: xv, keep_prob: 1.0})
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, xv)
    train = sess.run(y, {x: xv, keep_prob: 0.5})  # the same graph drops while training
    kept = train != 0
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_array_equal(train[kept], xv[kept] / np.float32(0.5))


def test_an_unshaped_keep_prob_placeholder_keeps_the_static_shape():
    # TF1 tutorials write tf.placeholder(tf.float32) for keep_prob; the result keeps x's shape,
    # so a dense layer can follow.
    x = gf.placeholder(gf.float32, (None, 30), name="x")
    keep_prob = gf.placeholder(gf.float32, name="keep_prob")
    y = gf.nn.dropout(x, keep_prob)
    assert y.shape == (None, 30)
    h = gf.layers.dense(y, 2)
    assert h.shape == (None, 2)
    xv = np.ones((4, 30), np.float32)
    np.testing.assert_array_equal(gf.Session().run(y, {x: xv, keep_prob: 1.0}), xv)
    with pytest.raises(gf.OpError):
        gf.Session().run(y, {x: xv, keep_prob: [0.5, 0.5]})


def test_keep_prob_of_another_float_dtype_is_cast():
    x = gf.placeholder(gf.float64, (10,), name="x")
    keep_prob = gf.placeholder(gf.float32, (), name="keep_prob")
    y = gf.nn.dropout(x, keep_prob=keep_prob)
    xv = np.arange(1.0, 11.0)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(gf.Session().run(y, {x: xv, keep_prob: 1.0}), xv)


@pytest.mark.parametrize("options", SESSIONS)
@pytest.mark.parametrize("placeholder", [False, True], ids=["number", "placeholder"])
def test_gradient_uses_the_same_mask_as_the_forward_pass(options, placeholder):
    xv = _inputs((200, 50))
    x = gf.placeholder(gf.float32, (None, 50), name="x")
    kp = gf.placeholder(gf.float32, (), name="kp") if placeholder else 0.8
    y = gf.nn.dropout(x, keep_prob=kp)
    (g,) = gf.gradients(gf.reduce_sum(y), [x])
    feed = {x: xv, kp: 0.8} if placeholder else {x: xv}
    sess = gf.Session(**options)
    for _ in range(2):  # a new mask each run, and each run's gradient follows its own
        out, grad = sess.run([y, g], feed)
        mask = (out != 0).astype(np.float32)
        scale = np.float32(1) / np.float32(0.8) if placeholder else np.float32(1 / 0.8)
        np.testing.assert_array_equal(grad, mask * scale)
        assert 0.75 < mask.mean() < 0.85


@pytest.mark.parametrize("options", SESSIONS)
def test_noise_shape_broadcasts_the_mask(options):
    xv = _inputs((300, 20))
    x = gf.placeholder(gf.float32, (None, 20), name="x")
    rows = gf.nn.dropout(x, keep_prob=0.5, noise_shape=[None, 1])
    cols = gf.nn.dropout(x, keep_prob=0.5, noise_shape=[1, 20])
    sess = gf.Session(**options)
    r, c = sess.run([rows, cols], {x: xv})
    row_kept = (r != 0).all(axis=1)
    assert np.array_equal(row_kept, (r != 0).any(axis=1))  # whole rows kept or dropped
    assert 0.35 < row_kept.mean() < 0.65
    col_kept = (c != 0).all(axis=0)
    assert np.array_equal(col_kept, (c != 0).any(axis=0))
    np.testing.assert_array_equal(r[row_kept], xv[row_kept] * 2)
    fixed = gf.nn.dropout(gf.constant(xv), keep_prob=0.5, noise_shape=[300, 1])
    f = sess.run(fixed)
    assert np.array_equal((f != 0).all(axis=1), (f != 0).any(axis=1))


@pytest.mark.parametrize("options", SESSIONS)
def test_batch_size_known_only_at_run_time(options):
    x = gf.placeholder(gf.float32, shape=None, name="x")  # unknown rank too
    y = gf.nn.dropout(x, keep_prob=0.5)
    sess = gf.Session(**options)
    for shape in [(7, 3), (100,), (2, 3, 4)]:
        out = sess.run(y, {x: np.ones(shape, np.float32)})
        assert out.shape == shape and set(np.unique(out)) <= {0.0, 2.0}


def test_seeded_dropout_is_reproducible():
    def masks():
        graph = gf.Graph()
        with graph.as_default():
            gf.set_random_seed(4)
            y = gf.nn.dropout(gf.constant(np.ones((20, 20), np.float32)), keep_prob=0.5, seed=2)
            sess = gf.Session()
            return [sess.run(y) for _ in range(2)]
    first, again = masks(), masks()
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], first[1])


def test_matches_torch_when_nothing_is_dropped():
    # torch.nn.functional.dropout(p=0) is the identity, values and gradient alike
    xv = np.random.default_rng(2).standard_normal((6, 5))
    x = gf.placeholder(gf.float64, (6, 5), name="x")
    y = gf.nn.dropout(x, rate=0.0)
    cot = np.random.default_rng(3).standard_normal((6, 5))
    (g,) = gf.gradients(y, [x], grad_ys=gf.constant(cot))
    xt = torch.tensor(xv, requires_grad=True)
    yt = torch.nn.functional.dropout(xt, p=0.0, training=True)
    (gt,) = torch.autograd.grad(yt, [xt], torch.tensor(cot))
    for options in (dict(optimize=False), dict(check=True)):
        out, grad = gf.Session(**options).run([y, g], {x: xv})
        np.testing.assert_array_equal(out, yt.detach().numpy())
        np.testing.assert_array_equal(grad, gt.numpy())


def test_argument_errors():
    x = gf.placeholder(gf.float32, (None, 4), name="x")
    with pytest.raises(ValueError, match="exactly one of keep_prob and rate"):
        gf.nn.dropout(x)
    with pytest.raises(ValueError, match="exactly one of keep_prob and rate"):
        gf.nn.dropout(x, keep_prob=0.5, rate=0.5)
    with pytest.raises(ValueError, match=r"keep_prob must be in \(0, 1\]"):
        gf.nn.dropout(x, keep_prob=0.0)
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        gf.nn.dropout(x, rate=1.0)
    with pytest.raises(TypeError, match="needs a float tensor"):
        gf.nn.dropout(gf.placeholder(gf.int32, (3,)), keep_prob=0.5)
    with pytest.raises(ValueError, match="must be a scalar"):
        gf.nn.dropout(x, keep_prob=gf.placeholder(gf.float32, (4,)))
    with pytest.raises(ValueError, match="does not broadcast"):
        gf.nn.dropout(x, keep_prob=0.5, noise_shape=[None, 3])
    with pytest.raises(ValueError, match="does not broadcast"):
        gf.nn.dropout(x, keep_prob=0.5, noise_shape=[4])


# -- gf.layers.dropout -----------------------------------------------------------------------------
@pytest.mark.parametrize("options", SESSIONS)
def test_layer_with_python_training_flag(options):
    xv = _inputs((200, 100))
    x = gf.placeholder(gf.float32, (None, 100), name="x")
    off = gf.layers.dropout(x, rate=0.4)  # training=False by default, as in TF1
    on = gf.layers.dropout(x, rate=0.4, training=True)
    assert off.op.name == "dropout/Identity" and on.op.name.startswith("dropout_1/")
    a, b = gf.Session(**options).run([off, on], {x: xv})
    np.testing.assert_array_equal(a, xv)
    kept = b != 0
    assert abs(kept.mean() - 0.6) < 0.01
    np.testing.assert_array_equal(b[kept], xv[kept] * np.float32(1 / 0.6))


@pytest.mark.parametrize("options", SESSIONS)
def test_layer_with_a_bool_placeholder_switches_per_run(options):
    xv = _inputs((100, 60))
    x = gf.placeholder(gf.float32, (None, 60), name="x")
    training = gf.placeholder(gf.bool_, (), name="training")
    y = gf.layers.dropout(x, rate=0.5, training=training)
    (g,) = gf.gradients(gf.reduce_sum(y), [x])
    sess = gf.Session(**options)
    out, grad = sess.run([y, g], {x: xv, training: False})
    np.testing.assert_array_equal(out, xv)
    np.testing.assert_array_equal(grad, np.ones_like(xv))
    out, grad = sess.run([y, g], {x: xv, training: True})
    kept = out != 0
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_array_equal(out[kept], xv[kept] * 2)
    np.testing.assert_array_equal(grad, kept * np.float32(2))


def test_layer_with_an_unshaped_training_placeholder_keeps_the_static_shape():
    x = gf.placeholder(gf.float32, (None, 8), name="x")
    training = gf.placeholder(gf.bool_, name="training")
    y = gf.layers.dropout(x, rate=0.5, training=training)
    assert y.shape == (None, 8)
    xv = np.ones((3, 8), np.float32)
    np.testing.assert_array_equal(gf.Session().run(y, {x: xv, training: False}), xv)


def test_layer_training_must_be_a_bool():
    x = gf.placeholder(gf.float32, (None, 4), name="x")
    with pytest.raises(TypeError, match="scalar bool tensor"):
        gf.layers.dropout(x, training=gf.placeholder(gf.float32, ()))
    with pytest.raises(TypeError, match="Python bool or a bool tensor"):
        gf.layers.dropout(x, training="yes")
