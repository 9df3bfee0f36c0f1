"""TF 1.15 names the official MNIST tutorials use beyond tf.*: tf.compat.v1, tf.io.gfile,
tf.random, tf.argmax(input=...), and the tutorials' own `input_data` import path."""

import inspect

import numpy as np
import pytest

import graphflow as tf
from graphflow.datasets.mnist import DEFAULT_SOURCE_URL


def test_input_data_import_path_gives_tf1_read_data_sets():
    from graphflow.examples.tutorials.mnist import input_data

    params = inspect.signature(input_data.read_data_sets).parameters
    # TF 1.15: read_data_sets(train_dir, fake_data=False, one_hot=False, dtype=dtypes.float32,
    #                         reshape=True, validation_size=5000, seed=None, source_url=...)
    assert list(params) == ["train_dir", "fake_data", "one_hot", "dtype", "reshape",
                            "validation_size", "seed", "source_url"]
    defaults = {n: p.default for n, p in params.items() if n != "train_dir"}
    assert defaults == {"fake_data": False, "one_hot": False, "dtype": np.float32,
                        "reshape": True, "validation_size": 5000, "seed": None,
                        "source_url": DEFAULT_SOURCE_URL}
    fake = input_data.read_data_sets("unused", fake_data=True, one_hot=True)
    xs, ys = fake.train.next_batch(3, fake_data=True)
    assert np.asarray(xs).shape == (3, 784) and np.asarray(ys).shape == (3, 10)
    assert isinstance(fake.train, input_data.DataSet)


def test_compat_v1_is_the_tf1_api():
    assert tf.compat.v1.placeholder is tf.placeholder
    assert tf.compat.v1.summary.FileWriter is tf.summary.FileWriter
    assert tf.compat.v1.losses is tf.losses
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 2], name="x")
        assert x.name == "x:0"


def test_argmax_takes_tf1_keyword_input():
    # TF 1.15: tf.argmax(input, axis=None, name=None, dimension=None, output_type=tf.int64)
    assert list(inspect.signature(tf.argmax).parameters)[0] == "input"
    with tf.Graph().as_default():
        y = tf.constant([[0.1, 0.7, 0.2], [0.9, 0.0, 0.1]])
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(tf.argmax(input=y, axis=1)), [1, 0])


def test_random_namespace_draws_like_the_tf1_ops():
    with tf.Graph().as_default():
        t = tf.random.truncated_normal([2000], stddev=0.1, seed=1)
        u = tf.random.uniform([2000], seed=2)
        n = tf.random.normal([3, 4], seed=3)
        s = tf.random.shuffle(tf.constant([1, 2, 3, 4]), seed=4)
        with tf.Session() as sess:
            tv, uv, nv, sv = sess.run([t, u, n, s])
    assert np.abs(tv).max() <= 0.2  # truncated at 2 stddev
    assert 0 <= uv.min() and uv.max() < 1 and nv.shape == (3, 4)
    assert sorted(sv) == [1, 2, 3, 4]


def test_io_gfile_lowercase_names(tmp_path):
    # TF 1.15's tf.io.gfile: exists, makedirs, rmtree, isdir, listdir, walk(top, topdown, onerror)
    base = tmp_path / "logs"
    tf.io.gfile.makedirs(str(base / "train"))
    with tf.io.gfile.GFile(str(base / "train" / "a.txt"), "w") as f:
        f.write("x")
    assert tf.io.gfile.exists(str(base)) and tf.io.gfile.isdir(str(base / "train"))
    assert tf.io.gfile.listdir(str(base)) == ["train"]
    assert [d for d, _, _ in tf.io.gfile.walk(str(base))] == [str(base), str(base / "train")]
    tf.io.gfile.rmtree(str(base))
    assert not tf.io.gfile.exists(str(base))
    with pytest.raises(tf.errors.NotFoundError):
        tf.io.gfile.rmtree(str(base))
    errors = []
    assert list(tf.io.gfile.walk(str(base), onerror=errors.append)) == []
    assert isinstance(errors[0], tf.errors.NotFoundError)
