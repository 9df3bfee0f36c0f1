"""Symbolic gradients: TF1 semantics, second order, the product's MLP and micrograd's expression."""

import micrograd_expression
import numpy as np
import pytest
import torch

import graphflow as gf


def test_hessian_of_sum_tanh_matches_torch():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4))
    x0 = rng.standard_normal(3)
    x = gf.placeholder(gf.float64, shape=(3,), name="x")
    w = gf.constant(w0)
    (h,) = gf.hessians(gf.reduce_sum(gf.tanh(x @ w)), [x])
    assert h.shape == (3, 3)
    got = gf.Session().run(h, {x: x0})
    tw = torch.tensor(w0)
    want = torch.autograd.functional.hessian(lambda v: torch.tanh(v @ tw).sum(), torch.tensor(x0))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, f_gf, f_torch", [
    ("softmax-ce", lambda x: -gf.reduce_sum(gf.log_softmax(x) * np.arange(4.0)),
     lambda x: -(torch.log_softmax(x, -1) * torch.arange(4.0, dtype=torch.float64)).sum()),
    ("sigmoid-poly", lambda x: gf.reduce_sum(gf.sigmoid(x) * x ** 3),
     lambda x: (torch.sigmoid(x) * x ** 3).sum()),
    ("max-exp", lambda x: gf.reduce_max(gf.exp(x) * 2 - x) + gf.reduce_mean(x * x),
     lambda x: (torch.exp(x) * 2 - x).amax() + (x * x).mean()),
])
def test_hessian_matrix_input_matches_torch(name, f_gf, f_torch):
    x0 = np.random.default_rng(1).standard_normal((2, 4)) if name != "softmax-ce" else \
        np.random.default_rng(1).standard_normal(4)
    x = gf.placeholder(gf.float64, shape=x0.shape)
    (h,) = gf.hessians(f_gf(x), [x])
    assert h.shape == x0.shape * 2
    got = gf.Session().run(h, {x: x0})
    want = torch.autograd.functional.hessian(f_torch, torch.tensor(x0))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-9, atol=1e-12)


def test_gradient_of_gradient_matches_hand_derivation():
    # y = x^3 * w  ->  dy/dx = 3 x^2 w  ->  d2y/dx2 = 6 x w
    x = gf.placeholder(gf.float64, shape=(None,), name="x")
    w = gf.Variable(np.array([0.5, -2.0, 3.0]), name="w")
    (dx,) = gf.gradients(gf.reduce_sum(x ** 3 * w), x)
    (ddx,) = gf.gradients(dx, x)
    x0 = np.array([1.5, -0.5, 2.0])
    d1, d2 = gf.Session().run([dx, ddx], {x: x0})
    np.testing.assert_allclose(d1, 3 * x0 ** 2 * w.initial_value)
    np.testing.assert_allclose(d2, 6 * x0 * w.initial_value)


def test_third_order_through_broadcast_and_sum_to():
    # Differentiating a gradient that went through sum_to/broadcast_like more than once.
    x = gf.placeholder(gf.float64, shape=(None, 3))
    b = gf.placeholder(gf.float64, shape=(3,))
    y = gf.reduce_sum(gf.exp(x * b))
    (gb,) = gf.gradients(y, b)
    (ggb,) = gf.gradients(gf.reduce_sum(gb * gb), b)
    x0, b0 = np.random.default_rng(2).standard_normal((4, 3)), np.array([0.1, -0.2, 0.3])
    got = gf.Session().run(ggb, {x: x0, b: b0})
    tb = torch.tensor(b0, requires_grad=True)
    tgb, = torch.autograd.grad(torch.exp(torch.tensor(x0) * tb).sum(), tb, create_graph=True)
    want, = torch.autograd.grad((tgb * tgb).sum(), tb)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-10)


def test_unrelated_x_gets_none_and_several_ys_are_summed():
    a = gf.placeholder(gf.float64, shape=(), name="a")
    b = gf.placeholder(gf.float64, shape=(), name="b")
    unused = gf.placeholder(gf.float64, shape=(), name="unused")
    ga, gu = gf.gradients([a * b, a * a], [a, unused])
    assert gu is None
    assert gf.Session().run(ga, {a: 3.0, b: 5.0}) == pytest.approx(5.0 + 6.0)


def test_several_paths_are_summed_with_one_add_n():
    x = gf.placeholder(gf.float64, shape=(), name="x")
    y = gf.exp(x) + x * x + gf.sqrt(x)  # four paths: exp, both operands of x * x, sqrt
    (g,) = gf.gradients(y, x)
    add_ns = [n for n in x.graph.nodes if n.type == "add_n"]
    assert len(add_ns) == 1 and len(add_ns[0].inputs) == 4
    assert gf.Session().run(g, {x: 4.0}) == pytest.approx(np.exp(4.0) + 8.0 + 0.25)


def test_stop_gradient_blocks_and_integer_paths_get_no_gradient():
    x = gf.placeholder(gf.float64, shape=(3,), name="x")
    y = gf.reduce_sum(x * gf.stop_gradient(x))
    (g,) = gf.gradients(y, x)
    x0 = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(gf.Session().run(g, {x: x0}), x0)  # not 2 * x0
    k = gf.cast(x, gf.int32)
    assert gf.gradients(gf.reduce_sum(gf.cast(k, gf.float64)), x) == [None]


def test_grad_ys_weights_the_output():
    x = gf.placeholder(gf.float64, shape=(2,), name="x")
    (g,) = gf.gradients(x * x, x, grad_ys=np.array([10.0, -1.0]))
    np.testing.assert_allclose(gf.Session().run(g, {x: np.array([1.0, 3.0])}), [20.0, -6.0])


def test_gradient_nodes_live_in_the_gradients_scope():
    x = gf.placeholder(gf.float32, shape=(None, 2), name="x")
    gf.gradients(gf.reduce_sum(x * x), x)
    new = [n.name for n in x.graph.nodes if n.name.startswith("gradients")]
    assert new and all(name.startswith("gradients/") for name in new)


def test_product_mlp_loss_and_all_four_gradients_match_torch():
    """L = mean BCE of sigma(W2 relu(X W1 + b1) + b2) against one-hot targets, float64."""
    rng = np.random.default_rng(3)
    n, d, h, k = 16, 20, 12, 10
    X = rng.standard_normal((n, d))
    Y = np.eye(k)[rng.integers(0, k, n)]
    W1, b1 = rng.standard_normal((d, h)) * 0.3, rng.standard_normal(h) * 0.1
    W2, b2 = rng.standard_normal((h, k)) * 0.3, rng.standard_normal(k) * 0.1

    x = gf.placeholder(gf.float64, shape=(None, d), name="x")
    y = gf.placeholder(gf.float64, shape=(None, k), name="y")
    params = [gf.Variable(v, name=nm) for v, nm in ((W1, "W1"), (b1, "b1"), (W2, "W2"),
                                                     (b2, "b2"))]
    w1, c1, w2, c2 = params
    out = gf.sigmoid(gf.relu(x @ w1 + c1) @ w2 + c2)
    loss = gf.reduce_mean(-(y * gf.log(out) + (1 - y) * gf.log(1 - out)))
    grads = gf.gradients(loss, params)
    got = gf.Session().run([loss] + grads, {x: X, y: Y})

    tp = [torch.tensor(v, requires_grad=True) for v in (W1, b1, W2, b2)]
    tout = torch.sigmoid(torch.relu(torch.tensor(X) @ tp[0] + tp[1]) @ tp[2] + tp[3])
    tloss = torch.nn.functional.binary_cross_entropy(tout, torch.tensor(Y))
    tloss.backward()
    np.testing.assert_allclose(got[0], tloss.item(), rtol=1e-12)
    for g, t in zip(got[1:], tp):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_micrograd_readme_expression():
    a, b, g = micrograd_expression.expression()  # examples/, as the example draws it
    ga, gb = gf.gradients(g, [a, b])
    value, da, db = gf.Session().run([g, ga, gb])
    assert f"{value:.4f}" == "24.7041"
    assert f"{da:.4f}" == "138.8338"
    assert f"{db:.4f}" == "645.5773"
