"""examples/export_onnx.py end to end on tiny IDX files made here (no network): it trains the
missing MLP and CNN checkpoints, exports both, and ONNX Runtime's logits on the test images
agree with graphflow's (so do the accuracies)."""

import re

import example_scripts
import onnx
from test_mnist import write_idx_dir

import graphflow as gf


def load_example():
    return example_scripts.load_example("export_onnx.py")


def test_exports_both_nets_and_onnx_runtime_agrees(tmp_path, capsys):
    data = tmp_path / "idx"
    data.mkdir()
    write_idx_dir(data, n_train=64, n_test=30)
    example = load_example()
    with gf.Graph().as_default():
        code = example.main(["--data-dir", str(data), "--mlp", str(tmp_path / "mlp/model.npz"),
                             "--cnn", str(tmp_path / "cnn/model.npz"), "--out",
                             str(tmp_path / "onnx")])
    assert code == 0
    out = capsys.readouterr().out
    assert "missing: training it first" in out
    for name in ("mlp", "cnn"):
        model = onnx.load(str(tmp_path / "onnx" / f"{name}.onnx"))
        onnx.checker.check_model(model)
        assert [i.name for i in model.graph.input] == ["x"]
        line = next(x for x in out.splitlines() if x.startswith(f"{name}: wrote"))
        found = re.search(r"ONNX Runtime ([\d.]+)%, graphflow ([\d.]+)%; largest logit "
                          r"difference ([\d.e+-]+)", line)
        assert found, line
        assert found.group(1) == found.group(2), line  # the same predictions
        assert float(found.group(3)) < 1e-4, line
