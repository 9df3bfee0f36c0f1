"""The npz cache of mnist.load(): a damaged or impossible mnist.npz gives FormatError naming it and
saying to delete it, never another exception, a wrong array or a huge allocation."""

import io
import tracemalloc
import zipfile

import numpy as np
import pytest

from graphflow.datasets import mnist

KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The path of mnist.npz in a private cache directory; no test here may run pip."""
    monkeypatch.setenv("GRAPHFLOW_DATA", str(tmp_path))

    def no_network(cmd, **kwargs):
        pytest.fail(f"a test tried to run {cmd}")

    monkeypatch.setattr(mnist.subprocess, "run", no_network)
    return tmp_path / "mnist.npz"


def good_arrays(sizes=(2, 1, 1)):
    """What the cache holds (see mnist's docstring): float32 (N, 784) in [0, 1], int64 digits.
    Mostly zero, so that the compressed file stays small."""
    arrays = {}
    for split, n in zip(("train", "val", "test"), sizes):
        x = np.zeros((n, 784), np.float32)
        x[:, ::97] = np.arange(1, n + 1, dtype=np.float32)[:, None] / 256
        x[:, 1] = 1.0
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, np.arange(7, 7 + n) % 10
    return arrays


def npz_bytes(arrays):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def assert_refused(path, *patterns):
    with pytest.raises(mnist.FormatError) as info:
        mnist.load()
    message = str(info.value)
    assert str(path) in message and "delete it to fetch the data again" in message, message
    for pattern in patterns:
        assert pattern in message, message


def test_a_good_cache_loads(cache):
    arrays = good_arrays()
    cache.write_bytes(npz_bytes(arrays))
    for (x, y), split in zip(mnist.load(), ("train", "val", "test")):
        np.testing.assert_array_equal(x, arrays[f"x_{split}"])
        np.testing.assert_array_equal(y, arrays[f"y_{split}"])
        assert x.dtype == np.float32 and y.dtype == np.int64


def test_every_damaged_byte_gives_format_error_or_the_right_arrays(cache):
    """Each byte in turn replaced (by its complement, then by itself + 1), and each cut: zlib,
    zipfile, the .npy header parser (Python's tokenizer) and numpy each fail their own way."""
    arrays = good_arrays()
    good = npz_bytes(arrays)
    assert len(good) < 3000  # keeps the sweep under a few seconds
    damaged = [good[:i] + bytes([good[i] ^ 0xFF]) + good[i + 1:] for i in range(len(good))]
    damaged += [good[:i] + bytes([(good[i] + 1) % 256]) + good[i + 1:] for i in range(len(good))]
    damaged += [good[:i] for i in range(len(good))]
    loaded = 0
    for data in damaged:
        cache.write_bytes(data)
        try:
            splits = mnist.load()
        except mnist.FormatError as exc:
            assert str(cache) in str(exc) and "delete it" in str(exc)
            continue
        loaded += 1
        for (x, y), split in zip(splits, ("train", "val", "test")):
            np.testing.assert_array_equal(x, arrays[f"x_{split}"])
            np.testing.assert_array_equal(y, arrays[f"y_{split}"])
    assert loaded < len(good)  # most damage is caught, the rest was in bytes zip ignores


@pytest.mark.parametrize("key, value, pattern", [
    ("x_train", 1.5, "outside [0, 1]"),
    ("x_val", -0.25, "outside [0, 1]"),
    ("x_test", np.nan, "outside [0, 1]"),
    ("x_train", np.inf, "outside [0, 1]"),
    ("y_train", 10, "not a digit 0..9"),
    ("y_test", -1, "not a digit 0..9"),
])
def test_values_outside_the_formats_range(cache, key, value, pattern):
    arrays = good_arrays()
    arrays[key] = arrays[key].copy()
    arrays[key].flat[-1] = value
    cache.write_bytes(npz_bytes(arrays))
    assert_refused(cache, pattern)


@pytest.mark.parametrize("key, value", [
    ("x_train", np.zeros((2, 784), np.float64)),
    ("x_train", np.zeros((2, 784), np.uint8)),
    ("y_val", np.zeros(1, np.int32)),
    ("y_val", np.zeros(1, np.float32)),
    ("x_test", np.zeros((1, 28, 28), np.float32)),  # not flattened
    ("x_test", np.zeros((1, 27 * 27), np.float32)),  # not 28x28
    ("x_test", np.zeros((1, 785), np.float32)),
    ("y_train", np.zeros((2, 1), np.int64)),
    ("y_train", np.zeros(3, np.int64)),  # 2 images, 3 labels
    ("x_train", np.zeros((2, 784), np.float32).T),  # Fortran order
    ("x_train", np.zeros(2, [("a", "<f4")])),
])
def test_wrong_dtypes_and_shapes(cache, key, value):
    arrays = good_arrays()
    arrays[key] = value
    cache.write_bytes(npz_bytes(arrays))
    assert_refused(cache, key)


def test_a_missing_array(cache):
    arrays = good_arrays()
    del arrays["y_test"]
    cache.write_bytes(npz_bytes(arrays))
    assert_refused(cache, "y_test")


def npy_header(shape, descr="<f4"):
    """A version-1.0 .npy header as the format's spec describes it: magic, version, a little-endian
    uint16 length, then a padded Python dict literal ending in a newline."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    text += " " * ((-(10 + len(text) + 1)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin1")


def write_zip(path, members, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name + ".npy", data)


@pytest.mark.parametrize("shape", [(700000, 784), (2 ** 40, 784), (2 ** 62, 2 ** 62)])
def test_a_header_claiming_more_than_the_archive_holds_allocates_nothing(cache, shape):
    members = {key: _npy(a) for key, a in good_arrays().items()}
    members["x_train"] = npy_header(shape) + bytes(64)
    write_zip(cache, members)
    tracemalloc.start()
    try:
        with pytest.raises(mnist.FormatError) as info:
            mnist.load()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
    assert "x_train" in str(info.value) and "delete it" in str(info.value)


def test_members_not_deflated_are_refused(cache):
    """bzip2 and lzma members: other decompressors, other ratios; numpy never writes them."""
    members = {key: _npy(a) for key, a in good_arrays().items()}
    write_zip(cache, members, zipfile.ZIP_LZMA)
    assert_refused(cache, "x_train.npy", "method 14")


def test_stored_members_are_read(cache):
    """numpy.savez writes ZIP_STORED members; the header's format is the spec's."""
    arrays = good_arrays()
    write_zip(cache, {key: npy_header(a.shape, a.dtype.str) + a.tobytes()
                      for key, a in arrays.items()}, zipfile.ZIP_STORED)
    for (x, y), split in zip(mnist.load(), ("train", "val", "test")):
        np.testing.assert_array_equal(x, arrays[f"x_{split}"])
        np.testing.assert_array_equal(y, arrays[f"y_{split}"])


def test_extra_bytes_after_an_array(cache):
    members = {key: _npy(a) for key, a in good_arrays().items()}
    members["y_val"] += b"\0" * 8
    write_zip(cache, members)
    assert_refused(cache, "y_val")


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()

