"""gf.contrib.rnn: TF1's tf.contrib.rnn names for the basic cells and static_rnn (the same
objects as gf.nn.rnn_cell.* and gf.nn.static_rnn); nothing else of tf.contrib.rnn."""

from __future__ import annotations

from ..rnn import static_rnn
from ..rnn_cell import BasicLSTMCell, BasicRNNCell, LSTMStateTuple, MultiRNNCell, RNNCell

__all__ = ["BasicLSTMCell", "BasicRNNCell", "LSTMStateTuple", "MultiRNNCell", "RNNCell",
           "static_rnn"]


def __getattr__(name: str):
    raise NotImplementedError(f"graphflow does not support tf.contrib.rnn.{name}: of "
                              f"tf.contrib.rnn it has {', '.join(__all__)}")
