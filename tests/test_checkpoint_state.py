"""TF1's checkpoint state file: Saver.save writes `checkpoint`, latest_checkpoint reads it."""

import logging
import os

import numpy as np
import pytest

import graphflow as gf


def model_and_session():
    w = gf.Variable(np.arange(3, dtype=np.float32), name="w")
    sess = gf.Session()
    sess.run(gf.global_variables_initializer())
    return w, sess


def test_relative_save_dir_writes_tf1_text_with_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, sess = model_and_session()
    saver = gf.train.Saver()
    for step in (10, 20):
        saver.save(sess, "ckpt/model.ckpt", global_step=step)
    # TF1's text format of a CheckpointState, with paths relative to the directory
    assert (tmp_path / "ckpt" / "checkpoint").read_text() == (
        'model_checkpoint_path: "model.ckpt-20"\n'
        'all_model_checkpoint_paths: "model.ckpt-10"\n'
        'all_model_checkpoint_paths: "model.ckpt-20"\n')
    assert gf.train.latest_checkpoint("ckpt") == os.path.join("ckpt", "model.ckpt-20")
    state = gf.train.get_checkpoint_state("ckpt")
    assert state.model_checkpoint_path == os.path.join("ckpt", "model.ckpt-20")
    assert state.all_model_checkpoint_paths == [os.path.join("ckpt", "model.ckpt-10"),
                                                os.path.join("ckpt", "model.ckpt-20")]


def test_restore_from_latest_checkpoint(tmp_path):
    w, sess = model_and_session()
    saver = gf.train.Saver()
    saver.save(sess, str(tmp_path / "model.ckpt"), global_step=1)
    sess.run(w.assign([7.0, 8.0, 9.0]))
    saver.save(sess, str(tmp_path / "model.ckpt"), global_step=2)
    sess.run(w.assign([0.0, 0.0, 0.0]))
    latest = gf.train.latest_checkpoint(str(tmp_path))
    assert latest == str(tmp_path / "model.ckpt-2")  # absolute save dir: absolute, as TF1
    saver.restore(sess, latest)
    np.testing.assert_array_equal(sess.run(w), [7.0, 8.0, 9.0])


def test_max_to_keep_deletes_old_files_and_the_state_lists_the_kept(tmp_path):
    _, sess = model_and_session()
    saver = gf.train.Saver(max_to_keep=2)
    for step in (1, 2, 3):
        saver.save(sess, str(tmp_path / "m"), global_step=step)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "m-2.npz", "m-3.npz"]
    state = gf.train.get_checkpoint_state(tmp_path)
    assert state.all_model_checkpoint_paths == [str(tmp_path / "m-2"), str(tmp_path / "m-3")]
    assert saver.last_checkpoints == [str(tmp_path / "m-2.npz"), str(tmp_path / "m-3.npz")]


def test_max_to_keep_none_keeps_every_file_and_lists_only_the_newest(tmp_path):
    _, sess = model_and_session()
    saver = gf.train.Saver(max_to_keep=None)
    for step in (1, 2, 3):
        saver.save(sess, str(tmp_path / "m"), global_step=step)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "m-1.npz", "m-2.npz", "m-3.npz"]
    assert gf.train.get_checkpoint_state(tmp_path).all_model_checkpoint_paths == [
        str(tmp_path / "m-3")]


def test_save_relative_paths_and_tf1_keywords(tmp_path):
    _, sess = model_and_session()
    saver = gf.train.Saver(save_relative_paths=True)
    path = saver.save(sess, str(tmp_path / "m"), 5, "state", "meta", write_meta_graph=True,
                      write_state=True, strip_default_attrs=False, save_debug_info=False)
    assert path == str(tmp_path / "m-5.npz")
    assert (tmp_path / "state").read_text().splitlines()[0] == 'model_checkpoint_path: "m-5"'
    assert not (tmp_path / "checkpoint").exists()
    assert gf.train.latest_checkpoint(tmp_path) is None
    assert gf.train.latest_checkpoint(tmp_path, "state") == str(tmp_path / "m-5")


def test_write_state_false_writes_no_state_file(tmp_path):
    _, sess = model_and_session()
    gf.train.Saver().save(sess, str(tmp_path / "m"), global_step=1, write_state=False)
    assert os.listdir(tmp_path) == ["m-1.npz"]
    assert gf.train.latest_checkpoint(tmp_path) is None


def test_checkpoint_exists_with_and_without_suffix(tmp_path):
    _, sess = model_and_session()
    gf.train.Saver().save(sess, str(tmp_path / "m"))
    assert gf.train.checkpoint_exists(str(tmp_path / "m"))
    assert gf.train.checkpoint_exists(str(tmp_path / "m.npz"))
    assert not gf.train.checkpoint_exists(str(tmp_path / "other"))


def test_a_tf1_written_file_parses(tmp_path):
    # As TF 1.15 writes it: timestamps, non-ASCII bytes as octal escapes; a comment added by hand.
    (tmp_path / "checkpoint").write_text(
        '# written by TF\nmodel_checkpoint_path: "caf\\303\\251-3"\n'
        'all_model_checkpoint_paths: "/abs/caf\\303\\251-2"\n'
        "all_model_checkpoint_paths: 'caf\\303\\251-3'\n"
        "all_model_checkpoint_timestamps: 1573000000.5\n"
        "all_model_checkpoint_timestamps: 1573000001.25\n"
        "last_preserved_timestamp: 1572999999.0\n")
    state = gf.train.get_checkpoint_state(str(tmp_path))
    assert state.model_checkpoint_path == os.path.join(str(tmp_path), "café-3")
    assert state.all_model_checkpoint_paths == ["/abs/café-2", os.path.join(str(tmp_path),
                                                                             "café-3")]
    assert state.all_model_checkpoint_timestamps == [1573000000.5, 1573000001.25]
    assert state.last_preserved_timestamp == 1572999999.0


def test_names_with_quotes_and_non_ascii_round_trip(tmp_path):
    _, sess = model_and_session()
    directory = tmp_path / 'd"é\\'
    gf.train.Saver().save(sess, str(directory / "m'x"), global_step=1)
    assert gf.train.latest_checkpoint(str(directory)) == str(directory / "m'x-1")


@pytest.mark.parametrize("text", [
    "__import__('os').remove('x')",
    'model_checkpoint_path: "unterminated\n',
    'model_checkpoint_path: 3\n',
    'no_such_field: "a"\n',
    'model_checkpoint_path: "bad \\q escape"\n',
])
def test_a_file_that_does_not_parse_is_ignored_with_a_warning(tmp_path, caplog, text):
    (tmp_path / "checkpoint").write_text(text)
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        assert gf.train.get_checkpoint_state(str(tmp_path)) is None
        assert gf.train.latest_checkpoint(str(tmp_path)) is None
    assert "Checkpoint ignored" in caplog.text


def test_a_file_without_model_checkpoint_path_is_a_value_error(tmp_path):
    (tmp_path / "checkpoint").write_text('all_model_checkpoint_paths: "m-1"\n')
    with pytest.raises(ValueError, match="Invalid checkpoint state loaded from"):
        gf.train.latest_checkpoint(str(tmp_path))


def test_a_state_naming_a_missing_file_gives_none_and_logs_an_error(tmp_path, caplog):
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "gone-1"\n')
    with caplog.at_level(logging.ERROR, logger="tensorflow"):
        assert gf.train.latest_checkpoint(str(tmp_path)) is None
    assert "Couldn't match files for checkpoint" in caplog.text


def test_no_state_file_gives_none(tmp_path):
    assert gf.train.get_checkpoint_state(str(tmp_path)) is None
    assert gf.train.latest_checkpoint(str(tmp_path / "missing")) is None


def test_restore_of_none_says_no_checkpoint_was_found(tmp_path):
    _, sess = model_and_session()
    with pytest.raises(ValueError, match="save_path when it is None"):
        gf.train.Saver().restore(sess, gf.train.latest_checkpoint(str(tmp_path)))


def test_a_save_path_named_like_the_state_file_conflicts(tmp_path):
    _, sess = model_and_session()
    with pytest.raises(RuntimeError, match="conflicts with path used for checkpoint state"):
        gf.train.Saver().save(sess, str(tmp_path / "checkpoint"))


def test_recover_last_checkpoints_keeps_managing_old_files(tmp_path):
    _, sess = model_and_session()
    first = gf.train.Saver(max_to_keep=2)
    for step in (1, 2):
        first.save(sess, str(tmp_path / "m"), global_step=step)
    second = gf.train.Saver(max_to_keep=2)
    second.recover_last_checkpoints(gf.train.get_checkpoint_state(tmp_path)
                                    .all_model_checkpoint_paths)
    second.save(sess, str(tmp_path / "m"), global_step=3)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "m-2.npz", "m-3.npz"]
