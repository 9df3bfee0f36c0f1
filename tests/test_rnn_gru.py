"""gf.nn.rnn_cell.GRUCell against TF1's GRU formula in numpy (not torch.nn.GRU: TF1 applies the
reset gate to h before the candidate's matmul, torch after it, so their numbers differ), TF1's
variable names, shapes and bias initializers, and gradients by central differences."""

import numpy as np
import pytest
from rnn_support import sessions, set_weights

import graphflow as gf

BATCH, STEPS, DEPTH, UNITS = 3, 4, 2, 5


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_gru_step(x, h, gate_k, gate_b, cand_k, cand_b):
    """TF1's GRUCell: reset before the candidate matmul, new_h = u * h + (1 - u) * c."""
    r, u = np.split(sigmoid(np.concatenate([x, h], 1) @ gate_k + gate_b), 2, axis=1)
    c = np.tanh(np.concatenate([x, r * h], 1) @ cand_k + cand_b)
    return u * h + (1 - u) * c


def random_weights(rng, depth=DEPTH, units=UNITS):
    return (rng.standard_normal((depth + units, 2 * units)), rng.standard_normal(2 * units),
            rng.standard_normal((depth + units, units)), rng.standard_normal(units))




def test_gru_variables_are_tf1s_names_shapes_and_initializers():
    cell = gf.nn.rnn_cell.GRUCell(UNITS)
    cell(gf.placeholder(gf.float32, (None, DEPTH)), gf.zeros([1, UNITS]))
    assert [(v.op.name, tuple(v.shape)) for v in gf.trainable_variables()] == [
        ("gru_cell/gates/kernel", (DEPTH + UNITS, 2 * UNITS)),
        ("gru_cell/gates/bias", (2 * UNITS,)),
        ("gru_cell/candidate/kernel", (DEPTH + UNITS, UNITS)),
        ("gru_cell/candidate/bias", (UNITS,))]
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        _, gate_b, _, cand_b = sess.run(gf.trainable_variables())
    np.testing.assert_array_equal(gate_b, np.ones(2 * UNITS))  # TF1: gates start open
    np.testing.assert_array_equal(cand_b, np.zeros(UNITS))


def test_gru_bias_and_kernel_initializers_are_used():
    cell = gf.contrib.rnn.GRUCell(UNITS, kernel_initializer=gf.constant_initializer(0.5),
                                  bias_initializer=gf.constant_initializer(-2.0))
    cell(gf.placeholder(gf.float32, (None, DEPTH)), gf.zeros([1, UNITS]))
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        gate_k, gate_b, cand_k, cand_b = sess.run(gf.trainable_variables())
    assert np.all(gate_k == 0.5) and np.all(cand_k == 0.5)
    assert np.all(gate_b == -2.0) and np.all(cand_b == -2.0)


def test_gru_dynamic_rnn_matches_numpy_formula():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((BATCH, STEPS, DEPTH))
    weights = random_weights(rng)
    x = gf.placeholder(gf.float64, (None, STEPS, DEPTH))
    outputs, state = gf.nn.dynamic_rnn(gf.nn.rnn_cell.GRUCell(UNITS), x, dtype=gf.float64)
    assert gf.trainable_variables()[0].op.name == "rnn/gru_cell/gates/kernel"
    h, want = np.zeros((BATCH, UNITS)), []
    for t in range(STEPS):
        h = numpy_gru_step(xs[:, t], h, *weights)
        want.append(h)
    for sess in sessions():
        set_weights(sess, weights)
        got, got_state = sess.run([outputs, state], {x: xs})
        np.testing.assert_allclose(got, np.stack(want, 1), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(got_state, h, rtol=1e-12)


@pytest.mark.parametrize("options", [{"optimize": False}, {"check": True}],
                         ids=["interpreter", "generated"])
def test_gru_gradients_match_central_differences(options):
    """Symbolic gradients against central differences of the numpy formula, in float64."""
    session = gf.Session(**options)
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((2, 3, DEPTH))
    weights = random_weights(rng, units=3)
    cot = rng.standard_normal((2, 3, 3))
    x = gf.placeholder(gf.float64, (2, 3, DEPTH))
    outputs, _ = gf.nn.dynamic_rnn(gf.nn.rnn_cell.GRUCell(3), x, dtype=gf.float64)
    loss = gf.reduce_sum(outputs * cot)
    gate_k, candidate_k = gf.trainable_variables()[0], gf.trainable_variables()[2]
    grads = gf.gradients(loss, [x, gate_k, candidate_k])
    set_weights(session, weights)
    dx, dgate, dcand = session.run(grads, {x: xs})
    def numpy_loss(*w):
        return np.sum(numpy_gru_rnn(xs, w) * cot)

    eps = 1e-6
    for got, index in ((dgate, 0), (dcand, 2)):
        numeric = np.zeros_like(weights[index])
        for j in np.ndindex(numeric.shape):
            plus, minus = [list(weights), list(weights)]
            plus[index] = weights[index].copy()
            plus[index][j] += eps
            minus[index] = weights[index].copy()
            minus[index][j] -= eps
            numeric[j] = (numpy_loss(*plus) - numpy_loss(*minus)) / (2 * eps)
        np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)
    numeric_dx = np.zeros_like(xs)
    for j in np.ndindex(xs.shape):
        plus, minus = xs.copy(), xs.copy()
        plus[j] += eps
        minus[j] -= eps
        numeric_dx[j] = (np.sum(numpy_gru_rnn(plus, weights) * cot)
                         - np.sum(numpy_gru_rnn(minus, weights) * cot)) / (2 * eps)
    np.testing.assert_allclose(dx, numeric_dx, rtol=1e-6, atol=1e-8)


def numpy_gru_rnn(xs, weights):
    h, outs = np.zeros((xs.shape[0], weights[3].shape[0])), []
    for t in range(xs.shape[1]):
        h = numpy_gru_step(xs[:, t], h, *weights)
        outs.append(h)
    return np.stack(outs, 1)
