"""ONNX export of the indexing family (compiler/backends/onnx/indexing.py): basic indexing on a
dynamic batch (negative ints, steps both ways, None, Ellipsis, bounds out of range), one_hot's
all-off rows for out-of-range and negative indices, pad with a constant, gather with negative
indices: ONNX Runtime equal to the graphflow session."""

import numpy as np
import onnx
import pytest
from onnx_support import check_onnx

import graphflow as gf

FLOATS = [np.float32, np.float64]
INTS = [np.int32, np.int64]


def op_types(tmp_path) -> set:
    return {n.op_type for n in onnx.load(str(tmp_path / "model.onnx")).graph.node}


INDEXES = [
    (0,), (-1,), (slice(1, None),), (slice(None, None, -1),), (slice(-2, None, -1),),
    (slice(None), 2), (slice(None), -1), (Ellipsis, 1), (None, Ellipsis, None),
    (slice(None), slice(None, None, 2), slice(3, 0, -2)), (slice(1, 3), None, -2, slice(None)),
    (slice(None), slice(-100, 100), slice(None, None, -3)), (slice(None), slice(-100, None, -1)),
    (slice(None), slice(5, 1, 1), 0), (Ellipsis,), (0, 1, 2),
]


@pytest.mark.parametrize("index", INDEXES, ids=repr)
@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_getitem_on_a_dynamic_batch(tmp_path, index, dtype):
    x = (np.arange(3 * 4 * 5) - 20).reshape(3, 4, 5).astype(dtype)
    check_onnx(tmp_path, lambda t: t[index], [x])
    assert op_types(tmp_path) & {"Slice", "Unsqueeze", "Identity"}


@pytest.mark.parametrize("index", [(slice(-3, None, -1),), (slice(-2, 0, -1),),
                                   (slice(-1, -4, -1),), (slice(None, -3, -1),)], ids=repr)
def test_a_negative_start_stepping_back_before_the_batch_is_empty(tmp_path, index):
    """Python's x[-3::-1] on 2 rows is empty (ONNX's clamping would give row 0): the batch size
    is known at run time only, so the bounds are computed there; run on 2 rows, then 3."""
    check_onnx(tmp_path, lambda t: t[index], [np.arange(8.0).reshape(2, 4)])


def test_getitem_with_a_fixed_shape_normalizes_the_bounds(tmp_path):
    x = np.arange(12.0).reshape(3, 4)
    check_onnx(tmp_path, lambda t: t[-10::-1, -1:-10:-2], [x], dynamic=[False])
    check_onnx(tmp_path, lambda t: t[1::-1, None, 3], [x], dynamic=[False])


@pytest.mark.parametrize("dtype", INTS + [np.int8, np.uint8])
@pytest.mark.parametrize("out", [np.float32, np.float64, np.int32, np.int64, np.bool_])
def test_one_hot_out_of_range_and_negative_indices_are_all_off_rows(tmp_path, dtype, out):
    signed = np.dtype(dtype).kind == "i"
    indices = np.array([[0, 3, 4], [2, 9, 1], [-1 if signed else 200, 1, -4 if signed else 5]],
                       dtype)
    check_onnx(tmp_path, lambda t: gf.one_hot(t, 4, dtype=out), [indices])
    assert "OneHot" not in op_types(tmp_path)


def test_one_hot_of_depth_zero_and_of_a_scalar(tmp_path):
    check_onnx(tmp_path, lambda t: gf.one_hot(t, 0), [np.array([1, -1], np.int64)])
    check_onnx(tmp_path, lambda t: gf.one_hot(t, 3, dtype=gf.float64), [np.array(2, np.int32)])


@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_pad_with_a_constant(tmp_path, dtype):
    x = np.arange(24).reshape(2, 3, 4).astype(dtype)
    check_onnx(tmp_path, lambda t: gf.pad(t, [[1, 0], [0, 2], [3, 1]], constant_values=-7), [x])
    check_onnx(tmp_path, lambda t: gf.pad(t, [[0, 0], [1, 1], [0, 0]]), [x])
    assert "Pad" in op_types(tmp_path)


@pytest.mark.parametrize("dtype", FLOATS)
def test_pad_with_minus_infinity(tmp_path, dtype):
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(dtype)
    check_onnx(tmp_path, lambda t: gf.pad(t, [[0, 1], [2, 2]], constant_values=-np.inf), [x])


def test_pad_of_booleans(tmp_path):
    x = np.array([[True, False], [False, True]])
    check_onnx(tmp_path, lambda t: gf.pad(t, [[1, 0], [0, 1]], constant_values=1), [x])


@pytest.mark.parametrize("index_dtype", INTS)
@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_gather_with_negative_indices_on_each_axis(tmp_path, dtype, index_dtype):
    params = np.arange(3 * 4 * 5).reshape(3, 4, 5).astype(dtype)
    indices = np.array([[0, -1], [3, -4]], index_dtype)
    for axis in (1, -1, 2):
        check_onnx(tmp_path, lambda p, i, a=axis: gf.gather(p, i, axis=a), [params, indices],
                   dynamic=[True, False])
    check_onnx(tmp_path, lambda p, i: gf.gather(p, i), [params, np.array([2, -3, 0], index_dtype)],
               dynamic=[False, True])
    assert "Gather" in op_types(tmp_path)


def test_gather_of_a_scalar_index(tmp_path):
    check_onnx(tmp_path, lambda p, i: gf.gather(p, i, axis=1),
               [np.arange(6.0).reshape(2, 3), np.array(-1, np.int64)])
