"""Activations, the softmax family, the cross-entropy losses and mean squared error, against torch
(float64 and float32), central finite differences and torch's second derivatives."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from reference import check_finite_differences, compare_with_torch

import graphflow as gf


def away_from_zero(rng, shape):
    """relu has a kink at 0: keep the inputs off it (a dedicated test covers 0 itself)."""
    return rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def probabilities(rng, shape, axis=-1):
    e = np.exp(rng.standard_normal(shape))
    return e / e.sum(axis=axis, keepdims=True)


# -- activations -----------------------------------------------------------------------------------
ACTIVATIONS = [
    ("relu", gf.relu, torch.relu),
    ("sigmoid", gf.sigmoid, torch.sigmoid),
    ("tanh", gf.tanh, torch.tanh),
    ("softplus", gf.softplus, F.softplus),
]
ACTIVATION_IDS = [a[0] for a in ACTIVATIONS]


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)], ids=str)
@pytest.mark.parametrize("name, f_gf, f_torch", ACTIVATIONS, ids=ACTIVATION_IDS)
def test_activation_matches_torch(name, f_gf, f_torch, shape):
    x = away_from_zero(np.random.default_rng(0), shape) * 2
    compare_with_torch(f_gf, f_torch, [x])


@pytest.mark.parametrize("name, f_gf, f_torch", ACTIVATIONS, ids=ACTIVATION_IDS)
def test_activation_finite_differences(name, f_gf, f_torch):
    check_finite_differences(f_gf, [away_from_zero(np.random.default_rng(1), (2, 3)) * 2])


def test_gf_nn_exports_the_same_activations():
    for name in ("relu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax"):
        assert getattr(gf.nn, name) is getattr(gf, name)


def test_relu_gradient_at_zero_is_zero_like_torch():
    x = np.array([-1.0, 0.0, 1.0])
    compare_with_torch(gf.relu, torch.relu, [x])
    p = gf.placeholder(gf.float64, (3,))
    (g,) = gf.gradients(gf.reduce_sum(gf.relu(p)), [p])
    np.testing.assert_array_equal(gf.Session().run(g, {p: x}), [0.0, 0.0, 1.0])


@pytest.mark.parametrize("name, f_gf, f_torch", ACTIVATIONS[1:], ids=ACTIVATION_IDS[1:])
def test_activation_at_extreme_inputs_is_finite_and_exact(name, f_gf, f_torch):
    x = np.array([-1000.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0])
    value, (g,) = compare_with_torch(f_gf, f_torch, [x])
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(g))


def test_sigmoid_saturates_exactly():
    p = gf.placeholder(gf.float64, (2,))
    value = gf.Session().run(gf.sigmoid(p), {p: np.array([-1000.0, 1000.0])})
    np.testing.assert_array_equal(value, [0.0, 1.0])


# -- softmax, log_softmax --------------------------------------------------------------------------
SOFTMAXES = [("softmax", gf.softmax, torch.softmax), ("log_softmax", gf.log_softmax,
                                                        torch.log_softmax)]
AXIS_CASES = [((2, 3), -1), ((2, 3), 0), ((2, 3, 4), -1), ((2, 3, 4), 0), ((2, 3, 4), 1)]


@pytest.mark.parametrize("shape, axis", AXIS_CASES, ids=[f"{s}-axis{a}" for s, a in AXIS_CASES])
@pytest.mark.parametrize("name, f_gf, f_torch", SOFTMAXES, ids=[s[0] for s in SOFTMAXES])
def test_softmax_family_matches_torch(name, f_gf, f_torch, shape, axis):
    x = np.random.default_rng(2).standard_normal(shape) * 2
    value, _ = compare_with_torch(lambda t: f_gf(t, axis), lambda t: f_torch(t, axis), [x])
    probs = value if name == "softmax" else np.exp(value)
    np.testing.assert_allclose(probs.sum(axis=axis), 1.0, rtol=1e-12)


@pytest.mark.parametrize("shape, axis", [((2, 3), -1), ((2, 2, 3), 0)], ids=["2d-last", "3d-0"])
@pytest.mark.parametrize("name, f_gf, f_torch", SOFTMAXES, ids=[s[0] for s in SOFTMAXES])
def test_softmax_family_finite_differences(name, f_gf, f_torch, shape, axis):
    x = np.random.default_rng(3).standard_normal(shape)
    check_finite_differences(lambda t: f_gf(t, axis), [x])


@pytest.mark.parametrize("name, f_gf, f_torch", SOFTMAXES, ids=[s[0] for s in SOFTMAXES])
def test_softmax_family_with_huge_logits_is_finite(name, f_gf, f_torch):
    x = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, 1000.0]])
    value, (g,) = compare_with_torch(lambda t: f_gf(t, -1), lambda t: f_torch(t, -1), [x])
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(g))


# -- cross-entropies and mean squared error --------------------------------------------------------
def _bce_torch(labels, logits):
    # torch needs equal shapes; broadcasting first lets autograd sum the gradients back.
    labels, logits = torch.broadcast_tensors(labels, logits)
    return F.binary_cross_entropy_with_logits(logits, labels, reduction="none")


def _bce_gf(labels, logits):
    return gf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((3,), (2, 3)), ((2, 3), (2, 1))],
                         ids=["same", "labels-broadcast", "logits-broadcast"])
def test_sigmoid_cross_entropy_matches_torch(shapes):
    rng = np.random.default_rng(4)
    labels, logits = rng.uniform(0, 1, shapes[0]), rng.standard_normal(shapes[1]) * 3
    compare_with_torch(_bce_gf, _bce_torch, [labels, logits])  # gradients w.r.t. both
    check_finite_differences(_bce_gf, [labels, logits])


def test_sigmoid_cross_entropy_with_huge_logits():
    labels = np.array([0.0, 0.3, 1.0, 0.7, 1.0, 0.0])
    logits = np.array([1000.0, 1000.0, 1000.0, -1000.0, -1000.0, -1000.0])
    value, grads = compare_with_torch(_bce_gf, _bce_torch, [labels, logits])
    assert np.all(np.isfinite(value)) and all(np.all(np.isfinite(g)) for g in grads)
    # Hand-derived: max(x, 0) - x*z + log(1 + exp(-|x|)) with exp(-1000) == 0.
    np.testing.assert_array_equal(value, [1000.0, 700.0, 0.0, 700.0, 1000.0, 0.0])


def test_sigmoid_cross_entropy_needs_both_arguments():
    x = gf.placeholder(gf.float64, (3,))
    with pytest.raises(ValueError):
        gf.nn.sigmoid_cross_entropy_with_logits(logits=x)


def _softmax_xent_gf(labels, logits):
    return gf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)


def _softmax_xent_torch(labels, logits):
    return F.cross_entropy(logits, labels, reduction="none")


def test_softmax_cross_entropy_with_probability_targets_matches_torch():
    rng = np.random.default_rng(5)
    labels, logits = probabilities(rng, (4, 5)), rng.standard_normal((4, 5)) * 2
    compare_with_torch(_softmax_xent_gf, _softmax_xent_torch, [labels, logits])
    check_finite_differences(_softmax_xent_gf, [probabilities(rng, (2, 3)),
                                                rng.standard_normal((2, 3))])


def test_softmax_cross_entropy_with_huge_logits_is_finite():
    labels = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    logits = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]])
    value, grads = compare_with_torch(_softmax_xent_gf, _softmax_xent_torch, [labels, logits])
    assert np.all(np.isfinite(value)) and all(np.all(np.isfinite(g)) for g in grads)


def test_softmax_cross_entropy_along_axis_0():
    rng = np.random.default_rng(6)
    labels, logits = probabilities(rng, (5, 3), axis=0), rng.standard_normal((5, 3))
    compare_with_torch(
        lambda z, x: gf.nn.softmax_cross_entropy_with_logits(labels=z, logits=x, axis=0),
        lambda z, x: F.cross_entropy(x.T, z.T, reduction="none"), [labels, logits])


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5)], ids=str)
def test_sparse_softmax_cross_entropy_matches_torch(shape):
    rng = np.random.default_rng(7)
    labels = rng.integers(0, shape[-1], shape[:-1]).astype(np.int64)
    logits = rng.standard_normal(shape) * 2

    def f_gf(z, x):
        return gf.nn.sparse_softmax_cross_entropy_with_logits(labels=z, logits=x)

    def f_torch(z, x):  # torch wants the classes on axis 1
        return F.cross_entropy(x.movedim(-1, 1), z, reduction="none")

    compare_with_torch(f_gf, f_torch, [labels, logits])
    check_finite_differences(lambda x: f_gf(gf.constant(labels), x), [logits])


def test_mean_squared_error_matches_torch():
    rng = np.random.default_rng(8)
    labels, predictions = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    value, _ = compare_with_torch(gf.losses.mean_squared_error,
                                  lambda z, p: F.mse_loss(p, z), [labels, predictions])
    assert np.shape(value) == ()
    check_finite_differences(gf.losses.mean_squared_error, [rng.standard_normal((2, 3)),
                                                            rng.standard_normal((2, 3))])


# -- float32: the dtype is kept and values agree with torch's float32 ------------------------------
FLOAT32_CASES = [
    ("relu", gf.relu, torch.relu),
    ("sigmoid", gf.sigmoid, torch.sigmoid),
    ("tanh", gf.tanh, torch.tanh),
    ("softplus", gf.softplus, F.softplus),
    ("softmax", lambda x: gf.softmax(x, -1), lambda x: torch.softmax(x, -1)),
    ("log_softmax", lambda x: gf.log_softmax(x, 0), lambda x: torch.log_softmax(x, 0)),
    ("exp", gf.exp, torch.exp),
    ("square", gf.square, torch.square),
    ("mse", lambda x: gf.losses.mean_squared_error(x * 0.5, gf.tanh(x)),
     lambda x: F.mse_loss(torch.tanh(x), x * 0.5)),
]


@pytest.mark.parametrize("name, f_gf, f_torch", FLOAT32_CASES, ids=[c[0] for c in FLOAT32_CASES])
def test_float32_is_preserved_and_matches_torch(name, f_gf, f_torch):
    x = away_from_zero(np.random.default_rng(9), (3, 4)).astype(np.float32)
    p = gf.placeholder(gf.float32, (3, 4))
    assert f_gf(p).dtype == gf.float32
    value, (g,) = compare_with_torch(f_gf, f_torch, [x], rtol=1e-6, atol=1e-6)
    assert value.dtype == np.float32 and g.dtype == np.float32


def test_float32_cross_entropies_keep_dtype():
    rng = np.random.default_rng(10)
    labels = probabilities(rng, (3, 4)).astype(np.float32)
    logits = rng.standard_normal((3, 4)).astype(np.float32)
    for f_gf, f_torch in [(_bce_gf, _bce_torch), (_softmax_xent_gf, _softmax_xent_torch)]:
        value, grads = compare_with_torch(f_gf, f_torch, [labels, logits], rtol=1e-6, atol=1e-6)
        assert value.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)


# -- second order ----------------------------------------------------------------------------------
SECOND_ORDER = [
    ("tanh", gf.tanh, torch.tanh),
    ("sigmoid", gf.sigmoid, torch.sigmoid),
    ("softplus", gf.softplus, F.softplus),
    ("softmax", lambda x: gf.softmax(x, -1), lambda x: torch.softmax(x, -1)),
    ("log_softmax", lambda x: gf.log_softmax(x, 0), lambda x: torch.log_softmax(x, 0)),
]


@pytest.mark.parametrize("name, f_gf, f_torch", SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_gradient_of_gradient_matches_torch(name, f_gf, f_torch):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3))
    w = rng.standard_normal((2, 3))  # weights, so that sum(softmax) is not a constant

    def grad_gf(t):
        return gf.gradients(gf.reduce_sum(f_gf(t) * w), t)[0]

    def grad_torch(t):
        return torch.autograd.grad((f_torch(t) * torch.tensor(w)).sum(), t, create_graph=True)[0]

    compare_with_torch(grad_gf, grad_torch, [x])


def test_gradient_of_sigmoid_cross_entropy_gradient_matches_torch():
    rng = np.random.default_rng(12)
    labels, logits = rng.uniform(0, 1, (2, 3)), rng.standard_normal((2, 3))

    def grad_gf(z, x):
        return gf.gradients(gf.reduce_sum(_bce_gf(z, x) * x), x)[0]

    def grad_torch(z, x):
        return torch.autograd.grad((_bce_torch(z, x) * x).sum(), x, create_graph=True)[0]

    compare_with_torch(grad_gf, grad_torch, [labels, logits])
