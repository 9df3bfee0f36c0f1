"""The pool ops of compiler/ops/pool.py (max_pool, avg_pool and their gradient ops) against torch
in float64: values and gradients for windows 2 and 3, strides 1 and 2, SAME and VALID; TF's
first-maximum rule on ties (hand-derived arrays: torch need not agree); second derivatives
through the gradient ops; sizes known only at run time; TF 1.15's signatures; errors naming the
op and the user's line.

The torch references pad by the SAME rule as the issue states it (written out here, not taken
from compiler/ops/windows.py): out = ceil(in / stride), total = max((out - 1) * stride + k - in,
0), total // 2 before. Max pooling pads with -inf; SAME average pooling is a sum pool divided by
the number of in-image positions of each window (a sum pool of ones), as TF's AvgPool."""

import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from reference import check_with_unknown_dims, compare_with_torch, sessions

import graphflow as gf


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _pair(v):
    """An int, a pair or TF's [1, h, w, 1] as (h, w)."""
    v = (v, v) if isinstance(v, int) else tuple(v)
    return v[1:3] if len(v) == 4 else v


def _same_pads(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _padded(x, k, s, padding, value):
    """x (NHWC) as NCHW, padded for TF's rule."""
    x = x.permute(0, 3, 1, 2)
    if padding == "VALID":
        return x
    (kh, kw), (sh, sw) = _pair(k), _pair(s)
    top, bottom = _same_pads(x.shape[2], kh, sh)
    left, right = _same_pads(x.shape[3], kw, sw)
    return F.pad(x, (left, right, top, bottom), value=value)


def torch_max_pool(x, k, s, padding):
    return F.max_pool2d(_padded(x, k, s, padding, -np.inf), _pair(k), _pair(s)).permute(0, 2, 3, 1)


def torch_avg_pool(x, k, s, padding):
    def sum_pool(t):
        return F.avg_pool2d(_padded(t, k, s, padding, 0.0), _pair(k), _pair(s), divisor_override=1)
    return (sum_pool(x) / sum_pool(torch.ones_like(x))).permute(0, 2, 3, 1)


def gf_max_pool(x, k, s, padding):
    return gf.nn.max_pool(x, k, s, padding)


def gf_avg_pool(x, k, s, padding):
    return gf.nn.avg_pool(x, k, s, padding)


POOLS = [pytest.param(gf_max_pool, torch_max_pool, id="max"),
         pytest.param(gf_avg_pool, torch_avg_pool, id="avg")]

CASES = [  # input shape (non-square, batch 1 and 2, channels 1 and 3), ksize, strides, padding
    ((2, 8, 6, 3), 2, 2, "SAME"),     # windows tile the input exactly
    ((2, 5, 7, 3), 2, 2, "SAME"),     # odd sizes: one pixel of padding after
    ((1, 5, 7, 1), 2, 2, "VALID"),    # odd sizes: the last row and column are left out
    ((2, 6, 5, 3), 3, 2, "SAME"),     # padding before and after
    ((1, 6, 5, 3), 3, 2, "VALID"),
    ((2, 4, 5, 1), 2, 1, "SAME"),     # overlapping windows
    ((1, 4, 5, 3), 3, 1, "SAME"),     # overlapping, padding on both sides
    ((2, 4, 5, 3), 2, 1, "VALID"),
    ((1, 5, 4, 1), 3, 1, "VALID"),
    ((2, 7, 8, 2), [1, 2, 3, 1], [1, 2, 1, 1], "SAME"),   # non-square window and strides
    ((1, 7, 8, 2), (2, 3), (3, 2), "VALID"),
    ((1, 7, 8, 2), 2, 3, "SAME"),     # gaps between windows
    ((1, 7, 8, 2), (1, 3), (1, 2), "SAME"),  # a window one row high
    ((2, 5, 6, 3), 1, 2, "SAME"),     # 1x1 windows: subsampling
]


@pytest.mark.parametrize("pool, tpool", POOLS)
@pytest.mark.parametrize("shape, k, s, padding", CASES, ids=str)
def test_pool_matches_torch(pool, tpool, shape, k, s, padding):
    value, _ = compare_with_torch(lambda x: pool(x, k, s, padding),
                                  lambda x: tpool(x, k, s, padding), [_rand(*shape)])
    assert pool(gf.placeholder(gf.float64, shape), k, s, padding).shape == value.shape


@pytest.mark.parametrize("pool, tpool", POOLS)
def test_float32_stays_float32(pool, tpool):
    x0 = _rand(2, 6, 5, 3).astype(np.float32)
    x = gf.placeholder(gf.float32, x0.shape)
    y = pool(x, 3, 2, "SAME")
    (dx,) = gf.gradients(y, [x])
    want = tpool(torch.tensor(x0, dtype=torch.float64), 3, 2, "SAME").numpy()
    for sess in sessions():
        got, grad = sess.run([y, dx], {x: x0})
        assert got.dtype == grad.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


# -- ties: TF's MaxPoolGrad routes each window's gradient to its first maximum (row-major) -------
def _max_pool_gradient(x0, g0, k, s, padding):
    """The gradient of max_pool at x0 for the incoming gradient g0, in every session."""
    x = gf.placeholder(gf.float64, x0.shape)
    g = gf.placeholder(gf.float64, g0.shape)
    (dx,) = gf.gradients(gf.nn.max_pool(x, k, s, padding), [x], grad_ys=g)
    return [sess.run(dx, {x: x0, g: g0}) for sess in sessions()]


def _nhwc(rows):
    return np.array(rows, dtype=np.float64)[None, :, :, None]


def test_max_pool_gradient_goes_to_the_first_maximum_of_each_window():
    # 2x2 windows at stride 1 over x: their maxima are 3 at (0,1) [twice: windows (0,0), (0,1)],
    # 3 at (1,0) (not (2,0)) and 3 at (2,1) (not (2,2)).
    x0 = _nhwc([[1, 3, 3], [3, 2, 0], [3, 3, 3]])
    g0 = _nhwc([[1, 2], [3, 4]])
    want = _nhwc([[0, 1 + 2, 0], [3, 0, 0], [0, 4, 0]])
    for got in _max_pool_gradient(x0, g0, 2, 1, "VALID"):
        np.testing.assert_array_equal(got, want)


def test_a_window_of_equal_values_gives_its_whole_gradient_to_the_first_position():
    x0 = np.zeros((1, 4, 4, 1))  # relu's zeros: every 2x2 window ties
    g0 = _nhwc([[1, 2], [3, 4]])
    want = _nhwc([[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])
    for got in _max_pool_gradient(x0, g0, 2, 2, "SAME"):
        np.testing.assert_array_equal(got, want)


def test_same_padding_never_wins_a_window_of_negative_values():
    # 3x3 windows at stride 1 over a 2x2 input of -1: one pixel of padding on each side; every
    # window's first in-image position is (0, 0). Zero padding would take all of it.
    x0 = -np.ones((1, 2, 2, 1))
    g0 = _nhwc([[1, 2], [3, 4]])
    for got in _max_pool_gradient(x0, g0, 3, 1, "SAME"):
        np.testing.assert_array_equal(got, _nhwc([[10, 0], [0, 0]]))


def test_the_gradient_of_the_gradient_picks_the_first_maximum_too():
    # d/dg <max_pool_grad(x, g), v> (TF's MaxPoolGradGrad): v at each window's first maximum.
    x0 = _nhwc([[1, 3, 3], [3, 2, 0], [3, 3, 3]])
    v0 = _nhwc(np.arange(9.0).reshape(3, 3))
    x, g = gf.placeholder(gf.float64, x0.shape), gf.placeholder(gf.float64, (1, 2, 2, 1))
    (dx,) = gf.gradients(gf.nn.max_pool(x, 2, 1, "VALID"), [x], grad_ys=g)
    (dg,) = gf.gradients(gf.reduce_sum(dx * v0), [g])
    for sess in sessions():
        got = sess.run(dg, {x: x0, g: np.ones((1, 2, 2, 1))})
        np.testing.assert_array_equal(got, _nhwc([[1, 1], [3, 7]]))


# -- second derivatives ----------------------------------------------------------------------------
@pytest.mark.parametrize("pool, tpool", POOLS)
@pytest.mark.parametrize("shape, k, s, padding", [((2, 5, 7, 3), 3, 2, "SAME"),
                                                  ((1, 4, 5, 2), 2, 1, "VALID")], ids=str)
def test_hessian_vector_product_matches_torch(pool, tpool, shape, k, s, padding):
    """d/dx <d/dx sum(pool(x) ** 3), v>, and its own gradient, against torch's double backward."""
    def build_gf(x, v):
        (g,) = gf.gradients(gf.reduce_sum(pool(x, k, s, padding) ** 3), [x])
        return gf.gradients(gf.reduce_sum(g * v), [x])[0]

    def build_torch(x, v):
        (g,) = torch.autograd.grad((tpool(x, k, s, padding) ** 3).sum(), x, create_graph=True)
        return torch.autograd.grad((g * v).sum(), x, create_graph=True)[0]

    compare_with_torch(build_gf, build_torch, [_rand(*shape), _rand(*shape, seed=1)])


# -- CUDA: the torch backend on a GPU agrees with the numpy backend --------------------------------
CUDA = pytest.mark.skipif(not torch.cuda.is_available(),
                          reason="CUDA is not available on this machine (torch sees no GPU)")


@CUDA
@pytest.mark.parametrize("pool", [gf_max_pool, gf_avg_pool], ids=["max", "avg"])
def test_cuda_matches_the_numpy_backend_to_second_order(pool):
    x0, v0 = _rand(2, 5, 7, 3), _rand(2, 5, 7, 3, seed=1)
    x0[0, :2, :2] = 0.5  # a tied window: the first maximum wins on the GPU too
    x, v = gf.placeholder(gf.float64, x0.shape), gf.placeholder(gf.float64, x0.shape)
    y = pool(x, 3, 2, "SAME")
    (g,) = gf.gradients(gf.reduce_sum(y ** 3), [x])
    (hv,) = gf.gradients(gf.reduce_sum(g * v), [x])
    want = gf.Session().run([y, g, hv], {x: x0, v: v0})
    got = gf.Session(backend="torch", device="cuda").run([y, g, hv], {x: x0, v: v0})
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# -- sizes known only at run time ------------------------------------------------------------------
@pytest.mark.parametrize("pool, tpool", POOLS)
@pytest.mark.parametrize("static, fed", [
    ((None, 5, 6, 2), [(1, 5, 6, 2), (3, 5, 6, 2)]),
    ((None, None, None, 2), [(2, 5, 6, 2), (1, 7, 4, 2)]),
], ids=["batch", "batch-height-width"])
def test_sizes_known_only_at_run_time(pool, tpool, static, fed):
    check_with_unknown_dims(lambda x: pool(x, 3, 2, "SAME"), lambda x: tpool(x, 3, 2, "SAME"),
                            [static], [[_rand(*shape, seed=i)] for i, shape in enumerate(fed)])
    assert pool(gf.placeholder(gf.float64, static), 3, 2, "SAME").shape == (None,) + tuple(
        None if d is None else -(-d // 2) for d in static[1:3]) + (2,)


def test_a_window_larger_than_an_input_known_at_run_time_fails_naming_the_op():
    x = gf.placeholder(gf.float64, (None, None, None, 1))
    y = gf.nn.max_pool(x, 3, 1, "VALID", name="pool")
    for sess in sessions():
        with pytest.raises(gf.OpError, match=r"max_pool 'pool'.*3x3 window.*height 2"):
            sess.run(y, {x: np.zeros((1, 2, 5, 1))})


# -- builders: TF 1.15's signatures and names -----------------------------------------------------
TF_SIGNATURES = {  # from TF 1.15's python/ops/nn_ops.py (avg_pool2d is v1 avg_pool's alias)
    "max_pool": "(value, ksize, strides, padding, data_format='NHWC', name=None, input=None)",
    "avg_pool": "(value, ksize, strides, padding, data_format='NHWC', name=None, input=None)",
    "avg_pool2d": "(value, ksize, strides, padding, data_format='NHWC', name=None, input=None)",
    "max_pool2d": "(input, ksize, strides, padding, data_format='NHWC', name=None)",
}


@pytest.mark.parametrize("name", sorted(TF_SIGNATURES))
def test_builders_take_tf_signatures(name):
    sig = inspect.signature(getattr(gf.nn, name))
    bare = sig.replace(parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()],
                       return_annotation=sig.empty)
    assert str(bare) == TF_SIGNATURES[name]


def test_builders_accept_every_tf_spelling_and_name_nodes_as_tf():
    x0 = _rand(1, 4, 4, 2)
    x = gf.placeholder(gf.float64, x0.shape)
    ys = [gf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"),
          gf.nn.max_pool(None, ksize=2, strides=[2, 2], padding="same", input=x),
          gf.nn.max_pool2d(x, [2], 2, "VALID"),
          gf.nn.avg_pool(x, 2, 2, "VALID"), gf.nn.avg_pool2d(value=x, ksize=2, strides=2,
                                                              padding="VALID")]
    assert [y.op.name for y in ys] == ["MaxPool", "MaxPool_1", "MaxPool_2", "AvgPool", "AvgPool_1"]
    values = gf.Session().run(ys, {x: x0})
    want_max = x0.reshape(1, 2, 2, 2, 2, 2).max(axis=(2, 4))
    want_avg = x0.reshape(1, 2, 2, 2, 2, 2).mean(axis=(2, 4))
    for got, want in zip(values, [want_max] * 3 + [want_avg] * 2):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert gf.nn.avg_pool(x, 2, 2, "SAME", name="p").op.name == "p"


# -- errors name the op and the user's line --------------------------------------------------------
def _x(shape=(2, 5, 7, 3), dtype=gf.float64):
    return gf.placeholder(dtype, shape)


ERRORS = [
    (lambda: gf.nn.max_pool(_x(), 6, 1, "VALID"), gf.ShapeError,
     r"max_pool 'MaxPool' \(test_ops_pool\.py:\d+\): the 6x6 window .*height 5"),
    (lambda: gf.nn.avg_pool(_x(), [1, 2, 8, 1], 1, "VALID"), gf.ShapeError,
     r"avg_pool 'AvgPool' \(test_ops_pool\.py:\d+\): .*width 7"),
    (lambda: gf.nn.max_pool(_x(), 2, 2, "FULL"), ValueError,
     r"max_pool \(test_ops_pool\.py:\d+\): padding must be 'SAME' or 'VALID', got 'FULL'"),
    (lambda: gf.nn.avg_pool(_x((5, 7, 3)), 2, 2, "SAME"), gf.ShapeError,
     r"avg_pool 'AvgPool' \(test_ops_pool\.py:\d+\): .*4-D.*rank 3"),
    (lambda: gf.nn.max_pool(_x(), 2, 2, "SAME", data_format="NCHW"), NotImplementedError,
     r"max_pool \(test_ops_pool\.py:\d+\): data_format='NCHW'.*NHWC"),
    (lambda: gf.nn.avg_pool2d(_x(), [2, 2, 2, 2], 2, "SAME"), ValueError,
     r"avg_pool \(test_ops_pool\.py:\d+\): ksize.*batch and channel"),
    (lambda: gf.nn.max_pool(_x(dtype=gf.int32), 2, 2, "SAME"), gf.DTypeError,
     r"max_pool 'MaxPool' \(test_ops_pool\.py:\d+\): .*float"),
    (lambda: gf.nn.max_pool(_x(), 2, 2, "SAME", input=_x()), ValueError,
     r"max_pool \(test_ops_pool\.py:\d+\): .*both"),
]


@pytest.mark.parametrize("build, error, match", ERRORS, ids=range(len(ERRORS)))
def test_errors_name_the_op_and_the_users_line(build, error, match):
    with gf.Graph().as_default(), pytest.raises(error, match=match):
        build()
