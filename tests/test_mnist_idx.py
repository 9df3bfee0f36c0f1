"""Hostile IDX files for mnist.load(data_dir=...): headers that claim more than the file holds
(gzip bombs), sizes whose product overflows, images that are not 28x28, labels that are not
digits. Each gives FormatError naming the file, quickly and without allocating the claim."""

import gzip
import struct
import time
import tracemalloc

import numpy as np
import pytest
from test_mnist import idx_bytes, write_idx_dir

from graphflow.datasets import mnist

ZEROS_MB = 32  # inflated size of the gzip bombs; their compressed size is about 32 KB


def header(magic, dims):
    """An IDX header (the format's spec): big-endian uint32 magic, then one uint32 per size."""
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims)


def write_bomb(path, head, megabytes=ZEROS_MB):
    """A .gz file: `head`, then `megabytes` MB of zeros, written a megabyte at a time."""
    block = bytes(1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(head)
        for _ in range(megabytes):
            f.write(block)
    return path


def load_measured(directory):
    """mnist.load(directory)'s FormatError, its peak of traced memory and its time."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(mnist.FormatError) as info:
            mnist.load(data_dir=directory)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return info.value, peak, time.perf_counter() - start


def test_gzip_holding_more_than_its_header_says_is_not_inflated(tmp_path):
    """12 images claimed, 32 MB of zeros behind them: refused after reading the claim."""
    write_idx_dir(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_bomb(path, header(2051, (12, 28, 28)))
    error, peak, seconds = load_measured(tmp_path)
    assert "train-images-idx3-ubyte.gz" in str(error) and "longer than its header" in str(error)
    assert peak < 4 << 20 and seconds < 2


def test_gzip_claiming_more_than_it_can_inflate_to_is_refused_before_reading(tmp_path):
    """2**20 images claimed (822 MB); 32 KB of deflate inflate to at most 1032 times that."""
    write_idx_dir(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_bomb(path, header(2051, (2 ** 20, 28, 28)))
    assert path.stat().st_size * 1032 < 2 ** 20 * 784
    error, peak, seconds = load_measured(tmp_path)
    assert "train-images-idx3-ubyte.gz" in str(error) and str(2 ** 20 * 784) in str(error)
    assert peak < 1 << 20 and seconds < 1


def test_gzip_cut_after_its_header_claiming_a_huge_count(tmp_path):
    write_idx_dir(tmp_path, gz=True)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(header(2049, (2 ** 32 - 1,))))
    error, peak, _ = load_measured(tmp_path)
    assert "t10k-labels-idx1-ubyte.gz" in str(error) and peak < 1 << 20


@pytest.mark.parametrize("dims", [(2 ** 22, 2 ** 21, 2 ** 21),  # exactly 2**64: wraps to 0
                                  (2 ** 31 - 1,) * 3])
@pytest.mark.parametrize("gz", [False, True])
def test_sizes_whose_product_overflows(tmp_path, dims, gz):
    write_idx_dir(tmp_path, gz=gz)
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    head = header(2051, dims)
    (tmp_path / name).write_bytes(gzip.compress(head) if gz else head)
    with pytest.raises(mnist.FormatError) as info:
        mnist.load(data_dir=tmp_path)
    assert name in str(info.value) and str(dims[0] * dims[1] * dims[2]) in str(info.value)


def test_four_dimensions_are_not_an_images_file(tmp_path):
    """0x00000804: uint8 in 4 dimensions; MNIST images have 3 (magic 2051)."""
    write_idx_dir(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(header(0x804, (2 ** 31 - 1,) * 4))
    with pytest.raises(mnist.FormatError, match="train-images-idx3-ubyte.*magic number 2052"):
        mnist.load(data_dir=tmp_path)


@pytest.mark.parametrize("rows, cols", [(28, 27), (27, 28), (1, 1), (56, 14)])
@pytest.mark.parametrize("gz", [False, True])
def test_images_that_are_not_28x28(tmp_path, rows, cols, gz):
    write_idx_dir(tmp_path, gz=gz)
    name = "t10k-images-idx3-ubyte" + (".gz" if gz else "")
    images = np.zeros((4, rows, cols), np.uint8)
    data = idx_bytes(2051, images)
    (tmp_path / name).write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(mnist.FormatError, match=f"{name}.*{rows}x{cols}.*28x28"):
        mnist.load(data_dir=tmp_path)


@pytest.mark.parametrize("label", [10, 255])
@pytest.mark.parametrize("name", ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"])
def test_labels_that_are_not_digits(tmp_path, label, name):
    write_idx_dir(tmp_path)
    labels = np.arange(12 if name.startswith("train") else 4) % 10
    labels[2] = label
    (tmp_path / name).write_bytes(idx_bytes(2049, labels))
    with pytest.raises(mnist.FormatError, match=f"{name}.*label 2 is {label}"):
        mnist.load(data_dir=tmp_path)
    with pytest.raises(mnist.FormatError, match=name):
        mnist.read_data_sets(tmp_path)


def test_digits_0_to_9_and_28x28_are_accepted(tmp_path):
    """The bounds themselves: label 9, pixel 255 (read as 1.0) and pixel 0."""
    write_idx_dir(tmp_path)
    images = np.zeros((12, 28, 28), np.uint8)
    images[:, 0, 0] = 255
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(2051, images))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(2049, np.full(12, 9)))
    (x_train, y_train), _, _ = mnist.load(data_dir=tmp_path)
    assert set(y_train) == {9} and x_train[:, 0].tolist() == [1.0] * 10
    assert x_train[:, 1:].max() == 0


def test_every_damaged_byte_of_a_gzip_file_gives_format_error_or_the_right_arrays(tmp_path):
    """Each byte of a .gz labels file in turn complemented, incremented or zeroed: gzip, zlib and
    the header checks each fail their own way (zlib.error is neither OSError nor EOFError)."""
    arrays = write_idx_dir(tmp_path, gz=True)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    good = path.read_bytes()
    for i in range(len(good)):
        for value in (good[i] ^ 0xFF, (good[i] + 1) % 256, 0):
            path.write_bytes(good[:i] + bytes([value]) + good[i + 1:])
            try:
                (_, y_train), (_, y_val), _ = mnist.load(data_dir=tmp_path)
            except mnist.FormatError as exc:
                assert "train-labels-idx1-ubyte.gz" in str(exc)
                continue
            np.testing.assert_array_equal(np.concatenate([y_train, y_val]), arrays["train"][1])
