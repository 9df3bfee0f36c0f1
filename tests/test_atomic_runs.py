"""A run that raises, for any reason, changes no variable and no random stream, on every executor
(the reference interpreter, generated numpy code, generated torch code)."""

import os
import signal
import threading

import numpy as np
import pytest

import graphflow as gf
from compiler import REGISTRY, OpDef, register
from compiler.errors import NumericsError, OpError
from compiler.ops.core import apply

EXECUTORS = {
    "interpreter": dict(optimize=False),
    "numpy": dict(),
    "torch": dict(backend="torch", device="cpu"),
    "native": dict(backend="native"),
}


@pytest.fixture(params=sorted(EXECUTORS))
def session_kwargs(request):
    return EXECUTORS[request.param]


@pytest.fixture(autouse=True)
def fresh_graph():
    with gf.Graph().as_default() as g:
        yield g


def _values(sess, variables):
    return [np.array(sess.run(v)) for v in variables]


def test_integer_power_with_a_negative_exponent_after_an_update(session_kwargs):
    v = gf.Variable(np.float32(1.5), name="v")
    base = gf.placeholder(gf.int32, (), name="base")
    exponent = gf.placeholder(gf.int32, (), name="exponent")
    update = v.assign_add(2.0)
    with gf.control_dependencies([update]):
        bad = gf.pow(base, exponent, name="bad")
    with gf.Session(**session_kwargs) as sess:
        assert sess.run(bad, {base: 2, exponent: 3}) == 8  # the update ran: v is 3.5
        with pytest.raises(OpError, match="bad"):
            sess.run(bad, {base: 2, exponent: -1})
        assert sess.run(v) == np.float32(3.5)


def test_integer_random_uniform_with_an_empty_range_after_an_update(session_kwargs):
    v = gf.Variable(np.zeros(3), name="v")
    lo = gf.placeholder(gf.int32, (), name="lo")
    hi = gf.placeholder(gf.int32, (), name="hi")
    update = v.assign_add(np.ones(3))
    with gf.control_dependencies([update]):
        draw = gf.random_uniform([4], minval=lo, maxval=hi, dtype=gf.int32, seed=3)
    with gf.Session(**session_kwargs) as sess:
        with pytest.raises(Exception, match="random_uniform|minval|maxval"):
            sess.run(draw, {lo: 5, hi: 5})
        np.testing.assert_array_equal(sess.run(v), np.zeros(3))


def test_a_failed_run_puts_the_random_streams_back(session_kwargs):
    gf.set_random_seed(7)
    v = gf.Variable(np.zeros(4), name="v")
    noise = gf.random_normal([4], seed=11, dtype=gf.float64)
    index = gf.placeholder(gf.int32, (1,), name="index")
    update = v.assign_add(noise)
    with gf.control_dependencies([update]):
        picked = gf.gather(v, index, name="picked")
    with gf.Session(**session_kwargs) as sess:
        with pytest.raises(OpError):
            sess.run(picked, {index: [99]})
        np.testing.assert_array_equal(sess.run(v), np.zeros(4))
        first = sess.run(noise)
    with gf.Session(**session_kwargs) as fresh:
        np.testing.assert_array_equal(first, fresh.run(noise))  # the failed run drew nothing


def test_check_numerics_stops_before_keeping_an_inf_the_update_made(session_kwargs):
    v = gf.Variable(np.float32(1e38), name="v")
    delta = gf.placeholder(gf.float32, (), name="delta")
    train = v.assign_add(delta)  # the update itself overflows: its check comes after it
    with gf.Session(check_numerics=True, **session_kwargs) as sess:
        sess.run(train, {delta: 2e38})
        with pytest.raises(NumericsError, match="AssignAdd"):
            sess.run(train, {delta: 3e38})  # 6e38 overflows float32
        assert sess.run(v) == np.float32(3e38)


def test_an_update_that_feeds_a_failing_gather_in_an_adam_step(session_kwargs):
    """A step whose updates are followed by an op that can raise keeps copies; the failure
    restores all of them (Adam's slots included)."""
    x = gf.placeholder(gf.float64, (None, 3), name="x")
    index = gf.placeholder(gf.int32, (None,), name="index")
    w = gf.Variable(np.arange(6.0).reshape(3, 2) / 10, name="w")
    loss = gf.reduce_sum(gf.square(gf.matmul(x, w)))
    train = gf.train.AdamOptimizer(0.1).minimize(loss)
    with gf.control_dependencies([train]):
        after = gf.gather(gf.reduce_sum(w, axis=1), index)
    with gf.Session(**session_kwargs) as sess:
        sess.run(train, {x: np.ones((2, 3))})
        variables = gf.global_variables()
        before = _values(sess, variables)
        with pytest.raises(OpError):
            sess.run(after, {x: np.ones((2, 3)), index: [7]})
        for a, b in zip(before, _values(sess, variables)):
            np.testing.assert_array_equal(a, b)


# -- Ctrl-C ------------------------------------------------------------------------------------
@pytest.fixture
def interrupt_op():
    """A test-only op that sends this process SIGINT and passes its input through (as if the user
    pressed Ctrl-C while it ran); it vouches it never raises itself, so no undo copies hide the
    difference between holding the signal and not. Unregistered afterwards."""
    def kernel(x):
        os.kill(os.getpid(), signal.SIGINT)
        return np.array(x)

    op = register(OpDef("test_atomic_interrupt", infer=lambda inputs: (inputs[0].shape,
                                                                       inputs[0].dtype),
                        kernel=kernel, stateful=True, never_raises=True))
    try:
        yield lambda x: apply(op, [x])
    finally:
        del REGISTRY[op.name]


@pytest.mark.parametrize("executor", ["interpreter", "numpy"])
def test_ctrl_c_between_two_writes_never_leaves_a_step_half_done(interrupt_op, executor):
    a = gf.Variable(np.float64(1.0), name="a")
    b = gf.Variable(np.float64(1.0), name="b")
    first = a.assign_add(1.0)
    with gf.control_dependencies([first]):
        middle = interrupt_op(gf.constant(5.0, dtype=gf.float64))
    second = b.assign(middle)
    with gf.Session(**EXECUTORS[executor]) as sess:
        with pytest.raises(KeyboardInterrupt):
            sess.run(second)
        values = (sess.run(a), sess.run(b))
    assert values in [(1.0, 1.0), (2.0, 5.0)], values  # before or after, never in between


@pytest.mark.parametrize("executor", ["interpreter", "numpy"])
def test_ctrl_c_before_the_first_write_changes_nothing(interrupt_op, executor):
    a = gf.Variable(np.float64(1.0), name="a")
    train = a.assign_add(interrupt_op(gf.constant(5.0, dtype=gf.float64)))
    with gf.Session(**EXECUTORS[executor]) as sess:
        with pytest.raises(KeyboardInterrupt):
            sess.run(train)
        assert sess.run(a) == 1.0
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_at_random_moments_of_a_training_loop(session_kwargs):
    """SIGINT from another thread at random times: each interrupted run leaves the weights as the
    last completed run left them, or one whole step further, never anything else."""
    rng = np.random.default_rng(0)
    x = gf.placeholder(gf.float64, (64, 20), name="x")
    w1 = gf.Variable(rng.normal(size=(20, 64)) / 5, name="w1")
    w2 = gf.Variable(rng.normal(size=(64, 1)) / 5, name="w2")
    loss = gf.reduce_mean(gf.square(gf.matmul(gf.tanh(gf.matmul(x, w1)), w2) - 1.0))
    train = gf.train.MomentumOptimizer(0.01, 0.9).minimize(loss)
    variables = gf.global_variables()
    data = rng.normal(size=(64, 20))
    interrupted = 0
    with gf.Session(**session_kwargs) as sess, gf.Session(**session_kwargs) as reference:
        for trial in range(12):
            before = _values(sess, variables)
            timer = threading.Timer(rng.uniform(0, 0.004),
                                    lambda: os.kill(os.getpid(), signal.SIGINT))
            try:
                timer.start()
                for _ in range(100_000):  # until the signal comes, within a few milliseconds
                    sess.run(train, {x: data})
                    before = _values(sess, variables)
            except KeyboardInterrupt:
                interrupted += 1
                after = _values(sess, variables)
                reference._load_variable_values(dict(zip(variables, before)))
                reference.run(train, {x: data})
                one_step = _values(reference, variables)
                unchanged = all(np.array_equal(p, q) for p, q in zip(before, after))
                stepped = all(np.array_equal(p, q) for p, q in zip(one_step, after))
                assert unchanged or stepped, f"trial {trial}: a step was left half done"
            finally:
                timer.join()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert interrupted > 0


# -- the guarantee costs training steps no copies -----------------------------------------------
OPTIMIZERS = {
    "sgd": lambda: gf.train.GradientDescentOptimizer(0.1),
    "momentum": lambda: gf.train.MomentumOptimizer(0.1, 0.9),
    "adam": lambda: gf.train.AdamOptimizer(1e-3),
    "rmsprop": lambda: gf.train.RMSPropOptimizer(1e-3),
    "adagrad": lambda: gf.train.AdagradOptimizer(0.1),
}


def _mlp_step(make_optimizer, dtype=gf.float32):
    x = gf.placeholder(dtype, (None, 784), name="x")
    y = gf.placeholder(dtype, (None, 10), name="y")
    hidden = gf.layers.dense(x, 256, activation=gf.nn.relu)
    logits = gf.layers.dense(hidden, 10)
    loss = gf.reduce_mean(gf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
    return x, y, loss, make_optimizer().minimize(loss)


@pytest.mark.parametrize("options", [dict(), dict(reuse_memory=False),
                                     dict(backend="torch", device="cpu"), dict(backend="native")],
                         ids=["numpy", "numpy-no-planning", "torch", "native"])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_a_training_step_copies_no_variable(options, optimizer):
    """Updates come last, with only arithmetic that cannot raise after them (numpy), or with the
    writes staged to the end of the step (no planned memory): no undo copies."""
    x, y, loss, train = _mlp_step(OPTIMIZERS[optimizer])
    with gf.Session(**options) as sess:
        step = sess.make_callable([loss, train], [x, y])
        step(np.ones((8, 784), np.float32), np.ones((8, 10), np.float32))
        assert step._last.generated.undo == ()


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "adagrad"])
def test_staged_writes_compute_what_the_interpreter_computes(optimizer):
    rng = np.random.default_rng(1)
    gf.set_random_seed(1)  # the same initial weights in both sessions
    x, y, loss, train = _mlp_step(OPTIMIZERS[optimizer], dtype=gf.float64)
    data = rng.normal(size=(16, 784)), (rng.random((16, 10)) > 0.5).astype(np.float64)
    variables = gf.global_variables()
    results = []
    for options in (dict(optimize=False), dict(backend="torch", device="cpu")):
        with gf.Session(**options) as sess:
            for _ in range(3):
                sess.run(train, {x: data[0], y: data[1]})
            results.append(_values(sess, variables))
    # torch and numpy sum in different orders: ~1e-15 apart per step, which Adam's division by
    # sqrt(v) can grow to ~1e-12 where v is tiny. Reading a moment before its update (what staging
    # could get wrong) is off by far more.
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
