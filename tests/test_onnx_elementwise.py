"""ONNX export of the elementwise, math and division families: each op exported from placeholders,
run in ONNX Runtime and compared with the graphflow session (tests/onnx_support.py), over
broadcast shapes, 0-d inputs, every dtype the op takes (small integers wrap around, bools), and
the values the kernels treat specially (NaN, inf, zero divisors, signs of floor division)."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx_support import COVERED, check_onnx

import graphflow as gf
from compiler.backends.onnx import to_model
from compiler.function import extract

FLOATS = [np.float32, np.float64]
INTS = [np.int32, np.int64]
SMALL = [np.int8, np.uint8, np.int16, np.uint16]
NUMERIC = FLOATS + INTS + SMALL
SPECIAL = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-30, 2.5, -7.0]


def sample(rng, dtype, shape):
    """Random values of dtype: floats of both signs, int32/int64 in [-50, 50] (no overflow),
    small integers over their whole range (so arithmetic wraps around), bools."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return (rng.standard_normal(shape) * 3).astype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    info = np.iinfo(dtype)
    low, high = (-50, 51) if dtype.itemsize >= 4 else (info.min, info.max + 1)
    return rng.integers(low, high, shape).astype(dtype)


# (shape of x, shape of y, whether each is dynamic in dimension 0)
SHAPES = [((3, 4), (3, 4), None), ((3, 4), (4,), [True, False]),
          ((3, 1), (1, 4), [True, False]), ((2, 3), (), [True, False]), ((), (), [False, False])]


def binary(rng, fn, dtype, shapes, tmp_path, **kw):
    sx, sy, dynamic = shapes
    return check_onnx(tmp_path, fn, [sample(rng, dtype, sx), sample(rng, dtype, sy)], dynamic, **kw)


def specials(dtype):
    """Every pair of SPECIAL values, as two (10, 10) arrays."""
    x, y = np.meshgrid(SPECIAL, SPECIAL)
    return x.astype(dtype), y.astype(dtype)


@pytest.mark.parametrize("op", ["add", "subtract", "multiply", "maximum", "minimum"])
@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("shapes", SHAPES[:3])
def test_arithmetic(tmp_path, op, dtype, shapes):
    binary(np.random.default_rng(0), getattr(gf, op), dtype, shapes, tmp_path)


@pytest.mark.parametrize("op", ["add", "multiply", "maximum", "minimum", "divide"])
@pytest.mark.parametrize("shapes", SHAPES)
def test_arithmetic_broadcasts_scalars_and_bools(tmp_path, op, shapes):
    binary(np.random.default_rng(1), getattr(gf, op), np.float64, shapes, tmp_path)
    binary(np.random.default_rng(2), getattr(gf, op), np.bool_, shapes, tmp_path)


@pytest.mark.parametrize("op", ["add", "subtract", "multiply", "divide", "maximum", "minimum",
                                "power"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_float_arithmetic_of_special_values(tmp_path, op, dtype):
    check_onnx(tmp_path, getattr(gf, op), specials(dtype))  # NaN propagates through max/min


@pytest.mark.parametrize("dtype", INTS + SMALL + [np.bool_])
def test_divide_of_integers_is_true_division_in_float64(tmp_path, dtype):
    rng = np.random.default_rng(3)
    x, y = sample(rng, dtype, (4, 5)), sample(rng, dtype, (4, 5))
    y.flat[:3] = 0  # x / 0: inf, -inf or NaN, as numpy
    x.flat[0] = 0
    (got,) = check_onnx(tmp_path, gf.divide, [x, y])
    assert got.dtype == np.float64


@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_power(tmp_path, dtype):
    rng = np.random.default_rng(4)
    if np.dtype(dtype).kind == "f":
        base = np.abs(sample(rng, dtype, (3, 4))) + 0.1
        check_onnx(tmp_path, gf.pow, [base, sample(rng, dtype, (3, 4))])
        whole = rng.integers(-3, 4, (3, 4)).astype(dtype)  # negative bases: integer exponents
        check_onnx(tmp_path, gf.pow, [sample(rng, dtype, (3, 4)), whole])
    else:  # no overflow (ORT saturates where numpy wraps) and no negative exponents
        check_onnx(tmp_path, gf.pow, [rng.integers(-9, 10, (3, 4)).astype(dtype),
                                      rng.integers(0, 8, (3, 4)).astype(dtype)])


@pytest.mark.parametrize("op", ["square", "negative", "abs", "sign"])
@pytest.mark.parametrize("dtype", NUMERIC)
def test_unary_arithmetic(tmp_path, op, dtype):
    x = sample(np.random.default_rng(5), dtype, (4, 6))
    if np.dtype(dtype).kind == "f":
        x[0, :len(SPECIAL)] = SPECIAL[:6]
    check_onnx(tmp_path, getattr(gf, op), [x])
    check_onnx(tmp_path, getattr(gf, op), [x[0, 0]])  # 0-d


@pytest.mark.parametrize("op", ["equal", "not_equal", "less", "less_equal", "greater",
                                "greater_equal"])
@pytest.mark.parametrize("dtype", NUMERIC + [np.bool_])
def test_comparisons(tmp_path, op, dtype):
    rng = np.random.default_rng(6)
    x = rng.integers(0, 3, (4, 5)).astype(dtype)  # many ties
    y = rng.integers(0, 3, (5,)).astype(dtype)
    (got,) = check_onnx(tmp_path, getattr(gf, op), [x, y], [True, False])
    assert got.dtype == np.bool_


@pytest.mark.parametrize("op", ["equal", "not_equal", "less", "greater_equal"])
def test_comparisons_of_nan_and_inf(tmp_path, op):
    check_onnx(tmp_path, getattr(gf, op), specials(np.float32))


@pytest.mark.parametrize("dtype", NUMERIC + [np.bool_])
def test_where(tmp_path, dtype):
    rng = np.random.default_rng(7)
    cond = rng.random((3, 1, 4)) < 0.5
    x, y = sample(rng, dtype, (3, 5, 4)), sample(rng, dtype, (4,))
    check_onnx(tmp_path, gf.where, [cond, x, y], [True, True, False])
    check_onnx(tmp_path, gf.where, [cond[0, 0], x[0], y], [False, True, False])


@pytest.mark.parametrize("dtype", NUMERIC + [np.bool_])
def test_clip_by_value_with_tensor_bounds(tmp_path, dtype):
    rng = np.random.default_rng(8)
    x, lo, hi = sample(rng, dtype, (3, 4)), sample(rng, dtype, (4,)), sample(rng, dtype, (1,))
    check_onnx(tmp_path, gf.clip_by_value, [x, lo, hi], [True, False, False])


@pytest.mark.parametrize("dtype", FLOATS)
def test_clip_by_value_of_special_values(tmp_path, dtype):
    x, lo = specials(dtype)
    check_onnx(tmp_path, lambda a, b: gf.clip_by_value(a, b, dtype(1.5)), [x, lo])
    check_onnx(tmp_path, lambda a: gf.clip_by_value(a, dtype(-1), dtype(1)), [x])


@pytest.mark.parametrize("source", NUMERIC + [np.bool_])
@pytest.mark.parametrize("target", NUMERIC + [np.bool_])
def test_cast(tmp_path, source, target):
    x = sample(np.random.default_rng(9), source, (3, 5))
    if np.dtype(source).kind == "f":
        x = np.round(x * 4) / 4  # exact halves and quarters: float-to-int truncates toward 0
        if np.dtype(target).kind == "u":
            x = np.abs(x)  # a negative float cast to an unsigned int is undefined in C and ONNX
    if source == target:
        return  # cast(x, x.dtype) is simplified away
    check_onnx(tmp_path, lambda a: gf.cast(a, target), [x])


@pytest.mark.parametrize("op", ["zeros_like", "ones_like"])
@pytest.mark.parametrize("dtype", [None, np.float32, np.int64, np.bool_, np.uint8])
def test_zeros_and_ones_like_take_the_run_time_shape(tmp_path, op, dtype):
    x = sample(np.random.default_rng(10), np.float64, (3, 2, 4))
    (got,) = check_onnx(tmp_path, lambda a: getattr(gf, op)(a, dtype=dtype), [x])
    assert op in COVERED  # not folded: the batch size is known only at run time


@pytest.mark.parametrize("op", ["identity", "stop_gradient"])
def test_pass_throughs_outside_the_passes(tmp_path, op):
    """graphflow's passes remove identity and stop_gradient before export; their rules are for
    unoptimized Functions, written here directly."""
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, (None, 3), name="x")
        y = gf.exp(getattr(gf, op)(x), name="y")
        fn = extract([y], {x: (x.shape, x.dtype)})
        assert op in {n.type for n in fn.graph.nodes}
        model = to_model(fn, ["x"], ["y"], {})
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    runtime = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(runtime.run(None, {"x": data})[0], np.exp(data), rtol=1e-6)
    COVERED.add(op)


# -- math: unary float functions -------------------------------------------------------------------
UNARY_DOMAIN = {"sqrt": (0, 9), "log": (1e-3, 9), "rsqrt": (1e-3, 9), "log1p": (-0.999, 9),
                "exp": (-20, 20), "sin": (-9, 9), "cos": (-9, 9)}
LOG1P_EDGES = [0.0, -0.0, 1e-300, -1e-300, 1e-17, -1e-17, 1e-10, -1e-10, 1e-5, 3e-8, -0.5,
               -1.0, -2.0, 1e300, np.inf, -np.inf, np.nan, 2.0 ** 53, 0.75]


@pytest.mark.parametrize("op", sorted(UNARY_DOMAIN))
@pytest.mark.parametrize("dtype", FLOATS)
def test_unary_float_functions(tmp_path, op, dtype):
    low, high = UNARY_DOMAIN[op]
    x = np.random.default_rng(11).uniform(low, high, (5, 7)).astype(dtype)
    x[0, :4] = [0.0, np.inf, np.nan, -1.0]  # edges: NaN in, NaN out
    check_onnx(tmp_path, getattr(gf, op), [x])
    check_onnx(tmp_path, getattr(gf, op), [x[1, 1]])  # 0-d


@pytest.mark.parametrize("dtype", FLOATS)
def test_log1p_is_accurate_for_tiny_and_extreme_inputs(tmp_path, dtype):
    with np.errstate(over="ignore"):  # 1e300 is inf in float32
        x = np.array(LOG1P_EDGES).astype(dtype)
    (got,) = check_onnx(tmp_path, gf.log1p, [x], rtol=4 * np.finfo(dtype).eps, other_batch=False)
    tiny = np.abs(x) < np.finfo(dtype).eps / 4
    np.testing.assert_array_equal(got[tiny], x[tiny])  # log(1 + x) would give 0


@pytest.mark.parametrize("op", ["logical_and", "logical_or"])
@pytest.mark.parametrize("shapes", [SHAPES[0], SHAPES[2], SHAPES[3], SHAPES[4]])
def test_logical_binary(tmp_path, op, shapes):
    binary(np.random.default_rng(12), getattr(gf, op), np.bool_, shapes, tmp_path)


def test_logical_not(tmp_path):
    check_onnx(tmp_path, gf.logical_not, [np.random.default_rng(13).random((4, 3)) < 0.5])


# -- division: Python's floor rules ----------------------------------------------------------------
@pytest.mark.parametrize("op", ["floordiv", "floormod"])
@pytest.mark.parametrize("dtype", INTS + SMALL)
def test_integer_floor_division_takes_the_divisors_sign(tmp_path, op, dtype):
    rng = np.random.default_rng(14)
    x = sample(rng, dtype, (6, 8))
    y = sample(rng, dtype, (6, 8))
    y[y == 0] = 3
    y[0, :4] = [1, 2, 7, 100] if np.dtype(dtype).kind == "u" else [-1, 2, -7, 100]
    x[0, :4] = [7, -8, 0, -100] if np.dtype(dtype).kind == "i" else [7, 8, 0, 100]
    check_onnx(tmp_path, getattr(gf, op), [x, y])
    check_onnx(tmp_path, getattr(gf, op), [x, y[0]], [True, False])


@pytest.mark.parametrize("op", ["floordiv", "floormod"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_float_floor_division(tmp_path, op, dtype):
    rng = np.random.default_rng(15)
    x, y = sample(rng, dtype, (20, 30)), sample(rng, dtype, (20, 30))
    x[:, :10] = np.round(x[:, :10])  # exact multiples, remainders of zero
    y[:, :10] = np.round(y[:, :10]) + 0.5
    check_onnx(tmp_path, getattr(gf, op), [x, y])
    check_onnx(tmp_path, getattr(gf, op), specials(dtype))  # y == 0, inf, NaN, -0.0
    check_onnx(tmp_path, getattr(gf, op), [x[0, 0], y[0, 0]])  # 0-d
    with np.errstate(over="ignore"):  # 3e300 is inf in float32
        big = np.array([1e17, -1e17, 3e300, 1e-300, -5.5, 0.3]).astype(dtype)
    check_onnx(tmp_path, getattr(gf, op), [big, np.array([3.0, 0.1, 1e-10, 7.0, 0.1, 0.1])
                                           .astype(dtype)])


@pytest.mark.parametrize("op", ["divide", "floordiv", "floormod", "log1p", "not_equal"])
def test_opset_13(tmp_path, op):
    rng = np.random.default_rng(16)
    fn = getattr(gf, op)
    arrays = [sample(rng, np.float32, (3, 4)) for _ in range(1 if op == "log1p" else 2)]
    arrays[0] = np.abs(arrays[0])
    check_onnx(tmp_path, fn, arrays, opset=13)
