"""A new backend is one package and one registration (compiler/backends/__init__.py): the toy
backend of tests/toy_backend.py trains the MLP of the README to the numpy backend's numbers, with
every op going through its own lowering table."""

import numpy as np
import pytest

import graphflow as gf
from compiler import backends
from compiler.opdef import REGISTRY


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(backends._PACKAGES, "toy", ("toy_backend", ""))
    yield


def mlp_step(sess_options):
    graph = gf.Graph()
    with graph.as_default():
        gf.set_random_seed(0)
        x = gf.placeholder(gf.float64, (None, 4), name="x")
        y = gf.placeholder(gf.float64, (None, 1), name="y")
        w1 = gf.Variable(gf.random_normal((4, 8), dtype=gf.float64, seed=1), name="w1")
        b1 = gf.Variable(np.zeros(8), name="b1")
        w2 = gf.Variable(gf.random_normal((8, 1), dtype=gf.float64, seed=2), name="w2")
        logits = gf.matmul(gf.nn.relu(gf.matmul(x, w1) + b1), w2)
        loss = gf.reduce_mean(gf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
        train = gf.train.AdamOptimizer(0.05).minimize(loss)
        sess = gf.Session(**sess_options)
        sess.run(gf.global_variables_initializer())
        step = sess.make_callable([loss, train], [x, y])
    return sess, step, w1


def test_a_registered_backend_trains_like_numpy(toy):
    rng = np.random.default_rng(0)
    xb, yb = rng.random((16, 4)), (rng.random((16, 1)) > 0.5).astype(np.float64)
    toy_sess, toy_step, toy_w1 = mlp_step({"backend": "toy"})
    ref_sess, ref_step, ref_w1 = mlp_step({})
    for _ in range(5):
        toy_loss, _ = toy_step(xb, yb)
        ref_loss, _ = ref_step(xb, yb)
        np.testing.assert_allclose(toy_loss, ref_loss, rtol=1e-12)
    np.testing.assert_allclose(toy_sess.run(toy_w1), ref_sess.run(ref_w1), rtol=1e-12)
    assert toy_sess.backend.name == "toy" and toy_sess.backend.kernels_run > 0
    assert "np.matmul" not in toy_step.source  # its own table, not numpy's templates


def test_the_toy_table_covers_the_registry():
    from toy_backend import NO_CODE, TOY_TABLE
    TOY_TABLE.check(REGISTRY, without=NO_CODE)


def test_an_update_lowered_to_its_reference_kernel_is_refused(toy, monkeypatch):
    """The reference kernel of an assignment stages its write for the interpreter: generated
    code running it would drop the write, so the table must give a statement."""
    from toy_backend import TOY_TABLE
    monkeypatch.setitem(TOY_TABLE.rules, "assign_sub", backends.REFERENCE)
    v = gf.Variable(np.ones(2), name="v")
    step = v.assign_sub(np.ones(2), name="decrement")
    sess = gf.Session(backend="toy")
    with pytest.raises(gf.errors.BackendError, match=r"toy backend's rule for 'assign_sub'.*"
                                                     r"'decrement'.*must be a Template"):
        sess.run(step)
    np.testing.assert_array_equal(sess.run(v), np.ones(2))


def test_an_unknown_backend_lists_the_registered_ones(toy):
    with pytest.raises(ValueError, match=r"unknown backend 'jax'.*'toy'"):
        gf.Session(backend="jax")
