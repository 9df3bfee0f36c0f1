"""ONNX rules of the reduction family (compiler/backends/onnx/reduce.py): every reduction over
axes None/one/several/negative/() with and without keepdims at opsets 13, 17 and 18, integer
dtypes (with the int64 detour for those ONNX Runtime lacks), NaN propagation of max/min/argmax/
argmin, ties, add_n and reduction_size on a dynamic batch; each against the graphflow session."""

import numpy as np
import onnx
import pytest
from onnx_support import check_onnx

import graphflow as gf
from compiler.ops.core import apply
from compiler.ops.reduce import REDUCTION_SIZE

REDUCTIONS = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod"]
FLOATS = [np.float32, np.float64]


def op_types(tmp_path):
    return {n.op_type for n in onnx.load(str(tmp_path / "model.onnx")).graph.node}


def data(dtype, shape=(3, 4, 5), seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.uniform(0.5, 1.5, shape).astype(dtype)  # products stay moderate
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) < 0.5
    return rng.integers(-3, 4, shape).astype(dtype)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 1, (0, 2), -1, ()], ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", REDUCTIONS)
def test_float_reductions(tmp_path, op, dtype, axis, keepdims):
    fn = getattr(gf, op)
    check_onnx(tmp_path, lambda x: fn(x, axis, keepdims=keepdims), [data(dtype)])


@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("op", REDUCTIONS)
def test_reductions_at_other_opsets(tmp_path, op, opset):
    fn = getattr(gf, op)
    check_onnx(tmp_path, lambda x: [fn(x, (1, 2)), fn(x, keepdims=True), fn(x, -1)],
               [data(np.float64)], opset=opset)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8, np.uint16])
@pytest.mark.parametrize("op", ["reduce_sum", "reduce_prod", "reduce_max", "reduce_min"])
def test_integer_reductions_keep_their_dtype(tmp_path, op, dtype):
    fn = getattr(gf, op)
    x = data(dtype)
    if op == "reduce_sum" and dtype == np.int8:
        x = np.full((3, 40, 2), 100, np.int8)  # sums past 127 wrap, as numpy's int8 sum does
    check_onnx(tmp_path, lambda v: [fn(v, 1), fn(v, None, keepdims=True)], [x])


@pytest.mark.parametrize("op", ["reduce_max", "reduce_min"])
def test_bool_max_and_min(tmp_path, op):
    fn = getattr(gf, op)
    x = np.array([[True, False], [False, False], [True, True]])
    check_onnx(tmp_path, lambda v: [fn(v, 1), fn(v, 0)], [x])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", ["reduce_max", "reduce_min"])
def test_max_and_min_propagate_nan_as_numpy(tmp_path, op, dtype):
    fn = getattr(gf, op)
    x = np.array([[1, np.nan, 3], [2, 5, -np.inf], [np.nan, np.nan, 0]], dtype)
    got = check_onnx(tmp_path, lambda v: [fn(v, 1), fn(v, 0, keepdims=True)], [x])
    assert np.isnan(got[0][[0, 2]]).all()


@pytest.mark.parametrize("dtype", FLOATS + [np.int32, np.int64, np.int16, np.bool_])
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg_reductions_take_the_first_of_ties(tmp_path, op, dtype):
    fn = getattr(gf, op)
    x = np.array([[1, 0, 1, 0], [3, 3, 2, 2], [0, 0, 0, 0]]).astype(dtype)
    got = check_onnx(tmp_path, lambda v: [fn(v, 1), fn(v, 0), fn(v, -1)], [x])
    assert got[0].dtype == np.int64


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg_reductions_pick_the_first_nan_as_numpy(tmp_path, op, dtype):
    fn = getattr(gf, op)
    x = np.array([[1, np.nan, 3, np.nan], [2, 5, -np.inf, 0], [7, 7, 1, np.nan]], dtype)
    got = check_onnx(tmp_path, lambda v: [fn(v, 1), fn(v, 0)], [x])
    assert got[0].tolist()[0] == 1
    assert {"IsNaN", "Where"} <= op_types(tmp_path)


@pytest.mark.parametrize("opset", [13, 17, 18])
def test_arg_reductions_output_type_and_opsets(tmp_path, opset):
    x = data(np.float32)
    got = check_onnx(tmp_path, lambda v: [gf.argmin(v, 2, output_type=gf.int32),
                                          gf.argmax(v, 1, output_type=gf.int64)],
                     [x], opset=opset)
    assert [g.dtype for g in got] == [np.int32, np.int64]


@pytest.mark.parametrize("dtype", FLOATS + [np.int32, np.int64, np.int8, np.bool_])
def test_add_n_adds_left_to_right(tmp_path, dtype):
    xs = [data(dtype, (3, 4), seed) for seed in range(3)]
    check_onnx(tmp_path, lambda a, b, c: [gf.add_n([a, b, c]), gf.add_n([a, c])], xs)
    assert ("Or" if dtype == np.bool_ else "Add") in op_types(tmp_path)


@pytest.mark.parametrize("dtype", FLOATS + [np.int32])
@pytest.mark.parametrize("axis", [None, (0,), (0, 2), (1,), ()], ids=str)
def test_reduction_size_reads_the_run_time_shape(tmp_path, dtype, axis):
    got = check_onnx(tmp_path, lambda x: apply(REDUCTION_SIZE, [x], axis=axis) * x,
                     [data(dtype)])
    assert got[0].dtype == dtype


def test_reduction_size_survives_to_the_model(tmp_path):
    check_onnx(tmp_path, lambda x: apply(REDUCTION_SIZE, [x], axis=(0, 2)) + x,
               [data(np.float64)])
    assert {"Shape", "Gather", "ReduceProd"} <= op_types(tmp_path)

