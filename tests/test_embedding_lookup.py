"""tf.nn.embedding_lookup against numpy and TF 1.15's documented sharding and clipping."""

import numpy as np
import pytest

import graphflow as tf


def _run(fetches, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


def test_rows_of_a_single_table_shape_ids_plus_row():
    table = np.arange(12, dtype=np.float32).reshape(6, 2)
    ids = np.array([[4, 0], [4, 5]])
    with tf.Graph().as_default():
        out = tf.nn.embedding_lookup(tf.constant(table), tf.constant(ids))
        assert out.shape == (2, 2, 2)
        np.testing.assert_array_equal(_run(out), table[ids])


def test_gradient_adds_the_rows_of_repeated_ids():
    ids = np.array([1, 3, 1, 1])
    with tf.Graph().as_default():
        table = tf.Variable(np.ones((5, 3), np.float32))
        weights = tf.constant(np.arange(12, dtype=np.float32).reshape(4, 3))
        loss = tf.reduce_sum(tf.nn.embedding_lookup(table, ids) * weights)
        grad = tf.gradients(loss, [table])[0]
        expected = np.zeros((5, 3), np.float32)
        np.add.at(expected, ids, np.arange(12, dtype=np.float32).reshape(4, 3))
        np.testing.assert_array_equal(_run(tf.convert_to_tensor(grad)), expected)


@pytest.mark.parametrize("strategy, parts", [
    # TF1's documented split of 13 ids over 5 shards
    ("mod", [[0, 5, 10], [1, 6, 11], [2, 7, 12], [3, 8], [4, 9]]),
    ("div", [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10], [11, 12]]),
])
def test_sharded_params_follow_the_partition_strategy(strategy, parts):
    full = np.arange(13 * 2, dtype=np.float32).reshape(13, 2)  # row i belongs to id i
    ids = np.array([12, 0, 7, 3, 3, 10])
    with tf.Graph().as_default():
        shards = [tf.constant(full[p]) for p in parts]
        out = tf.nn.embedding_lookup(shards, tf.constant(ids), partition_strategy=strategy)
        np.testing.assert_array_equal(_run(out), full[ids])


def test_shards_of_the_wrong_sizes_are_refused():
    with tf.Graph().as_default():
        shards = [tf.zeros([2, 1]), tf.zeros([4, 1])]
        with pytest.raises(ValueError, match="do not fit the 'mod' strategy"):
            tf.nn.embedding_lookup(shards, [0])


def test_max_norm_clips_each_embedding_as_clip_by_norm():
    table = np.array([[3., 4.], [0.3, 0.4], [0., 0.]], np.float32)
    with tf.Graph().as_default():
        out = tf.nn.embedding_lookup(tf.constant(table), [0, 1, 2], max_norm=1.0)
        norms = np.linalg.norm(table, axis=1, keepdims=True)
        expected = table * 1.0 / np.maximum(norms, 1.0)  # TF1's clip_by_norm formula
        np.testing.assert_allclose(_run(out), expected, rtol=1e-6)


def test_float_ids_are_refused():
    with tf.Graph().as_default():
        with pytest.raises(TypeError, match="must be int32 or int64"):
            tf.nn.embedding_lookup(tf.zeros([3, 2]), tf.constant([0.0]))


def test_result_has_tf1_name():
    with tf.Graph().as_default():
        out = tf.nn.embedding_lookup(tf.zeros([3, 2]), [1])
        assert out.name == "embedding_lookup/Identity:0"
