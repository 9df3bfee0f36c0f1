"""Optimizers against torch.optim, step for step in float64: minimize, the compute/apply split with
clip_by_global_norm, learning rates fed or held in a variable, the slots, and the errors."""

import numpy as np
import pytest
import torch

import graphflow as gf

STEPS = 20
RTOL = 1e-10

SESSIONS = {"compiled": dict(), "interpreter": dict(optimize=False)}

# name -> (graphflow optimizer, torch optimizer), both from a learning rate
OPTIMIZERS = {
    "sgd": (lambda lr: gf.train.GradientDescentOptimizer(lr),
            lambda params, lr: torch.optim.SGD(params, lr=lr)),
    "momentum": (lambda lr: gf.train.MomentumOptimizer(lr, 0.9),
                 lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9)),
    "nesterov": (lambda lr: gf.train.MomentumOptimizer(lr, 0.8, use_nesterov=True),
                 lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.8, nesterov=True)),
    "adam": (lambda lr: gf.train.AdamOptimizer(lr, beta1=0.8, beta2=0.99, epsilon=1e-6),
             lambda params, lr: torch.optim.Adam(params, lr=lr, betas=(0.8, 0.99), eps=1e-6)),
}
LR = {"sgd": 0.2, "momentum": 0.05, "nesterov": 0.05, "adam": 0.03}


def problem(seed=0):
    """A tiny two-layer regression: data and initial parameters (W1, b1, W2, b2)."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 3))
    params = [rng.standard_normal((4, 5)) * 0.7, rng.standard_normal(5) * 0.1,
              rng.standard_normal((5, 3)) * 0.7, rng.standard_normal(3) * 0.1]
    return x, y, params


def build_gf(params, dtype=gf.float64):
    x = gf.placeholder(dtype, shape=(None, 4), name="x")
    y = gf.placeholder(dtype, shape=(None, 3), name="y")
    names = ["W1", "b1", "W2", "b2"]
    variables = [gf.Variable(p.astype(dtype), name=n) for p, n in zip(params, names)]
    w1, b1, w2, b2 = variables
    loss = gf.reduce_mean(gf.square(gf.tanh(x @ w1 + b1) @ w2 + b2 - y), name="loss")
    return x, y, variables, loss


def torch_loss(tparams, x, y):
    w1, b1, w2, b2 = tparams
    return ((torch.tanh(torch.tensor(x) @ w1 + b1) @ w2 + b2 - torch.tensor(y)) ** 2).mean()


def torch_params(params):
    return [torch.tensor(p, requires_grad=True) for p in params]


def assert_close(actual, expected, what, rtol=RTOL):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-14, err_msg=what)


# -- minimize against torch.optim ----------------------------------------------------------------
@pytest.mark.parametrize("session", SESSIONS)
@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_minimize_matches_torch_for_20_steps(opt, session):
    x_val, y_val, params = problem()
    x, y, variables, loss = build_gf(params)
    train_op = OPTIMIZERS[opt][0](LR[opt]).minimize(loss)
    assert isinstance(train_op, gf.Operation)
    tparams = torch_params(params)
    topt = OPTIMIZERS[opt][1](tparams, LR[opt])
    sess = gf.Session(**SESSIONS[session])
    for step in range(STEPS):
        loss_value, nothing = sess.run([loss, train_op], {x: x_val, y: y_val})
        topt.zero_grad()
        tloss = torch_loss(tparams, x_val, y_val)
        tloss.backward()
        topt.step()
        assert nothing is None
        assert_close(loss_value, tloss.item(), f"loss at step {step}")
        for v, value, tp in zip(variables, sess.run(variables), tparams):
            assert_close(value, tp.detach().numpy(), f"{v.op.name} after step {step + 1}")
    assert tloss.item() < torch_loss(torch_params(params), x_val, y_val).item()  # it did learn


@pytest.mark.parametrize("opt", ["momentum", "adam"])
def test_slots_hold_torchs_optimizer_state(opt):
    x_val, y_val, params = problem(1)
    x, y, variables, loss = build_gf(params)
    optimizer = OPTIMIZERS[opt][0](LR[opt])
    train_op = optimizer.minimize(loss)
    tparams = torch_params(params)
    topt = OPTIMIZERS[opt][1](tparams, LR[opt])
    sess = gf.Session()
    for _ in range(3):
        sess.run(train_op, {x: x_val, y: y_val})
        topt.zero_grad()
        torch_loss(tparams, x_val, y_val).backward()
        topt.step()
    for v, tp in zip(variables, tparams):
        state = topt.state[tp]
        if opt == "momentum":
            assert_close(sess.run(optimizer.get_slot(v, "momentum")),
                         state["momentum_buffer"].numpy(), v.op.name)
        else:
            m, v2, step = sess.run([optimizer.get_slot(v, k) for k in ("m", "v", "step")])
            assert_close(m, state["exp_avg"].numpy(), f"{v.op.name} m")
            assert_close(v2, state["exp_avg_sq"].numpy(), f"{v.op.name} v")
            assert step == float(state["step"]) == 3.0


# -- compute_gradients / clip_by_global_norm / apply_gradients -------------------------------------
@pytest.mark.parametrize("session", SESSIONS)
@pytest.mark.parametrize("opt", ["sgd", "momentum", "adam"])
def test_clipped_training_matches_torch_clip_grad_norm(opt, session):
    x_val, y_val, params = problem(2)
    x, y, variables, loss = build_gf(params)
    optimizer = OPTIMIZERS[opt][0](LR[opt])
    grads_and_vars = optimizer.compute_gradients(loss)
    assert [v for _, v in grads_and_vars] == variables
    grads, norm = gf.train.clip_by_global_norm([g for g, _ in grads_and_vars], 0.5)
    train_op = optimizer.apply_gradients(zip(grads, variables))
    tparams = torch_params(params)
    topt = OPTIMIZERS[opt][1](tparams, LR[opt])
    sess = gf.Session(**SESSIONS[session])
    clipped_steps = 0
    for step in range(STEPS):
        loss_value, norm_value, _ = sess.run([loss, norm, train_op], {x: x_val, y: y_val})
        topt.zero_grad()
        tloss = torch_loss(tparams, x_val, y_val)
        tloss.backward()
        # torch's clip_grad_norm_ divides by norm + 1e-6; take its norm, scale as TF1 does.
        total = torch.nn.utils.clip_grad_norm_(tparams, max_norm=float("inf")).item()
        for tp in tparams:
            tp.grad.mul_(0.5 / max(total, 0.5))
        topt.step()
        clipped_steps += total > 0.5
        assert_close(loss_value, tloss.item(), f"loss at step {step}")
        assert_close(norm_value, total, f"global norm at step {step}")
    for v, value, tp in zip(variables, sess.run(variables), tparams):
        assert_close(value, tp.detach().numpy(), v.op.name)
    assert clipped_steps >= 3  # the clip really acted


def test_clip_by_global_norm_against_torch():
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(5), rng.standard_normal(())]
    tensors = [gf.constant(a) for a in arrays]
    for clip_norm in (0.3, 1.5, 100.0):
        clipped, norm = gf.train.clip_by_global_norm(tensors[:1] + [None] + tensors[1:], clip_norm)
        assert clipped[1] is None
        values = gf.Session().run([clipped[0], clipped[2], clipped[3], norm])
        tgrads = [torch.tensor(a) for a in arrays]
        tparams = [torch.zeros_like(g, requires_grad=True) for g in tgrads]
        for p, g in zip(tparams, tgrads):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(tparams, clip_norm).item()
        assert_close(values[-1], total, "global norm", rtol=1e-12)
        # torch divides by (norm + 1e-6): equal to about 1e-6 relative when the clip acts
        for value, p in zip(values[:-1], tparams):
            np.testing.assert_allclose(value, p.grad.numpy(), rtol=1e-5 if total > clip_norm
                                       else 1e-15)


def test_clip_by_global_norm_hand_computed():
    a = gf.constant(np.array([3.0, 0.0], np.float32))
    b = gf.constant(np.array([[4.0]], np.float32))
    (ca, cb), norm = gf.train.clip_by_global_norm([a, b], 1.0)
    ca_v, cb_v, norm_v = gf.Session(optimize=False).run([ca, cb, norm])
    assert norm_v == pytest.approx(5.0)
    np.testing.assert_allclose(ca_v, [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(cb_v, [[0.8]], rtol=1e-6)
    assert ca_v.dtype == np.float32
    (same,), _ = gf.train.clip_by_global_norm([a], 10.0)  # norm below the clip: unchanged
    np.testing.assert_array_equal(gf.Session().run(same), [3.0, 0.0])
    (zero,), zero_norm = gf.train.clip_by_global_norm([gf.constant([0.0, 0.0])], 1.0)
    assert gf.Session().run([zero, zero_norm])[1] == 0.0  # no 0/0
    assert not np.isnan(gf.Session().run(zero)).any()


def test_clip_by_global_norm_takes_a_tensor_clip_norm():
    c = gf.placeholder(gf.float64, shape=(), name="c")
    (clipped,), _ = gf.train.clip_by_global_norm([gf.constant([3.0, 4.0], gf.float64)], c)
    sess = gf.Session()
    np.testing.assert_allclose(sess.run(clipped, {c: 2.5}), [1.5, 2.0])
    np.testing.assert_allclose(sess.run(clipped, {c: 50.0}), [3.0, 4.0])


# -- learning rates that change ------------------------------------------------------------------
@pytest.mark.parametrize("session", SESSIONS)
@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_learning_rate_placeholder_fed_per_step(opt, session):
    x_val, y_val, params = problem(4)
    x, y, variables, loss = build_gf(params)
    lr = gf.placeholder(gf.float64, shape=(), name="lr")
    train_op = OPTIMIZERS[opt][0](lr).minimize(loss)
    tparams = torch_params(params)
    topt = OPTIMIZERS[opt][1](tparams, LR[opt])
    sess = gf.Session(**SESSIONS[session])
    for step in range(STEPS):
        rate = LR[opt] * (1.5 if step % 3 == 0 else 0.6 ** (step % 4))
        loss_value, _ = sess.run([loss, train_op], {x: x_val, y: y_val, lr: rate})
        for group in topt.param_groups:
            group["lr"] = rate
        topt.zero_grad()
        tloss = torch_loss(tparams, x_val, y_val)
        tloss.backward()
        topt.step()
        assert_close(loss_value, tloss.item(), f"loss at step {step}")
    for v, value, tp in zip(variables, sess.run(variables), tparams):
        assert_close(value, tp.detach().numpy(), v.op.name)
    with pytest.raises(gf.FeedError, match="lr"):
        sess.run(train_op, {x: x_val, y: y_val})


@pytest.mark.parametrize("session", SESSIONS)
@pytest.mark.parametrize("opt", ["sgd", "nesterov", "adam"])
def test_learning_rate_variable_as_a_schedule(opt, session):
    x_val, y_val, params = problem(5)
    x, y, variables, loss = build_gf(params)
    lr = gf.Variable(LR[opt], dtype=gf.float64, trainable=False, name="lr")
    train_op = OPTIMIZERS[opt][0](lr).minimize(loss)
    decay = lr.assign(lr * 0.8)
    assert lr not in gf.trainable_variables()
    tparams = torch_params(params)
    topt = OPTIMIZERS[opt][1](tparams, LR[opt])
    sched = torch.optim.lr_scheduler.ExponentialLR(topt, gamma=0.8)
    sess = gf.Session(**SESSIONS[session])
    for step in range(STEPS):
        loss_value, _ = sess.run([loss, train_op], {x: x_val, y: y_val})
        topt.zero_grad()
        tloss = torch_loss(tparams, x_val, y_val)
        tloss.backward()
        topt.step()
        if step % 5 == 4:
            sess.run(decay)
            sched.step()
        assert_close(loss_value, tloss.item(), f"loss at step {step}")
    assert_close(sess.run(lr), topt.param_groups[0]["lr"], "learning rate")
    for v, value, tp in zip(variables, sess.run(variables), tparams):
        assert_close(value, tp.detach().numpy(), v.op.name)


def test_float32_variables_with_a_float64_learning_rate():
    x_val, y_val, params = problem(6)
    x, y, variables, loss = build_gf(params, dtype=gf.float32)
    lr = gf.placeholder(gf.float64, shape=(), name="lr")
    train_op = gf.train.AdamOptimizer(lr).minimize(loss)
    tparams = [torch.tensor(p.astype(np.float32), requires_grad=True) for p in params]
    topt = torch.optim.Adam(tparams, lr=0.01)
    sess = gf.Session()
    for _ in range(10):
        sess.run(train_op, {x: x_val, y: y_val, lr: 0.01})
        topt.zero_grad()
        w1, b1, w2, b2 = tparams
        xt, yt = torch.tensor(x_val, dtype=torch.float32), torch.tensor(y_val, dtype=torch.float32)
        ((torch.tanh(xt @ w1 + b1) @ w2 + b2 - yt) ** 2).mean().backward()
        topt.step()
    for value, tp in zip(sess.run(variables), tparams):
        assert value.dtype == np.float32
        np.testing.assert_allclose(value, tp.detach().numpy(), rtol=1e-4, atol=1e-5)


# -- slots, names, var_list ----------------------------------------------------------------------
@pytest.mark.parametrize("opt, slot_names", [
    ("sgd", []), ("momentum", ["W1/Momentum"]),
    ("adam", ["W1/Adam", "W1/Adam_1", "W1/Adam_step"])])
def test_slot_variables_are_named_non_trainable_and_zero(opt, slot_names):
    _, _, params = problem()
    _, _, variables, loss = build_gf(params)
    optimizer = OPTIMIZERS[opt][0](0.1)
    train_op = optimizer.minimize(loss)
    assert train_op.name == optimizer.get_name()
    names = [v.op.name for v in gf.global_variables()]
    for name in slot_names:
        assert name in names
    slots = [v for v in gf.global_variables() if v.op.name.startswith("W1/")]
    assert sorted(v.op.name for v in slots) == sorted(slot_names)
    assert gf.trainable_variables() == variables  # no slot is trainable
    for slot in slots:
        assert not slot.trainable and slot.dtype == np.float64
        np.testing.assert_array_equal(gf.Session().run(slot), np.zeros(slot.shape))
    if opt == "adam":
        assert optimizer.get_slot(variables[0], "step").shape == ()
        assert optimizer.get_slot(variables[0], "m").shape == (4, 5)


def test_minimize_twice_reuses_the_slots_and_names_the_op():
    _, _, params = problem()
    _, _, variables, loss = build_gf(params)
    optimizer = gf.train.AdamOptimizer()
    first = optimizer.minimize(loss, name="train")
    m = optimizer.get_slot(variables[0], "m")
    second = optimizer.minimize(loss * 2.0)
    assert optimizer.get_slot(variables[0], "m") is m
    assert first.name == "train" and second.name == "Adam"
    assert len([v for v in gf.global_variables() if v.op.name.startswith("W1/")]) == 3
    with pytest.raises(KeyError, match="no slot"):
        optimizer.get_slot(variables[0], "momentum")


def test_var_list_and_variables_without_gradient_are_left_alone():
    _, _, params = problem()
    x, y, variables, loss = build_gf(params)
    unused = gf.Variable(np.ones(2), name="unused")
    pairs = gf.train.GradientDescentOptimizer(0.1).compute_gradients(loss)
    assert [v for _, v in pairs] == variables  # 'unused' has no gradient: skipped
    train_op = gf.train.GradientDescentOptimizer(0.1).minimize(loss, var_list=variables[2:])
    x_val, y_val, _ = problem()
    sess = gf.Session()
    sess.run(train_op, {x: x_val, y: y_val})
    w1, b1, w2, value = sess.run([variables[0], variables[1], variables[2], unused])
    np.testing.assert_array_equal(w1, params[0])
    np.testing.assert_array_equal(b1, params[1])
    assert not np.array_equal(w2, params[2])
    np.testing.assert_array_equal(value, np.ones(2))


def test_apply_gradients_skips_none_and_updates_by_hand_computed_steps():
    v = gf.Variable(np.array([1.0, 2.0]), name="v")
    w = gf.Variable(np.array([5.0]), name="w")
    step = gf.train.MomentumOptimizer(0.5, 0.9).apply_gradients(
        [(gf.constant(np.array([1.0, -1.0])), v), (None, w)])
    sess = gf.Session()
    sess.run(step)
    np.testing.assert_allclose(sess.run(v), [0.5, 2.5])      # buf = g; v -= 0.5 g
    sess.run(step)
    np.testing.assert_allclose(sess.run(v), [-0.45, 3.45])   # buf = 0.9 g + g = 1.9 g
    np.testing.assert_array_equal(sess.run(w), [5.0])


def test_errors():
    _, _, params = problem()
    _, _, variables, loss = build_gf(params)
    opt = gf.train.GradientDescentOptimizer(0.1)
    other = gf.Variable(np.ones(3), name="other")
    with pytest.raises(ValueError, match="no gradients"):
        opt.compute_gradients(loss, var_list=[other])
    with pytest.raises(ValueError, match="no gradients"):
        opt.apply_gradients([(None, other)])
    with pytest.raises(TypeError, match="not a gf.Variable"):
        opt.apply_gradients([(gf.constant(1.0), gf.constant(2.0))])
    with pytest.raises(TypeError, match="float32 but variable 'other' is float64"):
        opt.apply_gradients([(gf.constant(np.ones(3, np.float32)), other)])
    with pytest.raises(TypeError, match="float tensor"):
        opt.minimize(gf.constant(3))
    with pytest.raises(TypeError, match="one tensor"):
        gf.train.clip_by_global_norm(gf.constant([1.0]), 1.0)
    graph = gf.Graph()
    with graph.as_default():
        lonely = gf.reduce_sum(gf.constant([1.0, 2.0]))
        with pytest.raises(ValueError, match="no variables to optimize"):
            opt.minimize(lonely)


def test_minimize_builds_into_the_loss_graph_outside_its_with_block():
    graph = gf.Graph()
    with graph.as_default():
        v = gf.Variable(np.array([3.0]), name="v")
        loss = gf.reduce_sum(gf.square(v))
    train_op = gf.train.AdamOptimizer(0.1).minimize(loss)  # the default graph is another one
    assert train_op.graph is graph
    assert "v/Adam" in [x.op.name for x in gf.global_variables(graph)]
    assert gf.global_variables() == []
    sess = gf.Session(graph)
    sess.run(train_op)
    np.testing.assert_allclose(sess.run(v), [2.9])  # Adam's first step moves by lr * sign(g)


def test_a_training_step_as_a_checked_compiled_callable():
    x_val, y_val, params = problem(7)
    x, y, variables, loss = build_gf(params)
    lr = gf.placeholder(gf.float64, shape=(), name="lr")
    train_op = gf.train.MomentumOptimizer(lr, 0.9, use_nesterov=True).minimize(loss)
    sess = gf.Session(check=True)
    step = sess.make_callable([loss, train_op], [x, y, lr])
    tparams = torch_params(params)
    topt = torch.optim.SGD(tparams, lr=0.05, momentum=0.9, nesterov=True)
    for i in range(STEPS):
        loss_value, _ = step(x_val, y_val, 0.05)
        topt.zero_grad()
        tloss = torch_loss(tparams, x_val, y_val)
        tloss.backward()
        topt.step()
        assert_close(loss_value, tloss.item(), f"loss at step {i}")
    for v, value, tp in zip(variables, sess.run(variables), tparams):
        assert_close(value, tp.detach().numpy(), v.op.name)
