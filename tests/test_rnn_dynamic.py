"""gf.nn.dynamic_rnn, bidirectional_dynamic_rnn and static_bidirectional_rnn against TF1's
formulas in numpy: values, sequence_length (zero outputs, frozen state, reversal within each
length), TF1's variable names, errors, and gradients by central differences."""

import numpy as np
import pytest
from rnn_support import sessions, set_weights

import graphflow as gf

BATCH, STEPS, DEPTH, UNITS = 3, 5, 4, 6
LENGTHS = np.array([2, 5, 0])


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step(x, state, kernel, bias):
    """TF1's BasicLSTMCell (forget_bias 1.0), gates i, j, f, o; state (c, h)."""
    c, h = state
    i, j, f, o = np.split(np.concatenate([x, h], 1) @ kernel + bias, 4, axis=1)
    new_c = c * sigmoid(f + 1.0) + sigmoid(i) * np.tanh(j)
    new_h = np.tanh(new_c) * sigmoid(o)
    return new_h, (new_c, new_h)


def rnn_step(x, h, kernel, bias):
    new_h = np.tanh(np.concatenate([x, h], 1) @ kernel + bias)
    return new_h, new_h


def numpy_rnn(step, xs, state, weights, lengths=None):
    """TF1's semantics: past a row's length its output is 0 and its state is kept."""
    outs = []
    for t in range(xs.shape[1]):
        out, new_state = step(xs[:, t], state, *weights)
        if lengths is not None:
            alive = (t < lengths)[:, None]
            out = np.where(alive, out, 0)
            new_state = tuple(np.where(alive, n, o) for n, o in zip(new_state, state)) \
                if isinstance(state, tuple) else np.where(alive, new_state, state)
        outs.append(out)
        state = new_state
    return np.stack(outs, 1), state


def reverse_sequence(xs, lengths):
    """numpy of TF1's reverse_sequence on axis 1: each row's first length steps reversed."""
    out = xs.copy()
    for b, n in enumerate(lengths):
        out[b, :n] = xs[b, :n][::-1]
    return out




def lstm_weights(rng, depth=DEPTH, units=UNITS):
    return rng.standard_normal((depth + units, 4 * units)), rng.standard_normal(4 * units)


@pytest.mark.parametrize("time_major", [False, True])
def test_dynamic_rnn_lstm_with_sequence_length_matches_tf1(time_major):
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((BATCH, STEPS, DEPTH))
    weights = lstm_weights(rng)
    shape = (STEPS, None, DEPTH) if time_major else (None, STEPS, DEPTH)
    x = gf.placeholder(gf.float64, shape)
    seq = gf.placeholder(gf.int32, (None,))
    outputs, state = gf.nn.dynamic_rnn(gf.nn.rnn_cell.BasicLSTMCell(UNITS), x,
                                       sequence_length=seq, dtype=gf.float64,
                                       time_major=time_major)
    assert [v.op.name for v in gf.trainable_variables()] == ["rnn/basic_lstm_cell/kernel",
                                                             "rnn/basic_lstm_cell/bias"]
    zero = (np.zeros((BATCH, UNITS)),) * 2
    want, (want_c, want_h) = numpy_rnn(lstm_step, xs, zero, weights, LENGTHS)
    feed_x = xs.transpose(1, 0, 2) if time_major else xs
    want = want.transpose(1, 0, 2) if time_major else want
    for sess in sessions():
        set_weights(sess, weights)
        got, got_state = sess.run([outputs, state], {x: feed_x, seq: LENGTHS})
        assert isinstance(got_state, gf.nn.rnn_cell.LSTMStateTuple)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(got_state.c, want_c, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(got_state.h, want_h, rtol=1e-12, atol=1e-14)


def test_dynamic_rnn_initial_state_and_scope():
    rng = np.random.default_rng(1)
    xs, h0 = rng.standard_normal((BATCH, STEPS, DEPTH)), rng.standard_normal((BATCH, UNITS))
    weights = rng.standard_normal((DEPTH + UNITS, UNITS)), rng.standard_normal(UNITS)
    outputs, state = gf.nn.dynamic_rnn(gf.nn.rnn_cell.BasicRNNCell(UNITS), gf.constant(xs),
                                       initial_state=gf.constant(h0), scope="enc")
    assert gf.trainable_variables()[0].op.name == "enc/basic_rnn_cell/kernel"
    want, want_h = numpy_rnn(rnn_step, xs, h0, weights)
    for sess in sessions():
        set_weights(sess, weights)
        got, got_h = sess.run([outputs, state])
        np.testing.assert_allclose(got, want, rtol=1e-12)
        np.testing.assert_allclose(got_h, want_h, rtol=1e-12)


def test_dynamic_rnn_errors():
    cell = gf.nn.rnn_cell.BasicRNNCell(UNITS)
    with pytest.raises(NotImplementedError, match=r"unrolls.*time steps.*static"):
        gf.nn.dynamic_rnn(cell, gf.placeholder(gf.float32, (None, None, DEPTH)),
                          dtype=gf.float32)
    x = gf.placeholder(gf.float32, (None, STEPS, DEPTH), name="frames")
    with pytest.raises(ValueError, match="you must give a dtype"):
        gf.nn.dynamic_rnn(cell, x)
    with pytest.raises(ValueError, match="'frames_1'.*rank 3"):
        gf.nn.dynamic_rnn(cell, gf.placeholder(gf.float32, (None, DEPTH), name="frames"),
                          dtype=gf.float32)
    with pytest.raises(TypeError, match="not an RNNCell"):
        gf.nn.dynamic_rnn(object(), x, dtype=gf.float32)


def bidirectional_reference(xs, weights_fw, weights_bw, lengths):
    zero = np.zeros((xs.shape[0], UNITS))
    out_fw, h_fw = numpy_rnn(rnn_step, xs, zero, weights_fw, lengths)
    out_bw, h_bw = numpy_rnn(rnn_step, reverse_sequence(xs, lengths), zero, weights_bw, lengths)
    return out_fw, reverse_sequence(out_bw, lengths), h_fw, h_bw


def test_bidirectional_dynamic_rnn_matches_tf1():
    rng = np.random.default_rng(2)
    xs = rng.standard_normal((BATCH, STEPS, DEPTH))
    w_fw = rng.standard_normal((DEPTH + UNITS, UNITS)), rng.standard_normal(UNITS)
    w_bw = rng.standard_normal((DEPTH + UNITS, UNITS)), rng.standard_normal(UNITS)
    x = gf.placeholder(gf.float64, (None, STEPS, DEPTH))
    (out_fw, out_bw), (h_fw, h_bw) = gf.nn.bidirectional_dynamic_rnn(
        gf.nn.rnn_cell.BasicRNNCell(UNITS), gf.nn.rnn_cell.BasicRNNCell(UNITS), x,
        sequence_length=LENGTHS, dtype=gf.float64)
    assert [v.op.name for v in gf.trainable_variables()] == [
        "bidirectional_rnn/fw/basic_rnn_cell/kernel", "bidirectional_rnn/fw/basic_rnn_cell/bias",
        "bidirectional_rnn/bw/basic_rnn_cell/kernel", "bidirectional_rnn/bw/basic_rnn_cell/bias"]
    want = bidirectional_reference(xs, w_fw, w_bw, LENGTHS)
    for sess in sessions():
        set_weights(sess, w_fw + w_bw)
        got = sess.run([out_fw, out_bw, h_fw, h_bw], {x: xs})
        for got_part, want_part in zip(got, want):
            np.testing.assert_allclose(got_part, want_part, rtol=1e-12, atol=1e-14)


def test_static_bidirectional_rnn_concatenates_fw_and_bw_per_step():
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((BATCH, STEPS, DEPTH))
    w_fw = rng.standard_normal((DEPTH + UNITS, UNITS)), rng.standard_normal(UNITS)
    w_bw = rng.standard_normal((DEPTH + UNITS, UNITS)), rng.standard_normal(UNITS)
    x = gf.placeholder(gf.float64, (None, STEPS, DEPTH))
    outputs, h_fw, h_bw = gf.contrib.rnn.static_bidirectional_rnn(
        gf.nn.rnn_cell.BasicRNNCell(UNITS), gf.nn.rnn_cell.BasicRNNCell(UNITS),
        gf.unstack(x, STEPS, 1), dtype=gf.float64, sequence_length=LENGTHS)
    assert len(outputs) == STEPS
    assert gf.trainable_variables()[2].op.name == "bidirectional_rnn/bw/basic_rnn_cell/kernel"
    out_fw, out_bw, want_fw, want_bw = bidirectional_reference(xs, w_fw, w_bw, LENGTHS)
    for sess in sessions():
        set_weights(sess, w_fw + w_bw)
        got, got_fw, got_bw = sess.run([outputs, h_fw, h_bw], {x: xs})
        for t in range(STEPS):
            want_t = np.concatenate([out_fw[:, t], out_bw[:, t]], 1)
            np.testing.assert_allclose(got[t], want_t, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(got_fw, want_fw, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(got_bw, want_bw, rtol=1e-12, atol=1e-14)
    with pytest.raises(TypeError, match="inputs must be a list"):
        gf.nn.static_bidirectional_rnn(gf.nn.rnn_cell.BasicRNNCell(2),
                                       gf.nn.rnn_cell.BasicRNNCell(2), x, dtype=gf.float64)


@pytest.mark.parametrize("options", [{"optimize": False}, {"check": True}],
                         ids=["interpreter", "generated"])
def test_bidirectional_gradient_matches_central_differences(options):
    """d/dx of the reversed-within-length backward pass, against central differences of the
    numpy reference, in float64."""
    rng = np.random.default_rng(4)
    xs, lengths = rng.standard_normal((3, 3, 2)), np.array([2, 3, 1])
    w_fw = rng.standard_normal((2 + UNITS, UNITS)), rng.standard_normal(UNITS)
    w_bw = rng.standard_normal((2 + UNITS, UNITS)), rng.standard_normal(UNITS)
    cot = rng.standard_normal((3, 3, 2 * UNITS))
    x = gf.placeholder(gf.float64, (3, 3, 2))
    (out_fw, out_bw), _ = gf.nn.bidirectional_dynamic_rnn(
        gf.nn.rnn_cell.BasicRNNCell(UNITS), gf.nn.rnn_cell.BasicRNNCell(UNITS), x,
        sequence_length=lengths, dtype=gf.float64)
    (dx,) = gf.gradients(gf.reduce_sum(gf.concat([out_fw, out_bw], 2) * cot), [x])

    def loss(value):
        fw, bw, _, _ = bidirectional_reference(value, w_fw, w_bw, lengths)
        return np.sum(np.concatenate([fw, bw], 2) * cot)

    numeric, eps = np.zeros_like(xs), 1e-6
    for j in np.ndindex(xs.shape):
        plus, minus = xs.copy(), xs.copy()
        plus[j] += eps
        minus[j] -= eps
        numeric[j] = (loss(plus) - loss(minus)) / (2 * eps)
    sess = gf.Session(**options)
    set_weights(sess, w_fw + w_bw)
    np.testing.assert_allclose(sess.run(dx, {x: xs}), numeric, rtol=1e-6, atol=1e-8)
