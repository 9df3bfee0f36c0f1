"""gf.nn.rnn_cell.DropoutWrapper against TF1's documented behaviour: keep_prob 1 is the bare
cell, dropped values are 0 or value / keep_prob, an LSTM's c is never dropped, the wrapped
cell's variable names are unchanged, bad keep probabilities are rejected."""

import numpy as np
import pytest
from rnn_support import sessions

import graphflow as gf

BATCH, STEPS, DEPTH, UNITS = 4, 3, 5, 6


class Identity(gf.nn.rnn_cell.RNNCell):
    """Output = inputs, state passed through: shows exactly what reached the cell."""

    @property
    def state_size(self):
        return DEPTH

    @property
    def output_size(self):
        return DEPTH

    def call(self, inputs, state):
        return inputs, state



def assert_dropped(got, full, keep):
    """Each element either 0 or full / keep, and both kinds occur."""
    kept = np.isclose(got, full / keep, rtol=1e-12)
    assert np.all(kept | (got == 0)), "elements neither dropped nor scaled by 1/keep_prob"
    assert kept.any() and (~kept).any()


def test_keep_prob_one_is_the_bare_cell_and_names_are_unchanged():
    x = gf.constant(np.random.default_rng(0).standard_normal((BATCH, STEPS, DEPTH)))
    wrapped = gf.nn.rnn_cell.DropoutWrapper(gf.nn.rnn_cell.BasicLSTMCell(UNITS))
    out, state = gf.nn.dynamic_rnn(wrapped, x, dtype=gf.float64)
    assert [v.op.name for v in gf.trainable_variables()] == ["rnn/basic_lstm_cell/kernel",
                                                             "rnn/basic_lstm_cell/bias"]
    with gf.variable_scope(gf.get_variable_scope(), reuse=True):
        bare_out, bare_state = gf.nn.dynamic_rnn(gf.nn.rnn_cell.BasicLSTMCell(UNITS), x,
                                                 dtype=gf.float64)
    assert len(gf.trainable_variables()) == 2
    for sess in sessions():
        sess.run(gf.global_variables_initializer())
        got, want = sess.run([(out, state), (bare_out, bare_state)])
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1].h, want[1].h)


def test_input_and_output_dropout_scale_kept_values():
    xs = np.random.default_rng(1).standard_normal((BATCH * 10, DEPTH)) + 3.0
    x, h = gf.constant(xs), gf.constant(np.zeros((BATCH * 10, DEPTH)))
    for kwargs, keep in (({"input_keep_prob": 0.5}, 0.5), ({"output_keep_prob": 0.25}, 0.25)):
        out, state = gf.nn.rnn_cell.DropoutWrapper(Identity(), **kwargs)(x, h)
        for sess in sessions():
            assert_dropped(sess.run(out), xs, keep)


def test_state_dropout_drops_h_but_never_lstm_c():
    rng = np.random.default_rng(2)
    x = gf.constant(rng.standard_normal((BATCH * 10, DEPTH)))
    cell = gf.nn.rnn_cell.BasicLSTMCell(UNITS)
    state0 = cell.zero_state(BATCH * 10, gf.float64)
    _, bare = cell(x, state0)
    _, dropped = gf.nn.rnn_cell.DropoutWrapper(cell, state_keep_prob=0.5)(x, state0)
    for sess in sessions():
        sess.run(gf.global_variables_initializer())
        want, got = sess.run([bare, dropped])
        np.testing.assert_array_equal(got.c, want.c)
        assert_dropped(got.h, want.h, 0.5)


def test_keep_prob_placeholder_fed_one_gives_the_bare_output():
    xs = np.random.default_rng(3).standard_normal((BATCH, DEPTH))
    keep = gf.placeholder(gf.float64, ())
    out, _ = gf.nn.rnn_cell.DropoutWrapper(Identity(), output_keep_prob=keep)(
        gf.constant(xs), gf.constant(np.zeros((BATCH, DEPTH))))
    for sess in sessions():
        np.testing.assert_array_equal(sess.run(out, {keep: 1.0}), xs)


def test_bad_arguments():
    with pytest.raises(ValueError, match="output_keep_prob must be between 0 and 1"):
        gf.nn.rnn_cell.DropoutWrapper(Identity(), output_keep_prob=1.5)
    with pytest.raises(NotImplementedError, match="variational_recurrent"):
        gf.nn.rnn_cell.DropoutWrapper(Identity(), variational_recurrent=True)
    with pytest.raises(TypeError, match="not an RNNCell"):
        gf.nn.rnn_cell.DropoutWrapper(object())
