"""gf.nn.rnn_cell and gf.nn.static_rnn against TF1's formulas (numpy) and torch.nn.LSTM (float64):
values, gradients, TF1's variable names and shapes, reuse and sequence_length masking."""

import numpy as np
import pytest
import torch
from rnn_support import sessions

import graphflow as gf

BATCH, STEPS, DEPTH, UNITS = 3, 5, 4, 6
KERNEL = np.random.default_rng(5).standard_normal((DEPTH + UNITS, 4 * UNITS))
BIAS = np.random.default_rng(6).standard_normal(4 * UNITS)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_lstm_step(x, c, h, kernel, bias, forget_bias):
    """TF1's BasicLSTMCell step, gate order i, j, f, o."""
    i, j, f, o = np.split(np.concatenate([x, h], 1) @ kernel + bias, 4, axis=1)
    new_c = c * sigmoid(f + forget_bias) + sigmoid(i) * np.tanh(j)
    return np.tanh(new_c) * sigmoid(o), new_c



def initialized(sess, values):
    """Initialize the graph's variables, then set those in `values` ({variable: array})."""
    sess.run(gf.global_variables_initializer())
    for variable, value in values.items():
        sess.run(gf.assign(variable, value))
    return sess


def names_and_shapes():
    return [(v.op.name, tuple(v.shape)) for v in gf.trainable_variables()]


def test_lstm_cell_one_step_matches_tf1_formulas():
    rng = np.random.default_rng(0)
    x, c, h = (rng.standard_normal((BATCH, d)) for d in (DEPTH, UNITS, UNITS))
    kernel = rng.standard_normal((DEPTH + UNITS, 4 * UNITS))
    bias = rng.standard_normal(4 * UNITS)
    cell = gf.nn.rnn_cell.BasicLSTMCell(UNITS, forget_bias=0.7)
    state = gf.nn.rnn_cell.LSTMStateTuple(gf.constant(c), gf.constant(h))
    output, new_state = cell(gf.constant(x), state)
    assert isinstance(new_state, gf.nn.rnn_cell.LSTMStateTuple)
    variables = gf.trainable_variables()
    assert [v.op.name for v in variables] == ["basic_lstm_cell/kernel", "basic_lstm_cell/bias"]
    want_h, want_c = numpy_lstm_step(x, c, h, kernel, bias, 0.7)
    for sess in sessions():
        with initialized(sess, dict(zip(variables, (kernel, bias)))):
            got_h, got_state = sess.run([output, new_state])
        np.testing.assert_allclose(got_h, want_h, rtol=1e-12)
        np.testing.assert_allclose(got_state.c, want_c, rtol=1e-12)
        np.testing.assert_allclose(got_state.h, want_h, rtol=1e-12)


def test_rnn_cell_one_step_matches_tf1_formula():
    rng = np.random.default_rng(1)
    x, h = rng.standard_normal((BATCH, DEPTH)), rng.standard_normal((BATCH, UNITS))
    kernel = rng.standard_normal((DEPTH + UNITS, UNITS))
    bias = rng.standard_normal(UNITS)
    cell = gf.nn.rnn_cell.BasicRNNCell(UNITS)
    output, new_state = cell(gf.constant(x), gf.constant(h))
    assert names_and_shapes() == [("basic_rnn_cell/kernel", (DEPTH + UNITS, UNITS)),
                                  ("basic_rnn_cell/bias", (UNITS,))]
    want = np.tanh(np.concatenate([x, h], 1) @ kernel + bias)
    for sess in sessions():
        with initialized(sess, dict(zip(gf.trainable_variables(), (kernel, bias)))):
            got, got_state = sess.run([output, new_state])
        np.testing.assert_allclose(got, want, rtol=1e-12)
        np.testing.assert_allclose(got_state, want, rtol=1e-12)


def tf_to_torch(kernel, bias, forget_bias):
    """TF's kernel [depth + units, 4 * units] (gates i, j, f, o) as torch.nn.LSTM's weight_ih,
    weight_hh (rows i, f, g, o) and bias_ih (forget_bias folded into f); bias_hh is zero."""
    blocks = np.split(kernel, 4, axis=1)
    b = np.split(bias, 4)
    order = (0, 2, 1, 3)  # torch's i, f, g, o are TF's i, f, j, o
    w = np.concatenate([blocks[k] for k in order], 1).T
    b_ih = np.concatenate([b[0], b[2] + forget_bias, b[1], b[3]])
    return w[:, :DEPTH], w[:, DEPTH:], b_ih


def torch_grads_to_tf(w_ih_grad, w_hh_grad, b_ih_grad):
    """torch's parameter gradients back in TF's kernel and bias layout."""
    w = np.concatenate([w_ih_grad, w_hh_grad], 1).T
    blocks, b = np.split(w, 4, axis=1), np.split(b_ih_grad, 4)
    order = (0, 2, 1, 3)  # the same swap of the second and third blocks undoes itself
    return (np.concatenate([blocks[k] for k in order], 1),
            np.concatenate([b[k] for k in order]))


def torch_lstm(xs, kernel, bias, forget_bias, cot):
    lstm = torch.nn.LSTM(DEPTH, UNITS, batch_first=True).double()
    w_ih, w_hh, b_ih = tf_to_torch(kernel, bias, forget_bias)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(w_ih))
        lstm.weight_hh_l0.copy_(torch.tensor(w_hh))
        lstm.bias_ih_l0.copy_(torch.tensor(b_ih))
        lstm.bias_hh_l0.zero_()
    tx = torch.tensor(xs, requires_grad=True)
    out, _ = lstm(tx)
    (out * torch.tensor(cot)).sum().backward()
    grads = torch_grads_to_tf(lstm.weight_ih_l0.grad.numpy(), lstm.weight_hh_l0.grad.numpy(),
                              lstm.bias_ih_l0.grad.numpy())
    return out.detach().numpy(), tx.grad.numpy(), grads


def test_static_rnn_lstm_matches_torch_forward_and_gradient():
    rng = np.random.default_rng(2)
    xs = rng.standard_normal((BATCH, STEPS, DEPTH))
    kernel = rng.standard_normal((DEPTH + UNITS, 4 * UNITS)) * 0.5
    bias = rng.standard_normal(4 * UNITS) * 0.5
    cot = rng.standard_normal((BATCH, STEPS, UNITS))
    x = gf.placeholder(gf.float64, (None, STEPS, DEPTH), name="x")
    cell = gf.contrib.rnn.BasicLSTMCell(UNITS, forget_bias=1.0)
    outputs, _ = gf.contrib.rnn.static_rnn(cell, gf.unstack(x, STEPS, 1), dtype=gf.float64)
    assert len(outputs) == STEPS
    out = gf.stack(outputs, axis=1)
    k_var, b_var = gf.trainable_variables()
    grads = gf.gradients(gf.reduce_sum(out * cot), [x, k_var, b_var])
    want_out, want_dx, (want_dk, want_db) = torch_lstm(xs, kernel, bias, 1.0, cot)
    for sess in sessions():
        with initialized(sess, {k_var: kernel, b_var: bias}):
            got_out, (dx, dk, db) = sess.run([out, grads], {x: xs})
        np.testing.assert_allclose(got_out, want_out, rtol=1e-10, atol=1e-12)
        for got, want in ((dx, want_dx), (dk, want_dk), (db, want_db)):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_variable_names_shapes_and_initializers_are_tf1s():
    x = gf.placeholder(gf.float32, (None, STEPS, DEPTH))
    xs = gf.unstack(x, STEPS, 1)
    gf.nn.static_rnn(gf.nn.rnn_cell.BasicLSTMCell(UNITS), xs, dtype=gf.float32)
    with gf.variable_scope("stack", initializer=gf.constant_initializer(0.25)):
        cells = [gf.nn.rnn_cell.BasicLSTMCell(UNITS), gf.nn.rnn_cell.BasicRNNCell(2)]
        _, state = gf.nn.static_rnn(gf.nn.rnn_cell.MultiRNNCell(cells), xs, dtype=gf.float32)
    assert names_and_shapes() == [
        ("rnn/basic_lstm_cell/kernel", (DEPTH + UNITS, 4 * UNITS)),
        ("rnn/basic_lstm_cell/bias", (4 * UNITS,)),
        ("stack/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel", (DEPTH + UNITS, 4 * UNITS)),
        ("stack/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias", (4 * UNITS,)),
        ("stack/rnn/multi_rnn_cell/cell_1/basic_rnn_cell/kernel", (UNITS + 2, 2)),
        ("stack/rnn/multi_rnn_cell/cell_1/basic_rnn_cell/bias", (2,))]
    assert isinstance(state, tuple) and isinstance(state[0], gf.nn.rnn_cell.LSTMStateTuple)
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        kernel, bias, k0, b0 = sess.run(gf.trainable_variables()[:4])
    limit = np.sqrt(6 / (DEPTH + UNITS + 4 * UNITS))  # glorot_uniform's bound
    assert np.all(np.abs(kernel) <= limit) and kernel.std() > limit / 4
    np.testing.assert_array_equal(bias, 0)
    np.testing.assert_array_equal(k0, 0.25)  # the variable scope's initializer
    np.testing.assert_array_equal(b0, 0)  # the bias stays zeros, as TF1's


def test_static_rnn_twice_under_reuse_shares_variables():
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((BATCH, STEPS, DEPTH)).astype(np.float32)
    a = gf.placeholder(gf.float32, (None, STEPS, DEPTH))
    b = gf.placeholder(gf.float32, (None, STEPS, DEPTH))
    with gf.variable_scope("model"):
        out_a, _ = gf.nn.static_rnn(gf.nn.rnn_cell.BasicLSTMCell(UNITS),
                                    gf.unstack(a, STEPS, 1), dtype=gf.float32)
    with gf.variable_scope("model", reuse=True):
        out_b, _ = gf.nn.static_rnn(gf.nn.rnn_cell.BasicLSTMCell(UNITS),
                                    gf.unstack(b, STEPS, 1), dtype=gf.float32)
    assert [name for name, _ in names_and_shapes()] == ["model/rnn/basic_lstm_cell/kernel",
                                                        "model/rnn/basic_lstm_cell/bias"]
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        got_a, got_b = sess.run([out_a[-1], out_b[-1]], {a: xs, b: xs})
    np.testing.assert_array_equal(got_a, got_b)


def test_sequence_length_zeroes_outputs_and_freezes_state():
    rng = np.random.default_rng(4)
    xs = rng.standard_normal((BATCH, STEPS, DEPTH))
    lengths = np.array([2, 5, 0])
    x = gf.placeholder(gf.float64, (None, STEPS, DEPTH))
    seq = gf.placeholder(gf.int64, (None,))
    outputs, state = gf.nn.static_rnn(gf.nn.rnn_cell.BasicLSTMCell(UNITS, forget_bias=0.5),
                                      gf.unstack(x, STEPS, 1), dtype=gf.float64,
                                      sequence_length=seq)
    kernel, bias = gf.trainable_variables()
    c, h = np.zeros((BATCH, UNITS)), np.zeros((BATCH, UNITS))
    want = []
    for t in range(STEPS):
        new_h, new_c = numpy_lstm_step(xs[:, t], c, h, KERNEL, BIAS, 0.5)
        alive = (t < lengths)[:, None]
        want.append(np.where(alive, new_h, 0))
        c, h = np.where(alive, new_c, c), np.where(alive, new_h, h)
    for sess in sessions():
        with initialized(sess, {kernel: KERNEL, bias: BIAS}):
            got, got_state = sess.run([outputs, state], {x: xs, seq: lengths})
        for got_t, want_t in zip(got, want):
            np.testing.assert_allclose(got_t, want_t, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got_state.c, c, rtol=1e-12)
        np.testing.assert_allclose(got_state.h, h, rtol=1e-12)


def test_wrong_input_depth_on_reuse_names_the_variable_and_both_shapes():
    gf.nn.static_rnn(gf.nn.rnn_cell.BasicLSTMCell(UNITS),
                     [gf.placeholder(gf.float32, (None, DEPTH))], dtype=gf.float32)
    with gf.variable_scope(gf.get_variable_scope(), reuse=True):
        with pytest.raises(ValueError, match=r"rnn/basic_lstm_cell/kernel.*\(9, 24\).*\(10, 24\)"):
            gf.nn.static_rnn(gf.nn.rnn_cell.BasicLSTMCell(UNITS),
                             [gf.placeholder(gf.float32, (None, 3))], dtype=gf.float32)


def test_static_rnn_errors_are_tf1s():
    cell = gf.nn.rnn_cell.BasicRNNCell(UNITS)
    x = gf.placeholder(gf.float32, (None, DEPTH))
    with pytest.raises(ValueError, match="dtype must be specified"):
        gf.nn.static_rnn(cell, [x])
    with pytest.raises(TypeError, match="inputs must be a sequence"):
        gf.nn.static_rnn(cell, x, dtype=gf.float32)
    with pytest.raises(ValueError, match="inputs must not be empty"):
        gf.nn.static_rnn(cell, [], dtype=gf.float32)
    with pytest.raises(NotImplementedError, match="NASCell"):
        gf.contrib.rnn.NASCell(UNITS)


def test_concatenated_lstm_state_and_zero_state():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((BATCH, DEPTH))
    cell = gf.nn.rnn_cell.BasicLSTMCell(UNITS, state_is_tuple=False)
    assert cell.state_size == 2 * UNITS and cell.output_size == UNITS
    zero = cell.zero_state(BATCH, gf.float64)
    assert tuple(zero.shape) == (BATCH, 2 * UNITS)
    c, h = rng.standard_normal((BATCH, UNITS)), rng.standard_normal((BATCH, UNITS))
    output, state = cell(gf.constant(x), gf.constant(np.concatenate([c, h], 1)))
    want_h, want_c = numpy_lstm_step(x, c, h, KERNEL, BIAS, 1.0)
    for sess in sessions():
        with initialized(sess, dict(zip(gf.trainable_variables(), (KERNEL, BIAS)))):
            got_h, got_state, got_zero = sess.run([output, state, zero])
        np.testing.assert_array_equal(got_zero, 0)
        np.testing.assert_allclose(got_h, want_h, rtol=1e-12)
        np.testing.assert_allclose(got_state, np.concatenate([want_c, want_h], 1), rtol=1e-12)
    with pytest.raises(ValueError, match="floating point.*int32"):
        gf.nn.rnn_cell.BasicRNNCell(UNITS, dtype=gf.int32)


@pytest.mark.parametrize("state_is_tuple", [True, False])
def test_multi_rnn_cell_stacks_cells_in_order(state_is_tuple):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((BATCH, DEPTH))
    h0, h1 = rng.standard_normal((BATCH, UNITS)), rng.standard_normal((BATCH, 2))
    k0, b0 = rng.standard_normal((DEPTH + UNITS, UNITS)), rng.standard_normal(UNITS)
    k1, b1 = rng.standard_normal((UNITS + 2, 2)), rng.standard_normal(2)
    cell = gf.nn.rnn_cell.MultiRNNCell([gf.nn.rnn_cell.BasicRNNCell(UNITS),
                                        gf.nn.rnn_cell.BasicRNNCell(2)], state_is_tuple)
    assert cell.state_size == ((UNITS, 2) if state_is_tuple else UNITS + 2)
    state = ((gf.constant(h0), gf.constant(h1)) if state_is_tuple
             else gf.constant(np.concatenate([h0, h1], 1)))
    output, new_state = cell(gf.constant(x), state)
    new_h0 = np.tanh(np.concatenate([x, h0], 1) @ k0 + b0)
    new_h1 = np.tanh(np.concatenate([new_h0, h1], 1) @ k1 + b1)
    for sess in sessions():
        with initialized(sess, dict(zip(gf.trainable_variables(), (k0, b0, k1, b1)))):
            got, got_state = sess.run([output, new_state])
        np.testing.assert_allclose(got, new_h1, rtol=1e-12)
        got_state = got_state if state_is_tuple else np.split(got_state, [UNITS], axis=1)
        np.testing.assert_allclose(got_state[0], new_h0, rtol=1e-12)
        np.testing.assert_allclose(got_state[1], new_h1, rtol=1e-12)


def test_missing_tf1_names_are_missing_attributes_too():
    """hasattr/getattr-with-default, pickle and inspect look up names a module may lack: they see
    a missing attribute (TorchInductor's cache key walks modules so, and failed on a bare
    NotImplementedError), while a direct use still says what graphflow lacks."""
    import pickle

    for module, name in ((gf.nn.rnn_cell, "NASCell"), (gf.contrib.rnn, "NASCell"),
                         (gf.contrib.layers, "xavier_initializer"), (gf.contrib, "slim")):
        assert not hasattr(module, name)
        assert getattr(module, name, "default") == "default"
        with pytest.raises(NotImplementedError, match=name):
            getattr(module, name)
    assert pickle.loads(pickle.dumps(gf.nn.rnn_cell.BasicRNNCell)) is gf.nn.rnn_cell.BasicRNNCell
