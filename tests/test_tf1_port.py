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


def test_lstm_port_runs_and_prints_a_test_accuracy(tiny_mnist, capsys, monkeypatch):
    monkeypatch.setenv("STEPS", "3")
    source = (PORTS / "lstm_mnist.py").read_text()
    assert "import graphflow as tf" in source and "tf.contrib.rnn.static_rnn(" in source
    with gf.Graph().as_default():
        scope = runpy.run_path(str(PORTS / "lstm_mnist.py"), run_name="__main__")
        # 28 steps of 28 pixels into a 128-unit BasicLSTMCell: TF1's kernel is [28 + 128, 4 * 128]
        shapes = sorted(tuple(v.shape) for v in gf.trainable_variables())
    assert shapes == [(10,), (128, 10), (156, 512), (512,)]
    out = capsys.readouterr().out
    assert out.count("Minibatch Loss=") == 3 and "Testing Accuracy:" in out
    assert 0.0 <= scope["test_accuracy"] <= 1.0
    assert float(out.split("Testing Accuracy:")[1]) == pytest.approx(scope["test_accuracy"])


def test_autoencoder_loss_goes_down(tiny_mnist, capsys, monkeypatch):
    monkeypatch.setenv("STEPS", "60")
    with gf.Graph().as_default():
        scope = runpy.run_path(str(PORTS / "autoencoder_rmsprop.py"), run_name="__main__")
    assert scope["test_loss"] < scope["first"]


def test_variable_scopes_gan_shares_the_discriminator(capsys, monkeypatch):
    monkeypatch.setenv("STEPS", "20")
    source = (PORTS / "variable_scopes.py").read_text()
    assert "import graphflow as tf" in source and "graphflow." not in source
    with gf.Graph().as_default() as graph:
        scope = runpy.run_path(str(PORTS / "variable_scopes.py"), run_name="__main__")
        names = [v.op.name for v in gf.trainable_variables()]
        # applied twice, the discriminator's four variables exist once each
        assert [n for n in names if n.startswith("discriminator/")] == [
            "discriminator/hidden/kernel", "discriminator/hidden/bias",
            "discriminator/logit/kernel", "discriminator/logit/bias"]
        assert scope["d_fake"].op.name.startswith("discriminator_1/logit/")
        assert sorted(v.op.name for v in scope["g_vars"]) == [
            "generator/hidden/b", "generator/hidden/w", "generator/out/b", "generator/out/w"]
    assert graph is not gf.get_default_graph()
    assert "generated mean" in capsys.readouterr().out


def test_mnist_with_summaries_writes_tensorboard_files(tiny_mnist, tmp_path, monkeypatch,
                                                       capsys):
    """TF1's summaries tutorial: merge_all and two FileWriters, read back with TensorBoard's
    own reader: the scalars at their steps, histograms, input images and the graph."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    script = PORTS / "mnist_with_summaries.py"
    assert "import graphflow as tf" in script.read_text()
    logs = tmp_path / "logs"
    monkeypatch.setattr("sys.argv", [str(script), "--log_dir", str(logs)])
    with gf.Graph().as_default(), pytest.raises(SystemExit) as exited:
        runpy.run_path(str(script), run_name="__main__")  # tf.app.run exits, as in TF1
    assert exited.value.code in (0, None)
    assert "Accuracy at step 10" in capsys.readouterr().out
    sizes = {k: 0 for k in ea.DEFAULT_SIZE_GUIDANCE}
    test, train = (ea.EventAccumulator(str(logs / part), size_guidance=sizes).Reload()
                   for part in ("test", "train"))
    assert [e.step for e in test.Scalars("accuracy_1")] == [0, 10]
    assert all(0 <= e.value <= 1 for e in test.Scalars("accuracy_1"))
    assert [e.step for e in train.Scalars("cross_entropy_1")] == list(range(1, 10)) + [11]
    assert "layer1/weights/summaries/histogram" in train.Tags()["histograms"]
    assert "input_reshape/input/image/0" in test.Tags()["images"]
    assert any(n.name.startswith("layer1/Wx_plus_b/") and n.op == "MatMul"
               for n in train.Graph().node)


def test_data_pipeline_port_trains_from_an_iterator_and_reads_the_whole_test_set(tiny_mnist,
                                                                                 capsys):
    source = (PORTS / "data_pipeline.py").read_text()
    assert "import graphflow as tf" in source and "feed_dict=" not in source
    with gf.Graph().as_default():
        scope = runpy.run_path(str(PORTS / "data_pipeline.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("Minibatch Loss=") == 12  # step 1 and every 12 // 10 = 1 steps
    assert scope["seen"] == 40  # every test image once: 40 in one batch of up to 1000
    assert 0.0 <= scope["test_accuracy"] <= 1.0
