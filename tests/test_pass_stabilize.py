"""The stabilize pass: unstable patterns written by hand become their stable forms, so that a
hand-written cross-entropy on saturated sigmoid units stays finite and correct."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import graphflow as gf
from compiler.function import extract
from compiler.passes import DEFAULT_PASSES, check_graph, prune, stabilize
from compiler.passes.rewrite import signature


def types(fn):
    return [n.type for n in fn.nodes]


def run_pure(fn):
    """stabilize.run(fn), checking that fn itself is left as it was and the result is well
    formed."""
    nodes, sig = list(fn.nodes), signature(fn)
    out = stabilize.run(fn)
    assert list(fn.nodes) == nodes and signature(fn) == sig, "stabilize changed its input"
    assert out.graph is not fn.graph
    check_graph(out, after="stabilize")
    return out


def computed(fn):
    """The op types that compute something the outputs need (no sources, no dead nodes)."""
    return sorted(n.type for n in prune.run(fn).nodes
                  if n.type not in ("placeholder", "constant", "variable"))


# Moderate and saturated values: the naive graphs overflow or underflow at the large ones.
XV = np.array([[1000.0, 0.0, -1000.0], [50.0, -50.0, 0.5], [100.0, -100.0, -3.0]])


def torch_of(f, xv):
    return f(torch.tensor(xv)).numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("build, stable_ops, reference", [
    (lambda x: gf.log(gf.softmax(x)), ["log_softmax"],
     lambda t: torch.log_softmax(t, -1)),
    (lambda x: gf.log(gf.softmax(x, axis=0)), ["log_softmax"],
     lambda t: torch.log_softmax(t, 0)),
    (lambda x: gf.log(gf.sigmoid(x)), ["negative", "negative", "softplus"],
     F.logsigmoid),
    (lambda x: gf.log(1.0 - gf.sigmoid(x)), ["negative", "softplus"],
     lambda t: F.logsigmoid(-t)),
    (lambda x: gf.log(1.0 + gf.exp(x)), ["softplus"],
     lambda t: torch.logaddexp(t, torch.zeros_like(t))),
    (lambda x: gf.log(gf.exp(x) + 1.0), ["softplus"],
     lambda t: torch.logaddexp(t, torch.zeros_like(t))),
    (lambda x: gf.log(gf.exp(x)), [], lambda t: t),
])
def test_unstable_pattern_becomes_its_stable_form(build, stable_ops, reference, dtype):
    x = gf.placeholder(dtype, shape=(3, 3), name="x")
    y = build(x)
    xv = XV.astype(dtype)
    fn = extract([y], {x: ((3, 3), np.dtype(dtype))})
    out = run_pure(fn)
    assert computed(out) == sorted(stable_ops), str(out)
    assert out.outputs[0].shape == y.shape and out.outputs[0].dtype == y.dtype

    tol = dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    moderate = np.linspace(-3, 3, 9).reshape(3, 3).astype(dtype)
    for sess in (gf.Session(optimize=False), gf.Session()):  # the same function ...
        np.testing.assert_allclose(sess.run(y, {x: moderate}), torch_of(reference, moderate),
                                   **tol)
    want = torch_of(reference, xv)
    naive = gf.Session(optimize=False).run(y, {x: xv})
    assert not np.isfinite(naive).all()  # ... but the naive graph is broken on big values
    for sess in (gf.Session(passes=["stabilize"], check=True), gf.Session(check=True)):
        prog = sess.make_callable(y, [x])
        got = prog(xv)
        assert got.dtype == dtype and got.shape == (3, 3)
        np.testing.assert_allclose(got, want, **tol)  # finite everywhere
    assert sorted(prog.ops) == sorted(stable_ops)  # all passes: the unstable ops are gone
    assert "log" in gf.Session(passes=[]).make_callable(y, [x]).ops


def test_log_of_exp_is_x_itself():
    x = gf.placeholder(gf.float64, shape=(3,), name="x")
    out = run_pure(extract([gf.log(gf.exp(x))], {x: ((3,), np.dtype(np.float64))}))
    assert out.outputs[0] is out.inputs[0]
    xv = np.float64([1000.0, -1000.0, 0.1])
    np.testing.assert_array_equal(gf.Session().run(gf.log(gf.exp(x)), {x: xv}), xv)


def test_the_rewrite_reads_the_patterns_leaf_not_the_unstable_node():
    x = gf.placeholder(gf.float32, shape=(4,), name="x")
    y = gf.log(gf.sigmoid(x * 2.0))
    out = prune.run(run_pure(extract([y], {x: ((4,), np.dtype(np.float32))})))
    # -softplus(-(x * 2)): the argument of the sigmoid, negated, feeds the softplus
    assert types(out) == ["placeholder", "constant", "multiply", "negative", "softplus",
                          "negative"]
    softplus = out.outputs[0].inputs[0]
    assert softplus.type == "softplus" and softplus.inputs[0].inputs[0].type == "multiply"


@pytest.mark.parametrize("build", [
    lambda x: gf.log(2.0 - gf.sigmoid(x)),
    lambda x: gf.log(1.0 - gf.tanh(x)),
    lambda x: gf.log(gf.sigmoid(x) - 1.0),
    lambda x: gf.log(1.0 + 2.0 * gf.exp(x)),
    lambda x: gf.log(2.0 + gf.exp(x)),
    lambda x: gf.log(gf.softplus(x)),
    lambda x: gf.exp(gf.log(x)),  # not exact for x <= 0: must stay
    lambda x: gf.log(gf.constant(np.ones((1, 1), np.float32)) - gf.sigmoid(x)),  # broadcasts
])
def test_other_patterns_are_left_alone(build):
    x = gf.placeholder(gf.float32, shape=(3,), name="x")
    y = build(x)
    fn = extract([y], {x: ((3,), np.dtype(np.float32))})
    out = run_pure(fn)
    assert signature(out) == signature(fn)
    xv = np.float32([-0.5, 0.25, 2.0])
    np.testing.assert_array_equal(gf.Session(passes=["stabilize"]).run(y, {x: xv}),
                                  gf.Session(optimize=False).run(y, {x: xv}))


def test_an_unstable_node_that_is_also_fetched_keeps_its_inner_op():
    x = gf.placeholder(gf.float64, shape=(2, 3), name="x")
    p = gf.softmax(x)
    lp = gf.log(p)
    xv = XV[:2]
    p_val, lp_val = gf.Session().run([p, lp], {x: xv})
    np.testing.assert_allclose(p_val, torch.softmax(torch.tensor(xv), -1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(lp_val, torch.log_softmax(torch.tensor(xv), -1).numpy(),
                               rtol=1e-12)


# -- the key case: a hand-written binary cross-entropy on sigmoid outputs ---------------------
def hand_written_bce(z, y, shared):
    """-mean(y*log(sigmoid(z)) + (1-y)*log(1-sigmoid(z))), as users write it."""
    if shared:
        p = gf.sigmoid(z)
        return -gf.reduce_mean(y * gf.log(p) + (1.0 - y) * gf.log(1.0 - p))
    return -gf.reduce_mean(y * gf.log(gf.sigmoid(z)) + (1 - y) * gf.log(1 - gf.sigmoid(z)))


def stable_bce(zv, yv):
    """max(z, 0) - z*y + log1p(exp(-|z|)), averaged (in float64)."""
    z, y = zv.astype(np.float64), yv.astype(np.float64)
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))


def sigmoid64(z):
    e = np.exp(-np.abs(z.astype(np.float64)))  # never overflows
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("big", [100.0, 1000.0])
@pytest.mark.parametrize("shared", [False, True])
def test_hand_written_bce_on_saturated_logits_is_finite_and_correct(dtype, big, shared):
    zv = np.array([big, -big, big, -big, 0.5, -2.0], dtype)
    yv = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0], dtype)  # wrong and right saturated guesses
    z = gf.placeholder(dtype, shape=(6,), name="z")
    y = gf.placeholder(dtype, shape=(6,), name="y")
    loss = hand_written_bce(z, y, shared)
    (dz,) = gf.gradients(loss, [z])
    feed = {z: zv, y: yv}

    # The interpreter, and the compiled path without passes, run the naive graph: inf or NaN.
    for sess in (gf.Session(optimize=False), gf.Session(passes=[])):
        assert not np.isfinite(sess.run(loss, feed))
    without = [p for p in DEFAULT_PASSES if p not in ("stabilize", "losses")]
    assert not np.isfinite(gf.Session(passes=without).run(loss, feed))
    # Either pass alone makes it finite: the losses pass fuses the whole sum into one op.
    for alone in ("stabilize", "losses"):
        assert np.isfinite(gf.Session(passes=without + [alone]).run(loss, feed)), alone

    want = stable_bce(zv, yv)
    tz = torch.tensor(zv, requires_grad=True)
    tloss = F.binary_cross_entropy_with_logits(tz, torch.tensor(yv))
    (tgrad,) = torch.autograd.grad(tloss, [tz])
    np.testing.assert_allclose(tloss.item(), want, rtol=1e-6)
    want_grad = (sigmoid64(zv) - yv) / zv.size
    np.testing.assert_allclose(tgrad.numpy(), want_grad, rtol=1e-6, atol=1e-12)

    tol = dict(rtol=1e-6) if dtype == np.float32 else dict(rtol=1e-12)
    for sess in (gf.Session(passes=["stabilize"], check=True), gf.Session(check=True)):
        prog = sess.make_callable([loss, dz], [z, y])
        value, grad = prog(zv, yv)
        assert np.isfinite(value) and np.asarray(value).dtype == dtype
        np.testing.assert_allclose(value, want, **tol)
        np.testing.assert_allclose(value, tloss.item(), **tol)
        assert np.isfinite(grad).all() and grad.dtype == dtype
        np.testing.assert_allclose(grad, want_grad, atol=1e-7 if dtype == np.float32 else 1e-15,
                                   **tol)
    assert "log" not in prog.ops, prog.ops  # all passes: no log left (sigmoid is the gradient)
    assert not {"log", "sigmoid"} & set(gf.Session().make_callable(loss, [z, y]).ops)

    # gf.gradients differentiates through the stable form: even the interpreter's gradient is
    # finite and right, though its loss is not.
    grad = gf.Session(optimize=False).run(dz, feed)
    np.testing.assert_allclose(grad, want_grad, atol=1e-7 if dtype == np.float32 else 1e-15,
                               **tol)


def test_hand_written_bce_agrees_with_the_interpreter_where_that_is_finite():
    rng = np.random.default_rng(0)
    zv, yv = rng.standard_normal(20) * 3, (rng.random(20) > 0.5).astype(np.float64)
    z = gf.placeholder(gf.float64, shape=(20,), name="z")
    y = gf.placeholder(gf.float64, shape=(20,), name="y")
    loss = hand_written_bce(z, y, shared=True)
    (dz,) = gf.gradients(loss, [z])
    ref = gf.Session(optimize=False).run([loss, dz], {z: zv, y: yv})
    got = gf.Session().run([loss, dz], {z: zv, y: yv})
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got[0], stable_bce(zv, yv), rtol=1e-12)
