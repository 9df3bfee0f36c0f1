"""gf.layers.dense (variables, scopes, values against torch and numpy) and l2_loss against torch."""

import math

import numpy as np
import pytest
import torch
from reference import compare_with_torch

import graphflow as gf
from graphflow.regularizers import l2_loss

SESSIONS = [dict(), dict(optimize=False)]


def fixed(array):
    """An initializer that returns `array` (and checks the shape and dtype it is asked for)."""
    def make(shape, dtype=gf.float32):
        assert tuple(shape) == array.shape, (shape, array.shape)
        return array.astype(dtype)
    return make


# -- variables and scopes ------------------------------------------------------------------------
def test_dense_makes_a_kernel_and_a_bias_in_its_scope():
    x = gf.placeholder(gf.float32, shape=(None, 4), name="x")
    out = gf.layers.dense(x, 3)
    kernel, bias = gf.global_variables()
    assert (kernel.op.name, kernel.shape, kernel.dtype) == ("dense/kernel", (4, 3), np.float32)
    assert (bias.op.name, bias.shape, bias.dtype) == ("dense/bias", (3,), np.float32)
    assert gf.trainable_variables() == [kernel, bias]
    assert out.shape == (None, 3) and out.dtype == np.float32
    assert out.op.name.startswith("dense/")
    np.testing.assert_array_equal(bias.initial_value, np.zeros(3))
    limit = math.sqrt(6.0 / (4 + 3))  # glorot_uniform by default
    assert np.abs(kernel.initial_value).max() <= limit
    assert len(np.unique(kernel.initial_value)) == 12


def test_scopes_are_numbered_as_tf1_does():
    x = gf.placeholder(gf.float32, shape=(None, 4), name="x")
    h = gf.layers.dense(x, 5)
    h = gf.layers.dense(h, 6)
    h = gf.layers.dense(h, 2, name="layer1")
    gf.layers.dense(h, 1)
    names = [v.op.name for v in gf.global_variables()]
    assert names == ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias",
                     "layer1/kernel", "layer1/bias", "dense_2/kernel", "dense_2/bias"]
    shapes = [v.shape for v in gf.global_variables()]
    assert shapes == [(4, 5), (5,), (5, 6), (6,), (6, 2), (2,), (2, 1), (1,)]


def test_use_bias_false_and_float64_inputs():
    x = gf.placeholder(gf.float64, shape=(None, 2), name="x")
    out = gf.layers.dense(x, 3, use_bias=False, name="proj")
    (kernel,) = gf.global_variables()
    assert kernel.name == "proj/kernel:0"
    assert kernel.dtype == np.float64 and out.dtype == np.float64


# -- values --------------------------------------------------------------------------------------
@pytest.mark.parametrize("session", SESSIONS)
def test_dense_values_against_torch_linear(session):
    rng = np.random.default_rng(0)
    x_val = rng.standard_normal((6, 4))
    k_val, b_val = rng.standard_normal((4, 3)), rng.standard_normal(3)
    x = gf.placeholder(gf.float64, shape=(None, 4), name="x")
    out = gf.layers.dense(x, 3, activation=gf.nn.relu, kernel_initializer=fixed(k_val),
                          bias_initializer=fixed(b_val))
    kernel, bias = gf.global_variables()
    loss = gf.reduce_sum(out * gf.constant(np.arange(18.0).reshape(6, 3)))
    grads = gf.gradients(loss, [kernel, bias])
    value, gk, gb = gf.Session(**session).run([out, *grads], {x: x_val})
    tk = torch.tensor(k_val, requires_grad=True)
    tb = torch.tensor(b_val, requires_grad=True)
    tout = torch.relu(torch.nn.functional.linear(torch.tensor(x_val), tk.T, tb))
    (tout * torch.arange(18.0, dtype=torch.float64).reshape(6, 3)).sum().backward()
    np.testing.assert_allclose(value, tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gk, tk.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gb, tb.grad.numpy(), rtol=1e-12)
    assert (value == 0).any() and (value > 0).any()  # relu really acted


def test_dense_keeps_leading_dimensions():
    rng = np.random.default_rng(1)
    x_val, k_val = rng.standard_normal((2, 5, 4)), rng.standard_normal((4, 3))
    x = gf.placeholder(gf.float64, shape=(None, 5, 4), name="x")
    out = gf.layers.dense(x, 3, use_bias=False, activation=gf.tanh,
                          kernel_initializer=fixed(k_val))
    assert out.shape == (None, 5, 3)
    np.testing.assert_allclose(gf.Session().run(out, {x: x_val}), np.tanh(x_val @ k_val),
                               rtol=1e-12)


def test_dense_kernel_is_reproducible_with_a_seed():
    def kernel():
        with gf.Graph().as_default() as graph:
            gf.set_random_seed(3)
            gf.layers.dense(gf.placeholder(gf.float32, shape=(None, 4)), 2)
            return gf.global_variables(graph)[0].initial_value
    np.testing.assert_array_equal(kernel(), kernel())


def test_dense_errors():
    with pytest.raises(gf.ShapeError, match="last dimension of inputs 'x'"):
        gf.layers.dense(gf.placeholder(gf.float32, shape=(None, None), name="x"), 3)
    with pytest.raises(gf.ShapeError, match="must be known"):
        gf.layers.dense(gf.placeholder(gf.float32, shape=None, name="unknown_rank"), 3)
    with pytest.raises(TypeError, match="float inputs"):
        gf.layers.dense(gf.placeholder(gf.int32, shape=(None, 2), name="ints"), 3)
    with pytest.raises(ValueError, match="positive int"):
        gf.layers.dense(gf.placeholder(gf.float32, shape=(None, 2)), 0)
    assert gf.global_variables() == []  # nothing half-made


# -- l2_loss -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_l2_loss_against_torch(shape):
    rng = np.random.default_rng(2)
    compare_with_torch(lambda t: l2_loss(t), lambda t: (t ** 2).sum() / 2,
                       [rng.standard_normal(shape)])


def test_l2_loss_by_hand():
    out = l2_loss(gf.constant(np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)), name="penalty")
    assert out.op.name == "penalty" and out.shape == () and out.dtype == np.float32
    assert gf.Session().run(out) == pytest.approx((1 + 4 + 0.25 + 9) / 2)
    with pytest.raises(TypeError, match="float tensor"):
        l2_loss(gf.constant([1, 2]))
