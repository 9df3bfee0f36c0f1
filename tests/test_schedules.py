"""The global step and the learning-rate schedules: values step by step against TF1's formulas
written out in numpy, and training loops where the step op increments the global step and the
learning rate is computed from it (TF1: the step runs with the value before its increment)."""

import math

import numpy as np
import pytest

import graphflow as gf

SESSIONS = {"compiled": dict(), "interpreter": dict(optimize=False)}
STEPS = range(0, 41)


def run_steps(schedule, step, steps=STEPS, session="compiled"):
    """The schedule's value at each global step, fed through the int64 placeholder `step`."""
    sess = gf.Session(**SESSIONS[session])
    return [sess.run(schedule, {step: np.int64(k)}) for k in steps]


def int64_step():
    return gf.placeholder(gf.int64, shape=(), name="step")


# -- the global step -----------------------------------------------------------------------------
def test_get_or_create_global_step_makes_one_int64_variable_per_graph():
    assert gf.train.get_global_step() is None
    with gf.name_scope("train"):
        step = gf.train.get_or_create_global_step()
        assert gf.constant(1.0, name="c").op.name == "train/c"  # the open scope is back
    assert step.op.name == "global_step"  # outside the open name scope, as in TF1
    assert isinstance(step, gf.Variable)
    assert step.dtype == np.int64 and step.shape == () and not step.trainable
    assert gf.train.get_or_create_global_step() is step
    assert gf.train.get_global_step() is step
    assert gf.get_default_graph().get_collection("global_step") == [step]
    assert step in gf.global_variables() and step not in gf.trainable_variables()
    value = gf.Session().run(step)
    assert value == 0 and value.dtype == np.int64
    with pytest.raises(ValueError, match="already exists"):
        gf.train.create_global_step()


def test_the_graph_argument_and_graphs_apart():
    other = gf.Graph()
    assert gf.train.get_global_step(other) is None
    theirs = gf.train.get_or_create_global_step(other)
    assert theirs.graph is other and gf.train.get_global_step(other) is theirs
    assert gf.train.get_global_step() is None  # the default graph has none yet
    ours = gf.train.get_or_create_global_step()
    assert ours is not theirs and ours.graph is gf.get_default_graph()
    assert gf.global_variables(other) == [theirs]


def test_a_variable_named_global_step_is_found_as_tf1_finds_it():
    made = gf.Variable(np.int64(7), name="global_step", trainable=False)
    assert gf.train.get_global_step() is made
    assert gf.train.get_or_create_global_step() is made
    with gf.Graph().as_default():
        gf.Variable(1.5, name="global_step")
        with pytest.raises(TypeError, match="scalar integer"):
            gf.train.get_global_step()
    with gf.Graph().as_default():
        gf.placeholder(gf.int64, shape=(), name="global_step")
        with pytest.raises(TypeError, match="not a gf.Variable"):
            gf.train.get_or_create_global_step()


# -- exponential_decay ---------------------------------------------------------------------------
def exponential_np(lr, k, decay_steps, rate, staircase, dtype):
    p = dtype(k) / dtype(decay_steps)
    if staircase:
        p = np.floor(p)
    return dtype(lr) * dtype(rate) ** p


@pytest.mark.parametrize("session", SESSIONS)
@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("decay_steps", [3, 2.5, 7])
def test_exponential_decay_float32(decay_steps, staircase, session):
    step = int64_step()
    lr = gf.train.exponential_decay(0.1, step, decay_steps, 0.8, staircase=staircase)
    assert lr.dtype == np.float32 and lr.shape == ()
    values = run_steps(lr, step, session=session)
    for k, value in zip(STEPS, values):
        expected = exponential_np(0.1, k, decay_steps, 0.8, staircase, np.float32)
        assert value.dtype == np.float32
        np.testing.assert_allclose(value, expected, rtol=3e-7, err_msg=f"step {k}")
    if staircase:  # constant within each interval, a jump at each multiple of decay_steps
        assert len(set(values)) == math.floor(40 / decay_steps) + 1


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_float64_from_a_float64_learning_rate(staircase):
    step = int64_step()
    lr = gf.train.exponential_decay(gf.constant(0.3, gf.float64), step, 4, 0.5,
                                    staircase=staircase, name="lr")
    assert lr.dtype == np.float64 and lr.op.name == "lr"
    for k, value in zip(STEPS, run_steps(lr, step)):
        expected = exponential_np(0.3, k, 4, 0.5, staircase, np.float64)
        np.testing.assert_allclose(value, expected, rtol=1e-14, err_msg=f"step {k}")


def test_exponential_decay_hand_computed():
    step = int64_step()
    smooth = gf.train.exponential_decay(1.0, step, 2, 0.25)
    stair = gf.train.exponential_decay(1.0, step, 2, 0.25, staircase=True)
    sess = gf.Session()
    assert sess.run(smooth, {step: 1}) == pytest.approx(0.5)     # 0.25 ** 0.5
    assert sess.run(stair, {step: 1}) == 1.0                     # floor(0.5) = 0
    assert sess.run(stair, {step: 3}) == 0.25                    # floor(1.5) = 1
    assert sess.run(stair, {step: 4}) == 0.0625
    assert sess.run(stair, {step: 10 ** 6}) == 0.0               # underflows to zero


def test_exponential_decay_takes_tensors_and_checks_its_arguments():
    step = int64_step()
    rate = gf.placeholder(gf.float32, shape=(), name="rate")
    lr = gf.train.exponential_decay(0.2, step, 5, rate)
    assert gf.Session().run(lr, {step: 10, rate: 0.5}) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="global_step is required"):
        gf.train.exponential_decay(0.1, None, 10, 0.9)
    with pytest.raises(TypeError, match="global_step must be"):
        gf.train.exponential_decay(0.1, 3, 10, 0.9)
    with pytest.raises(ValueError, match="decay_steps must be positive"):
        gf.train.exponential_decay(0.1, step, 0, 0.9)
    with pytest.raises(TypeError, match="learning_rate must be a float"):
        gf.train.exponential_decay(gf.constant(1), step, 10, 0.9)


# -- piecewise_constant --------------------------------------------------------------------------
def piecewise_np(x, boundaries, values):
    """TF1's convention: values[0] for x <= b[0]; values[i] for b[i-1] < x <= b[i];
    values[-1] for x > b[-1]."""
    if x <= boundaries[0]:
        return values[0]
    for i in range(1, len(boundaries)):
        if boundaries[i - 1] < x <= boundaries[i]:
            return values[i]
    return values[-1]


@pytest.mark.parametrize("session", SESSIONS)
def test_piecewise_constant_on_the_global_step(session):
    boundaries, values = [3, 7, 10], [1.0, 0.5, 0.25, 0.125]
    step = int64_step()
    lr = gf.train.piecewise_constant(step, boundaries, values)
    assert lr.dtype == np.float32
    steps = range(-3, 15)
    got = run_steps(lr, step, steps, session)
    expected = [piecewise_np(k, boundaries, values) for k in steps]
    assert [float(v) for v in got] == expected
    # the edges: a boundary belongs to the interval below it
    assert got[list(steps).index(3)] == 1.0 and got[list(steps).index(4)] == 0.5
    assert got[list(steps).index(10)] == 0.25 and got[list(steps).index(11)] == 0.125


def test_piecewise_constant_float_x_int_values_and_tensor_boundaries():
    x = gf.placeholder(gf.float64, shape=(), name="x")
    pc = gf.train.piecewise_constant(x, [-1.5, 0.0, 2.25], [4, 3, 2, 1])
    assert pc.dtype == np.int32
    sess = gf.Session()
    for v in [-3.0, -1.5, -1.49, -1e-9, 0.0, 1e-9, 2.25, 2.2500001, 9.0]:
        assert sess.run(pc, {x: v}) == piecewise_np(v, [-1.5, 0.0, 2.25], [4, 3, 2, 1]), v
    step = gf.train.get_or_create_global_step()
    bound = gf.placeholder(gf.int32, shape=(), name="bound")  # int32 for an int64 x: cast up
    lr = gf.train.piecewise_constant(step, [bound], [gf.constant(0.1, gf.float64), 0.01])
    assert lr.dtype == np.float64
    assert sess.run(lr, {bound: 0}) == 0.1
    assert sess.run(lr, {bound: -1}) == 0.01


def test_piecewise_constant_errors():
    step = int64_step()
    with pytest.raises(ValueError, match="one shorter"):
        gf.train.piecewise_constant(step, [1, 2], [1.0, 0.5])
    with pytest.raises(ValueError, match="one shorter"):
        gf.train.piecewise_constant(step, [], [1.0])
    with pytest.raises(ValueError, match="increasing"):
        gf.train.piecewise_constant(step, [5, 2], [1.0, 0.5, 0.1])
    with pytest.raises(TypeError):  # a fractional boundary for an int step is not rounded
        gf.train.piecewise_constant(step, [2.5], [1.0, 0.5])
    with pytest.raises(TypeError, match="must agree"):
        gf.train.piecewise_constant(step, [gf.constant(2.0)], [1.0, 0.5])
    with pytest.raises(TypeError, match="one dtype"):
        gf.train.piecewise_constant(step, [2], [gf.constant(1.0, gf.float64),
                                                gf.constant(0.5)])


# -- polynomial_decay ----------------------------------------------------------------------------
def polynomial_np(lr, k, decay_steps, end, power, cycle, dtype):
    k, decay_steps = dtype(k), dtype(decay_steps)
    if cycle:
        multiplier = dtype(1.0) if k == 0 else dtype(math.ceil(k / decay_steps))
        decay_steps = decay_steps * multiplier
    else:
        k = min(k, decay_steps)
    p = k / decay_steps
    return (dtype(lr) - dtype(end)) * (dtype(1) - p) ** dtype(power) + dtype(end)


@pytest.mark.parametrize("session", SESSIONS)
@pytest.mark.parametrize("cycle", [False, True])
@pytest.mark.parametrize("power", [1.0, 0.5, 2.0])
def test_polynomial_decay_float32(power, cycle, session):
    step = int64_step()
    lr = gf.train.polynomial_decay(0.1, step, 10, end_learning_rate=0.01, power=power,
                                   cycle=cycle)
    assert lr.dtype == np.float32
    for k, value in zip(STEPS, run_steps(lr, step, session=session)):
        expected = polynomial_np(0.1, k, 10, 0.01, power, cycle, np.float32)
        np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-9, err_msg=f"step {k}")


@pytest.mark.parametrize("cycle", [False, True])
def test_polynomial_decay_float64_and_defaults(cycle):
    step = int64_step()
    lr = gf.train.polynomial_decay(gf.constant(0.5, gf.float64), step, 7, cycle=cycle)
    for k, value in zip(STEPS, run_steps(lr, step)):
        expected = polynomial_np(0.5, k, 7, 0.0001, 1.0, cycle, np.float64)
        np.testing.assert_allclose(value, expected, rtol=1e-13, err_msg=f"step {k}")


def test_polynomial_decay_hand_computed():
    step = int64_step()
    flat = gf.train.polynomial_decay(1.0, step, 4, end_learning_rate=0.0)
    cyc = gf.train.polynomial_decay(1.0, step, 4, end_learning_rate=0.0, cycle=True)
    sess = gf.Session()
    assert [sess.run(flat, {step: k}) for k in (0, 1, 4, 9)] == [1.0, 0.75, 0.0, 0.0]
    # cycle: step 0 uses decay_steps itself; 4 ends the first cycle, 5 starts the second (8)
    assert [sess.run(cyc, {step: k}) for k in (0, 1, 4, 5, 8, 9)] == [
        1.0, 0.75, 0.0, 1.0 - 5 / 8, 0.0, 1.0 - 9 / 12]


def test_polynomial_decay_errors():
    with pytest.raises(ValueError, match="global_step is required"):
        gf.train.polynomial_decay(0.1, None, 10)
    with pytest.raises(ValueError, match="decay_steps must be positive"):
        gf.train.polynomial_decay(0.1, int64_step(), -1)


# -- training loops: the step runs with the global step from before its increment ------------------
def regression(seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal(8)
    w0 = rng.standard_normal(3)

    def grad(w):  # of loss = mean((x @ w - y)^2)
        return 2.0 * x.T @ (x @ w - y) / len(x)
    return x, y, w0, grad


@pytest.mark.parametrize("session", SESSIONS)
@pytest.mark.parametrize("staircase", [False, True])
def test_sgd_with_exponential_decay_uses_the_pre_increment_step(staircase, session):
    x_val, y_val, w0, grad = regression()
    w = gf.Variable(w0, name="w")
    loss = gf.reduce_mean(gf.square(gf.matmul(gf.constant(x_val), gf.reshape(w, (3, 1)))
                                    - gf.constant(y_val.reshape(8, 1))))
    global_step = gf.train.get_or_create_global_step()
    lr = gf.train.exponential_decay(0.1, global_step, 3, 0.5, staircase=staircase)
    train_op = gf.train.GradientDescentOptimizer(lr).minimize(loss, global_step=global_step)
    sess = gf.Session(**SESSIONS[session])
    w_np = w0.copy()
    for k in range(12):
        step_before, lr_value, _ = sess.run([global_step, lr, train_op])
        expected_lr = exponential_np(0.1, k, 3, 0.5, staircase, np.float32)
        assert step_before == k
        np.testing.assert_allclose(lr_value, expected_lr, rtol=3e-7, err_msg=f"lr at step {k}")
        # the update used this lr (as float32, then widened to the variable's float64)
        w_np = w_np - np.float64(lr_value) * grad(w_np)
        np.testing.assert_allclose(sess.run(w), w_np, rtol=1e-10, err_msg=f"w after step {k}")
    assert sess.run(global_step) == 12


@pytest.mark.parametrize("session", SESSIONS)
def test_momentum_with_a_float64_schedule_run_without_fetching_it(session):
    """The lr is never fetched: only the parameter updates show which step it was computed at."""
    x_val, y_val, w0, grad = regression(1)
    w = gf.Variable(w0, name="w")
    loss = gf.reduce_mean(gf.square(gf.matmul(gf.constant(x_val), gf.reshape(w, (3, 1)))
                                    - gf.constant(y_val.reshape(8, 1))))
    global_step = gf.train.get_or_create_global_step()
    lr = gf.train.polynomial_decay(gf.constant(0.05, gf.float64), global_step, 6,
                                   end_learning_rate=0.001, power=2.0, cycle=True)
    optimizer = gf.train.MomentumOptimizer(lr, 0.9)
    train_op = optimizer.apply_gradients(optimizer.compute_gradients(loss),
                                         global_step=global_step)
    sess = gf.Session(**SESSIONS[session])
    w_np, buf = w0.copy(), np.zeros(3)
    for k in range(15):
        sess.run(train_op)
        rate = polynomial_np(0.05, k, 6, 0.001, 2.0, True, np.float64)
        buf = 0.9 * buf + grad(w_np)
        w_np = w_np - rate * buf
        np.testing.assert_allclose(sess.run(w), w_np, rtol=1e-10, err_msg=f"w after step {k}")
    assert sess.run(global_step) == 15


@pytest.mark.parametrize("session", SESSIONS)
def test_adam_with_piecewise_constant_on_the_global_step(session):
    w = gf.Variable(np.array([2.0, -1.0]), name="w")
    loss = gf.reduce_sum(gf.square(w))
    global_step = gf.train.get_or_create_global_step()
    lr = gf.train.piecewise_constant(global_step, [2, 4], [gf.constant(0.1, gf.float64),
                                                           gf.constant(0.01, gf.float64),
                                                           gf.constant(0.001, gf.float64)])
    train_op = gf.train.AdamOptimizer(lr).minimize(loss, global_step=global_step)
    sess = gf.Session(**SESSIONS[session])
    w_np, m, v = np.array([2.0, -1.0]), np.zeros(2), np.zeros(2)
    for k in range(7):
        sess.run(train_op)
        rate = piecewise_np(k, [2, 4], [0.1, 0.01, 0.001])
        g = 2.0 * w_np
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        t = k + 1
        w_np = w_np - (rate / (1 - 0.9 ** t)) * m / (np.sqrt(v) / np.sqrt(1 - 0.999 ** t) + 1e-8)
        np.testing.assert_allclose(sess.run(w), w_np, rtol=1e-10, err_msg=f"w after step {k}")
