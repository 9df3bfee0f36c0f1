"""ONNX rules of the shape, array and generate families (compiler/backends/onnx/shape.py and
array.py): reshape, reshape_like, transpose, expand_dims, squeeze, concat, broadcast_to/like,
stack, unstack, split, tile, shape, size, rank, fill and range, each on a dynamic batch where
the op allows one (run again on a batch of another size), against the graphflow session."""

import numpy as np
import onnx
import pytest
from onnx_support import check_onnx

import graphflow as gf
from compiler.ops.shape import broadcast_like, reshape_like

FLOATS = [np.float32, np.float64]
DTYPES = FLOATS + [np.int32, np.int64]


def op_types(tmp_path):
    return {n.op_type for n in onnx.load(str(tmp_path / "model.onnx")).graph.node}


def data(dtype, shape=(3, 4, 5), seed=0):
    values = np.random.default_rng(seed).standard_normal(shape) * 5
    return values.astype(dtype)


# -- shape family ----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(-1, 20), (-1, 2, 10), (-1,), (-1, 4, 5, 1)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_reshape_keeps_the_batch_dynamic(tmp_path, dtype, shape):
    check_onnx(tmp_path, lambda x: gf.reshape(x, shape), [data(dtype)])
    assert "Reshape" in op_types(tmp_path)


@pytest.mark.parametrize("opset", [13, 17])
def test_reshape_to_a_shape_holding_a_zero(tmp_path, opset):
    got = check_onnx(tmp_path, lambda x: gf.reshape(x, (0, 5)), [np.zeros((3, 0, 2), np.float32)],
                     opset=opset)
    assert got[0].shape == (0, 5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_reshape_like_reads_the_run_time_shape(tmp_path, dtype):
    check_onnx(tmp_path, lambda x, like: reshape_like(x, like),
               [data(dtype, (3, 20)), data(np.float32, (3, 4, 5))])
    assert "Reshape" in op_types(tmp_path)


@pytest.mark.parametrize("perm", [None, (1, 0, 2), (2, 0, 1)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_transpose(tmp_path, dtype, perm):
    check_onnx(tmp_path, lambda x: gf.transpose(x, perm), [data(dtype)])


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("axis", [0, 1, -1, (1, 3), (-1, 0)], ids=str)
def test_expand_dims(tmp_path, axis, opset):
    check_onnx(tmp_path, lambda x: gf.expand_dims(x, axis), [data(np.float64)], opset=opset)
    assert "Unsqueeze" in op_types(tmp_path)


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("axis", [1, -1, (1, 3)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_squeeze(tmp_path, dtype, axis, opset):
    check_onnx(tmp_path, lambda x: gf.squeeze(x, axis), [data(dtype, (2, 1, 3, 1))], opset=opset)
    assert "Squeeze" in op_types(tmp_path)


@pytest.mark.parametrize("opset", [13, 17])
def test_squeeze_of_every_size_one_axis(tmp_path, opset):
    # Which sizes are 1 is known at run time only (the result's rank is unknown): reshaped to a
    # known rank, since export cannot declare an output of unknown rank.
    check_onnx(tmp_path, lambda x: gf.reshape(gf.squeeze(x), (-1, 3)),
               [data(np.float64, (2, 1, 3, 1))], opset=opset)
    assert "Squeeze" in op_types(tmp_path)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("dtype", DTYPES)
def test_concat(tmp_path, dtype, axis):
    xs = [data(dtype, (3, 4), seed) for seed in range(3)]
    check_onnx(tmp_path, lambda a, b, c: gf.concat([a, b, c], axis), xs)


@pytest.mark.parametrize("shapes", [((1, 3), (4, 3)), ((3,), (2, 3)), ((2, 1, 3), (2, 4, 3))],
                         ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_to_a_static_shape(tmp_path, dtype, shapes):
    source, target = shapes
    check_onnx(tmp_path, lambda x: gf.broadcast_to(x, target), [data(dtype, source)],
               dynamic=[False])
    assert "Expand" in op_types(tmp_path)


@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_like_reads_the_run_time_shape(tmp_path, dtype):
    check_onnx(tmp_path, lambda x, like: broadcast_like(x, like),
               [data(dtype, (1, 4)), data(np.float32, (3, 4))], dynamic=[False, True])
    assert "Expand" in op_types(tmp_path)


# -- array family ----------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2, -1])
@pytest.mark.parametrize("dtype", DTYPES)
def test_stack(tmp_path, dtype, axis):
    xs = [data(dtype, (3, 4), seed) for seed in range(3)]
    check_onnx(tmp_path, lambda a, b, c: gf.stack([a, b, c], axis), xs)


@pytest.mark.parametrize("axis", [1, -1])
@pytest.mark.parametrize("dtype", DTYPES)
def test_unstack(tmp_path, dtype, axis):
    got = check_onnx(tmp_path, lambda x: gf.unstack(x, axis=axis), [data(dtype, (3, 2, 4))])
    assert got[0].ndim == 2


def test_unstack_of_the_batch_axis(tmp_path):
    check_onnx(tmp_path, lambda x: gf.unstack(x, num=3), [data(np.float64, (3, 2))],
               other_batch=False)  # num fixes the batch size


@pytest.mark.parametrize("splits", [3, [1, 2, 3], [1, -1, 2], [-1, 4], [2, -1], [0, -1, 0]],
                         ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_split_of_a_static_axis(tmp_path, dtype, splits):
    check_onnx(tmp_path, lambda x: gf.split(x, splits, axis=1), [data(dtype, (2, 6))])


@pytest.mark.parametrize("splits", [[1, -1, 2], [-1, 1], [2, -1], [1, 2, -1, 0]], ids=str)
def test_split_of_the_dynamic_axis_with_a_rest(tmp_path, splits):
    got = check_onnx(tmp_path, lambda x: gf.split(x, splits, axis=0), [data(np.float32, (5, 3))])
    assert sum(g.shape[0] for g in got) == 6  # the run on a batch of 6


@pytest.mark.parametrize("dtype", [np.float64, np.int32])
def test_split_of_the_dynamic_axis_into_equal_parts(tmp_path, dtype):
    # Twice the batch along axis 0: even for the batch of another size too.
    got = check_onnx(tmp_path, lambda x: gf.split(gf.concat([x, x], 0), 2, axis=0),
                     [data(dtype, (2, 3))])
    assert [g.shape for g in got] == [(3, 3), (3, 3)]
    assert "Div" in op_types(tmp_path)


@pytest.mark.parametrize("multiples", [(2, 3), (1, 1), (3, 0)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_tile(tmp_path, dtype, multiples):
    check_onnx(tmp_path, lambda x: gf.tile(x, multiples), [data(dtype, (2, 3))])


@pytest.mark.parametrize("out_type", [gf.int32, gf.int64])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_shape_and_size_of_a_dynamic_batch(tmp_path, dtype, out_type):
    got = check_onnx(tmp_path, lambda x: [gf.shape(x, out_type=out_type),
                                          gf.size(x, out_type=out_type)], [data(dtype)])
    assert [g.dtype for g in got] == [np.dtype(out_type)] * 2
    assert {"Shape", "Size"} <= op_types(tmp_path)


@pytest.mark.parametrize("shape", [(3,), (3, 4, 5)], ids=str)
def test_rank_is_int32(tmp_path, shape):
    got = check_onnx(tmp_path, lambda x: gf.rank(x) + gf.size(x), [data(np.float64, shape)])
    assert got[0].dtype == np.int32


# -- generate family -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES + [np.bool_])
def test_fill_to_a_run_time_shape(tmp_path, dtype):
    value = np.asarray(3, dtype)
    check_onnx(tmp_path, lambda x, v: [gf.fill(gf.shape(x), v),
                                       gf.fill(gf.shape(x, out_type=gf.int64), v),
                                       gf.fill([gf.shape(x)[1], gf.shape(x)[0]], v)],
               [data(np.float32, (3, 4)), value])
    assert "Expand" in op_types(tmp_path)


@pytest.mark.parametrize("args", [(0, 10, 3), (5, -4, -2), (2, 2, 1), (-3, 7, 1)], ids=str)
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_range_of_integers(tmp_path, dtype, args):
    check_onnx(tmp_path, gf.range, [np.asarray(a, dtype) for a in args])


@pytest.mark.parametrize("args", [(0, 0.3, 0.1), (0.1, 100.3, 0.1), (5, -4, -0.7), (1, 1, 0.5),
                                  (-2.5, 3.25, 0.25)], ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
def test_range_of_floats_counts_and_rounds_as_graphflow(tmp_path, dtype, args):
    # float32 (0, 0.3, 0.1): 3 elements in graphflow (and TF1), 4 in ONNX's own Range
    check_onnx(tmp_path, gf.range, [np.asarray(a, dtype) for a in args], rtol=0)
    assert "CumSum" in op_types(tmp_path)
