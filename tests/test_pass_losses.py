"""The losses pass and autodiff's use of it: a hand-written binary cross-entropy on sigmoid
outputs becomes sigmoid_cross_entropy_with_logits, in the forward code and in the gradient,
equal to torch's BCEWithLogits (values, gradients, Hessians), finite on saturated logits, and
only where the pattern really is that loss."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import graphflow as gf
from compiler.passes import DEFAULT_PASSES

ZV = np.array([[3.0, -1.5, 0.25], [-40.0, 2.0, 0.0]])
YV = np.array([[1.0, 0.0, 0.3], [0.0, 1.0, 1.0]])  # soft labels too


def bce_terms(y, p):
    """The two terms as users write them, p = sigmoid(z)."""
    return y * gf.log(p), (1.0 - y) * gf.log(1.0 - p)


ORDERS = {
    "y*log(p) + (1-y)*log(1-p)": lambda y, p: bce_terms(y, p)[0] + bce_terms(y, p)[1],
    "(1-y)*log(1-p) + y*log(p)": lambda y, p: bce_terms(y, p)[1] + bce_terms(y, p)[0],
    "log(p)*y + log(1-p)*(1-y)": lambda y, p: gf.log(p) * y + gf.log(1.0 - p) * (1.0 - y),
}


def torch_bce(zv, yv):
    tz = torch.tensor(zv, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(tz, torch.tensor(yv))
    (grad,) = torch.autograd.grad(loss, [tz])
    return loss.item(), grad.numpy()


@pytest.mark.parametrize("order", sorted(ORDERS))
def test_hand_written_bce_is_fused_and_equals_torch(order):
    z = gf.placeholder(gf.float64, (2, 3), name="z")
    y = gf.placeholder(gf.float64, (2, 3), name="y")
    loss = -gf.reduce_mean(ORDERS[order](y, gf.sigmoid(z)))
    (dz,) = gf.gradients(loss, [z])
    grad_ops = {n.type for n in gf.get_default_graph().nodes if n.op_name.startswith("gradients")}
    assert "sigmoid_cross_entropy_with_logits" in {n.type for n in gf.get_default_graph().nodes}
    assert "log" not in grad_ops  # differentiated through the fused op, not the naive terms
    prog = gf.Session().make_callable([loss, dz], [z, y])
    value, grad = prog(ZV, YV)
    assert "sigmoid_cross_entropy_with_logits" in prog.ops and "log" not in prog.ops
    want_value, want_grad = torch_bce(ZV, YV)
    np.testing.assert_allclose(value, want_value, rtol=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-15)


def test_the_sgd_step_loses_its_loss_statements():
    """The MLP's hand-written BCE and its gradient: about 20 fewer statements with the pass."""
    x = gf.placeholder(gf.float32, (None, 4), name="x")
    y = gf.placeholder(gf.float32, (None, 3), name="y")
    w = gf.Variable(np.full((4, 3), 0.1, np.float32), name="w")
    out = gf.sigmoid(x @ w)
    loss = gf.reduce_mean(-(y * gf.log(out) + (1 - y) * gf.log(1 - out)))
    train = w.assign_sub(0.1 * gf.gradients(loss, [w])[0])
    xv = np.random.default_rng(0).random((5, 4), dtype=np.float32)
    yv = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1]]
    counts, losses = {}, {}
    for name, passes in (("with", None), ("without", [p for p in DEFAULT_PASSES if p != "losses"])):
        sess = gf.Session(passes=passes)
        prog = sess.make_callable([loss, train], [x, y])
        losses[name] = prog(xv, yv)[0]
        counts[name] = len(prog.ops)
    assert counts["with"] <= counts["without"] - 8, counts
    np.testing.assert_allclose(losses["with"], losses["without"], rtol=1e-6)


def test_saturated_logits_stay_finite_with_the_pass_alone():
    z = gf.placeholder(gf.float32, (4,), name="z")
    y = gf.placeholder(gf.float32, (4,), name="y")
    loss = -gf.reduce_mean(ORDERS["y*log(p) + (1-y)*log(1-p)"](y, gf.sigmoid(z)))
    (dz,) = gf.gradients(loss, [z])
    zv, yv = np.array([100, -100, 100, -100], np.float32), np.array([0, 1, 1, 0], np.float32)
    only = [p for p in DEFAULT_PASSES if p != "stabilize"]  # the losses pass does it by itself
    value, grad = gf.Session(passes=only).run([loss, dz], {z: zv, y: yv})
    want_value, want_grad = torch_bce(zv.astype(np.float64), yv.astype(np.float64))
    np.testing.assert_allclose(value, want_value, rtol=1e-6)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-6, atol=1e-30)  # float32 underflow


def test_the_hessian_goes_through_the_fused_op():
    z = gf.placeholder(gf.float64, (3,), name="z")
    yv = np.array([1.0, 0.0, 0.5])
    loss = -gf.reduce_sum(ORDERS["y*log(p) + (1-y)*log(1-p)"](gf.constant(yv), gf.sigmoid(z)))
    (h,) = gf.hessians(loss, [z])
    zv = np.array([0.3, -2.0, 30.0])
    s = 1 / (1 + np.exp(-zv))
    np.testing.assert_allclose(gf.Session().run(h, {z: zv}), np.diag(s * (1 - s)), rtol=1e-12)


@pytest.mark.parametrize("build", [
    lambda y, a, b: y * gf.log(gf.sigmoid(a)) + (1.0 - y) * gf.log(1.0 - gf.sigmoid(b)),
    lambda y, a, b: y * gf.log(gf.sigmoid(a)) + (1.0 - b) * gf.log(1.0 - gf.sigmoid(a)),
    lambda y, a, b: y * gf.log(gf.sigmoid(a)) + (2.0 - y) * gf.log(1.0 - gf.sigmoid(a)),
], ids=["two-logits", "two-labels", "not-one-minus"])
def test_what_is_not_the_loss_is_left_alone(build):
    y = gf.placeholder(gf.float64, (2, 3), name="y")
    a = gf.placeholder(gf.float64, (2, 3), name="a")
    b = gf.placeholder(gf.float64, (2, 3), name="b")
    total = gf.reduce_sum(build(y, a, b))
    prog = gf.Session().make_callable(total, [y, a, b])
    bv = ZV[::-1] * 0.5
    assert "sigmoid_cross_entropy_with_logits" not in prog.ops
    oracle = gf.Session(optimize=False).run(total, {y: YV, a: ZV, b: bv})
    np.testing.assert_allclose(prog(YV, ZV, bv), oracle, rtol=1e-12)


def test_labels_broadcast_against_the_logits_are_not_fused():
    z = gf.placeholder(gf.float64, (2, 3), name="z")
    y = gf.placeholder(gf.float64, (3,), name="y")  # one label row for every example
    p = gf.sigmoid(z)
    loss = -gf.reduce_mean(y * gf.log(p) + (1.0 - y) * gf.log(1.0 - p))
    prog = gf.Session().make_callable(loss, [z, y])
    assert "sigmoid_cross_entropy_with_logits" not in prog.ops
    want, _ = torch_bce(ZV, np.broadcast_to(YV[0], ZV.shape).copy())
    np.testing.assert_allclose(prog(ZV, YV[0]), want, rtol=1e-12)
