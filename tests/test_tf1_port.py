"""The TF1 tutorial ports in examples/tf1_port run on tiny IDX files (MNIST_DIR, STEPS)."""

import pathlib
import runpy

import pytest
from test_mnist import write_idx_dir

import graphflow as gf

PORTS = pathlib.Path(__file__).resolve().parent.parent / "examples" / "tf1_port"


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    write_idx_dir(tmp_path, n_train=5400, n_test=40)  # read_data_sets keeps 5000 to validate
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    monkeypatch.setenv("STEPS", "12")
    return tmp_path


@pytest.mark.parametrize("script", ["mlp_adam.py", "mlp_dropout_batchnorm.py",
                                    "autoencoder_rmsprop.py"])
def test_port_runs(script, tiny_mnist, capsys):
    source = (PORTS / script).read_text()
    assert "import graphflow as tf" in source and "graphflow." not in source.replace(
        "graphflow.datasets.mnist", "")  # written as a TF1 user writes it
    with gf.Graph().as_default():
        runpy.run_path(str(PORTS / script), run_name="__main__")
    out = capsys.readouterr().out
    assert ("Testing Accuracy" in out or "test accuracy" in out
            or "test reconstruction loss" in out)


def test_autoencoder_loss_goes_down(tiny_mnist, capsys, monkeypatch):
    monkeypatch.setenv("STEPS", "60")
    with gf.Graph().as_default():
        scope = runpy.run_path(str(PORTS / "autoencoder_rmsprop.py"), run_name="__main__")
    assert scope["test_loss"] < scope["first"]
