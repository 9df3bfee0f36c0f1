"""tf.data datasets (TF1): each transformation's elements against numpy and Python's own slicing,
shuffling's buffer and seed rules, types and shapes, and the errors for bad arguments."""

import collections

import numpy as np
import pytest

import graphflow as tf


def read_all(dataset, limit=10_000):
    """Every element of a one-shot iterator over `dataset`, as numpy values, until OutOfRange."""
    with tf.Graph().as_default():
        nxt = dataset().make_one_shot_iterator().get_next()
        out = []
        with tf.Session() as sess:
            for _ in range(limit):
                try:
                    out.append(sess.run(nxt))
                except tf.errors.OutOfRangeError:
                    return out
    raise AssertionError("the dataset did not end")


def test_slices_of_a_tuple_batched_are_numpy_row_blocks():
    x = np.arange(30, dtype=np.float64).reshape(10, 3)
    y = np.arange(10, dtype=np.int64) * 7
    out = read_all(lambda: tf.data.Dataset.from_tensor_slices((x, y)).batch(4))
    assert [len(b) for b, _ in out] == [4, 4, 2]
    for k, (xb, yb) in enumerate(out):
        np.testing.assert_array_equal(xb, x[4 * k:4 * k + 4])
        np.testing.assert_array_equal(yb, y[4 * k:4 * k + 4])
        assert xb.dtype == np.float64 and yb.dtype == np.int64


def test_drop_remainder_drops_the_short_batch_and_fixes_the_shape():
    x = np.arange(10, dtype=np.float32)
    with tf.Graph().as_default():
        ds = tf.data.Dataset.from_tensor_slices(x).batch(4, drop_remainder=True)
        assert ds.output_shapes.as_list() == [4]
        assert tf.data.Dataset.from_tensor_slices(x).batch(4).output_shapes.as_list() == [None]
    out = read_all(lambda: tf.data.Dataset.from_tensor_slices(x).batch(4, drop_remainder=True))
    np.testing.assert_array_equal(np.stack(out), x[:8].reshape(2, 4))


def test_dict_elements_and_python_lists_take_tf1_default_dtypes():
    def ds():
        return tf.data.Dataset.from_tensor_slices({"a": [1, 2, 3], "b": [[0.5], [1.5], [2.5]]})
    with tf.Graph().as_default():
        assert ds().output_types == {"a": np.int32, "b": np.float32}  # TF1: int32, float32
        assert ds().output_shapes["b"].as_list() == [1]
    out = read_all(ds)
    assert [o["a"] for o in out] == [1, 2, 3]
    assert [o["b"].tolist() for o in out] == [[0.5], [1.5], [2.5]]


def test_map_runs_per_element_with_graph_ops():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    labels = np.array([2, 0, 1, 2])

    def ds():
        return (tf.data.Dataset.from_tensor_slices((x, labels))
                .map(lambda a, b: (tf.reduce_sum(a) / 3.0, tf.one_hot(b, 3))).batch(2))
    out = read_all(ds)
    np.testing.assert_allclose(np.concatenate([o[0] for o in out]), x.mean(axis=1))
    np.testing.assert_array_equal(np.concatenate([o[1] for o in out]), np.eye(3)[labels])


def test_map_of_a_dict_element_gets_the_dict_and_may_return_a_dict():
    def ds():
        return (tf.data.Dataset.from_tensor_slices({"x": np.arange(3.0), "y": np.arange(3)})
                .map(lambda d: {"double": d["x"] * 2.0, "y": d["y"]}))
    out = read_all(ds)
    assert [o["double"] for o in out] == [0.0, 2.0, 4.0] and [o["y"] for o in out] == [0, 1, 2]


def test_filter_keeps_elements_whose_predicate_holds():
    out = read_all(lambda: tf.data.Dataset.range(20).filter(lambda i: tf.equal(i % 3, 0)))
    assert [int(o) for o in out] == list(range(0, 20, 3))


def test_range_take_skip_shard_repeat_match_python():
    assert [int(v) for v in read_all(lambda: tf.data.Dataset.range(2, 11, 3))] == [2, 5, 8]
    assert [int(v) for v in read_all(lambda: tf.data.Dataset.range(10).skip(3).take(4))] == [
        3, 4, 5, 6]
    assert [int(v) for v in read_all(lambda: tf.data.Dataset.range(10).shard(3, 1))] == [1, 4, 7]
    assert [int(v) for v in read_all(lambda: tf.data.Dataset.range(3).repeat(2))] == [
        0, 1, 2, 0, 1, 2]
    assert len(read_all(lambda: tf.data.Dataset.range(3).take(-1))) == 3
    assert read_all(lambda: tf.data.Dataset.range(3).skip(-1)) == []
    endless = read_all(lambda: tf.data.Dataset.range(2).repeat().take(7))
    assert [int(v) for v in endless] == [0, 1, 0, 1, 0, 1, 0]
    with tf.Graph().as_default():
        assert tf.data.Dataset.range(3).output_types == np.int64  # TF1: int64


def test_zip_concatenate_enumerate_from_tensors():
    def zipped():
        return tf.data.Dataset.zip((tf.data.Dataset.range(3), tf.data.Dataset.range(10, 20)))
    assert [(int(a), int(b)) for a, b in read_all(zipped)] == [(0, 10), (1, 11), (2, 12)]
    both = read_all(lambda: tf.data.Dataset.range(2).concatenate(tf.data.Dataset.range(5, 7)))
    assert [int(v) for v in both] == [0, 1, 5, 6]
    pairs = read_all(lambda: tf.data.Dataset.from_tensor_slices(np.array([7, 8])).enumerate(5))
    assert [(int(i), int(v)) for i, v in pairs] == [(5, 7), (6, 8)]
    whole = read_all(lambda: tf.data.Dataset.from_tensors(np.ones((2, 3))))
    assert len(whole) == 1 and whole[0].shape == (2, 3)


def test_padded_batch_pads_to_the_longest_with_the_padding_value():
    rows = [[1, 2, 3], [4], [5, 6]]

    def ds():
        return (tf.data.Dataset.from_generator(lambda: iter(rows), tf.int32, [None])
                .padded_batch(2, padded_shapes=[None], padding_values=-1))
    out = read_all(ds)
    np.testing.assert_array_equal(out[0], [[1, 2, 3], [4, -1, -1]])
    np.testing.assert_array_equal(out[1], [[5, 6]])


def test_from_generator_converts_and_checks_shapes():
    def gen():
        yield [1.0, 2.0], 1
        yield [3.0, 4.0], 0
    out = read_all(lambda: tf.data.Dataset.from_generator(gen, (tf.float32, tf.int64),
                                                          ([2], [])))
    assert out[0][0].dtype == np.float32 and out[1][1].dtype == np.int64
    assert [o[0].tolist() for o in out] == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="shape"):
        read_all(lambda: tf.data.Dataset.from_generator(gen, (tf.float32, tf.int64), ([3], [])))


def test_batching_elements_of_different_shapes_names_the_stage():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Dataset.batch \(.*different"):
        read_all(lambda: tf.data.Dataset.from_generator(lambda: iter([[1], [1, 2]]), tf.int32)
                 .batch(2))


def shuffled(n, buffer_size, seed, epochs=1, reshuffle=None):
    def ds():
        return (tf.data.Dataset.range(n).shuffle(buffer_size, seed=seed,
                                                 reshuffle_each_iteration=reshuffle)
                .repeat(epochs))
    return [int(v) for v in read_all(ds)]


def test_shuffle_is_a_permutation_within_the_buffer_window():
    out = shuffled(200, 10, seed=3)
    assert sorted(out) == list(range(200)) and out != list(range(200))
    # TF1's buffer: output i is one of the first i + buffer_size inputs
    assert all(v < i + 10 for i, v in enumerate(out))
    assert shuffled(50, 1, seed=3) == list(range(50))  # a buffer of one changes nothing


def test_shuffle_seed_repeats_the_order_and_epochs_differ():
    first = shuffled(30, 30, seed=5, epochs=2)
    assert first == shuffled(30, 30, seed=5, epochs=2)  # a fresh graph and session
    assert first[:30] != first[30:] and sorted(first[30:]) == list(range(30))
    same = shuffled(30, 30, seed=5, epochs=2, reshuffle=False)
    assert same[:30] == same[30:]
    assert shuffled(30, 30, seed=6) != first[:30]


def test_shuffle_follows_the_graph_seed():
    def run(graph_seed):
        with tf.Graph().as_default():
            tf.set_random_seed(graph_seed)
            nxt = tf.data.Dataset.range(40).shuffle(40).make_one_shot_iterator().get_next()
            with tf.Session() as sess:
                return [int(sess.run(nxt)) for _ in range(40)]
    assert run(1) == run(1) and run(1) != run(2)


def test_shuffle_draws_each_first_element_about_uniformly():
    counts = collections.Counter(shuffled(8, 8, seed=11, epochs=800)[::8])
    # 800 epochs: each of 8 values is first ~100 times; 5 standard deviations is ~47
    assert set(counts) == set(range(8)) and all(abs(c - 100) < 47 for c in counts.values())


@pytest.mark.parametrize("make, error", [
    (lambda: tf.data.Dataset.range(3).batch(0), ValueError),
    (lambda: tf.data.Dataset.range(3).batch(2.5), TypeError),
    (lambda: tf.data.Dataset.range(3).shuffle(0), ValueError),
    (lambda: tf.data.Dataset.range(3).repeat(-2), ValueError),
    (lambda: tf.data.Dataset.range(3).shard(2, 2), ValueError),
    (lambda: tf.data.Dataset.from_tensor_slices(3.0), ValueError),
    (lambda: tf.data.Dataset.from_tensor_slices((np.zeros(3), np.zeros(4))), ValueError),
    (lambda: tf.data.Dataset.range(3).map(lambda i: tf.group()), TypeError),
    (lambda: tf.data.Dataset.range(3).filter(lambda i: i), ValueError),
    (lambda: tf.data.Dataset.range(3).concatenate(tf.data.Dataset.from_tensors(1.0)), TypeError),
])
def test_bad_arguments_are_clear_errors(make, error):
    with tf.Graph().as_default(), pytest.raises(error, match="Dataset"):
        make()


def test_a_map_function_using_a_tensor_of_the_users_graph_is_refused():
    with tf.Graph().as_default():
        scale = tf.constant(2.0)
        with pytest.raises(ValueError, match="Dataset.map.*graph of its own"):
            tf.data.Dataset.from_tensor_slices(np.ones(3, np.float32)).map(lambda v: v * scale)
