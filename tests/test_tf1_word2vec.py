"""TF1's basic word2vec tutorial, ported in examples/tf1_port/word2vec.py: it runs and prints
the tutorial's lines, its generate_batch gives TF1's skip-gram pairs (derived by hand below), and
on the synthetic corpus words of one group end up closer to each other than to other words."""

import pathlib
import runpy

import numpy as np
import pytest

import graphflow as gf

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "examples" / "tf1_port" / "word2vec.py"


def _run(monkeypatch, steps, **env):
    monkeypatch.setenv("STEPS", str(steps))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with gf.Graph().as_default():
        return runpy.run_path(str(SCRIPT), run_name="__main__")


def _average_losses(out):
    return [float(line.split(":")[1]) for line in out.splitlines()
            if line.startswith("Average loss at step ")]


# -- (a) the script runs as TF1's tutorial does ----------------------------------------------------
def test_port_is_written_as_tf1_code_and_prints_the_tutorials_lines(monkeypatch, capsys):
    source = SCRIPT.read_text()
    assert "import graphflow as tf" in source and "graphflow." not in source
    for call in ("tf.nn.embedding_lookup(", "tf.nn.nce_loss(",
                 "tf.train.GradientDescentOptimizer(1.0)"):
        assert call in source
    monkeypatch.delenv("TEXT_FILE", raising=False)
    scope = _run(monkeypatch, 3)
    out = capsys.readouterr().out
    # 4000 sentences of 7 to 9 words, every word in the vocabulary (no UNK)
    size = len(scope["synthetic_corpus"]())
    assert 4000 * 7 <= size <= 4000 * 9 and out.startswith(f"Data size {size}\n")
    assert "Most common words (+UNK) [['UNK', 0], ('the', " in out
    assert "Sample data [" in out and out.count(" -> ") == 8 and "Initialized" in out
    assert [line.split(":")[0] for line in out.splitlines() if "Average loss" in line] == [
        f"Average loss at step  {step} " for step in range(3)]
    # tf.nn.nce_loss is a sum of sigmoid cross-entropies: positive, finite
    assert all(np.isfinite(v) and v > 0 for v in _average_losses(out))
    valid = [scope["reverse_dictionary"][i] for i in scope["valid_examples"]]
    nearest = [line for line in out.splitlines() if line.startswith("Nearest to ")]
    assert [line.split(":")[0] for line in nearest] == [f"Nearest to {w}" for w in valid]
    assert all(len(line.split(": ")[1].split(", ")) == 8 for line in nearest)
    vocabulary_size = scope["vocabulary_size"]
    final = scope["final_embeddings"]
    assert final.shape == (vocabulary_size, 128)
    np.testing.assert_allclose(np.linalg.norm(final, axis=1), 1.0, rtol=1e-5)


def test_text_file_is_read_instead_of_the_synthetic_corpus(tmp_path, monkeypatch, capsys):
    text = tmp_path / "text.txt"
    words = ("the cat sat on the mat and the dog sat on the cat " * 20).split()
    text.write_text(" ".join(words))
    scope = _run(monkeypatch, 2, TEXT_FILE=str(text))
    out = capsys.readouterr().out
    assert out.startswith(f"Data size {len(words)}\n")
    # most common first: 'the' 80 times, 'cat' and 'sat' and 'on' 40 times each
    assert scope["count"][:3] == [["UNK", 0], ("the", 80), ("cat", 40)]
    assert scope["vocabulary_size"] == 8 and len(scope["reverse_dictionary"]) == 8


# -- (b) training pulls the words of a group together ----------------------------------------------
def _group_similarity(scope):
    """Mean cosine of words of one group, of words of different groups, and the fraction of each
    group word's 7 nearest group words that are of its own group."""
    code = {word: i for i, word in scope["reverse_dictionary"].items()}
    words = [(w, g) for g, members in scope["GROUPS"].items() for w in members]
    emb = scope["final_embeddings"][[code[w] for w, _ in words]]
    groups = np.array([g for _, g in words])
    cosine = emb @ emb.T / np.outer(np.linalg.norm(emb, axis=1), np.linalg.norm(emb, axis=1))
    same = np.equal.outer(groups, groups)
    np.fill_diagonal(same, False)
    different = ~np.equal.outer(groups, groups)
    np.fill_diagonal(cosine, -np.inf)
    top7 = np.argsort(-cosine, axis=1)[:, :7]
    precision = float(np.mean(groups[top7] == groups[:, None]))
    return cosine[same].mean(), cosine[different].mean(), precision


def test_words_of_a_group_end_up_closer_and_the_loss_goes_down(monkeypatch, capsys):
    monkeypatch.delenv("TEXT_FILE", raising=False)
    scope = _run(monkeypatch, 3001)
    losses = _average_losses(capsys.readouterr().out)
    assert len(losses) == 11 and losses[-1] < 0.8 * losses[0]
    same, different, precision = _group_similarity(scope)
    assert same > different + 0.05
    # 7 of the 47 other group words are of a word's own group: chance is 0.15
    assert precision > 0.3


# -- (c) generate_batch: TF1's skip-gram pairs -----------------------------------------------------
@pytest.fixture
def generate_batch(monkeypatch):
    monkeypatch.delenv("TEXT_FILE", raising=False)
    fn = _run(monkeypatch, 0)["generate_batch"]
    return fn


def _pairs(generate_batch, data, data_index, batch_size, num_skips, skip_window):
    """(centre, sorted labels) for each centre of one batch, and the data_index it leaves."""
    generate_batch.__globals__.update(data=data, data_index=data_index)
    batch, labels = generate_batch(batch_size, num_skips, skip_window)
    assert batch.dtype == labels.dtype == np.int32
    assert batch.shape == (batch_size,) and labels.shape == (batch_size, 1)
    rows = [(int(batch[i]), sorted(int(v) for v in labels[i:i + num_skips, 0]))
            for i in range(0, batch_size, num_skips)]
    assert all(batch[i] == batch[i - i % num_skips] for i in range(batch_size))
    return rows, generate_batch.__globals__["data_index"]


def test_generate_batch_walks_through_data_in_consecutive_batches(generate_batch):
    data = list(range(100, 110))
    # centre words 101, 102, then 103, 104: each with its left and right neighbour
    assert _pairs(generate_batch, data, 0, 4, 2, 1) == (
        [(101, [100, 102]), (102, [101, 103])], 2)
    assert _pairs(generate_batch, data, 2, 4, 2, 1) == (
        [(103, [102, 104]), (104, [103, 105])], 4)
    # the last centre word (108) refills the window from the start: next batch at data_index 0
    assert _pairs(generate_batch, data, 6, 4, 2, 1) == (
        [(107, [106, 108]), (108, [107, 109])], 0)
    # a window that does not fit before the end starts over at the beginning
    assert _pairs(generate_batch, data, 8, 2, 2, 1) == ([(101, [100, 102])], 1)


def test_generate_batch_wraps_around_a_short_data_list(generate_batch):
    data = [40, 41, 42, 43, 44, 45]
    expected = [(41, [40, 42]), (42, [41, 43]), (43, [42, 44]), (44, [43, 45])]
    assert _pairs(generate_batch, data, 0, 8, 2, 1) == (expected, 0)
    # past the end the window restarts at data[0:3], so 41 and 42 come again (45 is never a centre)
    assert _pairs(generate_batch, data, 0, 12, 2, 1) == (expected + expected[:2], 2)


def test_generate_batch_with_a_wider_window(generate_batch):
    data = list(range(200, 208))
    assert _pairs(generate_batch, data, 0, 8, 4, 2) == (
        [(202, [200, 201, 203, 204]), (203, [201, 202, 204, 205])], 2)
    assert _pairs(generate_batch, data, 2, 8, 4, 2) == (
        [(204, [202, 203, 205, 206]), (205, [203, 204, 206, 207])], 0)


def test_generate_batch_samples_fewer_context_words_from_the_window(generate_batch):
    data = list(range(300, 320))
    seen = set()
    for _ in range(20):
        rows, _ = _pairs(generate_batch, data, 0, 4, 1, 2)
        assert [centre for centre, _ in rows] == [302, 303, 304, 305]
        for centre, (label,) in rows:
            assert label in (centre - 2, centre - 1, centre + 1, centre + 2)
            seen.add(label - centre)
    assert seen == {-2, -1, 1, 2}  # random.sample picks any word of the window


def test_generate_batch_checks_its_arguments(generate_batch):
    generate_batch.__globals__.update(data=list(range(10)), data_index=0)
    with pytest.raises(AssertionError):
        generate_batch(5, 2, 1)  # batch_size must be a multiple of num_skips
    with pytest.raises(AssertionError):
        generate_batch(6, 3, 1)  # only 2 * skip_window context words to pick from
