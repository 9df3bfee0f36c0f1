"""gf.test.compute_gradient / compute_gradient_error (TF1's gradient checker): symbolic against
numeric Jacobians, jacobian[i, j] = d y_j / d x_i; small on correct gradients, large on wrong
ones."""

import subprocess
import sys

import numpy as np
import pytest

import graphflow as gf
from compiler import REGISTRY, OpDef, register
from compiler.ops.core import apply
from graphflow import gradient_checker
from graphflow import test as gf_test


@pytest.fixture
def wrong_square():
    """A test-only op: square, with the gradient 3x instead of 2x. Unregistered afterwards, so the
    registry's completeness tests never see it."""
    op = register(OpDef("test_gradient_checker_wrong_square",
                        infer=lambda inputs: (inputs[0].shape, inputs[0].dtype),
                        kernel=np.square, grad=lambda node, g: (g * 3 * node.inputs[0],)))
    try:
        yield lambda x: apply(op, [x])
    finally:
        del REGISTRY[op.name]


def x64(shape, name="x"):
    return gf.placeholder(gf.float64, shape, name=name)


W = np.array([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]])

CORRECT = {
    "tanh_times_x": ((2, 3), lambda x: gf.tanh(x) * x),
    "matmul": ((2, 3), lambda x: gf.matmul(x, gf.constant(W))),
    "matmul_both_sides": ((3, 3), lambda x: gf.matmul(gf.transpose(x), gf.sigmoid(x))),
    "softmax": ((2, 4), lambda x: gf.softmax(x * 3.0)),
    "log_softmax_mean": ((2, 4), lambda x: gf.reduce_mean(gf.log_softmax(x), axis=1)),
    "broadcast_and_reduce": ((3, 1), lambda x: gf.reduce_sum(gf.tanh(x - gf.constant(W)), 0)),
    "division": ((4,), lambda x: (x + 1.0) / (x * x + 2.0)),
}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_gradients_agree_in_float64(name):
    shape, f = CORRECT[name]
    x = x64(shape)
    y = f(x)
    y_shape = tuple(y.shape)
    symbolic, numeric = gf_test.compute_gradient(x, shape, y, y_shape)
    size = int(np.prod(shape))
    assert symbolic.shape == numeric.shape == (size, int(np.prod(y_shape)))
    assert symbolic.dtype == numeric.dtype == np.float64
    assert np.abs(symbolic).max() > 1e-3  # not trivially zero
    assert gf_test.compute_gradient_error(x, shape, y, y_shape) < 1e-6


def test_jacobian_is_indexed_x_then_y():
    # y = x W for one row x: d y_j / d x_i = W[i, j], so both Jacobians are W itself (3 x 2).
    x = x64((1, 3))
    y = gf.matmul(x, gf.constant(W))
    symbolic, numeric = gf_test.compute_gradient(x, (1, 3), y, (1, 2))
    np.testing.assert_allclose(symbolic, W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(numeric, W, rtol=0, atol=1e-9)


def test_wrong_gradient_rule_gives_a_large_error(wrong_square):
    x = x64((2, 2))
    y = wrong_square(x) + x
    value = np.array([[1.0, 2.0], [-1.0, 0.5]])
    symbolic, numeric = gf_test.compute_gradient(x, (2, 2), y, (2, 2), x_init_value=value)
    np.testing.assert_allclose(np.diag(numeric), 2 * value.ravel() + 1, atol=1e-8)
    np.testing.assert_allclose(np.diag(symbolic), 3 * value.ravel() + 1, atol=1e-12)
    error = gf_test.compute_gradient_error(x, (2, 2), y, (2, 2), x_init_value=value)
    assert error == pytest.approx(2.0, abs=1e-6)  # |3x - 2x| at x = 2


def test_gradient_hidden_by_stop_gradient_gives_a_large_error():
    # The value is 2 x^2 but the gradient says 2x.
    x = x64((3,))
    y = x * x + gf.stop_gradient(x * x)
    value = np.array([1.0, -2.0, 3.0])
    assert gf_test.compute_gradient_error(x, (3,), y, (3,), x_init_value=value) == \
        pytest.approx(6.0, abs=1e-6)


def test_numeric_jacobian_of_float32_is_float64():
    x = gf.placeholder(gf.float32, (3,), name="x")
    y = gf.exp(x)
    value = np.array([0.1, 0.5, 1.0], np.float32)
    symbolic, numeric = gf_test.compute_gradient(x, (3,), y, (3,), x_init_value=value,
                                                 delta=1e-2)
    assert numeric.dtype == symbolic.dtype == np.float64
    np.testing.assert_allclose(np.diag(symbolic), np.exp(value), rtol=1e-6)
    # float32 values, but the differences and the step are taken as fed, in float64
    np.testing.assert_allclose(numeric, np.diag(np.exp(value.astype(np.float64))), atol=1e-4)


def test_numeric_step_is_the_one_fed_after_rounding_to_float32():
    # Near 1000, float32 cannot hold 1000 +- 0.01: the step fed is 0.0198975, not 0.02.
    x = gf.placeholder(gf.float32, (1,), name="x")
    _, numeric = gf_test.compute_gradient(x, (1,), x * 2.0, (1,),
                                          x_init_value=np.float32([1000.0]), delta=1e-2)
    assert numeric[0, 0] == pytest.approx(2.0, abs=1e-9)


def test_x_init_value_is_where_the_gradient_is_taken():
    x = x64(())
    y = x * x * x
    symbolic, numeric = gf_test.compute_gradient(x, (), y, (), x_init_value=2.0)
    assert symbolic.shape == (1, 1)
    assert symbolic[0, 0] == pytest.approx(12.0) and numeric[0, 0] == pytest.approx(12.0)


def test_a_list_of_xs_gives_a_list_of_pairs():
    a, b = x64((2,), "a"), x64((3,), "b")
    y = gf.reshape(a, (2, 1)) * gf.reshape(b, (1, 3))  # y[i, j] = a_i b_j
    va, vb = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    pairs = gf_test.compute_gradient([a, b], [(2,), (3,)], y, (2, 3), x_init_value=[va, vb])
    assert isinstance(pairs, list) and len(pairs) == 2
    (sa, na), (sb, nb) = pairs
    assert sa.shape == na.shape == (2, 6) and sb.shape == nb.shape == (3, 6)
    # d y[i, j] / d a_k = [i == k] b_j: the other x is held at its value
    expected_a = np.kron(np.eye(2), vb)
    np.testing.assert_allclose(sa, expected_a, atol=1e-12)
    np.testing.assert_allclose(na, expected_a, atol=1e-9)
    expected_b = np.stack([np.kron(va, np.eye(3)[j]) for j in range(3)])
    np.testing.assert_allclose(sb, expected_b, atol=1e-12)
    assert gf_test.compute_gradient_error([a, b], [(2,), (3,)], y, (2, 3),
                                          x_init_value=[va, vb]) < 1e-8


def test_error_of_a_list_is_the_largest_over_all_xs():
    a, b = x64((2,), "a"), x64((2,), "b")
    y = a * b + gf.stop_gradient(b * b)  # right for a, wrong for b (off by 2b)
    va, vb = np.array([1.0, 2.0]), np.array([3.0, -4.0])
    (sa, na), (sb, nb) = gf_test.compute_gradient([a, b], [(2,), (2,)], y, (2,),
                                                  x_init_value=[va, vb])
    assert np.abs(sa - na).max() < 1e-8
    error = gf_test.compute_gradient_error([a, b], [(2,), (2,)], y, (2,), x_init_value=[va, vb])
    assert error == pytest.approx(8.0, abs=1e-6)


def test_x_may_be_an_intermediate_tensor_and_other_feeds_come_from_extra_feed_dict():
    x, c = x64((2,), "x"), x64((2,), "c")
    h = x * 5.0
    y = gf.tanh(h) * c
    hv, cv = np.array([0.3, -0.2]), np.array([2.0, 3.0])
    symbolic, numeric = gf_test.compute_gradient(h, (2,), y, (2,), x_init_value=hv,
                                                 extra_feed_dict={c: cv})
    expected = np.diag(cv * (1 - np.tanh(hv) ** 2))  # no factor 5: h itself is fed
    np.testing.assert_allclose(symbolic, expected, atol=1e-12)
    np.testing.assert_allclose(numeric, expected, atol=1e-5)


def test_x_in_extra_feed_dict_takes_x_init_value():
    x, c = x64((2,), "x"), x64((2,), "c")
    symbolic, numeric = gf_test.compute_gradient(
        x, (2,), x * x * c, (2,), x_init_value=np.array([1.0, 2.0]),
        extra_feed_dict={x: np.array([7.0, 7.0]), c: np.array([1.0, 1.0])})
    np.testing.assert_allclose(symbolic, np.diag([2.0, 4.0]))


def test_x_unrelated_to_y_gives_zero_jacobians():
    x, c = x64((2,), "x"), x64((3,), "c")
    symbolic, numeric = gf_test.compute_gradient(x, (2,), c * 2.0, (3,),
                                                 extra_feed_dict={c: np.ones(3)})
    assert symbolic.shape == numeric.shape == (2, 3)
    assert not symbolic.any() and not numeric.any()


def test_uses_the_default_session_and_its_variables():
    w = gf.Variable(1.0, dtype=gf.float64, name="w")
    x = x64((2,))
    y = w * x
    with gf.Session() as sess:
        sess.run(w.assign(3.0))
        symbolic, _ = gf_test.compute_gradient(x, (2,), y, (2,))
    np.testing.assert_allclose(symbolic, 3 * np.eye(2))
    symbolic, _ = gf_test.compute_gradient(x, (2,), y, (2,))  # a new session: w's initial value
    np.testing.assert_allclose(symbolic, np.eye(2))


def test_init_targets_run_first():
    w = gf.Variable(1.0, dtype=gf.float64, name="w")
    x = x64((2,))
    symbolic, numeric = gf_test.compute_gradient(x, (2,), w * x, (2,),
                                                 init_targets=[w.assign(5.0)])
    np.testing.assert_allclose(symbolic, 5 * np.eye(2))
    np.testing.assert_allclose(numeric, 5 * np.eye(2))


def test_default_session_on_another_graph_is_an_error():
    x = x64((2,))
    y = x * 2.0
    with gf.Graph().as_default():
        with gf.Session():
            with pytest.raises(ValueError, match="default session's graph"):
                gf_test.compute_gradient(x, (2,), y, (2,))


def test_argument_errors():
    x = x64((2,))
    y = x * 2.0
    with pytest.raises(ValueError, match="y_shape"):
        gf_test.compute_gradient(x, (2,), y, (3,))
    free = x64((None,), "free")
    with pytest.raises(ValueError, match="has shape"):  # found when y runs
        gf_test.compute_gradient(free, (2,), free * 2.0, (3,))
    with pytest.raises(ValueError, match="x_init_value"):
        gf_test.compute_gradient(x, (2,), y, (2,), x_init_value=np.ones(3))
    with pytest.raises(ValueError, match="does not fit"):
        gf_test.compute_gradient(x, (3,), y, (2,))
    with pytest.raises(ValueError, match="one of each per x"):
        gf_test.compute_gradient([x, x], [(2,)], y, (2,))
    i = gf.placeholder(gf.int64, (2,), name="i")
    with pytest.raises(TypeError, match="only float"):
        gf_test.compute_gradient(i, (2,), gf.cast(i, gf.float64), (2,))


def test_gf_test_is_the_gradient_checker():
    assert gf_test.compute_gradient is gradient_checker.compute_gradient
    assert gf_test.compute_gradient_error is gradient_checker.compute_gradient_error
    # In a fresh interpreter: `import graphflow as gf` alone must give gf.test.
    code = "import graphflow as gf; print(gf.test.compute_gradient.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "graphflow.gradient_checker", out.stderr[-2000:]
