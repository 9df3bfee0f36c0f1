"""gf.train.Saver: round trips, fresh graphs, strict checks that change nothing, atomic saves."""

import os
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import graphflow as gf
from graphflow.train.saver import CheckpointError

ROOT = pathlib.Path(__file__).resolve().parent.parent


def build_model(w_shape=(3, 2), w_dtype=np.float32):
    """A tiny linear model with variables 'dense/w' and 'dense/b' and a gradient-descent step."""
    x = gf.placeholder(gf.float32, shape=(None, 3), name="x")
    with gf.name_scope("dense"):
        w = gf.Variable(np.full(w_shape, 0.1, w_dtype), name="w")
        b = gf.Variable(np.zeros(2, np.float32), name="b")
    if w_shape != (3, 2) or w_dtype != np.float32:
        return x, w, b, None
    loss = gf.reduce_mean(gf.square(x @ w + b - 1.0))
    dw, db = gf.gradients(loss, [w, b])
    train = gf.group(w.assign_sub(0.1 * dw), b.assign_sub(0.1 * db))
    return x, w, b, train


def train_steps(sess, x, train, steps=3):
    data = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    for _ in range(steps):
        sess.run(train, feed_dict={x: data})


def listing(directory):
    return sorted(os.listdir(directory))


# -- round trips ----------------------------------------------------------------------------------
def test_round_trip_after_training(tmp_path):
    x, w, b, train = build_model()
    sess = gf.Session()
    train_steps(sess, x, train)
    saved = sess.run({"w": w, "b": b})
    assert not np.allclose(saved["w"], 0.1)  # training moved it
    path = gf.train.Saver().save(sess, tmp_path / "model")
    assert path == str(tmp_path / "model.npz")
    train_steps(sess, x, train)
    sess.run(gf.group(w.assign(np.full((3, 2), 7.0, np.float32))))
    gf.train.Saver().restore(sess, path)
    restored = sess.run({"w": w, "b": b})
    np.testing.assert_array_equal(restored["w"], saved["w"])
    np.testing.assert_array_equal(restored["b"], saved["b"])
    train_steps(sess, x, train, steps=1)  # compiled programs see the restored values
    assert not np.array_equal(sess.run(w), saved["w"])


def test_file_is_a_plain_npz_keyed_by_variable_names(tmp_path):
    _, w, b, _ = build_model()
    sess = gf.Session()
    path = gf.train.Saver().save(sess, str(tmp_path / "model.npz"))
    assert path == str(tmp_path / "model.npz")  # the suffix is not doubled
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["dense/b", "dense/w"]
        np.testing.assert_array_equal(npz["dense/w"], np.full((3, 2), 0.1, np.float32))
        assert npz["dense/w"].dtype == np.float32


def test_restore_takes_the_path_without_suffix(tmp_path):
    _, w, _, _ = build_model()
    sess = gf.Session()
    gf.train.Saver().save(sess, tmp_path / "model")
    sess.run(gf.group(w.assign(np.zeros((3, 2), np.float32))))
    gf.train.Saver().restore(sess, tmp_path / "model")
    np.testing.assert_array_equal(sess.run(w), np.full((3, 2), 0.1, np.float32))


def test_restore_into_a_fresh_session_of_a_fresh_graph(tmp_path):
    x, w, b, train = build_model()
    sess = gf.Session()
    train_steps(sess, x, train)
    saved = sess.run([w, b])
    path = gf.train.Saver().save(sess, tmp_path / "model")
    sess.close()
    with gf.Graph().as_default() as graph:
        x2, w2, b2, train2 = build_model()
        with gf.Session(graph=graph) as sess2:
            gf.train.Saver().restore(sess2, path)
            np.testing.assert_array_equal(sess2.run(w2), saved[0])
            np.testing.assert_array_equal(sess2.run(b2), saved[1])
            train_steps(sess2, x2, train2, steps=1)  # and training goes on from there


def test_variable_names_that_clash_with_np_savez_arguments(tmp_path):
    a = gf.Variable(np.float32(1.5), name="file")
    c = gf.Variable(np.arange(3, dtype=np.int64), name="allow_pickle")
    sess = gf.Session()
    path = gf.train.Saver().save(sess, tmp_path / "model")
    sess.run(gf.group(a.assign(np.float32(0)), c.assign(np.zeros(3, np.int64))))
    gf.train.Saver().restore(sess, path)
    assert sess.run(a) == np.float32(1.5)
    np.testing.assert_array_equal(sess.run(c), [0, 1, 2])


# -- var_list -------------------------------------------------------------------------------------
def test_var_list_subset(tmp_path):
    _, w, b, _ = build_model()
    sess = gf.Session()
    path = gf.train.Saver([w]).save(sess, tmp_path / "w_only")
    with np.load(path) as npz:
        assert npz.files == ["dense/w"]
    sess.run(gf.group(w.assign(np.ones((3, 2), np.float32)), b.assign(np.ones(2, np.float32))))
    gf.train.Saver([w]).restore(sess, path)
    np.testing.assert_array_equal(sess.run(w), np.full((3, 2), 0.1, np.float32))
    np.testing.assert_array_equal(sess.run(b), np.ones(2, np.float32))  # not in the list


def test_default_saver_needs_every_variable_in_the_file(tmp_path):
    _, w, b, _ = build_model()
    sess = gf.Session()
    path = gf.train.Saver([w]).save(sess, tmp_path / "w_only")
    with pytest.raises(CheckpointError, match="dense/b"):
        gf.train.Saver().restore(sess, path)


def test_subset_saver_restores_from_a_full_checkpoint(tmp_path):
    _, w, b, _ = build_model()
    sess = gf.Session()
    path = gf.train.Saver().save(sess, tmp_path / "full")
    sess.run(gf.group(w.assign(np.ones((3, 2), np.float32)), b.assign(np.ones(2, np.float32))))
    gf.train.Saver([b]).restore(sess, path)
    np.testing.assert_array_equal(sess.run(b), np.zeros(2, np.float32))
    np.testing.assert_array_equal(sess.run(w), np.ones((3, 2), np.float32))


def test_dict_var_list_renames_in_the_checkpoint(tmp_path):
    _, w, _, _ = build_model()
    other = gf.Variable(np.zeros((3, 2), np.float32), name="other")
    sess = gf.Session()
    path = gf.train.Saver({"weights": w}).save(sess, tmp_path / "renamed")
    with np.load(path) as npz:
        assert npz.files == ["weights"]
    gf.train.Saver({"weights": other}).restore(sess, path)
    np.testing.assert_array_equal(sess.run(other), np.full((3, 2), 0.1, np.float32))


@pytest.mark.parametrize("bad, error", [("w", TypeError), ([], ValueError), ([1.0], TypeError)])
def test_bad_var_list(bad, error):
    with pytest.raises(error):
        gf.train.Saver(bad)


def test_variable_of_another_graph(tmp_path):
    _, w, _, _ = build_model()
    with gf.Graph().as_default() as graph:
        gf.Variable(np.zeros(1, np.float32), name="v")
        with pytest.raises(ValueError, match="dense/w"):
            gf.train.Saver([w]).save(gf.Session(graph=graph), tmp_path / "model")


# -- mismatches change nothing --------------------------------------------------------------------
def _save_default_model(tmp_path):
    with gf.Graph().as_default():
        build_model()
        return gf.train.Saver().save(gf.Session(), tmp_path / "model")


def _assert_unchanged(sess, w, b):
    np.testing.assert_array_equal(sess.run(w), np.full(w.shape, 5, w.dtype))
    np.testing.assert_array_equal(sess.run(b), np.full(2, 5, np.float32))


def _set_to_five(sess, w, b):
    sess.run(gf.group(w.assign(np.full(w.shape, 5, w.dtype)), b.assign(np.full(2, 5, np.float32))))


def test_wrong_shape_names_the_variable_and_changes_nothing(tmp_path):
    path = _save_default_model(tmp_path)
    _, w, b, _ = build_model(w_shape=(2, 2))
    sess = gf.Session()
    _set_to_five(sess, w, b)
    with pytest.raises(ValueError) as info:  # CheckpointError is a ValueError
        gf.train.Saver().restore(sess, path)
    message = str(info.value)
    assert isinstance(info.value, CheckpointError)
    assert "dense/w" in message and "(2, 2)" in message and "(3, 2)" in message
    assert path in message
    assert "dense/b" not in message  # b fits: only the problem is reported
    _assert_unchanged(sess, w, b)  # b, which fits, was not restored either


def test_wrong_dtype_names_the_variable_and_changes_nothing(tmp_path):
    path = _save_default_model(tmp_path)
    _, w, b, _ = build_model(w_dtype=np.float64)
    sess = gf.Session()
    _set_to_five(sess, w, b)
    with pytest.raises(CheckpointError, match=r"dense/w.*float64.*float32"):
        gf.train.Saver().restore(sess, path)
    _assert_unchanged(sess, w, b)


def test_unexpected_entry_is_an_error_for_the_default_saver(tmp_path):
    with gf.Graph().as_default():
        build_model()
        gf.Variable(np.zeros(4, np.float32), name="extra")
        path = gf.train.Saver().save(gf.Session(), tmp_path / "model")
    _, w, b, _ = build_model()
    sess = gf.Session()
    _set_to_five(sess, w, b)
    with pytest.raises(CheckpointError, match="extra"):
        gf.train.Saver().restore(sess, path)
    _assert_unchanged(sess, w, b)


# -- files ----------------------------------------------------------------------------------------
def test_missing_file_names_it(tmp_path):
    build_model()
    with pytest.raises(FileNotFoundError, match="nowhere"):
        gf.train.Saver().restore(gf.Session(), tmp_path / "nowhere")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "npy"])
def test_corrupt_file_names_it_and_changes_nothing(tmp_path, damage):
    _, w, b, _ = build_model()
    sess = gf.Session()
    path = gf.train.Saver().save(sess, tmp_path / "model")
    if damage == "garbage":
        with open(path, "wb") as f:
            f.write(b"this is not a checkpoint" * 10)
    elif damage == "truncated":
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
    else:
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    _set_to_five(sess, w, b)
    with pytest.raises(CheckpointError, match="model.npz"):
        gf.train.Saver().restore(sess, path)
    _assert_unchanged(sess, w, b)


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_interrupted_save_keeps_the_old_checkpoint(tmp_path, monkeypatch, failure):
    _, w, b, _ = build_model()
    sess = gf.Session()
    path = gf.train.Saver().save(sess, tmp_path / "model")
    sess.run(gf.group(w.assign(np.full((3, 2), 9.0, np.float32))))

    def write_part_then_fail(fp, array, **kwargs):
        fp.write(b"\x93NUMPY partial")
        raise failure

    monkeypatch.setattr(np.lib.format, "write_array", write_part_then_fail)
    with pytest.raises(type(failure)):
        gf.train.Saver().save(sess, tmp_path / "model")
    monkeypatch.undo()
    assert listing(tmp_path) == ["checkpoint", "model.npz"]  # no temporary file left behind
    gf.train.Saver().restore(sess, path)
    np.testing.assert_array_equal(sess.run(w), np.full((3, 2), 0.1, np.float32))


def test_save_replaces_an_existing_checkpoint_and_makes_directories(tmp_path):
    _, w, _, _ = build_model()
    sess = gf.Session()
    path = gf.train.Saver().save(sess, tmp_path / "runs" / "a" / "model")
    sess.run(gf.group(w.assign(np.full((3, 2), 2.0, np.float32))))
    assert gf.train.Saver().save(sess, tmp_path / "runs" / "a" / "model") == path
    assert listing(tmp_path / "runs" / "a") == ["checkpoint", "model.npz"]
    with np.load(path) as npz:
        np.testing.assert_array_equal(npz["dense/w"], np.full((3, 2), 2.0, np.float32))


# A save killed between creating its temporary file and renaming it (os._exit skips every
# except/finally block, as SIGKILL or a power cut would).
KILLED_SAVE = """
import os, sys
import numpy as np
import graphflow as gf
gf.Variable(np.zeros(3, np.float32), name="w")
sess = gf.Session()
def die(fp, array, **kwargs):
    fp.write(b"\\x93NUMPY partial")
    fp.flush()
    os._exit(3)
np.lib.format.write_array = die
gf.train.Saver().save(sess, sys.argv[1])
"""


def test_next_save_removes_the_temporary_file_of_a_killed_save(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(tmp_path / "model")], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    (leftover,) = listing(tmp_path)
    assert leftover.startswith(".model.npz.")
    others = [leftover.replace("model", "other"), ".model.npz.mine.tmp"]  # not this save's
    for name in others:
        (tmp_path / name).write_bytes(b"keep")
    gf.Variable(np.zeros(3, np.float32), name="w")
    gf.train.Saver().save(gf.Session(), tmp_path / "model")
    assert listing(tmp_path) == sorted(others + ["checkpoint", "model.npz"])


# -- names ----------------------------------------------------------------------------------------
def test_a_variable_name_with_a_nul_byte_is_refused():
    with pytest.raises(ValueError, match=r"'a\\x00b'.*NUL"):
        gf.Variable(1.0, name="a\x00b")
    assert gf.global_variables() == []  # nothing was added to the graph


@pytest.mark.parametrize("name", ["a/../b", "a/", "/a", "a//b", "../a", "é/ü", "x" * 65531])
def test_names_that_round_trip_through_npz(tmp_path, name):
    v = gf.Variable(np.arange(3, dtype=np.float32), name=name)
    sess = gf.Session()
    path = gf.train.Saver().save(sess, tmp_path / "model")
    with np.load(path, allow_pickle=False) as npz:  # numpy reads the same names back
        assert npz.files == [name]
    sess.run(v.assign(np.zeros(3, np.float32)))
    gf.train.Saver().restore(sess, path)
    np.testing.assert_array_equal(sess.run(v), [0, 1, 2])


@pytest.mark.parametrize("name, reason", [
    ("x" * 65532, "65532 bytes long"),  # a zip entry name holds 65535 bytes, with ".npy"
    ("w\udc80", "surrogate"),  # cannot be written as UTF-8
])
def test_names_that_cannot_round_trip_are_refused_at_save(tmp_path, name, reason):
    gf.Variable(np.zeros(3, np.float32), name=name)
    with pytest.raises(CheckpointError, match=reason) as info:
        gf.train.Saver().save(gf.Session(), tmp_path / "model")
    assert repr(name) in str(info.value)
    assert listing(tmp_path) == []  # nothing written, not even a temporary file


def test_a_checkpoint_key_with_a_nul_byte_is_refused_at_save(tmp_path):
    v = gf.Variable(np.zeros(3, np.float32), name="v")
    with pytest.raises(CheckpointError, match=r"'v'.*'a\\x00b'.*NUL"):
        gf.train.Saver({"a\x00b": v}).save(gf.Session(), tmp_path / "model")
    assert listing(tmp_path) == []


def test_a_nul_byte_from_a_name_scope_is_refused_when_the_variable_is_made():
    with gf.name_scope("s\x00"):
        with pytest.raises(ValueError, match=r"'s\\x00/v'.*NUL"):
            gf.Variable(np.zeros(3, np.float32), name="v")
    assert gf.global_variables() == []


# -- paths ----------------------------------------------------------------------------------------
def test_save_path_through_dotdot_makes_the_directories(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, w, _, _ = build_model()
    sess = gf.Session()
    path = gf.train.Saver().save(sess, "sub/dir/../m")
    assert path == "sub/dir/../m.npz"
    assert listing(tmp_path / "sub") == ["checkpoint", "dir", "m.npz"]  # TF1's state file
    sess.run(w.assign(np.zeros((3, 2), np.float32)))
    gf.train.Saver().restore(sess, "sub/m")
    np.testing.assert_array_equal(sess.run(w), np.full((3, 2), 0.1, np.float32))
    assert gf.train.Saver().save(sess, "m") == "m.npz"  # in the current directory
    assert listing(tmp_path) == ["checkpoint", "m.npz", "sub"]


def test_dotdot_after_a_symlink_goes_where_the_os_resolves_it(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    os.symlink(tmp_path / "a" / "b", tmp_path / "link")
    build_model()
    gf.train.Saver().save(gf.Session(), tmp_path / "link" / ".." / "m")
    assert listing(tmp_path / "a") == ["b", "checkpoint", "m.npz"]  # ".." of link is a
    assert listing(tmp_path) == ["a", "link"]


# -- byte order -----------------------------------------------------------------------------------
def test_a_big_endian_checkpoint_restores_in_native_byte_order(tmp_path):
    _, w, b, _ = build_model()
    n = gf.Variable(np.zeros(2, np.int64), name="n")
    sess = gf.Session()
    saved = {"dense/w": (np.arange(6).reshape(3, 2) / 8 - 0.3).astype(">f4"),
             "dense/b": np.array([1.5, -2], ">f4"), "n": np.array([2**40 + 1, -7], ">i8")}
    np.savez(tmp_path / "model.npz", **saved)
    with zipfile.ZipFile(tmp_path / "model.npz") as zf:  # the file really is big-endian
        assert b"'descr': '>f4'" in zf.read("dense/w.npy")
    gf.train.Saver().restore(sess, tmp_path / "model.npz")
    for var in (w, b, n):
        value = sess.run(var)
        assert value.dtype == var.dtype and value.dtype.isnative
        np.testing.assert_array_equal(value, saved[var.op.name])  # equal values, any byte order


def test_a_big_endian_checkpoint_of_another_dtype_names_both(tmp_path):
    _, w, b, _ = build_model()
    sess = gf.Session()
    np.savez(tmp_path / "model.npz", **{"dense/w": np.zeros((3, 2), ">f8"),
                                        "dense/b": np.zeros(2, ">f4")})
    with pytest.raises(CheckpointError, match="expected dtype float32, the checkpoint has float64"):
        gf.train.Saver().restore(sess, tmp_path / "model.npz")
