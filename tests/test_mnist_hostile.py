"""Hostile pickles for the array-only unpickler of graphflow.datasets: crafted numpy dtype and
array states (one of which crashes numpy when it is given to it), classes off the list, sizes that
would allocate terabytes. Each must give UnpicklingError or FormatError, never a crash."""

import os
import pickle
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from test_mnist import fake_arrays, install_fake

from graphflow.datasets import mnist, safe_pickle

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

ROOT = Path(__file__).resolve().parent.parent
REFUSED = (pickle.UnpicklingError, mnist.FormatError)
RUN = subprocess.run  # test_mnist's fixture fakes subprocess.run; keep the real one


class Dtype:
    """Pickles as numpy does a dtype: numpy.dtype(*args), then __setstate__(state)."""

    def __init__(self, args, state):
        self.args, self.state = args, state

    def __reduce__(self):
        return np.dtype, self.args, self.state


class Array:
    """Pickles as numpy does an array: _reconstruct(ndarray, (0,), b'b'), then __setstate__ with
    (1, shape, dtype, fortran_order, data)."""

    def __init__(self, shape, dtype, data, version=1):
        self.state = (version, shape, dtype, False, data)

    def __reduce__(self):
        return _reconstruct, (np.ndarray, (0,), b"b"), self.state


def state(order="<", subarray=None, names=None, fields=None, elsize=-1, alignment=-1, flags=0):
    """numpy's version-3 dtype state; the defaults are those of a plain float32."""
    return (3, order, subarray, names, fields, elsize, alignment, flags)


F4 = Dtype(("f4", False, True), state())
OBJECT = Dtype(("O8", False, True), state("|"))
# A void dtype whose field is an object while its flags (0) say it holds none: numpy reads the
# array's bytes as object pointers.
OBJECT_FIELD = Dtype(("V8", False, True), state("|", None, ("a",), {"a": (OBJECT, 0)}, 8, 1, 0))
# float32 flags that claim it holds objects (NPY_ITEM_REFCOUNT and friends).
OBJECT_FLAGS = Dtype(("f4", False, True), state(flags=0x3F))

CRASHERS = {
    "object field under flags that claim none": Array((2,), OBJECT_FIELD, b"\x41" * 16),
    "float32 flags claiming objects": Array((2,), OBJECT_FLAGS, b"\x41" * 8),
    "object dtype from raw bytes": Array((2,), OBJECT, b"\x41" * 16),
    "float32 state with an object field": Array((2,), Dtype(("f4", False, True), state(
        "<", None, ("a",), {"a": (OBJECT, 0)}, 4, 4, 0)), b"\x41" * 8),
    "float32 state with an object subarray": Array((2,), Dtype(("f4", False, True), state(
        "<", (OBJECT, (1,)), None, None, 4, 4, 0)), b"\x41" * 8),
    # A datetime64 dtype's state carries its unit in a ninth item; without it numpy crashes.
    "datetime dtype without its unit": Array((1,), Dtype(("M8", False, True), state()), b"\0" * 8),
}

HOSTILE = {
    "object array": Array((2,), OBJECT, [1, "x"]),
    "structured dtype": Array((1,), Dtype(("V8", False, True), state(
        "|", None, ("a", "b"), {"a": (F4, 0), "b": (F4, 4)}, 8, 1, 0)), b"\0" * 8),
    "subarray dtype": Array((1,), Dtype(("V8", False, True), state("|", (F4, (2,)), None, None,
                                                                  8, 4, 0)), b"\0" * 8),
    "float32 state with float32 fields": Array((2,), Dtype(("f4", False, True), state(
        "<", None, ("a",), {"a": (F4, 0)}, 4, 4, 0)), b"\0" * 8),
    "float32 state with a float32 subarray": Array((2,), Dtype(("f4", False, True), state(
        "<", (F4, (1,)), None, None, 4, 4, 0)), b"\0" * 8),
    "float32 state with elsize 8": Array((2,), Dtype(("f4", False, True), state(elsize=8)),
                                         b"\0" * 8),
    "float32 state with a byte order of '|'": Array((2,), Dtype(("f4", False, True),
                                                                state("|")), b"\0" * 8),
    "unicode dtype": Array((1,), Dtype(("U1", False, True), state("<", None, None, None, 4, 4,
                                                                  0)), b"\0" * 4),
    "array state of an unknown version": Array((2,), F4, b"\0" * 8, version=2),
    "array with a dtype that is not a dtype": Array((2,), "f4", b"\0" * 8),
    "shape claiming terabytes": Array((2 ** 20, 2 ** 20, 2 ** 20), F4, b"\0" * 8),
    "shape whose size wraps around in int64": Array((2 ** 21, 2 ** 21, 2 ** 22), F4, b""),
    "negative shape": Array((-1, 2), F4, b"\0" * 8),
}


@pytest.mark.parametrize("name", sorted(CRASHERS))
def test_crafted_dtype_is_refused_without_crashing(tmp_path, name):
    """Unpickled in a child process, so that a crash shows as its exit status."""
    payload = tmp_path / "payload.pkl"
    payload.write_bytes(pickle.dumps(CRASHERS[name], protocol=4))
    script = (
        "import pickle, sys\n"
        "from graphflow.datasets import mnist, safe_pickle\n"
        "try:\n"
        "    out = safe_pickle.unpickle_arrays(open(sys.argv[1], 'rb').read())\n"
        "except (pickle.UnpicklingError, mnist.FormatError) as exc:\n"
        "    print('REFUSED', exc)\n"
        "else:\n"
        "    print('LOADED', repr(out))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = RUN([sys.executable, "-c", script, str(payload)], capture_output=True, text=True,
               timeout=60, env=env, cwd=ROOT)
    assert done.returncode == 0, f"the child died ({done.returncode}): {done.stderr[-2000:]}"
    assert done.stdout.startswith("REFUSED"), done.stdout + done.stderr


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_crafted_arrays_are_refused(name):
    data = pickle.dumps(HOSTILE[name], protocol=4)
    tracemalloc.start()
    try:
        with pytest.raises(REFUSED):
            safe_pickle.unpickle_arrays(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


@pytest.mark.parametrize("target", [os.system, eval, np.load, np.frombuffer, np.ndarray,
                                    pickle.loads])
def test_callables_off_the_list_are_refused(target):
    """numpy.ndarray may only be named as _reconstruct's argument, never called: ndarray(shape)
    allocates whatever the shape says."""
    with pytest.raises(REFUSED):
        safe_pickle.unpickle_arrays(pickle.dumps(Call(target, (2 ** 40,)), protocol=4))


class Call:
    def __init__(self, target, args):
        self.target, self.args = target, args

    def __reduce__(self):
        return self.target, self.args


def test_stand_in_made_without_its_arguments_is_refused():
    """pickle's NEWOBJ makes an instance without calling __init__: numpy.dtype.__new__()."""
    made = b"\x80\x04\x8c\x05numpy\x8c\x05dtype\x93)\x81"  # numpy.dtype.__new__(numpy.dtype)
    for data in (made + b".", made + pickle.dumps(state(), protocol=2)[2:-1] + b"b."):
        with pytest.raises(REFUSED):
            safe_pickle.unpickle_arrays(data)


@pytest.mark.parametrize("code", safe_pickle.PLAIN_CODES)
@pytest.mark.parametrize("order", ["<", ">"])
def test_plain_arrays_of_every_code_and_byte_order(code, order):
    """numpy's own pickles (protocols 3 and 4; C and Fortran order) load as the same values."""
    dtype = np.dtype(code).newbyteorder(order)
    values = (np.arange(12) % 2 if code == "b1" else np.arange(12) * 3).astype(dtype)
    for array in (values.reshape(3, 4), np.asfortranarray(values.reshape(3, 4)), values[:0]):
        for protocol in (3, 4):
            out = safe_pickle.unpickle_arrays(pickle.dumps(((array, [array]),), protocol))
            np.testing.assert_array_equal(out[0][0], array)
            np.testing.assert_array_equal(out[0][1][0], array)
            assert out[0][0].dtype == dtype.newbyteorder("=") and out[0][0].flags.writeable


def test_crafted_pickle_in_the_wheel_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_DATA", str(tmp_path / "cache"))
    install_fake(monkeypatch, payload=((HOSTILE["structured dtype"], np.zeros(1)),) * 3)
    with pytest.raises(REFUSED, match="mnist.pkl.gz"):
        mnist.load()
    assert os.listdir(tmp_path / "cache") == []


def test_labels_outside_0_to_9_in_the_pickle(monkeypatch, tmp_path):
    monkeypatch.setenv("GRAPHFLOW_DATA", str(tmp_path / "cache"))
    (x0, y0), val, test = fake_arrays()
    y0 = y0.copy()
    y0[3] = 10
    install_fake(monkeypatch, payload=((x0, y0), val, test))
    with pytest.raises(mnist.FormatError, match=r"mnist\.pkl\.gz.*label 3 is 10"):
        mnist.load()
