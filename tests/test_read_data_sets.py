"""TF1's read_data_sets on tiny IDX files made here."""

import inspect

import numpy as np
import pytest
from test_mnist import write_idx_dir

import graphflow as gf
from graphflow.datasets import mnist
from graphflow.datasets.tf1 import DataSet


@pytest.fixture
def idx_dir(tmp_path):
    write_idx_dir(tmp_path, n_train=120, n_test=30)
    return tmp_path


def tf1_float_images(pixels):
    """TF1's DataSet: uint8 (N, 28, 28) pixels as float32 rows times 1/255."""
    return pixels.reshape(len(pixels), 784).astype(np.float32) * (1.0 / 255.0)


def test_splits_shapes_and_one_hot(tmp_path):
    raw = write_idx_dir(tmp_path, n_train=120, n_test=30)
    data = mnist.read_data_sets(tmp_path, one_hot=True, validation_size=20)
    assert (data.train.num_examples, data.validation.num_examples,
            data.test.num_examples) == (100, 20, 30)
    assert data.train.images.shape == (100, 784) and data.train.images.dtype == np.float32
    assert data.train.labels.shape == (100, 10) and data.train.labels.dtype == np.float32
    np.testing.assert_array_equal(data.train.labels.sum(1), 1.0)
    all_images = tf1_float_images(raw["train"][0])
    np.testing.assert_array_equal(data.validation.images, all_images[:20])  # TF1: the first
    np.testing.assert_array_equal(data.train.images, all_images[20:])
    np.testing.assert_array_equal(data.test.images, tf1_float_images(raw["t10k"][0]))
    plain = mnist.read_data_sets(tmp_path, validation_size=20)
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


def test_read_data_sets_has_tf1s_signature():
    params = list(inspect.signature(mnist.read_data_sets).parameters.values())
    assert [p.name for p in params] == ["train_dir", "fake_data", "one_hot", "dtype", "reshape",
                                        "validation_size", "seed", "source_url"]
    assert [p.default for p in params[1:7]] == [False, False, np.float32, True, 5000, None]
    batch = list(inspect.signature(DataSet.next_batch).parameters)
    assert batch == ["self", "batch_size", "fake_data", "shuffle"]


def test_next_batch_second_positional_is_fake_data_and_shuffling_stays_on(idx_dir):
    data = mnist.read_data_sets(idx_dir, validation_size=20, seed=0).train
    images, _ = data.next_batch(100, False)  # TF1 code passes fake_data=False positionally
    assert not np.array_equal(images, data.images)  # shuffled: a new order of the same rows
    assert sorted(map(bytes, images)) == sorted(map(bytes, data.images))


def test_fake_data_is_tf1s(monkeypatch):
    monkeypatch.setattr(mnist, "load", lambda data_dir=None: pytest.fail("read data"))
    data = mnist.read_data_sets("no/such/dir", fake_data=True)
    assert data.train.num_examples == data.validation.num_examples == 10000
    images, labels = data.train.next_batch(3, fake_data=True)
    assert images == [[1] * 784] * 3 and labels == [0, 0, 0]
    hot = mnist.read_data_sets(None, True, True).test  # TF1's positional order
    assert hot.next_batch(2, True)[1] == [[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]] * 2


def test_dtype_uint8_keeps_pixels_and_reshape_false_keeps_images(tmp_path):
    raw = write_idx_dir(tmp_path, n_train=120, n_test=30)
    pixels = raw["t10k"][0]
    data = mnist.read_data_sets(tmp_path, dtype=gf.uint8, validation_size=20)
    assert data.test.images.dtype == np.uint8
    np.testing.assert_array_equal(data.test.images, pixels.reshape(30, 784))
    square = mnist.read_data_sets(tmp_path, reshape=False, validation_size=20).test.images
    assert square.shape == (30, 28, 28, 1) and square.dtype == np.float32
    np.testing.assert_array_equal(square[..., 0], pixels.astype(np.float32) * (1.0 / 255.0))


@pytest.mark.parametrize("dtype", [np.float64, gf.int32, "int8"])
def test_other_image_dtypes_are_a_type_error(idx_dir, dtype):
    with pytest.raises(TypeError, match="expected uint8 or float32"):
        mnist.read_data_sets(idx_dir, dtype=dtype)


def test_cached_pixels_over_256_come_back_as_uint8(monkeypatch, tmp_path):
    raw = write_idx_dir(tmp_path, n_train=120, n_test=30)
    pixels = raw["t10k"][0].reshape(30, 784)
    x = pixels.astype(np.float32) / np.float32(256)  # the classic pickle's scale
    splits = ((x[:20], np.zeros(20, np.int64)), (x[20:], np.zeros(10, np.int64)),
              (x, np.zeros(30, np.int64)))
    monkeypatch.setattr(mnist, "load", lambda data_dir=None: splits)
    data = mnist.read_data_sets(None, dtype="uint8", validation_size=0)
    np.testing.assert_array_equal(data.test.images, pixels)


def test_source_url_is_accepted_and_never_fetched(idx_dir):
    data = mnist.read_data_sets(idx_dir, validation_size=20, source_url="http://127.0.0.1:9/")
    assert data.test.num_examples == 30


def test_cached_pixels_are_checked_block_by_block_to_the_last_image():
    """Over several blocks of images: whole pixels / 256 come back exactly; one value that is
    no whole pixel at either scale, in the last block, is a FormatError."""
    pixels = np.random.default_rng(0).integers(0, 256, (5000, 784)).astype(np.uint8)
    x = pixels.astype(np.float32) / np.float32(256)
    np.testing.assert_array_equal(mnist._pixels(x).reshape(5000, 784), pixels)
    x[-1, -1] = np.float32(0.3) / np.float32(256)
    with pytest.raises(mnist.FormatError, match="not whole pixel values"):
        mnist._pixels(x)
