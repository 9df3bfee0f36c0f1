"""tf.data iterators in sessions (TF1): one element per get_next call and run, initializers with
fed placeholders, re-initialization, the end of data, per-session state, a training step fed by
an iterator (checked against the same steps in numpy), failed runs putting elements back, and
the errors."""

import numpy as np
import pytest

import graphflow as tf


def test_one_element_per_run_whichever_components_are_fetched():
    x, y = np.arange(6.0), np.arange(6) * 10
    with tf.Graph().as_default():
        a, b = tf.data.Dataset.from_tensor_slices((x, y)).make_one_shot_iterator().get_next()
        with tf.Session() as sess:
            assert sess.run([a, b]) == [0.0, 0]
            assert sess.run(a) == 1.0
            assert sess.run(b) == 20  # the third element: its label
            assert sess.run(a + tf.cast(b, tf.float64)) == 3.0 + 30


def test_two_get_next_calls_take_two_elements_per_run():
    with tf.Graph().as_default():
        it = tf.data.Dataset.range(10).make_one_shot_iterator()
        first, second = it.get_next(), it.get_next()
        with tf.Session() as sess:
            assert sorted(sess.run([first, second])) == [0, 1]
            assert sorted(sess.run([first, second])) == [2, 3]


def test_initializable_iterator_reads_fed_placeholders_and_restarts():
    with tf.Graph().as_default():
        features = tf.placeholder(tf.float32, [None, 2])
        it = tf.data.Dataset.from_tensor_slices(features).batch(2).make_initializable_iterator()
        nxt = it.get_next()
        with tf.Session() as sess:
            data = np.arange(6, dtype=np.float32).reshape(3, 2)
            assert sess.run(it.initializer, {features: data}) is None
            np.testing.assert_array_equal(sess.run(nxt), data[:2])
            np.testing.assert_array_equal(sess.run(nxt), data[2:])
            with pytest.raises(tf.errors.OutOfRangeError, match="Iterator.*initializer"):
                sess.run(nxt)
            with pytest.raises(tf.errors.OutOfRangeError):  # still at the end
                sess.run(nxt)
            other = -data[:1]
            sess.run(it.initializer, {features: other})  # a new pass over new data
            np.testing.assert_array_equal(sess.run(nxt), other)


def test_get_next_before_the_initializer_is_tf1s_failed_precondition():
    with tf.Graph().as_default():
        it = tf.data.Dataset.range(3).make_initializable_iterator()
        nxt = it.get_next(name="batch")
        with tf.Session() as sess, pytest.raises(tf.errors.FailedPreconditionError,
                                                 match="not been initialized.*batch"):
            sess.run(nxt)


def test_one_shot_iterator_refuses_placeholders():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None], name="values")
        ds = tf.data.Dataset.from_tensor_slices(p)
        with pytest.raises(ValueError, match="values.*make_initializable_iterator"):
            ds.make_one_shot_iterator()
        with pytest.raises(ValueError, match="one-shot"):
            _ = tf.data.Dataset.range(2).make_one_shot_iterator().initializer


def test_each_session_has_its_own_pass():
    with tf.Graph().as_default():
        nxt = tf.data.Dataset.range(5).make_one_shot_iterator().get_next()
        one, two = tf.Session(), tf.Session()
        assert [one.run(nxt) for _ in range(3)] == [0, 1, 2]
        assert [two.run(nxt) for _ in range(2)] == [0, 1]
        assert one.run(nxt) == 3


def test_reinitializable_iterator_switches_datasets():
    with tf.Graph().as_default():
        train = tf.data.Dataset.range(10).batch(4)
        test = tf.data.Dataset.range(100, 103).batch(4)
        it = tf.data.Iterator.from_structure(train.output_types, train.output_shapes)
        nxt = it.get_next()
        to_train, to_test = it.make_initializer(train), it.make_initializer(test)
        with tf.Session() as sess:
            sess.run(to_train)
            assert sess.run(nxt).tolist() == [0, 1, 2, 3]
            sess.run(to_test)
            assert sess.run(nxt).tolist() == [100, 101, 102]
            with pytest.raises(TypeError, match="make_initializer"):
                it.make_initializer(tf.data.Dataset.from_tensors(1.0))
            with pytest.raises(ValueError, match="make_initializer"):
                _ = it.initializer


def test_a_training_step_reads_its_batch_with_no_feed_dict():
    """Linear regression by SGD on iterator batches equals the same steps computed in numpy."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.3
    with tf.Graph().as_default():
        xb, yb = (tf.data.Dataset.from_tensor_slices((x, y)).repeat(2).batch(8)
                  .make_one_shot_iterator().get_next())
        w = tf.Variable(np.zeros(3), name="w")
        loss = tf.reduce_mean(tf.square(tf.squeeze(xb @ tf.expand_dims(w, 1), 1) - yb))
        step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            steps = 0
            while True:
                try:
                    sess.run(step)
                    steps += 1
                except tf.errors.OutOfRangeError:
                    break
            got = sess.run(w)
    want = np.zeros(3)
    data = np.concatenate([x, x]), np.concatenate([y, y])
    for k in range(0, 40, 8):
        xs, ys = data[0][k:k + 8], data[1][k:k + 8]
        want -= 0.1 * 2 * xs.T @ (xs @ want - ys) / len(ys)
    assert steps == 5
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("options", [{"optimize": False}, {}], ids=["interpreter", "generated"])
def test_a_failed_run_puts_its_element_back_and_changes_no_variable(options):
    with tf.Graph().as_default():
        index = tf.data.Dataset.from_tensor_slices(np.array([0, 5, 1])).make_one_shot_iterator()
        i = index.get_next()
        table = tf.Variable(np.arange(3.0), name="table")
        bump = tf.assign_add(table, tf.one_hot(i, 3, dtype=tf.float64))
        picked = tf.gather(table, i)  # index 5 is out of range: the run fails
        with tf.Session(**options) as sess:
            sess.run(tf.global_variables_initializer())
            sess.run([bump, picked])
            with pytest.raises(tf.errors.InvalidArgumentError):
                sess.run([bump, picked])
            assert sess.run(table).tolist() == [1.0, 1.0, 2.0]
            assert sess.run(i) == 5  # the element of the failed run comes again
            assert sess.run(i) == 1


def test_profiling_a_run_leaves_the_pipeline_where_it_was():
    with tf.Graph().as_default():
        nxt = tf.data.Dataset.range(4).make_one_shot_iterator().get_next()
        with tf.Session() as sess:
            assert sess.run(nxt) == 0
            sess.make_callable(nxt * 2).profile(repeat=3)
            assert sess.run(nxt) == 1


def test_the_torch_backend_reads_the_same_elements():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    with tf.Graph().as_default():
        nxt = (tf.data.Dataset.from_tensor_slices(x).map(lambda r: r * 2.0).batch(4)
               .make_one_shot_iterator().get_next())
        total = tf.reduce_sum(nxt, axis=0)
        with tf.Session(backend="torch", device="cpu") as sess:
            np.testing.assert_allclose(sess.run(total), (2 * x[:4]).sum(axis=0))
            np.testing.assert_allclose(sess.run(total), (2 * x[4:]).sum(axis=0))
            with pytest.raises(tf.errors.OutOfRangeError):
                sess.run(total)


def test_compat_v1_functions_and_static_shapes():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.from_tensor_slices((np.zeros((5, 28, 28), np.float32),
                                                 np.zeros(5, np.int64))).batch(2)
        it = tf.compat.v1.data.make_one_shot_iterator(ds)
        images, labels = it.get_next()
        assert images.shape.as_list() == [None, 28, 28] and labels.dtype == tf.int64
        assert tf.compat.v1.data.get_output_shapes(ds)[0].as_list() == [None, 28, 28]
        assert it.output_types == (tf.float32, tf.int64)
        assert images.op.type == "IteratorGetNext"


def test_tf1_guides_fed_range_bound_and_batch_size():
    """TF 1.15's "Importing Data" guide: Dataset.range(max_value) with max_value a placeholder
    fed to the initializer; a batch size fed the same way."""
    with tf.Graph().as_default():
        max_value = tf.placeholder(tf.int64, shape=[])
        iterator = tf.data.Dataset.range(max_value).make_initializable_iterator()
        next_element = iterator.get_next()
        size = tf.placeholder(tf.int64, shape=[], name="size")
        batches = tf.data.Dataset.from_tensor_slices(np.arange(7)).batch(size)
        assert batches.output_shapes.as_list() == [None]
        batch_it = batches.make_initializable_iterator()
        batch = batch_it.get_next()
        with tf.Session() as sess:
            sess.run(iterator.initializer, feed_dict={max_value: 10})
            assert [sess.run(next_element) for _ in range(10)] == list(range(10))
            with pytest.raises(tf.errors.OutOfRangeError):
                sess.run(next_element)
            sess.run(iterator.initializer, feed_dict={max_value: 3})
            assert [sess.run(next_element) for _ in range(3)] == [0, 1, 2]
            sess.run(batch_it.initializer, feed_dict={size: 3})
            assert [sess.run(batch).tolist() for _ in range(3)] == [[0, 1, 2], [3, 4, 5], [6]]
            sess.run(batch_it.initializer, feed_dict={size: 0})
            with pytest.raises(tf.errors.InvalidArgumentError, match="batch_size must be positive"):
                sess.run(batch)
        with pytest.raises(TypeError, match="scalar integer tensor"):
            tf.data.Dataset.range(tf.constant(1.5))
