"""TF1 parity: inputs as TF1 scripts write them, old keyword names, aliases, unsupported names."""

import numpy as np
import pytest
import torch

import graphflow as gf


@pytest.mark.parametrize("name, want", [("float", np.float32), ("double", np.float64),
                                        ("float32", np.float32), ("float64", np.float64),
                                        ("int32", np.int32), ("int64", np.int64),
                                        ("bool", np.bool_)])
def test_string_dtypes(name, want):
    assert gf.placeholder(name, [None, 3]).dtype == want
    assert gf.cast(gf.constant(1), name).dtype == want


def test_placeholder_positional_and_list_shapes():
    x = gf.placeholder(gf.float32, [None, 784], "images")
    assert (x.shape, x.op.name) == ((None, 784), "images")
    with pytest.raises(TypeError, match="not a dtype|not supported"):
        gf.placeholder("float16", [2])


def test_variables_from_numbers_arrays_and_tensors():
    assert gf.Variable(0.5).dtype == np.float32      # a Python float: float32, as in TF1
    assert gf.Variable(3).dtype == np.int32
    assert gf.Variable(np.zeros(2)).dtype == np.float64
    w = gf.Variable(gf.zeros([784, 10]))
    b = gf.Variable(gf.ones([10], "float64"))
    assert (w.shape, w.dtype, b.dtype) == ((784, 10), np.float32, np.float64)
    values = gf.Session().run([gf.zeros([2, 3]), gf.ones(2), gf.fill([2, 2], 7.0),
                               gf.fill([3], 2)])
    np.testing.assert_array_equal(values[0], np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(values[1], np.ones(2, np.float32))
    np.testing.assert_array_equal(values[2], np.full((2, 2), 7.0, np.float32))
    assert values[3].dtype == np.int32 and list(values[3]) == [2, 2, 2]


@pytest.mark.parametrize("fn, torch_fn", [(gf.reduce_sum, torch.sum), (gf.reduce_mean,
                                                                        torch.mean),
                                          (gf.reduce_max, torch.amax)])
def test_reduction_indices_and_keep_dims(fn, torch_fn):
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    got = gf.Session().run(fn(gf.constant(a), reduction_indices=[0, 2], keep_dims=True))
    want = torch_fn(torch.tensor(a), dim=(0, 2), keepdim=True).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(ValueError, match="not both"):
        fn(gf.constant(a), axis=0, reduction_indices=0)


def test_pow_div_truediv():
    x, y = gf.constant(np.array([2.0, 9.0])), gf.constant(np.array([4.0, 2.0]))
    got = gf.Session().run([gf.pow(x, y), gf.div(x, y), gf.truediv(x, y)])
    np.testing.assert_allclose(got, [[16.0, 81.0], [0.5, 4.5], [0.5, 4.5]])


def test_nn_aliases_against_torch():
    rng = np.random.default_rng(1)
    v, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    labels = np.eye(3)[[0, 2, 1, 1]]
    sess = gf.Session()
    np.testing.assert_allclose(sess.run(gf.nn.bias_add(gf.constant(v), gf.constant(b))), v + b)
    got = sess.run(gf.nn.softmax_cross_entropy_with_logits_v2(labels=labels,
                                                               logits=gf.constant(v)))
    want = torch.nn.functional.cross_entropy(torch.tensor(v), torch.tensor(labels),
                                             reduction="none").numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(ValueError, match="bias must be 1-D"):
        gf.nn.bias_add(gf.constant(v), gf.constant(v))
    with pytest.raises(ValueError, match="does not match"):
        gf.nn.bias_add(gf.constant(v), gf.constant(np.ones(4)))


def test_tf1_losses_against_torch_and_the_losses_collection():
    rng = np.random.default_rng(2)
    logits, targets = rng.standard_normal((5, 4)), rng.random((5, 4))
    onehot = np.eye(4)[[0, 1, 3, 2, 2]]
    sess = gf.Session()
    xent = gf.losses.softmax_cross_entropy(onehot, gf.constant(logits))
    bce = gf.losses.sigmoid_cross_entropy(targets, gf.constant(logits))
    F, t = torch.nn.functional, torch.tensor
    np.testing.assert_allclose(sess.run(xent), F.cross_entropy(t(logits), t(onehot)).item(),
                               rtol=1e-12)
    np.testing.assert_allclose(sess.run(bce), F.binary_cross_entropy_with_logits(
        t(logits), t(targets)).item(), rtol=1e-12)
    assert gf.get_collection(gf.GraphKeys.LOSSES) == [xent, bce]
    weights = np.array([[1.0], [0.0], [2.0], [1.0], [0.0]])
    weighted = gf.losses.sigmoid_cross_entropy(targets, gf.constant(logits), weights=weights)
    per = F.binary_cross_entropy_with_logits(t(logits), t(targets), reduction="none").numpy()
    want = (per * weights).sum() / np.count_nonzero(np.broadcast_to(weights, per.shape))
    np.testing.assert_allclose(sess.run(weighted), want, rtol=1e-12)


@pytest.mark.parametrize("name", ["map_fn", "cond", "while_loop", "case", "keras"])
def test_unsupported_tf1_names_say_so(name):
    with pytest.raises(NotImplementedError, match="graphflow does not support"):
        getattr(gf, name)


def test_unknown_names_point_to_the_readme():
    with pytest.raises(AttributeError, match="Coming from TensorFlow 1"):
        gf.no_such_thing  # noqa: B018


def test_dense_kernel_regularizer_feeds_the_regularization_loss():
    x = gf.placeholder(gf.float32, [None, 3])
    gf.layers.dense(x, 2, kernel_initializer=gf.constant_initializer(0.5),
                    kernel_regularizer=lambda w: 0.1 * gf.nn.l2_loss(w))
    gf.layers.dense(x, 4, name="plain")
    (term,) = gf.get_collection(gf.GraphKeys.REGULARIZATION_LOSSES)
    # 0.1 * sum(0.5^2 over 3x2) / 2
    assert gf.Session().run(gf.losses.get_regularization_loss()) == pytest.approx(0.075)
    assert term.graph is x.graph


def test_tf1_positional_session_scoped_collections_shapes_and_matmul_flags():
    g = gf.Graph()
    with g.as_default():
        with gf.name_scope("dense"):
            w = gf.Variable(np.arange(6.0).reshape(2, 3), name="w")
        gf.Variable(1.0, name="other")
        x = gf.placeholder("double", [None, 2])
        y = gf.matmul(x, gf.transpose(w), transpose_b=True)  # x @ w
        z = gf.matmul(w, x, transpose_a=True, transpose_b=True)  # w.T @ x.T
    sess = gf.Session("", g)
    xs = np.array([[1.0, 2.0]])
    np.testing.assert_allclose(sess.run(y, {x: xs}), xs @ w.initial_value)
    np.testing.assert_allclose(sess.run(z, {x: xs}), w.initial_value.T @ xs.T)
    with g.as_default():
        assert gf.trainable_variables("dense") == [w]
        assert [v.op.name for v in gf.global_variables("oth")] == ["other"]
    assert y.get_shape().as_list() == [None, 3] and y.get_shape().ndims == 2
    with pytest.raises(ValueError, match="no distributed"):
        gf.Session("grpc://somewhere:2222")


def test_negative_seeds_are_accepted_as_in_tf1():
    gf.set_random_seed(-1)
    a = gf.random_normal([3], seed=-3)
    w = gf.Variable(gf.initializers.glorot_uniform()((2, 2)))
    sess = gf.Session()
    assert np.all(np.isfinite(sess.run(a))) and sess.run(w).shape == (2, 2)


def test_fetching_an_op_then_its_tensor_gives_none_then_the_value():
    v = gf.Variable(2.0)
    inc = gf.assign_add(v, 1.0)
    sess = gf.Session()
    assert sess.run(inc.op) is None
    assert sess.run(inc) == 4.0
    assert gf.get_collection(gf.GraphKeys.LOSSES) == []
    gf.losses.mean_squared_error(gf.constant([1.0]), gf.constant([2.0]))
    assert len(gf.get_collection(gf.GraphKeys.LOSSES)) == 1


def test_argmax_dimension_output_type_and_softmax_dim():
    x = gf.constant(np.array([[1.0, 3.0, 2.0], [5.0, 0.0, 4.0]]))
    sess = gf.Session()
    got = sess.run([gf.argmax(x, dimension=1, output_type=gf.int32), gf.argmax(x, 0)])
    assert got[0].dtype == np.int32 and list(got[0]) == [1, 0]
    assert got[1].dtype == np.int64 and list(got[1]) == [1, 0, 1]
    want = torch.softmax(torch.tensor(sess.run(x)), 0).numpy()
    np.testing.assert_allclose(sess.run(gf.nn.softmax(x, dim=0)), want, rtol=1e-12)
    np.testing.assert_allclose(sess.run(gf.nn.log_softmax(x, axis=0)), np.log(want), rtol=1e-12)
    with pytest.raises(ValueError, match="not both"):
        gf.argmax(x, 0, dimension=1)


def test_saver_global_step_and_max_to_keep(tmp_path):
    v = gf.Variable(np.zeros(2), name="v")
    step = gf.Variable(0, name="step", dtype=gf.int64, trainable=False)
    sess = gf.Session()
    saver = gf.train.Saver(max_to_keep=2)
    paths = []
    for k in range(1, 4):
        sess.run([v.assign_add(np.ones(2)), step.assign(k)])
        paths.append(saver.save(sess, tmp_path / "model", global_step=step))
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["model-1.npz", "model-2.npz", "model-3.npz"]
    assert not (tmp_path / "model-1.npz").exists() and saver.last_checkpoints == paths[1:]
    fresh = gf.Session()
    saver.restore(fresh, paths[1])
    np.testing.assert_array_equal(fresh.run(v), [2.0, 2.0])
