"""Reductions (reduce_sum, reduce_mean, reduce_max, argmax) and add_n: forward values and gradients
against torch in float64, central finite differences, static shape inference, and gradients over
axes whose size (or rank) is only known at run time."""

import numpy as np
import pytest
import reference
import torch
from reference import check_finite_differences, check_with_unknown_dims, compare_with_torch

import graphflow as gf


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


REDUCTIONS = {
    "sum": (gf.reduce_sum, torch.sum),
    "mean": (gf.reduce_mean, torch.mean),
    "max": (gf.reduce_max, torch.amax),
}


def _torch_reduce(fn, axis, keepdims):
    """torch's reduction over `axis` in graphflow's convention (None: every axis)."""
    def reduce(x):
        dims = tuple(range(x.ndim)) if axis is None else axis
        return fn(x, dim=dims, keepdim=keepdims)
    return reduce


AXES = {
    (5,): [None, 0, -1, (0,)],
    (3, 4): [None, 0, 1, -1, -2, (0, 1), (1, 0)],
    (2, 3, 4): [None, 0, 1, 2, -1, (0, 2), (-1, 0), (1, 2), (0, 1, 2)],
}
CASES = [(shape, axis) for shape, axes in AXES.items() for axis in axes]


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", CASES, ids=[f"{s}-axis{a}" for s, a in CASES])
def test_reduction(op, shape, axis, keepdims):
    gf_fn, torch_fn = REDUCTIONS[op]
    x0 = _rand(*shape, seed=len(shape))  # continuous random values: no ties for max

    def build(x):
        return gf_fn(x, axis=axis, keepdims=keepdims)

    value, _ = compare_with_torch(build, _torch_reduce(torch_fn, axis, keepdims), [x0])
    check_finite_differences(build, [x0])
    want_shape = np.sum(x0, axis=axis, keepdims=keepdims).shape
    assert build(gf.placeholder(gf.float64, shape)).shape == want_shape


def test_reduce_default_axis_is_all_axes():
    x0 = _rand(2, 3)
    for gf_fn, torch_fn in REDUCTIONS.values():
        compare_with_torch(gf_fn, torch_fn, [x0])


@pytest.mark.parametrize("x0, axis, keepdims", [
    ([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], 1, False),
    ([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], 0, True),
    ([[1.0, 3.0, 3.0], [2.0, 3.0, 0.5]], None, False),
    ([[[5.0, 5.0], [1.0, 5.0]], [[0.0, 2.0], [2.0, -1.0]]], (0, 2), False),
])
def test_reduce_max_splits_gradient_evenly_among_ties(x0, axis, keepdims):
    x0 = np.asarray(x0)
    compare_with_torch(lambda x: gf.reduce_max(x, axis, keepdims),
                       _torch_reduce(torch.amax, axis, keepdims), [x0])


def test_reduce_max_tie_gradient_values():
    x = gf.placeholder(gf.float64, (4,))
    (g,) = gf.gradients(gf.reduce_max(x), [x])
    got = gf.Session().run(g, {x: np.array([2.0, 7.0, 7.0, 7.0])})
    np.testing.assert_allclose(got, [0.0, 1 / 3, 1 / 3, 1 / 3])


@pytest.mark.parametrize("shape, axis, keepdims, want", [
    ((None, 3), 0, False, (3,)),
    ((None, 3), 1, False, (None,)),
    ((None, 3), -1, True, (None, 1)),
    ((None, 3), 0, True, (1, 3)),
    ((None, 3), None, False, ()),
    ((None, 3), None, True, (1, 1)),
    ((2, None, 4), (0, 2), False, (None,)),
    (None, None, False, ()),
    (None, 1, False, None),
])
@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_reduction_static_shape(op, shape, axis, keepdims, want):
    x = gf.placeholder(gf.float64, shape)
    out = REDUCTIONS[op][0](x, axis, keepdims)
    assert out.shape == want and out.dtype == np.float64


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis", [np.int64(1), [0, 1], (np.int64(0),)], ids=repr)
def test_reduce_axis_as_numpy_integer_or_list(op, axis):
    gf_fn, torch_fn = REDUCTIONS[op]
    torch_axis = int(axis) if np.ndim(axis) == 0 else tuple(int(a) for a in axis)
    compare_with_torch(lambda x: gf_fn(x, axis), _torch_reduce(torch_fn, torch_axis, False),
                       [_rand(2, 3)])


@pytest.mark.parametrize("axis", [2, -3, (0, 0), (1, -1)])
def test_reduce_bad_axis_is_a_shape_error(axis):
    with pytest.raises(gf.ShapeError):
        gf.reduce_sum(gf.placeholder(gf.float64, (2, 3)), axis)


def test_reduce_mean_of_integers_is_a_type_error():
    with pytest.raises(TypeError):
        gf.reduce_mean(gf.placeholder(gf.int32, (3,)))


# -- reductions over sizes known only at run time -------------------------------------------------
BATCHES = (1, 2, 5)


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis, keepdims", [(0, False), (None, False), (1, False), (0, True),
                                            ((0, 1), True), (-1, False)])
def test_reduction_over_unknown_batch(op, axis, keepdims):
    gf_fn, torch_fn = REDUCTIONS[op]
    check_with_unknown_dims(lambda x: gf_fn(x, axis, keepdims),
                            _torch_reduce(torch_fn, axis, keepdims), [(None, 3)],
                            [[_rand(n, 3, seed=n)] for n in BATCHES])


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis, keepdims", [(None, False), (None, True), (-1, False), (0, True),
                                            ((0, -1), False), (-2, False)])
def test_reduction_of_unknown_rank(op, axis, keepdims):
    gf_fn, torch_fn = REDUCTIONS[op]
    check_with_unknown_dims(lambda x: gf_fn(x, axis, keepdims),
                            _torch_reduce(torch_fn, axis, keepdims), [None],
                            [[_rand(4, 3, seed=1)], [_rand(2, 3, 2, seed=2)]])


def test_reduce_mean_over_unknown_batch_in_a_loss():
    # The usual loss: mean over the batch of a per-example sum; d/db = 2 * mean(x + b) over rows.
    x = gf.placeholder(gf.float64, shape=(None, 3))
    b = gf.placeholder(gf.float64, shape=(3,))
    loss = gf.reduce_mean(gf.reduce_sum(gf.square(x + b), axis=1))
    assert loss.shape == ()
    (db,) = gf.gradients(loss, [b])
    sess = gf.Session()
    b0 = _rand(3, seed=7)
    for n in BATCHES:
        x0 = _rand(n, 3, seed=n)
        tb = torch.tensor(b0, requires_grad=True)
        tloss = ((torch.tensor(x0) + tb) ** 2).sum(1).mean()
        (want,) = torch.autograd.grad(tloss, [tb])
        got_loss, got = sess.run([loss, db], {x: x0, b: b0})
        np.testing.assert_allclose(got_loss, tloss.item(), rtol=reference.RTOL)
        np.testing.assert_allclose(got, want.numpy(), rtol=reference.RTOL, atol=reference.ATOL)
    reference.COVERED.update(node.type for node in loss.graph.nodes)


# -- argmax ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, axis", [((5,), 0), ((5,), -1), ((3, 4), 0), ((3, 4), 1),
                                         ((3, 4), -1), ((2, 3, 4), 1), ((2, 3, 4), -1)])
def test_argmax(shape, axis):
    value, _ = compare_with_torch(lambda x: gf.argmax(x, axis), lambda x: torch.argmax(x, axis),
                                  [_rand(*shape, seed=3)], grad=False)
    assert value.dtype == np.int64


def test_argmax_default_axis_is_zero_and_dtype_is_int64():
    x0 = _rand(3, 4, seed=5)
    x = gf.placeholder(gf.float64, (3, 4))
    out = gf.argmax(x)
    assert out.dtype == np.int64 and out.shape == (4,)
    np.testing.assert_array_equal(gf.Session().run(out, {x: x0}), np.argmax(x0, 0))


@pytest.mark.parametrize("shape, axis, want", [
    ((None, 10), 1, (None,)),
    ((None, 10), 0, (10,)),
    ((2, None, 3), -1, (2, None)),
    (None, 0, None),
])
def test_argmax_static_shape(shape, axis, want):
    out = gf.argmax(gf.placeholder(gf.float64, shape), axis)
    assert out.shape == want and out.dtype == np.int64


def test_argmax_of_unknown_batch_at_run_time():
    x = gf.placeholder(gf.float32, (None, 4))
    out = gf.argmax(x, 1)
    sess = gf.Session()
    for n in BATCHES:
        x0 = _rand(n, 4, seed=n).astype(np.float32)
        got = sess.run(out, {x: x0})
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, torch.argmax(torch.tensor(x0), 1).numpy())


# -- add_n -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
def test_add_n(n, shape):
    arrays = [np.asarray(_rand(*shape, seed=i)) for i in range(n)]
    _, grads = compare_with_torch(lambda *xs: gf.add_n(list(xs)),
                                  lambda *xs: torch.stack(xs).sum(0), arrays)
    assert len(grads) == n and all(g is not None for g in grads)
    check_finite_differences(lambda *xs: gf.add_n(list(xs)), arrays)


def test_add_n_of_one_tensor_does_not_alias_its_input():
    x = gf.placeholder(gf.float64, (3,))
    x0 = np.arange(3.0)
    sess = gf.Session()
    got = sess.run(gf.add_n([x]), {x: x0})
    got += 1.0
    np.testing.assert_array_equal(x0, np.arange(3.0))


def test_add_n_of_the_same_tensor_twice():
    compare_with_torch(lambda x: gf.add_n([x, x * x, x]), lambda x: x + x * x + x, [_rand(2, 3)])


def test_add_n_static_shape_merges_known_sizes():
    a = gf.placeholder(gf.float64, (None, 3))
    b = gf.placeholder(gf.float64, (2, None))
    assert gf.add_n([a, b]).shape == (2, 3)
    assert gf.add_n([a, gf.placeholder(gf.float64, None)]).shape == (None, 3)


def test_add_n_mismatched_shapes_is_a_shape_error():
    with pytest.raises(gf.ShapeError):
        gf.add_n([gf.placeholder(gf.float64, (2, 3)), gf.placeholder(gf.float64, (3, 2))])


def test_add_n_mismatched_dtypes_is_a_type_error():
    with pytest.raises(TypeError):
        gf.add_n([gf.placeholder(gf.float64, (2,)), gf.placeholder(gf.float32, (2,))])


def test_add_n_with_unknown_batch():
    check_with_unknown_dims(lambda a, b, c: gf.add_n([a, b, c]), lambda a, b, c: a + b + c,
                            [(None, 3), (None, 3), (None, 3)],
                            [[_rand(n, 3, seed=i) for i in range(3)] for n in BATCHES])
