"""Whole inference graphs of the examples through ONNX Runtime, equal to graphflow on a dynamic
batch: the LSTM of examples/tf1_port/lstm_mnist.py (BasicLSTMCell + static_rnn + dense), an MLP
with batch normalization and dropout in inference mode (mlp_dropout_batchnorm.py's layers), and
dynamic_rnn over a GRU and a multi-layer LSTM."""

import numpy as np
from onnx_support import check_onnx

import graphflow as tf


def lstm_mnist_logits(images):
    x = tf.unstack(tf.reshape(images, [-1, 28, 28]), 28, 1)
    cell = tf.contrib.rnn.BasicLSTMCell(32, forget_bias=1.0)
    outputs, _ = tf.contrib.rnn.static_rnn(cell, x, dtype=images.dtype)
    return tf.layers.dense(outputs[-1], 10)


def test_the_mnist_lstm(tmp_path):
    rng = np.random.default_rng(0)
    check_onnx(tmp_path, lstm_mnist_logits, [rng.random((3, 784), dtype=np.float32)])


def batchnorm_dropout_mlp(images):
    h = tf.layers.dense(images, 16, activation=tf.nn.relu)
    h = tf.layers.batch_normalization(h, training=False)
    h = tf.layers.dropout(h, rate=0.5, training=False)
    return tf.nn.softmax(tf.layers.dense(h, 10))


def test_batch_normalization_and_dropout_in_inference_mode(tmp_path):
    rng = np.random.default_rng(1)
    check_onnx(tmp_path, batchnorm_dropout_mlp, [rng.random((4, 20))])


def gru_and_stacked_lstm(sequences):
    with tf.variable_scope("gru"):
        gru_out, _ = tf.nn.dynamic_rnn(tf.nn.rnn_cell.GRUCell(6), sequences, dtype=tf.float64)
    cells = tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.LSTMCell(5, use_peepholes=True),
                                         tf.nn.rnn_cell.LSTMCell(4)])
    with tf.variable_scope("lstm"):
        lstm_out, state = tf.nn.dynamic_rnn(cells, gru_out, dtype=tf.float64)
    return [lstm_out, state[1].h]


def test_dynamic_rnn_with_gru_and_stacked_peephole_lstm(tmp_path):
    rng = np.random.default_rng(2)
    check_onnx(tmp_path, gru_and_stacked_lstm, [rng.standard_normal((2, 7, 3))])
