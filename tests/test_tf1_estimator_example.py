"""examples/tf1_port/estimator_mnist.py runs on tiny IDX files and evaluates what it trained."""

import pathlib
import runpy

import numpy as np
import pytest
from test_mnist import write_idx_dir

import graphflow as gf

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "examples" / "tf1_port" / \
    "estimator_mnist.py"


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    write_idx_dir(tmp_path / "data", n_train=5400, n_test=40)  # read_data_sets keeps 5000 aside
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "model"))
    monkeypatch.setenv("STEPS", "6")
    return tmp_path


def test_estimator_example_trains_and_evaluates(tiny_mnist, capsys):
    source = SCRIPT.read_text()
    assert "import graphflow as tf" in source and "graphflow." not in source.replace(
        "graphflow.examples.tutorials.mnist", "")  # written as a TF1 user writes it
    scope = runpy.run_path(str(SCRIPT), run_name="__main__")
    result = scope["eval_result"]
    assert result["global_step"] == 6
    # the accuracy is that of the saved model's predictions on the 40 test images
    test = scope["mnist"].test
    predicted = [p["classes"] for p in scope["classifier"].predict(
        gf.estimator.inputs.numpy_input_fn({"images": test.images}, shuffle=False))]
    assert result["accuracy"] == pytest.approx(np.mean(np.array(predicted) == test.labels))
    assert sorted(result) == ["accuracy", "global_step", "loss"]
    assert f"Test accuracy: {result['accuracy']:0.3f}" in capsys.readouterr().out
    checkpoints = sorted(p.name for p in (tiny_mnist / "model").glob("model.ckpt-*.npz"))
    assert checkpoints == ["model.ckpt-0.npz", "model.ckpt-3.npz", "model.ckpt-6.npz"]
