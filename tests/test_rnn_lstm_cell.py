"""gf.nn.rnn_cell.LSTMCell against TF1's formula in numpy (peepholes, cell_clip, num_proj,
proj_clip), TF1's variable names and shapes, and a gradient by central differences."""

import numpy as np
import pytest
from rnn_support import sessions, set_weights

import graphflow as gf

BATCH, DEPTH, UNITS, PROJ = 3, 4, 5, 2


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_lstm(x, c, m, w, peepholes, cell_clip, proj, proj_clip, forget_bias=1.0):
    """TF1's LSTMCell step; w: kernel, bias, [w_f, w_i, w_o], [projection]."""
    w = list(w)
    kernel, bias = w.pop(0), w.pop(0)
    i, j, f, o = np.split(np.concatenate([x, m], 1) @ kernel + bias, 4, axis=1)
    w_f, w_i, w_o = (w.pop(0), w.pop(0), w.pop(0)) if peepholes else (0, 0, 0)
    c = sigmoid(f + forget_bias + w_f * c) * c + sigmoid(i + w_i * c) * np.tanh(j)
    if cell_clip is not None:
        c = np.clip(c, -cell_clip, cell_clip)
    m = sigmoid(o + w_o * c) * np.tanh(c)
    if proj:
        m = m @ w.pop(0)
        if proj_clip is not None:
            m = np.clip(m, -proj_clip, proj_clip)
    return m, c




CASES = [(False, None, False, None), (True, None, False, None), (True, 0.3, True, 0.2),
         (False, None, True, None)]


@pytest.mark.parametrize("peepholes, cell_clip, proj, proj_clip", CASES)
def test_lstm_cell_matches_tf1_formula_and_names(peepholes, cell_clip, proj, proj_clip):
    rng = np.random.default_rng(0)
    m_size = PROJ if proj else UNITS
    x, c, m = (rng.standard_normal((BATCH, d)) for d in (DEPTH, UNITS, m_size))
    cell = gf.nn.rnn_cell.LSTMCell(UNITS, use_peepholes=peepholes, cell_clip=cell_clip,
                                   num_proj=PROJ if proj else None, proj_clip=proj_clip)
    assert cell.state_size == (UNITS, m_size) and cell.output_size == m_size
    out, state = cell(gf.constant(x), gf.nn.rnn_cell.LSTMStateTuple(gf.constant(c),
                                                                    gf.constant(m)))
    want_names = [("lstm_cell/kernel", (DEPTH + m_size, 4 * UNITS)),
                  ("lstm_cell/bias", (4 * UNITS,))]
    if peepholes:
        want_names += [(f"lstm_cell/{n}", (UNITS,)) for n in ("w_f_diag", "w_i_diag",
                                                              "w_o_diag")]
    if proj:
        want_names.append(("lstm_cell/projection/kernel", (UNITS, PROJ)))
    assert [(v.op.name, tuple(v.shape)) for v in gf.trainable_variables()] == want_names
    weights = [rng.standard_normal(shape) for _, shape in want_names]
    want_m, want_c = numpy_lstm(x, c, m, weights, peepholes, cell_clip, proj, proj_clip)
    for sess in sessions():
        set_weights(sess, weights)
        got, got_state = sess.run([out, state])
        np.testing.assert_allclose(got, want_m, rtol=1e-12)
        np.testing.assert_allclose(got_state.c, want_c, rtol=1e-12)
        np.testing.assert_allclose(got_state.h, want_m, rtol=1e-12)


def test_concatenated_state_and_bias_starts_at_zero():
    rng = np.random.default_rng(1)
    x, c, m = (rng.standard_normal((BATCH, d)) for d in (DEPTH, UNITS, PROJ))
    cell = gf.nn.rnn_cell.LSTMCell(UNITS, num_proj=PROJ, state_is_tuple=False)
    assert cell.state_size == UNITS + PROJ
    out, state = cell(gf.constant(x), gf.constant(np.concatenate([c, m], 1)))
    with gf.Session() as sess:
        sess.run(gf.global_variables_initializer())
        weights = sess.run(gf.trainable_variables())
        got, got_state = sess.run([out, state])
    np.testing.assert_array_equal(weights[1], np.zeros(4 * UNITS))
    want_m, want_c = numpy_lstm(x, c, m, weights, False, None, True, None)
    np.testing.assert_allclose(got, want_m, rtol=1e-6)
    np.testing.assert_allclose(got_state, np.concatenate([want_c, want_m], 1), rtol=1e-6)


@pytest.mark.parametrize("options", [{"optimize": False}, {"check": True}],
                         ids=["interpreter", "generated"])
def test_peephole_gradient_matches_central_differences(options):
    rng = np.random.default_rng(2)
    x, c, m = (rng.standard_normal((2, d)) for d in (DEPTH, UNITS, UNITS))
    cot = rng.standard_normal((2, UNITS))
    xp = gf.placeholder(gf.float64, (2, DEPTH))
    out, _ = gf.nn.rnn_cell.LSTMCell(UNITS, use_peepholes=True)(
        xp, gf.nn.rnn_cell.LSTMStateTuple(gf.constant(c), gf.constant(m)))
    weights = [rng.standard_normal(tuple(v.shape)) for v in gf.trainable_variables()]
    w_f = gf.trainable_variables()[2]
    dx, dw_f = gf.gradients(gf.reduce_sum(out * cot), [xp, w_f])
    sess = gf.Session(**options)
    set_weights(sess, weights)
    got_dx, got_dw = sess.run([dx, dw_f], {xp: x})

    def loss(x_value, w_f_value):
        w = weights[:2] + [w_f_value] + weights[3:]
        return np.sum(numpy_lstm(x_value, c, m, w, True, None, False, None)[0] * cot)

    eps = 1e-6
    for got, index in ((got_dx, 0), (got_dw, 1)):
        args = [x, weights[2]]
        numeric = np.zeros_like(args[index])
        for j in np.ndindex(numeric.shape):
            plus, minus = [a.copy() for a in args], [a.copy() for a in args]
            plus[index][j] += eps
            minus[index][j] -= eps
            numeric[j] = (loss(*plus) - loss(*minus)) / (2 * eps)
        np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)
