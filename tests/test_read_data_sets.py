"""TF1's read_data_sets on tiny IDX files made here."""

import numpy as np
import pytest
from test_mnist import write_idx_dir

from graphflow.datasets import mnist


@pytest.fixture
def idx_dir(tmp_path):
    write_idx_dir(tmp_path, n_train=120, n_test=30)
    return tmp_path


def test_splits_shapes_and_one_hot(idx_dir):
    data = mnist.read_data_sets(idx_dir, one_hot=True, validation_size=20)
    assert (data.train.num_examples, data.validation.num_examples,
            data.test.num_examples) == (100, 20, 30)
    assert data.train.images.shape == (100, 784) and data.train.images.dtype == np.float32
    assert data.train.labels.shape == (100, 10) and data.train.labels.dtype == np.float32
    np.testing.assert_array_equal(data.train.labels.sum(1), 1.0)
    (x_train, y_train), (x_val, y_val), _ = mnist.load(idx_dir)
    all_images = np.concatenate([x_train, x_val])
    np.testing.assert_array_equal(data.validation.images, all_images[:20])  # TF1: the first
    np.testing.assert_array_equal(data.train.images, all_images[20:])
    plain = mnist.read_data_sets(idx_dir, validation_size=20)
    assert plain.train.labels.dtype == np.int64
    np.testing.assert_array_equal(np.argmax(data.test.labels, 1), plain.test.labels)


def test_next_batch_gives_each_example_once_per_epoch_in_a_new_order(idx_dir):
    data = mnist.read_data_sets(idx_dir, validation_size=20, seed=0).train
    seen = [data.next_batch(30)[0] for _ in range(10)]  # 300 = 3 epochs of 100
    flat = np.concatenate(seen)
    ids = [tuple(row[:40]) for row in flat]
    epochs = [ids[k * 100:(k + 1) * 100] for k in range(3)]
    originals = {tuple(row[:40]) for row in data.images}
    for epoch in epochs:
        assert set(epoch) == originals and len(set(epoch)) == 100
    assert epochs[0] != epochs[1]
    assert data.epochs_completed == 2


def test_next_batch_without_shuffle_and_bad_sizes(idx_dir):
    data = mnist.read_data_sets(idx_dir, validation_size=20).test
    images, labels = data.next_batch(10, shuffle=False)
    np.testing.assert_array_equal(images, data.images[:10])
    np.testing.assert_array_equal(labels, data.labels[:10])
    with pytest.raises(ValueError, match="batch_size"):
        data.next_batch(0)
    with pytest.raises(ValueError, match="validation_size"):
        mnist.read_data_sets(idx_dir, validation_size=1000)


def test_a_folder_without_idx_files_uses_the_default_source(tmp_path, monkeypatch, idx_dir):
    asked = []
    real = mnist.load

    def fake_load(data_dir=None):
        asked.append(data_dir)
        return real(idx_dir)  # stands in for the cache, offline
    monkeypatch.setattr(mnist, "load", fake_load)
    empty = tmp_path / "MNIST_data"
    empty.mkdir()
    data = mnist.read_data_sets(str(empty), validation_size=20)
    assert asked == [None] and data.test.num_examples == 30
    mnist.read_data_sets(idx_dir, validation_size=20)
    assert asked[-1] == idx_dir
