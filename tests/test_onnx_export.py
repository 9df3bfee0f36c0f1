"""gf.onnx.export as a whole: the MNIST MLP's inference graph in ONNX Runtime equal to graphflow
on batches of several sizes, names, variables' current values, opsets, fixed shapes, and the
errors that write no file (a training op, a random op, an op with no ONNX rule, a placeholder
missing from inputs, an unknown size without dynamic_batch)."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx_support import check_onnx

import graphflow as gf
from compiler import REGISTRY
from compiler.opdef import OpDef, register
from compiler.ops.core import apply


def mlp(rng, dtype=np.float32):
    """TF1's sigmoid(W2 relu(X W1 + b1) + b2) with random weights: (x, output)."""
    x = gf.placeholder(dtype, [None, 784], name="x")
    w1 = gf.Variable(rng.standard_normal((784, 64)).astype(dtype) * 0.05, name="w1")
    b1 = gf.Variable(rng.standard_normal(64).astype(dtype) * 0.1, name="b1")
    w2 = gf.Variable(rng.standard_normal((64, 10)).astype(dtype) * 0.1, name="w2")
    b2 = gf.Variable(rng.standard_normal(10).astype(dtype) * 0.1, name="b2")
    hidden = gf.nn.relu(gf.matmul(x, w1) + b1)
    return x, gf.nn.sigmoid(gf.add(gf.matmul(hidden, w2), b2, name="logits"), name="probs")


def run_onnx(path, **feeds):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_mnist_mlp_runs_in_onnx_runtime_on_any_batch_size(tmp_path, dtype):
    rng = np.random.default_rng(0)
    x, probs = mlp(rng, dtype)
    sess = gf.Session()
    path = tmp_path / "mlp.onnx"
    model = gf.onnx.export(sess, x, probs, path)
    onnx.checker.check_model(onnx.load(str(path)))
    assert [i.name for i in model.graph.input] == ["x"]
    assert [o.name for o in model.graph.output] == ["probs"]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    tol = 1e-5 if dtype == np.float32 else 1e-10
    for batch in (1, 5, 33):
        images = rng.random((batch, 784)).astype(dtype)
        (got,) = run_onnx(path, x=images)
        np.testing.assert_allclose(got, sess.run(probs, {x: images}), rtol=tol, atol=tol)
        assert got.dtype == dtype


def test_variables_are_exported_with_the_sessions_current_values(tmp_path):
    x = gf.placeholder(gf.float64, [None, 2], name="x")
    w = gf.Variable(np.ones((2, 1)), name="w")
    y = gf.matmul(x, w, name="y")
    sess = gf.Session()
    sess.run(w.assign(np.array([[2.0], [-3.0]])))
    gf.onnx.export(sess, [x], [y], tmp_path / "m.onnx")
    (got,) = run_onnx(tmp_path / "m.onnx", x=np.array([[1.0, 1.0]]))
    assert got.tolist() == [[-1.0]]  # the assigned weights, not the initial ones
    fresh = gf.Session()  # never run: the initial value is taken
    gf.onnx.export(fresh, [x], [y], tmp_path / "f.onnx")
    assert run_onnx(tmp_path / "f.onnx", x=np.array([[1.0, 1.0]]))[0].tolist() == [[2.0]]


def test_outputs_keep_their_names_through_the_passes(tmp_path):
    a = gf.placeholder(gf.float32, [None, 3], name="a")
    first = gf.add(a, 1.0, name="first")
    twin = gf.add(a, 1.0, name="twin")  # CSE merges it with `first`
    same = gf.identity(a, name="same")  # an output that is an input
    model = gf.onnx.export(gf.Session(), [a], [first, twin, same], tmp_path / "m.onnx")
    assert [o.name for o in model.graph.output] == ["first", "twin", "same"]
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    got = run_onnx(tmp_path / "m.onnx", a=data)
    for value in got[:2]:
        np.testing.assert_array_equal(value, data + 1)
    np.testing.assert_array_equal(got[2], data)


def test_fixed_shapes_without_dynamic_batch_and_opset_13(tmp_path):
    x = gf.placeholder(gf.float32, [4, 3], name="x")
    y = gf.nn.softmax(x * 2.0, name="y")
    model = gf.onnx.export(gf.Session(), x, y, tmp_path / "m.onnx", opset=13,
                           dynamic_batch=False)
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [4, 3]
    assert model.opset_import[0].version == 13
    check_onnx(tmp_path, lambda v: gf.nn.softmax(v * 2.0), [np.ones((4, 3), np.float32)],
               opset=13)
    with pytest.raises(ValueError, match="opset 12"):
        gf.onnx.export(gf.Session(), x, y, tmp_path / "old.onnx", opset=12)


def test_an_unknown_size_needs_dynamic_batch(tmp_path):
    x = gf.placeholder(gf.float32, [None, 3], name="images")
    with pytest.raises(gf.onnx.ExportError, match="'images'.*dynamic_batch=False"):
        gf.onnx.export(gf.Session(), x, gf.nn.relu(x), tmp_path / "m.onnx", dynamic_batch=False)
    assert not (tmp_path / "m.onnx").exists()


@pytest.fixture
def unlowered_op():
    """A test-only op no backend table knows, unregistered afterwards."""
    op = register(OpDef("test_onnx_unlowered", infer=lambda inputs: (inputs[0].shape,
                                                                    inputs[0].dtype),
                        kernel=lambda x: np.array(x)))
    try:
        yield lambda x: apply(op, [x], "mystery")
    finally:
        del REGISTRY[op.name]


def test_an_op_without_an_onnx_rule_is_named_with_its_site(tmp_path, unlowered_op):
    x = gf.placeholder(gf.float32, [None, 3], name="x")
    y = unlowered_op(gf.nn.relu(x))
    with pytest.raises(gf.onnx.ExportError,
                       match=r"no rule for op 'test_onnx_unlowered'.*'mystery' \(test_onnx_export"):
        gf.onnx.export(gf.Session(), x, y, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("make, match", [
    (lambda x, w: w.assign_add(gf.reduce_sum(x, 0)), "changes a variable"),
    (lambda x, w: x + gf.random_uniform([3]), "stateful op"),
    (lambda x, w: gf.train.GradientDescentOptimizer(0.1).minimize(gf.reduce_sum(x * w)),
     "must be tensors"),
], ids=["assign", "random", "train-op"])
def test_training_and_random_ops_are_refused(tmp_path, make, match):
    x = gf.placeholder(gf.float32, [None, 3], name="x")
    w = gf.Variable(np.ones(3, np.float32), name="w")
    with pytest.raises(gf.onnx.ExportError, match=match):
        gf.onnx.export(gf.Session(), x, make(x, w), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_a_placeholder_missing_from_inputs_is_named(tmp_path):
    x = gf.placeholder(gf.float32, [None, 3], name="x")
    keep = gf.placeholder(gf.float32, [], name="keep_prob")
    with pytest.raises(gf.onnx.ExportError, match="'keep_prob'.*not in `inputs`"):
        gf.onnx.export(gf.Session(), x, x * keep, tmp_path / "m.onnx")
    with pytest.raises(gf.onnx.ExportError, match="inputs must be placeholders"):
        gf.onnx.export(gf.Session(), [x * 2.0], [x * 3.0], tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
