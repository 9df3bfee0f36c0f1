"""examples/train_mnist.py end to end on tiny IDX files made here (no network)."""

import json
import sys

import example_scripts
import numpy as np
import pytest
from test_mnist import write_idx_dir

import graphflow as gf


def load_example():
    return example_scripts.load_example("train_mnist.py")


@pytest.fixture
def script():
    return load_example()


@pytest.fixture
def data_dir(tmp_path):
    directory = tmp_path / "idx"
    directory.mkdir()
    write_idx_dir(directory, n_train=120, n_test=30)
    return directory


def run(script, data_dir, out, *extra):
    with gf.Graph().as_default():
        return script.main(["--data-dir", str(data_dir), "--out", str(out), "--hidden", "16",
                            "--epochs", "2", "--batch-size", "32", "--quiet", *extra])


@pytest.mark.parametrize("loss, optimizer", [("bce", "adam"), ("mse", "sgd"),
                                             ("softmax", "momentum")])
def test_trains_and_writes_everything(script, data_dir, tmp_path, loss, optimizer, capsys):
    out = tmp_path / "out"
    assert run(script, data_dir, out, "--loss", loss, "--optimizer", optimizer) == 0
    history = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert all(np.isfinite(h["train_loss"]) and 0 <= h["val_accuracy"] <= 1 for h in history)
    assert (out / "metrics.csv").read_text().startswith("epoch,train_loss,val_accuracy")
    for name in ("forward.dot", "backward.dot"):
        assert (out / name).read_text().startswith("digraph")
    with np.load(out / "model.npz") as ckpt:
        assert sorted(ckpt.files) == ["layer1/W1", "layer1/b1", "layer2/W2", "layer2/b2"]
        assert ckpt["layer1/W1"].shape == (784, 16)
    printed = capsys.readouterr().out
    assert "test accuracy" in printed
    assert ("plot:" in printed) or ("plot skipped" in printed)


def test_the_native_backend_trains_to_the_numpy_backends_weights(script, data_dir, tmp_path):
    """--backend native: the same two epochs end at the numpy backend's weights (float32
    rounding apart: one GEMM adds into each weight where numpy scales and subtracts)."""
    for backend in ("numpy", "native"):
        assert run(script, data_dir, tmp_path / backend, "--backend", backend) == 0
    with np.load(tmp_path / "numpy" / "model.npz") as want, \
            np.load(tmp_path / "native" / "model.npz") as got:
        for key in want.files:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-4, atol=1e-5)


def test_trains_without_tqdm_printing_plain_progress(data_dir, tmp_path, monkeypatch, capsys):
    # tqdm is the `train` extra, not a dependency: without it the example still runs.
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm` raise ImportError
    script = load_example()
    with gf.Graph().as_default():
        code = script.main(["--data-dir", str(data_dir), "--out", str(tmp_path / "out"),
                            "--hidden", "16", "--epochs", "2", "--batch-size", "32"])
    assert code == 0
    printed = capsys.readouterr().out
    # 120 examples in batches of 32: 4 batches an epoch, the first one shown with its loss.
    assert "epoch 1/2 batch 1/4 loss " in printed and "epoch 2/2 batch 1/4 loss " in printed
    assert "test accuracy" in printed


def test_loss_goes_down_on_learnable_data(script, tmp_path, capsys):
    # Random images with fixed labels: the net can only memorize them, and must get better at it.
    directory = tmp_path / "idx"
    directory.mkdir()
    write_idx_dir(directory, n_train=300, n_test=50)
    out = tmp_path / "out"
    run(script, directory, out, "--epochs", "3")
    history = json.loads((out / "metrics.json").read_text())
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_non_finite_loss_stops_with_a_message(script, data_dir, tmp_path, capsys):
    code = run(script, data_dir, tmp_path / "out", "--optimizer", "sgd", "--lr", "1e30",
               "--loss", "softmax")
    err = capsys.readouterr().err
    assert code == 1
    assert "epoch 1, step" in err and "lower learning rate" in err
    assert not (tmp_path / "out" / "model.npz").exists()  # no checkpoint of broken weights


def test_ctrl_c_saves_the_checkpoint(script, data_dir, tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    real = gf.data.batches

    def interrupted(*args, **kwargs):
        for batch in real(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
            yield batch
    monkeypatch.setattr(gf.data, "batches", interrupted)
    out = tmp_path / "out"
    assert run(script, data_dir, out) == 0
    assert "interrupted" in capsys.readouterr().out
    assert (out / "model.npz").exists()


@pytest.mark.parametrize("loss, optimizer", [("bce", "adam"), ("mse", "sgd"),
                                             ("softmax", "momentum")])
def test_compare_torch_losses_agree_to_float32_rounding(data_dir, loss, optimizer, capsys):
    module = example_scripts.load_example("compare_torch.py")
    assert module.main(["--data-dir", str(data_dir), "--hidden", "32", "--steps", "6",
                        "--batch-size", "16", "--loss", loss, "--optimizer", optimizer]) == 0
    printed = capsys.readouterr().out
    rel = float(printed.split("first 20 steps ")[1].split(" ")[0])
    assert rel < 1e-5, printed
    assert "examples/s: graphflow" in printed


def test_logdir_writes_tensorboard_scalars_histograms_and_the_graph(script, data_dir, tmp_path):
    """--logdir: read back with TensorBoard's own reader (100 examples, batches of 32: 4 steps
    an epoch, logged at steps 0 and 4; histograms at the end of each epoch)."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    logdir = tmp_path / "logs"
    assert run(script, data_dir, tmp_path / "out", "--logdir", str(logdir)) == 0
    acc = ea.EventAccumulator(str(logdir), size_guidance={k: 0 for k in ea.DEFAULT_SIZE_GUIDANCE})
    acc.Reload()
    assert sorted(acc.Tags()["scalars"]) == ["train/accuracy", "train/loss"]
    losses = acc.Scalars("train/loss")
    assert [e.step for e in losses] == [0, 4]
    assert all(np.isfinite(e.value) and e.value > 0 for e in losses)
    assert all(0 <= e.value <= 1 for e in acc.Scalars("train/accuracy"))
    assert sorted(acc.Tags()["histograms"]) == ["weights/layer1/W1", "weights/layer1/b1",
                                                "weights/layer2/W2", "weights/layer2/b2"]
    w1 = acc.Histograms("weights/layer1/W1")
    assert [e.step for e in w1] == [4, 8] and w1[0].histogram_value.num == 784 * 16
    names = {node.name for node in acc.Graph().node}
    assert {"x", "labels", "layer1/W1", "layer2/W2", "layer2/logits"} <= names


def test_no_logdir_writes_no_event_file(script, data_dir, tmp_path):
    assert run(script, data_dir, tmp_path / "out") == 0
    assert not list(tmp_path.rglob("events.out.tfevents.*"))
