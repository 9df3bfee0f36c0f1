"""gf.contrib.rnn: TF1's tf.contrib.rnn names for the cells, static_rnn and
static_bidirectional_rnn (the same objects as gf.nn's); nothing else of tf.contrib.rnn."""

from __future__ import annotations

from ..compat import UnsupportedError
from ..rnn import static_rnn
from ..rnn_cell import (
    BasicLSTMCell,
    BasicRNNCell,
    DropoutWrapper,
    GRUCell,
    LSTMCell,
    LSTMStateTuple,
    MultiRNNCell,
    RNNCell,
)
from ..rnn_dynamic import static_bidirectional_rnn

__all__ = ["BasicLSTMCell", "BasicRNNCell", "DropoutWrapper", "GRUCell", "LSTMCell",
           "LSTMStateTuple", "MultiRNNCell", "RNNCell", "static_rnn", "static_bidirectional_rnn"]


def __getattr__(name: str):
    raise UnsupportedError(f"graphflow does not support tf.contrib.rnn.{name}: of "
                           f"tf.contrib.rnn it has {', '.join(__all__)}")
