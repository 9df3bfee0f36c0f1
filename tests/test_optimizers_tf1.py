"""TF1's RMSProp and Adagrad against their update rules written out in numpy (float64), and the
global step that minimize/apply_gradients increment, for every optimizer."""

import numpy as np
import pytest
import torch

import graphflow as gf

STEPS = 12
RTOL = 1e-10

SESSIONS = {"compiled": dict(), "interpreter": dict(optimize=False)}


def assert_close(actual, expected, what, rtol=RTOL):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-14, err_msg=what)


# -- the reference update rules, TF1's, in numpy ---------------------------------------------------
class NumpyRMSProp:
    def __init__(self, shape, lr, decay=0.9, momentum=0.0, epsilon=1e-10, centered=False):
        self.lr, self.decay, self.momentum, self.epsilon = lr, decay, momentum, epsilon
        self.centered = centered
        self.ms = np.ones(shape)       # TF1 starts the mean square at one
        self.mg = np.zeros(shape)
        self.mom = np.zeros(shape)

    def step(self, var, g):
        self.ms = self.decay * self.ms + (1.0 - self.decay) * g * g
        denom = self.ms
        if self.centered:
            self.mg = self.decay * self.mg + (1.0 - self.decay) * g
            denom = self.ms - self.mg * self.mg
        self.mom = self.momentum * self.mom + self.lr * g / np.sqrt(denom + self.epsilon)
        return var - self.mom


class NumpyAdagrad:
    def __init__(self, shape, lr, initial_accumulator_value=0.1):
        self.lr = lr
        self.acc = np.full(shape, initial_accumulator_value)

    def step(self, var, g):
        self.acc = self.acc + g * g
        return var - self.lr * g / np.sqrt(self.acc)


# name -> (graphflow optimizer, numpy reference); decay/epsilon chosen so that a misplaced
# epsilon or a zero-started mean square shows well above the tolerance
VARIANTS = {
    "rmsprop": (lambda: gf.train.RMSPropOptimizer(0.05),
                lambda shape: NumpyRMSProp(shape, 0.05)),
    "rmsprop_eps": (lambda: gf.train.RMSPropOptimizer(0.05, decay=0.8, epsilon=0.3),
                    lambda shape: NumpyRMSProp(shape, 0.05, decay=0.8, epsilon=0.3)),
    "rmsprop_momentum": (lambda: gf.train.RMSPropOptimizer(0.02, decay=0.7, momentum=0.9),
                         lambda shape: NumpyRMSProp(shape, 0.02, decay=0.7, momentum=0.9)),
    "rmsprop_centered": (lambda: gf.train.RMSPropOptimizer(0.02, decay=0.8, epsilon=1e-3,
                                                           centered=True),
                         lambda shape: NumpyRMSProp(shape, 0.02, decay=0.8, epsilon=1e-3,
                                                    centered=True)),
    "rmsprop_centered_momentum": (
        lambda: gf.train.RMSPropOptimizer(0.01, decay=0.85, momentum=0.6, epsilon=1e-6,
                                          centered=True),
        lambda shape: NumpyRMSProp(shape, 0.01, decay=0.85, momentum=0.6, epsilon=1e-6,
                                   centered=True)),
    "adagrad": (lambda: gf.train.AdagradOptimizer(0.3),
                lambda shape: NumpyAdagrad(shape, 0.3)),
    "adagrad_acc": (lambda: gf.train.AdagradOptimizer(0.2, initial_accumulator_value=0.5),
                    lambda shape: NumpyAdagrad(shape, 0.2, 0.5)),
}


def regression(seed=0):
    """Least squares: data, initial (w, b), and the numpy gradient of
    loss = 0.5 * mean over rows of sum((x @ w + b - y)^2)."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 3))
    w0, b0 = rng.standard_normal((4, 3)), rng.standard_normal(3)

    def grads(w, b):
        r = x @ w + b - y
        return x.T @ r / len(x), r.sum(0) / len(x)
    return x, y, w0, b0, grads


# -- minimize: autodiff gradients ----------------------------------------------------------------
@pytest.mark.parametrize("session", SESSIONS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_minimize_follows_the_tf1_update_rule(variant, session):
    x_val, y_val, w0, b0, grads = regression()
    x = gf.placeholder(gf.float64, shape=(None, 4), name="x")
    y = gf.placeholder(gf.float64, shape=(None, 3), name="y")
    w, b = gf.Variable(w0, name="w"), gf.Variable(b0, name="b")
    loss = 0.5 * gf.reduce_mean(gf.reduce_sum(gf.square(x @ w + b - y), axis=1))
    make_gf, make_np = VARIANTS[variant]
    train_op = make_gf().minimize(loss)
    ref_w, ref_b = make_np(w0.shape), make_np(b0.shape)
    w_np, b_np = w0.copy(), b0.copy()
    sess = gf.Session(**SESSIONS[session])
    for step in range(STEPS):
        sess.run(train_op, {x: x_val, y: y_val})
        gw, gb = grads(w_np, b_np)
        w_np, b_np = ref_w.step(w_np, gw), ref_b.step(b_np, gb)
        w_val, b_val = sess.run([w, b])
        assert_close(w_val, w_np, f"w after step {step + 1}")
        assert_close(b_val, b_np, f"b after step {step + 1}")
    assert not np.allclose(w_np, w0, rtol=1e-3)  # the parameters did move


# -- apply_gradients: gradients fed from outside ---------------------------------------------------
@pytest.mark.parametrize("session", SESSIONS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_apply_gradients_follows_the_tf1_update_rule(variant, session):
    rng = np.random.default_rng(1)
    v0, u0 = rng.standard_normal((3, 5)), rng.standard_normal(())
    v, u = gf.Variable(v0, name="v"), gf.Variable(u0, name="u")
    gv = gf.placeholder(gf.float64, shape=(3, 5), name="gv")
    gu = gf.placeholder(gf.float64, shape=(), name="gu")
    make_gf, make_np = VARIANTS[variant]
    optimizer = make_gf()
    train_op = optimizer.apply_gradients([(gv, v), (gu, u)])
    ref_v, ref_u = make_np(v0.shape), make_np(u0.shape)
    v_np, u_np = v0.copy(), u0.copy()
    sess = gf.Session(**SESSIONS[session])
    for step in range(STEPS):
        # gradients of changing sign and of sizes from 1e-3 to 10
        g_v = rng.standard_normal(v0.shape) * 10.0 ** rng.integers(-3, 2, v0.shape)
        g_u = rng.standard_normal() * 3.0
        assert sess.run(train_op, {gv: g_v, gu: g_u}) is None
        v_np, u_np = ref_v.step(v_np, g_v), ref_u.step(u_np, g_u)
        v_val, u_val = sess.run([v, u])
        assert_close(v_val, v_np, f"v after step {step + 1}")
        assert_close(u_val, u_np, f"u after step {step + 1}")
    # the slots hold the reference's state
    if variant.startswith("rmsprop"):
        assert_close(sess.run(optimizer.get_slot(v, "rms")), ref_v.ms, "rms slot")
        assert_close(sess.run(optimizer.get_slot(v, "momentum")), ref_v.mom, "momentum slot")
        if "centered" in variant:
            assert_close(sess.run(optimizer.get_slot(v, "mg")), ref_v.mg, "mg slot")
    else:
        assert_close(sess.run(optimizer.get_slot(v, "accumulator")), ref_v.acc, "accumulator")


def test_rmsprop_hand_computed_first_step():
    # ms = 0.9 * 1 + 0.1 * 4 = 1.3; mom = 0.1 * 2 / sqrt(1.3 + 1e-10); v = 1 - mom
    v = gf.Variable(np.array([1.0]), name="v")
    step = gf.train.RMSPropOptimizer(0.1).apply_gradients([(gf.constant(np.array([2.0])), v)])
    sess = gf.Session()
    sess.run(step)
    np.testing.assert_allclose(sess.run(v), [1.0 - 0.2 / np.sqrt(1.3 + 1e-10)], rtol=1e-14)


def test_adagrad_hand_computed_first_steps():
    # acc = 0.1 + 9 = 9.1; v = 1 - 0.5 * 3 / sqrt(9.1); then acc = 18.1
    v = gf.Variable(np.array([1.0]), name="v")
    step = gf.train.AdagradOptimizer(0.5).apply_gradients([(gf.constant(np.array([3.0])), v)])
    sess = gf.Session()
    sess.run(step)
    first = 1.0 - 1.5 / np.sqrt(9.1)
    np.testing.assert_allclose(sess.run(v), [first], rtol=1e-14)
    sess.run(step)
    np.testing.assert_allclose(sess.run(v), [first - 1.5 / np.sqrt(18.1)], rtol=1e-14)


def test_adagrad_equals_torch_with_tf1s_accumulator_and_no_eps():
    """The docstring's claim: torch.optim.Adagrad(initial_accumulator_value=0.1, eps=0) is TF1's
    rule; with torch's defaults it is not."""
    x_val, y_val, w0, b0, _ = regression(2)
    x, y = gf.constant(x_val), gf.constant(y_val)
    w = gf.Variable(w0, name="w")
    loss = 0.5 * gf.reduce_mean(gf.reduce_sum(gf.square(x @ w - y), axis=1))
    train_op = gf.train.AdagradOptimizer(0.3).minimize(loss)
    sess = gf.Session()

    def run_torch(**kwargs):
        tw = torch.tensor(w0, requires_grad=True)
        topt = torch.optim.Adagrad([tw], lr=0.3, **kwargs)
        values = []
        for _ in range(STEPS):
            topt.zero_grad()
            (0.5 * ((torch.tensor(x_val) @ tw - torch.tensor(y_val)) ** 2).sum(1).mean()).backward()
            topt.step()
            values.append(tw.detach().numpy().copy())
        return values

    matching = run_torch(initial_accumulator_value=0.1, eps=0.0)
    defaults = run_torch()
    for step in range(STEPS):
        sess.run(train_op)
        value = sess.run(w)
        assert_close(value, matching[step], f"w after step {step + 1}")
        assert not np.allclose(value, defaults[step], rtol=1e-6)


@pytest.mark.parametrize("centered, names", [
    (False, {"rms": "w/RMSProp", "momentum": "w/RMSProp_1"}),
    (True, {"rms": "w/RMSProp", "mg": "w/RMSProp_1", "momentum": "w/RMSProp_2"}),
])
def test_rmsprop_slots_are_named_as_tf1_and_rms_starts_at_one(centered, names):
    w = gf.Variable(np.zeros((2, 3)), name="w")
    optimizer = gf.train.RMSPropOptimizer(0.1, centered=centered)
    assert optimizer.get_slot_names() == sorted(names)
    optimizer.minimize(gf.reduce_sum(gf.square(w - 1.0)))
    sess = gf.Session()
    for key, name in names.items():
        slot = optimizer.get_slot(w, key)
        assert slot.op.name == name and not slot.trainable and slot.dtype == np.float64
        expected = np.ones((2, 3)) if key == "rms" else np.zeros((2, 3))
        np.testing.assert_array_equal(sess.run(slot), expected)
    assert gf.trainable_variables() == [w]
    assert optimizer.get_name() == "RMSProp"


def test_adagrad_slot_and_errors():
    w = gf.Variable(np.zeros(4, np.float32), name="w")
    optimizer = gf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.25)
    train_op = optimizer.minimize(gf.reduce_sum(gf.square(w)))
    assert train_op.name == "Adagrad"
    slot = optimizer.get_slot(w, "accumulator")
    assert slot.op.name == "w/Adagrad" and not slot.trainable and slot.dtype == np.float32
    np.testing.assert_array_equal(gf.Session().run(slot), np.full(4, 0.25, np.float32))
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="must be positive"):
            gf.train.AdagradOptimizer(0.1, initial_accumulator_value=bad)


def test_a_fed_learning_rate_and_float32_variables():
    v0 = np.array([0.5, -1.5, 2.0])
    v = gf.Variable(v0.astype(np.float32), name="v")
    lr = gf.placeholder(gf.float64, shape=(), name="lr")
    train_op = gf.train.RMSPropOptimizer(lr, momentum=0.5).minimize(gf.reduce_sum(v * v))
    ref, v_np = NumpyRMSProp(3, 0.0, momentum=0.5), v0.copy()
    sess = gf.Session()
    for step in range(STEPS):
        ref.lr = 0.01 * (step + 1)
        sess.run(train_op, {lr: ref.lr})
        v_np = ref.step(v_np, 2.0 * v_np)
        value = sess.run(v)
        assert value.dtype == np.float32
        np.testing.assert_allclose(value, v_np, rtol=1e-5, atol=1e-6)


# -- the global step -----------------------------------------------------------------------------
OPTIMIZERS = {
    "sgd": lambda: gf.train.GradientDescentOptimizer(0.1),
    "momentum": lambda: gf.train.MomentumOptimizer(0.1, 0.9),
    "adam": lambda: gf.train.AdamOptimizer(0.1),
    "rmsprop": lambda: gf.train.RMSPropOptimizer(0.1, momentum=0.5, centered=True),
    "adagrad": lambda: gf.train.AdagradOptimizer(0.1),
}


@pytest.mark.parametrize("session", SESSIONS)
@pytest.mark.parametrize("split", [False, True], ids=["minimize", "apply_gradients"])
@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_the_step_op_increments_the_global_step_once_per_run(opt, split, session):
    w = gf.Variable(np.array([1.0, -2.0]), name="w")
    loss = gf.reduce_sum(gf.square(w))
    global_step = gf.train.get_or_create_global_step()
    optimizer = OPTIMIZERS[opt]()
    if split:
        train_op = optimizer.apply_gradients(optimizer.compute_gradients(loss),
                                             global_step=global_step, name="train")
    else:
        train_op = optimizer.minimize(loss, global_step=global_step, name="train")
    assert isinstance(train_op, gf.Operation) and train_op.name == "train"
    plain = OPTIMIZERS[opt]().minimize(loss)  # no global step: leaves it alone
    sess = gf.Session(**SESSIONS[session])
    for step in range(5):
        # a read of the step in the step's own run sees the value before the increment
        before, _ = sess.run([global_step, train_op])
        assert before == step
        assert sess.run(global_step) == step + 1
    sess.run(plain)
    assert sess.run(global_step) == 5
    value = sess.run(global_step)
    assert value.dtype == np.int64 and value.shape == ()


@pytest.mark.parametrize("session", SESSIONS)
def test_the_increment_counts_steps_not_variables(session):
    # several variables, several dtypes: still +1 per run
    a = gf.Variable(np.ones(3), name="a")
    b = gf.Variable(np.ones(2, np.float32), name="b")
    loss = gf.reduce_sum(gf.square(a)) + gf.cast(gf.reduce_sum(gf.square(b)), gf.float64)
    global_step = gf.train.get_or_create_global_step()
    train_op = gf.train.AdamOptimizer(0.1).minimize(loss, global_step=global_step,
                                                     var_list=[a, b])
    sess = gf.Session(**SESSIONS[session])
    for _ in range(3):
        sess.run(train_op)
    assert sess.run(global_step) == 3


def test_var_list_positionally_is_an_error_that_says_so():
    w = gf.Variable(np.ones(2), name="w")
    loss = gf.reduce_sum(w * w)
    opt = gf.train.GradientDescentOptimizer(0.1)
    with pytest.raises(TypeError, match="var_list="):
        opt.minimize(loss, [w])
    with pytest.raises(TypeError, match="name="):
        opt.apply_gradients(opt.compute_gradients(loss), "train")
    with pytest.raises(TypeError, match="must be a gf.Variable"):
        opt.minimize(loss, global_step=gf.constant(0))
    flag = gf.Variable(True, name="flag", trainable=False)
    with pytest.raises(TypeError, match="int or float variable"):
        opt.minimize(loss, global_step=flag)
    vector = gf.Variable(np.zeros(2, np.int64), name="vector", trainable=False)
    with pytest.raises(ValueError, match="scalar"):
        opt.minimize(loss, global_step=vector)
    other = gf.Graph()
    with other.as_default():
        foreign = gf.train.get_or_create_global_step()
    with pytest.raises(gf.GraphMismatchError):
        opt.minimize(loss, global_step=foreign)
    # keywords keep working in any order
    train_op = opt.minimize(loss, var_list=[w], global_step=gf.train.get_or_create_global_step())
    assert isinstance(train_op, gf.Operation)
