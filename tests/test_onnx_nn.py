"""ONNX export of the nn and linalg families: matmul with numpy's semantics (1-D operands, broadcast
batches, integer and bool dtypes), the activations on saturating and special values, softmax and
log_softmax along every axis, and the stable softplus and sigmoid cross-entropy, compared with the
graphflow session in ONNX Runtime (tests/onnx_support.py)."""

import numpy as np
import pytest
from onnx_support import check_onnx

import graphflow as gf

FLOATS = [np.float32, np.float64]
EXTREMES = [0.0, -0.0, 1e-8, -1e-8, 0.5, -3.0, 20.0, -20.0, 40.0, -40.0, 100.0, -100.0, 750.0,
            -750.0, np.inf, -np.inf, np.nan]


def extremes(dtype):
    with np.errstate(over="ignore"):  # 750 is a finite float32 value; the others fit
        return np.array(EXTREMES).astype(dtype)


def randn(rng, dtype, shape):
    return rng.standard_normal(shape).astype(dtype)


# (shape of a, shape of b, whether each is dynamic in dimension 0)
MATMUL_SHAPES = [((3, 4), (4, 5), [True, False]), ((4,), (4, 5), [False, False]),
                 ((3, 4), (4,), [True, False]), ((4,), (4,), [False, False]),
                 ((2, 3, 4), (4, 5), [True, False]), ((2, 1, 3, 4), (5, 4, 6), [True, False]),
                 ((3, 4), (2, 4, 5), [False, True]), ((2, 3, 4), (4,), [True, False]),
                 ((4,), (2, 4, 5), [False, True]), ((2, 3, 4), (2, 4, 5), None)]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_matmul_has_numpys_semantics(tmp_path, shapes, dtype):
    rng = np.random.default_rng(0)
    sa, sb, dynamic = shapes
    check_onnx(tmp_path, gf.matmul, [randn(rng, dtype, sa), randn(rng, dtype, sb)], dynamic)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8, np.uint8, np.int16, np.uint16,
                                   np.bool_])
@pytest.mark.parametrize("shapes", [MATMUL_SHAPES[0], MATMUL_SHAPES[5], MATMUL_SHAPES[3]])
def test_matmul_of_integers_and_bools(tmp_path, dtype, shapes):
    """Small integers wrap around as numpy's do; bools give "any of the ands"."""
    rng = np.random.default_rng(1)
    sa, sb, dynamic = shapes
    if dtype == np.bool_:
        a, b = rng.random(sa) < 0.3, rng.random(sb) < 0.3
    else:
        info = np.iinfo(dtype)
        low, high = (-50, 51) if info.bits >= 32 else (info.min, info.max + 1)
        a, b = (rng.integers(low, high, s).astype(dtype) for s in (sa, sb))
    check_onnx(tmp_path, gf.matmul, [a, b], dynamic)


@pytest.mark.parametrize("op", ["relu", "sigmoid", "tanh", "softplus"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_activations(tmp_path, op, dtype):
    fn = getattr(gf.nn, op)
    check_onnx(tmp_path, fn, [randn(np.random.default_rng(2), dtype, (5, 6))])
    check_onnx(tmp_path, fn, [extremes(dtype)])
    check_onnx(tmp_path, fn, [dtype(-1.5)])  # 0-d


@pytest.mark.parametrize("dtype", FLOATS)
def test_softplus_keeps_its_relative_accuracy_in_the_tail(tmp_path, dtype):
    """For very negative x softplus(x) ~ exp(x) is tiny: log(1 + t) would lose its digits."""
    x = -np.geomspace(20, 700 if dtype == np.float64 else 80, 25).astype(dtype)
    (got,) = check_onnx(tmp_path, gf.nn.softplus, [x], other_batch=False)
    want = np.log1p(np.exp(x.astype(np.float64)))
    np.testing.assert_allclose(got, want.astype(dtype), rtol=8 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [-1, 0, 1, 2, -2, -3])
@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_along_any_axis(tmp_path, op, axis, dtype):
    x = randn(np.random.default_rng(3), dtype, (3, 4, 5)) * 5
    x[0, 0, 0], x[1, 1, 1] = 500, -np.inf  # shifted by the max: no overflow; exp(-inf) = 0
    check_onnx(tmp_path, lambda a: getattr(gf.nn, op)(a, axis=axis), [x])


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_of_a_vector_and_at_opset_13(tmp_path, op):
    x = randn(np.random.default_rng(4), np.float64, (2, 7))
    check_onnx(tmp_path, lambda a: getattr(gf.nn, op)(a, axis=0), [x[0]], [False], opset=13)
    check_onnx(tmp_path, lambda a: getattr(gf.nn, op)(a, axis=1), [x], opset=13)


@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_cross_entropy_with_logits(tmp_path, dtype):
    rng = np.random.default_rng(5)
    labels = rng.random((4, 17)).astype(dtype)
    logits = np.tile(extremes(dtype), (4, 1))
    logits[:, -1] = 2.0  # no NaN: NaN * labels is NaN on both sides anyway
    logits[:, 14:16] = [60.0, -60.0]

    def xent(z, x):
        return gf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x)

    check_onnx(tmp_path, xent, [labels, logits])
    check_onnx(tmp_path, xent, [labels[0], logits], [False, True])  # labels broadcast
    check_onnx(tmp_path, xent, [labels[0, 0], logits[0, 0]], [False, False], opset=13)
