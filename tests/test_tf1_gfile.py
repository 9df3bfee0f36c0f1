"""gf.gfile against TF 1.15's documented tf.gfile behaviour, checked with os/pathlib."""

import os

import pytest

import graphflow as gf

G = gf.gfile


def test_write_read_text_and_binary(tmp_path):
    path = str(tmp_path / "a.txt")
    with G.GFile(path, "w") as f:
        f.write("one\ntwo\r\nthree")
        f.write(b" bytes too")  # TF1 takes either type in either mode
    assert (tmp_path / "a.txt").read_bytes() == b"one\ntwo\r\nthree bytes too"
    with G.GFile(path, "r") as f:
        assert f.readline() == "one\n"
        assert f.readline() == "two\r\n"  # lines end at '\n' only, nothing translated
        assert f.read() == "three bytes too"
        assert f.readline() == ""
    with G.Open(path, "rb") as f:
        assert f.read(3) == b"one" and f.tell() == 3
        f.seek(0)
        assert f.readlines() == [b"one\n", b"two\r\n", b"three bytes too"]
        assert f.size() == len(b"one\ntwo\r\nthree bytes too")
    assert list(G.GFile(path)) == ["one\n", "two\r\n", "three bytes too"]


def test_append_and_binary_write(tmp_path):
    path = str(tmp_path / "b.bin")
    with G.GFile(path, "wb") as f:
        f.write(b"\x00\x01")
        f.write("é")
    with G.GFile(path, "a") as f:
        f.write("z")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01" + "é".encode() + b"z"


def test_missing_file_raises_on_first_read_and_bad_mode(tmp_path):
    f = G.GFile(str(tmp_path / "missing"))  # TF1 opens lazily: no error yet
    with pytest.raises(FileNotFoundError):
        f.read()
    with pytest.raises(ValueError, match="mode 'x'"):
        G.GFile(str(tmp_path / "a"), "x")


def test_directories_listing_glob_walk(tmp_path):
    top = tmp_path / "top"
    G.MakeDirs(str(top / "sub" / "deeper"))
    G.MakeDirs(str(top / "sub"))  # already there: fine
    (top / "f1.txt").write_text("1")
    (top / "sub" / "f2.txt").write_text("22")
    assert G.Exists(str(top)) and G.IsDirectory(str(top)) and not G.IsDirectory(str(top / "f1.txt"))
    assert not G.Exists(str(top / "nope")) and not G.IsDirectory(str(top / "nope"))
    assert sorted(G.ListDirectory(str(top))) == sorted(os.listdir(top)) == ["f1.txt", "sub"]
    assert G.Glob(str(top / "*.txt")) == [str(top / "f1.txt")]
    assert sorted(G.Glob([str(top / "*.txt"), str(top / "sub" / "*.txt")])) == sorted(
        [str(top / "f1.txt"), str(top / "sub" / "f2.txt")])
    walked = list(G.Walk(str(top)))
    assert walked == list(os.walk(str(top)))
    assert walked[0][0] == str(top)  # parents first with in_order=True
    assert list(G.Walk(str(top), in_order=False))[-1][0] == str(top)
    assert list(G.Walk(str(top / "nope"))) == []
    stat = G.Stat(str(top / "sub" / "f2.txt"))
    assert stat.length == 2 and not stat.is_directory
    assert stat.mtime_nsec == os.stat(top / "sub" / "f2.txt").st_mtime_ns
    assert G.Stat(str(top)).is_directory


def test_missing_paths_raise_file_not_found(tmp_path):
    missing = str(tmp_path / "nope")
    for call in (lambda: G.ListDirectory(missing), lambda: G.Remove(missing),
                 lambda: G.DeleteRecursively(missing), lambda: G.Stat(missing),
                 lambda: G.Copy(missing, str(tmp_path / "c")),
                 lambda: G.Rename(missing, str(tmp_path / "c")),
                 lambda: G.MkDir(str(tmp_path / "nope" / "child"))):
        with pytest.raises(FileNotFoundError):
            call()


def test_copy_rename_overwrite_rules(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("A")
    b.write_text("B")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        G.Copy(str(a), str(b))
    G.Copy(str(a), str(b), overwrite=True)
    assert b.read_text() == "A"
    G.Copy(str(a), str(tmp_path / "c"))
    assert (tmp_path / "c").read_text() == "A"
    with pytest.raises(FileExistsError, match="overwrite=True"):
        G.Rename(str(a), str(b))
    a.write_text("A2")
    G.Rename(str(a), str(b), overwrite=True)
    assert not a.exists() and b.read_text() == "A2"
    G.Rename(str(b), str(tmp_path / "d"))
    assert (tmp_path / "d").read_text() == "A2"
    with pytest.raises(FileExistsError):
        G.MkDir(str(tmp_path))


def test_remove_and_delete_recursively(tmp_path):
    G.MakeDirs(str(tmp_path / "t" / "u"))
    (tmp_path / "t" / "u" / "x").write_text("x")
    (tmp_path / "y").write_text("y")
    G.Remove(str(tmp_path / "y"))
    G.DeleteRecursively(str(tmp_path / "t"))
    assert os.listdir(tmp_path) == []


def test_file_urls_work_and_remote_urls_are_refused(tmp_path):
    (tmp_path / "f").write_text("hi")
    assert G.Exists("file://" + str(tmp_path / "f"))
    for url in ("gs://bucket/model", "hdfs://namenode/x", "s3://b/k"):
        with pytest.raises(NotImplementedError, match=url):
            G.Exists(url)
        with pytest.raises(NotImplementedError, match=url):
            G.GFile(url, "w")


def test_missing_and_existing_paths_raise_tf1_error_classes_too(tmp_path):
    """TF1 raises tf.errors.NotFoundError / AlreadyExistsError; Python code expects the OS
    error classes: each error here is both, and names the call and the path."""
    missing = str(tmp_path / "nope")
    calls = [lambda: gf.gfile.GFile(missing).read(), lambda: gf.gfile.Remove(missing),
             lambda: gf.gfile.ListDirectory(missing), lambda: gf.gfile.Stat(missing),
             lambda: gf.gfile.DeleteRecursively(missing),
             lambda: gf.gfile.MkDir(os.path.join(missing, "b"))]
    for call in calls:
        with pytest.raises(gf.errors.NotFoundError, match="nope") as info:
            call()
        assert isinstance(info.value, FileNotFoundError)
        assert info.value.error_code == gf.errors.NOT_FOUND
    (tmp_path / "f").write_text("x")
    with pytest.raises(gf.errors.AlreadyExistsError) as info:
        gf.gfile.MkDir(str(tmp_path / "f"))
    assert isinstance(info.value, FileExistsError)
    with pytest.raises(gf.errors.AlreadyExistsError, match="overwrite=True"):
        gf.gfile.Copy(str(tmp_path / "f"), str(tmp_path / "f"))
