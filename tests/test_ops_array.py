"""The array ops of compiler/ops/array.py (stack, unstack, split, gather, tile, pad, shape, size,
rank) against torch in float64: values, gradients, finite differences, second derivatives (the
gradient ops' own gradients), static shapes, sizes known only at run time, and build-time errors.
unstack and split return lists: each part is checked, or the parts are recombined."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from reference import check_finite_differences, check_with_unknown_dims, compare_with_torch

import graphflow as gf
from compiler.ops import array as ga


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _check(build_gf, build_torch, arrays):
    """Against torch (value and vector-Jacobian product), then against finite differences."""
    value, _ = compare_with_torch(build_gf, build_torch, arrays)
    check_finite_differences(build_gf, arrays)
    return value


def _hessian_matches_torch(build_gf, build_torch, x0):
    """The Hessian of the scalar build(x) equals torch's: the gradient's gradient is right."""
    x = gf.placeholder(gf.float64, x0.shape)
    (h,) = gf.hessians(build_gf(x), [x])
    got = gf.Session().run(h, {x: x0})
    want = torch.autograd.functional.hessian(build_torch, torch.tensor(x0))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)


def _weights(n):
    return [float(i + 1) for i in range(n)]  # a different weight per part: wrong parts show


# -- stack -----------------------------------------------------------------------------------------
STACK_CASES = [(1, (), 0), (2, (), -1), (3, (3,), 0), (2, (3,), 1), (2, (3,), -1),
               (3, (2, 3), 1), (2, (2, 3), -2), (2, (2, 3), 2)]


@pytest.mark.parametrize("n, shape, axis", STACK_CASES, ids=str)
def test_stack_matches_torch(n, shape, axis):
    arrays = [np.asarray(_rand(*shape, seed=i)) for i in range(n)]
    value = _check(lambda *xs: ga.stack(list(xs), axis), lambda *xs: torch.stack(xs, axis), arrays)
    assert ga.stack([gf.placeholder(gf.float64, shape)] * n, axis).shape == value.shape


def test_stack_second_order_and_the_same_tensor_twice():
    x0 = _rand(2, 3)
    _check(lambda x: ga.stack([x, x * x, x], 1), lambda x: torch.stack([x, x * x, x], 1), [x0])
    _hessian_matches_torch(lambda x: gf.reduce_sum(ga.stack([x, x * x], 0) ** 3),
                           lambda x: (torch.stack([x, x * x], 0) ** 3).sum(), x0)


def test_stack_static_shape_merges_known_sizes_and_python_values():
    a = gf.placeholder(gf.float64, (None, 3))
    b = gf.placeholder(gf.float64, (2, None))
    assert ga.stack([a, b], 1).shape == (2, 2, 3)
    assert ga.stack([a, gf.placeholder(gf.float64, None)]).shape == (2, None, 3)
    assert ga.stack([gf.placeholder(gf.float64, None)] * 2).shape is None
    out = ga.stack([gf.placeholder(gf.float32, (2,)), [1.0, 2.0]])
    assert out.dtype == np.float32 and out.shape == (2, 2)


@pytest.mark.parametrize("build, error", [
    (lambda a, b: ga.stack([a, gf.placeholder(gf.float64, (3, 2))]), gf.ShapeError),
    (lambda a, b: ga.stack([a, gf.placeholder(gf.float64, (2,))]), gf.ShapeError),
    (lambda a, b: ga.stack([a, b]), gf.DTypeError),
    (lambda a, b: ga.stack([a, a], 3), gf.ShapeError),
    (lambda a, b: ga.stack([a, a], -4), gf.ShapeError),
    (lambda a, b: ga.stack([]), ValueError),
])
def test_stack_errors_name_the_op_and_site(build, error):
    a, b = gf.placeholder(gf.float64, (2, 3)), gf.placeholder(gf.float32, (2, 3))
    with pytest.raises(error, match=r"stack.*test_ops_array\.py"):
        build(a, b)


def test_stack_with_unknown_batch():
    check_with_unknown_dims(lambda a, b: ga.stack([a, b], 1), lambda a, b: torch.stack([a, b], 1),
                            [(None, 3), (None, 3)],
                            [[_rand(n, 3, seed=n), _rand(n, 3, seed=9)] for n in (1, 4)])


# -- unstack ---------------------------------------------------------------------------------------
UNSTACK_CASES = [((3,), 0), ((4,), -1), ((2, 3), 0), ((2, 3), 1), ((2, 3), -1), ((2, 3, 4), 1),
                 ((2, 1, 4), 1)]


@pytest.mark.parametrize("shape, axis", UNSTACK_CASES, ids=str)
def test_unstack_parts_recombined_match_torch(shape, axis):
    w = _weights(shape[axis])

    def build(x):
        parts = ga.unstack(x, axis=axis)
        assert len(parts) == shape[axis]
        return ga.stack([p * wi for p, wi in zip(parts, w)], axis)

    def build_torch(x):
        return torch.stack([p * wi for p, wi in zip(torch.unbind(x, axis), w)], axis)

    _check(build, build_torch, [_rand(*shape)])


@pytest.mark.parametrize("index", [0, 1, 2])
def test_unstack_each_part_alone(index):
    x0 = _rand(2, 3, 4, seed=1)
    value = _check(lambda x: ga.unstack(x, axis=1)[index] ** 2,
                   lambda x: torch.unbind(x, 1)[index] ** 2, [x0])
    assert value.shape == (2, 4)
    _hessian_matches_torch(lambda x: gf.reduce_sum(ga.unstack(x, axis=1)[index] ** 3),
                           lambda x: (torch.unbind(x, 1)[index] ** 3).sum(), x0)


def test_unstack_with_num_over_unknown_batch():
    check_with_unknown_dims(lambda x: ga.stack(ga.unstack(x, num=3, axis=0)[::-1], 1),
                            lambda x: torch.stack(torch.unbind(x, 0)[::-1], 1), [(None, 2)],
                            [[_rand(3, 2, seed=1)]])
    check_with_unknown_dims(lambda x: ga.unstack(x, axis=-1)[1] * 2.0,
                            lambda x: torch.unbind(x, -1)[1] * 2.0, [(None, 3)],
                            [[_rand(n, 3, seed=n)] for n in (1, 4)])


def test_unstack_of_unknown_rank_with_num():
    check_with_unknown_dims(lambda x: ga.unstack(x, num=2, axis=-1)[0] * 3.0,
                            lambda x: torch.unbind(x, -1)[0] * 3.0, [None],
                            [[_rand(3, 2, seed=1)], [_rand(2, 3, 2, seed=2)]])


def test_unstack_static_shapes_and_names():
    x = gf.placeholder(gf.float64, (None, 3, 4))
    parts = ga.unstack(x, axis=-2, name="row")
    assert [p.shape for p in parts] == [(None, 4)] * 3
    assert [p.op.name for p in parts] == ["row", "row_1", "row_2"]


def test_unstack_errors():
    x = gf.placeholder(gf.float64, (None, 3))
    with pytest.raises(gf.ShapeError, match=r"unstack.*test_ops_array\.py.*pass num"):
        ga.unstack(x)
    with pytest.raises(gf.ShapeError, match="pass num"):
        ga.unstack(gf.placeholder(gf.float64, None))
    with pytest.raises(gf.ShapeError, match="unstack"):
        ga.unstack(x, axis=2)
    with pytest.raises(gf.ShapeError, match="not num=2"):
        ga.unstack(x, num=2, axis=1)
    parts = ga.unstack(x, num=2)
    for sess in (gf.Session(optimize=False), gf.Session()):
        with pytest.raises(gf.OpError, match="not num=2"):
            sess.run(parts[0], {x: np.zeros((3, 3))})


# -- split -----------------------------------------------------------------------------------------
SPLIT_CASES = [((6,), 3, 0), ((6,), [1, 2, 3], 0), ((6,), [2, -1], -1), ((2, 6), 2, 1),
               ((2, 6), [4, 0, 2], 1), ((4, 3), [3, 1], 0), ((2, 3, 4), [-1, 1], 2),
               ((2, 3, 4), 1, 1)]


@pytest.mark.parametrize("shape, splits, axis", SPLIT_CASES, ids=str)
def test_split_parts_recombined_match_torch(shape, splits, axis):
    x0 = _rand(*shape, seed=2)
    sizes = splits if isinstance(splits, list) else [shape[axis] // splits] * splits
    sizes = [shape[axis] - sum(s for s in sizes if s != -1) if s == -1 else s for s in sizes]
    w = _weights(len(sizes))

    def build(x):
        parts = ga.split(x, splits, axis)
        assert [p.shape[axis] for p in parts] == sizes
        return gf.concat([p * wi for p, wi in zip(parts, w)], axis)

    def build_torch(x):
        return torch.cat([p * wi for p, wi in zip(torch.split(x, sizes, axis), w)], axis)

    _check(build, build_torch, [x0])


@pytest.mark.parametrize("index", [0, 1, 2])
def test_split_each_part_alone_and_second_order(index):
    x0 = _rand(3, 6, seed=3)
    _check(lambda x: ga.split(x, [1, 3, 2], 1)[index] ** 2,
           lambda x: torch.split(x, [1, 3, 2], 1)[index] ** 2, [x0])
    _hessian_matches_torch(lambda x: gf.reduce_sum(ga.split(x, 3, 1)[index] ** 3),
                           lambda x: (torch.split(x, 2, 1)[index] ** 3).sum(), x0)


def test_split_over_unknown_sizes():
    # along a known axis with an unknown batch; along the unknown axis itself, evenly and by sizes
    check_with_unknown_dims(lambda x: ga.split(x, [1, 2], 1)[1] * 2.0,
                            lambda x: torch.split(x, [1, 2], 1)[1] * 2.0, [(None, 3)],
                            [[_rand(n, 3, seed=n)] for n in (1, 4)])
    check_with_unknown_dims(lambda x: gf.concat(ga.split(x, 2, 0)[::-1], 1),
                            lambda x: torch.cat(torch.chunk(x, 2, 0)[::-1], 1), [(None, 3)],
                            [[_rand(n, 3, seed=n)] for n in (2, 6)])
    check_with_unknown_dims(lambda x: ga.split(x, [-1, 1], 0)[0] * 3.0,
                            lambda x: torch.split(x, [x.shape[0] - 1, 1], 0)[0] * 3.0,
                            [(None, 3)], [[_rand(n, 3, seed=n)] for n in (1, 4)])
    check_with_unknown_dims(lambda x: ga.split(x, 3, -1)[2] * 3.0,
                            lambda x: torch.chunk(x, 3, -1)[2] * 3.0, [None],
                            [[_rand(2, 3, seed=1)], [_rand(2, 1, 6, seed=2)]])


def test_split_static_shapes():
    x = gf.placeholder(gf.float64, (None, 6))
    assert [p.shape for p in ga.split(x, 3, 1)] == [(None, 2)] * 3
    assert [p.shape for p in ga.split(x, [1, -1], 1, num=2)] == [(None, 1), (None, 5)]
    assert [p.shape for p in ga.split(x, 2)] == [(None, 6)] * 2
    assert [p.shape for p in ga.split(x, [2, -1])] == [(2, 6), (None, 6)]


@pytest.mark.parametrize("build, error, match", [
    (lambda x: ga.split(x, 4, 1), gf.ShapeError, "equal parts"),
    (lambda x: ga.split(x, [2, 2], 1), gf.ShapeError, "add up to 4"),
    (lambda x: ga.split(x, [7, -1], 1), gf.ShapeError, "more than"),
    (lambda x: ga.split(x, 2, 2), gf.ShapeError, "out of range"),
    (lambda x: ga.split(x, 0, 1), ValueError, "positive"),
    (lambda x: ga.split(x, [-1, -1], 1), ValueError, "at most one -1"),
    (lambda x: ga.split(x, [2, 4], 1, num=3), ValueError, "num=3"),
])
def test_split_errors(build, error, match):
    with pytest.raises(error, match=match):
        build(gf.placeholder(gf.float64, (None, 6)))


def test_split_of_a_fed_axis_that_does_not_divide_fails_at_run_time():
    x = gf.placeholder(gf.float64, (None,))
    part = ga.split(x, 2)[0]
    for sess in (gf.Session(optimize=False), gf.Session()):
        with pytest.raises(gf.OpError, match="equal parts"):
            sess.run(part, {x: np.zeros(3)})


# -- gather ----------------------------------------------------------------------------------------
GATHER_CASES = [  # (params shape, indices, axis): repeats included, so gradients must add up
    ((5,), [0, 2, 2, 4], 0),
    ((5,), 3, 0),
    ((4, 3), [3, 0, 3], 0),
    ((4, 3), [[0, 2], [2, 2]], 1),
    ((4, 3), [-1, 0], -1),
    ((2, 3, 4), [[1], [1]], 1),
    ((2, 3, 4), 0, -1),
]


@pytest.mark.parametrize("shape, indices, axis", GATHER_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_gather_matches_torch(shape, indices, axis, dtype):
    x0, idx = _rand(*shape, seed=4), np.asarray(indices, dtype)

    def build_torch(p, i):
        return p[(slice(None),) * (axis % p.ndim) + (i.long(),)]

    value, _ = compare_with_torch(lambda p, i: ga.gather(p, i, axis=axis), build_torch, [x0, idx])
    assert value.shape == np.take(x0, idx, axis=axis).shape
    check_finite_differences(lambda p: ga.gather(p, indices, axis=axis), [x0])
    _hessian_matches_torch(lambda p: gf.reduce_sum(ga.gather(p, indices, axis=axis) ** 3),
                           lambda p: (build_torch(p, torch.tensor(idx)) ** 3).sum(), x0)


def test_gather_gradient_sums_repeated_indices():
    x = gf.placeholder(gf.float64, (4,))
    (g,) = gf.gradients(gf.reduce_sum(ga.gather(x, [1, 3, 1, 1])), [x])
    for sess in (gf.Session(optimize=False), gf.Session()):
        np.testing.assert_array_equal(sess.run(g, {x: np.zeros(4)}), [0.0, 3.0, 0.0, 1.0])


def test_gather_with_unknown_sizes():
    check_with_unknown_dims(lambda p: ga.gather(p, [2, 0, 2], axis=1),
                            lambda p: p[:, [2, 0, 2]], [(None, 3)],
                            [[_rand(n, 3, seed=n)] for n in (1, 4)])
    p = gf.placeholder(gf.float64, (None, 3))
    i = gf.placeholder(gf.int32, (None,))
    out = ga.gather(p, i)
    assert out.shape == (None, 3)
    (g,) = gf.gradients(gf.reduce_sum(out), [p])
    p0, i0 = _rand(4, 3), np.array([3, 3, 0], np.int32)
    for sess in (gf.Session(optimize=False), gf.Session()):
        value, grad = sess.run([out, g], {p: p0, i: i0})
        np.testing.assert_array_equal(value, p0[i0])
        np.testing.assert_array_equal(grad, np.array([[1.0] * 3, [0.0] * 3, [0.0] * 3,
                                                      [2.0] * 3]))


def test_gather_static_shapes():
    p = gf.placeholder(gf.float64, (None, 3, 5))
    assert ga.gather(p, gf.placeholder(gf.int64, (2, None)), axis=1).shape == (None, 2, None, 5)
    assert ga.gather(p, 0, axis=-1).shape == (None, 3)
    assert ga.gather(gf.placeholder(gf.float64, None), [1]).shape is None
    assert ga.gather(np.arange(4.0), [1, 2]).dtype == np.float64


@pytest.mark.parametrize("build, error, match", [
    (lambda p: ga.gather(p, [0.0, 1.0]), gf.DTypeError, "indices must be int"),
    (lambda p: ga.gather(p, [0], axis=2), gf.ShapeError, "out of range"),
    (lambda p: ga.gather(p, [0], batch_dims=1), ValueError, "batch_dims"),
])
def test_gather_errors(build, error, match):
    with pytest.raises(error, match=match):
        build(gf.placeholder(gf.float64, (4, 3)))


def test_gather_index_out_of_range_fails_at_run_time():
    p = gf.placeholder(gf.float64, (4,))
    i = gf.placeholder(gf.int64, (None,))
    out = ga.gather(p, i)
    for sess in (gf.Session(optimize=False), gf.Session()):
        with pytest.raises(gf.OpError, match="gather"):
            sess.run(out, {p: np.zeros(4), i: np.array([4])})


# -- tile ------------------------------------------------------------------------------------------
TILE_CASES = [((), ()), ((3,), (2,)), ((3,), (1,)), ((2, 3), (2, 1)), ((2, 3), (3, 2)),
              ((2, 1, 3), (1, 4, 2)), ((2, 3), (0, 2))]


@pytest.mark.parametrize("shape, multiples", TILE_CASES, ids=str)
def test_tile_matches_torch(shape, multiples):
    x0 = np.asarray(_rand(*shape, seed=5))
    value = _check(lambda x: ga.tile(x, multiples), lambda x: torch.tile(x, multiples), [x0])
    assert ga.tile(gf.placeholder(gf.float64, shape), multiples).shape == value.shape


def test_tile_second_order():
    _hessian_matches_torch(lambda x: gf.reduce_sum(ga.tile(x, [2, 3]) ** 3 * np.arange(36.0)
                                                   .reshape(4, 9)),
                           lambda x: (torch.tile(x, (2, 3)) ** 3
                                      * torch.arange(36.0, dtype=x.dtype).reshape(4, 9)).sum(),
                           _rand(2, 3, seed=6))


def test_tile_with_unknown_sizes():
    check_with_unknown_dims(lambda x: ga.tile(x, [2, 3]), lambda x: torch.tile(x, (2, 3)),
                            [(None, 2)], [[_rand(n, 2, seed=n)] for n in (1, 3)])
    check_with_unknown_dims(lambda x: ga.tile(x, [3, 1, 2]), lambda x: torch.tile(x, (3, 1, 2)),
                            [(None, None, 2)], [[_rand(2, 3, 2, seed=1)]])
    check_with_unknown_dims(lambda x: ga.tile(x, [2, 2]), lambda x: torch.tile(x, (2, 2)),
                            [None], [[_rand(2, 3, seed=1)]])


def test_tile_static_shape_and_int_dtype():
    assert ga.tile(gf.placeholder(gf.float64, (None, 3)), [2, 2]).shape == (None, 6)
    assert ga.tile(gf.placeholder(gf.float64, (None, 3)), [0, 2]).shape == (0, 6)
    assert ga.tile(gf.placeholder(gf.float64, None), [2, 2]).shape == (None, None)
    x = gf.placeholder(gf.int32, (2,))
    got = gf.Session().run(ga.tile(x, np.array([3])), {x: np.array([1, 2], np.int32)})
    np.testing.assert_array_equal(got, [1, 2, 1, 2, 1, 2])
    assert got.dtype == np.int32


@pytest.mark.parametrize("multiples, error, match", [
    ([2], gf.ShapeError, "one entry per axis"),
    ([2, -1], ValueError, ">= 0"),
    (None, TypeError, "tensor of multiples"),
])
def test_tile_errors(multiples, error, match):
    x = gf.placeholder(gf.float64, (2, 3))
    multiples = gf.constant([1, 2]) if multiples is None else multiples
    with pytest.raises(error, match=match):
        ga.tile(x, multiples)


# -- pad -------------------------------------------------------------------------------------------
PAD_CASES = [((3,), [[1, 2]], 0.0), ((2, 3), [[0, 0], [2, 1]], 0.0),
             ((2, 3), [[1, 1], [0, 3]], -1.5), ((2, 1, 3), [[1, 0], [0, 0], [2, 2]], 2.0),
             ((2, 3), [[0, 0], [0, 0]], 7.0)]


def _torch_pad(paddings):
    return [n for before_after in reversed(paddings) for n in before_after]


@pytest.mark.parametrize("shape, paddings, value", PAD_CASES, ids=str)
def test_pad_matches_torch(shape, paddings, value):
    x0 = _rand(*shape, seed=7)
    out = _check(lambda x: gf.pad(x, paddings, constant_values=value),
                 lambda x: F.pad(x, _torch_pad(paddings), value=value), [x0])
    assert gf.pad(gf.placeholder(gf.float64, shape), paddings).shape == out.shape
    _hessian_matches_torch(lambda x: gf.reduce_sum(gf.pad(x, paddings, "constant", None, value)
                                                   ** 3),
                           lambda x: (F.pad(x, _torch_pad(paddings), value=value) ** 3).sum(), x0)


def test_pad_with_unknown_sizes_and_int_dtype():
    check_with_unknown_dims(lambda x: gf.pad(x, [[1, 2], [0, 1]]),
                            lambda x: F.pad(x, [0, 1, 1, 2]), [(None, 3)],
                            [[_rand(n, 3, seed=n)] for n in (1, 4)])
    check_with_unknown_dims(lambda x: gf.pad(x, [[1, 0], [2, 2]]),
                            lambda x: F.pad(x, [2, 2, 1, 0]), [None], [[_rand(2, 3, seed=1)]])
    assert gf.pad(gf.placeholder(gf.float64, None), [[1, 0], [2, 2]]).shape == (None, None)
    x = gf.placeholder(gf.int32, (2,))
    got = gf.Session().run(gf.pad(x, [[1, 1]], constant_values=np.int64(9)),
                           {x: np.array([1, 2], np.int32)})
    np.testing.assert_array_equal(got, [9, 1, 2, 9])
    assert got.dtype == np.int32


@pytest.mark.parametrize("kwargs, error, match", [
    ({"mode": "REFLECT"}, ValueError, "mode='REFLECT' is not implemented"),
    ({"mode": "symmetric"}, ValueError, "mode='symmetric' is not implemented"),
    ({"paddings": [1, 2]}, gf.ShapeError, "pairs"),
    ({"paddings": [[1, 2]]}, gf.ShapeError, "rank 2"),
    ({"paddings": [[1, 2], [0, -1]]}, gf.ShapeError, ">= 0"),
    ({"constant_values": 0.5, "dtype": gf.int32}, gf.DTypeError, "does not fit"),
    ({"constant_values": [1.0]}, TypeError, "must be a number"),
])
def test_pad_errors(kwargs, error, match):
    x = gf.placeholder(kwargs.pop("dtype", gf.float64), (2, 3))
    kwargs.setdefault("paddings", [[1, 1], [1, 1]])
    with pytest.raises(error, match=match):
        gf.pad(x, **kwargs)
    with pytest.raises(error, match=r"pad.*test_ops_array\.py"):
        gf.pad(x, **kwargs)


def test_pad_with_infinite_values_before_a_max():
    # -inf padding (as max pooling does) must survive code generation, where it is no literal.
    x = gf.placeholder(gf.float64, (2, 2))
    y = gf.reduce_max(gf.pad(x, [[1, 0], [0, 1]], constant_values=-np.inf), axis=0)
    (g,) = gf.gradients(gf.reduce_sum(y), [x])
    x0 = np.array([[-5.0, 1.0], [-3.0, -2.0]])
    for sess in (gf.Session(optimize=False), gf.Session()):
        value, grad = sess.run([y, g], {x: x0})
        np.testing.assert_array_equal(value, [-3.0, 1.0, -np.inf])
        np.testing.assert_array_equal(grad, [[0.0, 1.0], [1.0, 0.0]])
    assert "constant_values=-inf" in str(y.graph)


# -- shape, size, rank -----------------------------------------------------------------------------
QUERIES = [
    (lambda x: ga.shape(x), lambda x: torch.tensor(x.shape, dtype=torch.int32), np.int32),
    (lambda x: ga.shape(x, out_type=gf.int64), lambda x: torch.tensor(x.shape), np.int64),
    (lambda x: ga.size(x), lambda x: torch.tensor(x.numel(), dtype=torch.int32), np.int32),
    (lambda x: ga.size(x, out_type=np.int64), lambda x: torch.tensor(x.numel()), np.int64),
    (lambda x: ga.rank(x), lambda x: torch.tensor(x.ndim, dtype=torch.int32), np.int32),
]
QUERY_IDS = ["shape", "shape_int64", "size", "size_int64", "rank"]


@pytest.mark.parametrize("shape", [(), (3,), (2, 0, 4)], ids=str)
@pytest.mark.parametrize("f_gf, f_torch, dtype", QUERIES, ids=QUERY_IDS)
def test_shape_queries_match_torch(f_gf, f_torch, dtype, shape):
    value, _ = compare_with_torch(f_gf, f_torch, [_rand(*shape)], grad=False)
    assert value.dtype == dtype


@pytest.mark.parametrize("f_gf, f_torch, dtype", QUERIES, ids=QUERY_IDS)
def test_shape_queries_of_sizes_fed_at_run_time(f_gf, f_torch, dtype):
    for static in [(None, 3), (None, None, 2), None]:
        x = gf.placeholder(gf.float32, static)
        out = f_gf(x * 2.0)
        for sess in (gf.Session(optimize=False), gf.Session()):
            for fed in [(1, 3), (5, 3), (2, 4, 2), (0, 3), (1, 2, 3, 2)]:
                if static is not None and (len(fed) != len(static) or fed[-1] != static[-1]):
                    continue
                got = sess.run(out, {x: np.zeros(fed, np.float32)})
                np.testing.assert_array_equal(got, f_torch(torch.zeros(fed)).numpy())
                assert got.dtype == dtype


def test_shape_queries_static_shapes_and_errors():
    x = gf.placeholder(gf.float64, (None, 3))
    assert ga.shape(x).shape == (2,) and ga.shape(x).dtype == np.int32
    assert ga.shape(gf.placeholder(gf.float64, None)).shape == (None,)
    assert ga.size(x).shape == () and ga.rank(x).shape == () and ga.rank(x).dtype == np.int32
    with pytest.raises(TypeError, match="out_type"):
        ga.shape(x, out_type=gf.float32)
    with pytest.raises(TypeError, match="out_type"):
        ga.size(x, out_type=gf.bool_)


def test_size_in_a_mean_keeps_the_gradient_of_the_data_path():
    x = gf.placeholder(gf.float64, (None, 3))
    mean = gf.reduce_sum(x) / gf.cast(ga.size(x), gf.float64)
    (g,) = gf.gradients(mean, [x])
    x0 = _rand(4, 3)
    for sess in (gf.Session(optimize=False), gf.Session()):
        value, grad = sess.run([mean, g], {x: x0})
        np.testing.assert_allclose(value, x0.mean(), rtol=1e-12)
        np.testing.assert_allclose(grad, np.full((4, 3), 1 / 12), rtol=1e-12)
