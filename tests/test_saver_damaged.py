"""Damaged checkpoints: every one gives a CheckpointError naming the file and changes no variable.

The damaged files are made from np.savez / np.savez_compressed archives (numpy's own writer), with
headers patched at the offsets the ZIP specification (APPNOTE.TXT 4.3.7, 4.3.12) gives, and .npy
members written by hand from the NPY format specification (numpy.lib.format).
"""

import io
import pickle
import struct
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

import graphflow as gf
from graphflow.train.saver import CheckpointError

VALUES = {"dense/w": (np.arange(6, dtype=np.float32).reshape(3, 2) - 2.5) / 7,
          "dense/b": np.array([1, -2, 2**40 + 3], np.int64),
          "step": np.array(7, np.int64),
          "scale": np.array(2.5, np.float32)}
LOCAL, CENTRAL = b"PK\x03\x04", b"PK\x01\x02"
# Field offsets inside a local file header and a central directory header.
FLAGS, METHOD = {LOCAL: 6, CENTRAL: 8}, {LOCAL: 8, CENTRAL: 10}
NAME_LENGTH, EXTRA_LENGTH = 26, 28  # local header; the name follows at 30


class Model:
    """The variables of VALUES in a session, each set to a sentinel value before every restore."""

    def __init__(self):
        self.variables = {key: gf.Variable(np.zeros_like(v), name=key) for key, v in VALUES.items()}
        self.sess = gf.Session()
        self.sentinel = {key: np.full_like(v, 5) for key, v in VALUES.items()}
        self.reset = gf.group(*[var.assign(self.sentinel[key])
                                for key, var in self.variables.items()])
        self.sess.run(self.reset)

    def values(self):
        return self.sess.run(self.variables)

    def restore_or_refuse(self, path) -> bool:
        """Restore `path`: either every value comes back exact, or CheckpointError names the file
        and every variable still holds its sentinel. Returns whether it was refused."""
        try:
            gf.train.Saver().restore(self.sess, path)
        except CheckpointError as exc:
            assert str(path) in str(exc)
            assert_equal(self.values(), self.sentinel)
            return True
        assert_equal(self.values(), VALUES)
        self.sess.run(self.reset)
        return False


def assert_equal(found, expected):
    assert found.keys() == expected.keys()
    for key in expected:
        assert found[key].dtype == expected[key].dtype, key
        np.testing.assert_array_equal(found[key], expected[key], err_msg=key)


def npy_bytes(array=None, header=None, payload=b"", version=(1, 0)) -> bytes:
    """An .npy member: np.lib.format's writer for `array`, or a hand-written `header` dict."""
    if header is None:
        out = io.BytesIO()
        np.lib.format.write_array(out, array, version=version, allow_pickle=False)
        return out.getvalue()
    text = repr(header).encode("latin1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"  # magic + length + header is 64-aligned
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload


def write_zip(path, members, method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=method) as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the duplicate names written on purpose
        for name, data in members:
            zf.writestr(name, data)
    return path


def members_with(key, data):
    """VALUES as .npy members, with the member for `key` replaced by `data`."""
    return [(k + ".npy", data if k == key else npy_bytes(v)) for k, v in VALUES.items()]


def patch_headers(path, offsets, fmt, change):
    """Apply change(old value) to one field of every local and central header of the zip."""
    data = bytearray(open(path, "rb").read())
    for signature, offset in offsets.items():
        starts = [i for i in range(len(data) - 3) if data[i:i + 4] == signature]
        assert len(starts) == len(VALUES)  # none of the values' bytes look like a signature
        for start in starts:
            (old,) = struct.unpack_from(fmt, data, start + offset)
            struct.pack_into(fmt, data, start + offset, change(old))
    open(path, "wb").write(bytes(data))
    return path


def savez(path, compressed=False):
    (np.savez_compressed if compressed else np.savez)(path, **VALUES)
    return path


def bad_deflate_block(path):
    data = bytearray(open(savez(path, compressed=True), "rb").read())
    names, extras = struct.unpack_from("<HH", data, NAME_LENGTH)
    data[30 + names + extras] = 0xFF  # block type 3, which RFC 1951 reserves
    open(path, "wb").write(bytes(data))
    return path


def claimed_shape(shape, method=zipfile.ZIP_STORED):
    def make(path):
        header = {"descr": "<f4", "fortran_order": False, "shape": shape}
        payload = VALUES["dense/w"].tobytes()
        return write_zip(path, members_with("dense/w", npy_bytes(header=header, payload=payload)),
                         method)
    return make


def not_a_zip(path):
    with open(path, "wb") as f:
        f.write(b"PK\x05\x06" + bytes(40))  # an end-of-directory record and nothing else
    return path


DAMAGE = {
    "bad deflate block": bad_deflate_block,
    "unknown compression method": lambda p: patch_headers(savez(p), METHOD, "<H", lambda _: 99),
    "entry flagged encrypted": lambda p: patch_headers(savez(p), FLAGS, "<H", lambda f: f | 1),
    "shape of 2**40 floats": claimed_shape((2**40,)),
    "shape of 2**40 floats, compressed": claimed_shape((2**40,), zipfile.ZIP_DEFLATED),
    "shape of 2**62 x 2**62 floats": claimed_shape((2**62, 2**62)),
    "negative shape": claimed_shape((-1, 6)),
    "fewer values than the data": claimed_shape((3, 1)),
    "two entries of one name": lambda p: write_zip(
        p, members_with("", b"") + [("step.npy", npy_bytes(np.int64(9)))]),
    "two entries of one key": lambda p: write_zip(
        p, members_with("", b"") + [("step", npy_bytes(np.int64(9)))]),
    "pickled object array": lambda p: write_zip(p, members_with("dense/b", npy_bytes(header={
        "descr": "|O", "fortran_order": False, "shape": (3,)},
        payload=pickle.dumps(VALUES["dense/b"].astype(object))))),
    "string array": lambda p: write_zip(
        p, members_with("dense/b", npy_bytes(np.array(["1", "-2", "3"])))),
    "npy version 4.0": lambda p: write_zip(
        p, members_with("scale", npy_bytes(VALUES["scale"]).replace(b"NUMPY\x01", b"NUMPY\x04"))),
    "not a zip": not_a_zip,
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_file_is_refused_and_changes_nothing(tmp_path, damage):
    model = Model()
    path = str(tmp_path / "model.npz")
    DAMAGE[damage](path)
    with pytest.raises(CheckpointError, match="model.npz"):
        gf.train.Saver().restore(model.sess, path)
    assert_equal(model.values(), model.sentinel)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_claimed_size_the_file_cannot_hold_is_refused_before_allocating(tmp_path, method):
    """Header and zip directory agree on 4 GiB of floats, the entry holds 24 bytes: the size the
    compressed bytes can expand to (1032 times at most for deflate, RFC 1951) is the bound."""
    count = 2**30 - 64
    path = claimed_shape((count,), method)(tmp_path / "model.npz")
    data = bytearray(open(path, "rb").read())
    start = data.find(CENTRAL)
    while data[start + 46:start + 46 + len(b"dense/w.npy")] != b"dense/w.npy":
        start = data.find(CENTRAL, start + 1)
    struct.pack_into("<I", data, start + 24, 128 + 4 * count)  # uncompressed size: header + data
    open(path, "wb").write(bytes(data))
    model = Model()
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="more than"):
            gf.train.Saver().restore(model.sess, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**26
    assert_equal(model.values(), model.sentinel)


def test_refusal_says_what_is_wrong(tmp_path):
    model = Model()
    claimed_shape((2**40,))(tmp_path / "model.npz")
    with pytest.raises(CheckpointError) as info:
        gf.train.Saver().restore(model.sess, tmp_path / "model.npz")
    message = str(info.value)
    assert "dense/w" in message and str(2**40 * 4) in message and str(6 * 4) in message


ACCEPTED = {  # variants np.load reads as the same arrays
    "np.savez": savez,
    "np.savez_compressed": lambda p: savez(p, compressed=True),
    "Fortran order": lambda p: write_zip(
        p, members_with("dense/w", npy_bytes(np.asfortranarray(VALUES["dense/w"])))),
    "npy version 2.0": lambda p: write_zip(
        p, members_with("dense/b", npy_bytes(VALUES["dense/b"], version=(2, 0)))),
    "npy version 3.0": lambda p: write_zip(
        p, members_with("scale", npy_bytes(VALUES["scale"], version=(3, 0)))),
    "an entry named without .npy": lambda p: write_zip(
        p, [(name.replace("scale.npy", "scale"), data) for name, data in members_with("", b"")]),
}


@pytest.mark.parametrize("variant", sorted(ACCEPTED))
def test_files_np_load_reads_restore(tmp_path, variant):
    model = Model()
    path = ACCEPTED[variant](str(tmp_path / "model.npz"))
    with np.load(path, allow_pickle=False) as npz:  # numpy's reader agrees on every value
        assert_equal({key: npz[key] for key in npz.files}, VALUES)
    assert not model.restore_or_refuse(path)


# -- single-byte sweeps ----------------------------------------------------------------------------
def sweep(model, tmp_path, original: bytes, changes):
    """Restore every copy of `original` with one byte changed (and every truncation of it): each
    is refused or restores exactly. Returns how many were refused."""
    path = tmp_path / "damaged.npz"
    refused = 0
    for position in range(len(original)):
        for change in changes:
            data = bytearray(original)
            data[position] = change(data[position])
            path.write_bytes(bytes(data))
            refused += model.restore_or_refuse(path)
        path.write_bytes(original[:position])
        assert model.restore_or_refuse(path)  # a truncated file never restores
    return refused


BYTE_CHANGES = [lambda b: b ^ 0xFF, lambda b: b ^ 0x01, lambda b: (b + 0x80) % 256]


def test_every_single_byte_change_of_a_saver_checkpoint(tmp_path):
    model = Model()
    model.sess.run([var.assign(VALUES[key]) for key, var in model.variables.items()])
    path = gf.train.Saver().save(model.sess, tmp_path / "model")
    model.sess.run(model.reset)
    original = open(path, "rb").read()
    refused = sweep(model, tmp_path, original, BYTE_CHANGES)
    # Most bytes are data or header fields checked by the CRC-32 or the sizes.
    assert refused > len(original) * len(BYTE_CHANGES) // 2


def test_every_single_byte_change_of_a_compressed_npz(tmp_path):
    model = Model()
    original = open(savez(tmp_path / "model.npz", compressed=True), "rb").read()
    refused = sweep(model, tmp_path, original, BYTE_CHANGES)
    assert refused > len(original) * len(BYTE_CHANGES) // 2


def test_a_changed_data_byte_is_refused_by_the_crc(tmp_path):
    """A value byte changed in a stored (uncompressed) member reads as a valid number: only the
    CRC-32 of the zip entry tells."""
    model = Model()
    path = savez(tmp_path / "model.npz")
    data = bytearray(open(path, "rb").read())
    where = data.find(VALUES["dense/b"].tobytes())
    data[where] ^= 0x01  # 1 -> 0
    open(path, "wb").write(bytes(data))
    with pytest.raises(CheckpointError, match="CRC"):
        gf.train.Saver().restore(model.sess, path)
