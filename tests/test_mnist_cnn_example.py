"""examples/mnist_cnn.py end to end on tiny IDX files made here (no network): it trains, writes
the checkpoint with TF1's variable names, metrics.json with the test accuracy, and the plot."""

import json

import example_scripts
import numpy as np
from test_mnist import write_idx_dir

import graphflow as gf

NAMES = ["conv2d/bias", "conv2d/kernel", "conv2d_1/bias", "conv2d_1/kernel", "dense/bias",
         "dense/kernel", "dense_1/bias", "dense_1/kernel"]


def load_example():
    return example_scripts.load_example("mnist_cnn.py")


def test_trains_and_writes_everything(tmp_path, capsys):
    data = tmp_path / "idx"
    data.mkdir()
    write_idx_dir(data, n_train=64, n_test=20)
    out = tmp_path / "out"
    with gf.Graph().as_default():
        code = load_example().main(["--data-dir", str(data), "--out", str(out), "--epochs", "2",
                                    "--batch-size", "16", "--quiet"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["test_accuracy"] <= 1
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert all(np.isfinite(e["train_loss"]) for e in metrics["epochs"])
    with np.load(out / "model.npz") as ckpt:
        params = sorted(k for k in ckpt.files if not k.startswith(("beta", "Adam", "train")))
        assert [k for k in params if k in NAMES] == NAMES
        assert ckpt["conv2d/kernel"].shape == (5, 5, 1, 32)
        assert ckpt["conv2d_1/kernel"].shape == (5, 5, 32, 64)
        assert ckpt["dense/kernel"].shape == (7 * 7 * 64, 1024)
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and (("plot:" in printed) or ("plot skipped" in printed))


def test_trains_on_the_native_backend_as_on_numpy(tmp_path):
    """--backend native (convolutions, pools and the rest compiled to C) trains to the numpy
    backend's losses, to float32 rounding."""
    data = tmp_path / "idx"
    data.mkdir()
    write_idx_dir(data, n_train=48, n_test=10)
    losses = {}
    for backend in ("numpy", "native"):
        with gf.Graph().as_default():
            result = load_example().train(load_example().parse_args(
                ["--data-dir", str(data), "--out", str(tmp_path / backend), "--epochs", "2",
                 "--batch-size", "16", "--quiet", "--backend", backend]))
        losses[backend] = [e["train_loss"] for e in result["epochs"]]
    np.testing.assert_allclose(losses["native"], losses["numpy"], rtol=1e-4)
