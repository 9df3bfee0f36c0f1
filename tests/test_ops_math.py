"""The math ops of compiler/ops/math.py (sin, cos, log1p, rsqrt, reduce_min, reduce_prod, argmin,
logical and/or/not) against torch in float64: values, gradients, finite differences, Hessians,
static shapes and dtypes, sizes known only at run time, and build-time errors."""

import numpy as np
import pytest
import torch
from reference import check_finite_differences, check_with_unknown_dims, compare_with_torch

import graphflow as gf
from compiler import NOT_DIFFERENTIABLE
from compiler.ops import math as gm


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _hessian_matches_torch(build_gf, build_torch, x0):
    """The Hessian of the scalar build(x) built by graphflow equals torch's."""
    x = gf.placeholder(gf.float64, x0.shape)
    (h,) = gf.hessians(build_gf(x), [x])
    got = gf.Session().run(h, {x: x0})
    want = torch.autograd.functional.hessian(build_torch, torch.tensor(x0))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)


# -- sin, cos, log1p, rsqrt ------------------------------------------------------------------------
UNARY = [  # (graphflow op, torch op, inputs in the op's domain)
    (gm.sin, torch.sin, lambda rng, s: rng.uniform(-4.0, 4.0, s)),
    (gm.cos, torch.cos, lambda rng, s: rng.uniform(-4.0, 4.0, s)),
    (gm.log1p, torch.log1p, lambda rng, s: rng.uniform(-0.9, 3.0, s)),
    (gm.rsqrt, torch.rsqrt, lambda rng, s: rng.uniform(0.2, 3.0, s)),
]
UNARY_IDS = ["sin", "cos", "log1p", "rsqrt"]


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)], ids=str)
@pytest.mark.parametrize("f_gf, f_torch, dom", UNARY, ids=UNARY_IDS)
def test_unary_matches_torch(f_gf, f_torch, dom, shape):
    compare_with_torch(f_gf, f_torch, [dom(np.random.default_rng(0), shape)])


@pytest.mark.parametrize("f_gf, f_torch, dom", UNARY, ids=UNARY_IDS)
def test_unary_finite_differences_and_hessian(f_gf, f_torch, dom):
    x0 = dom(np.random.default_rng(1), (2, 3))
    check_finite_differences(f_gf, [x0])
    _hessian_matches_torch(lambda x: gf.reduce_sum(f_gf(x) * x),
                           lambda x: (f_torch(x) * x).sum(), x0)


@pytest.mark.parametrize("f_gf, f_torch, dom", UNARY, ids=UNARY_IDS)
def test_unary_keeps_float32_and_runs_compiled_with_its_numpy_call(f_gf, f_torch, dom):
    x0 = dom(np.random.default_rng(2), (4,)).astype(np.float32)
    x = gf.placeholder(gf.float32, (None,), name="x")
    y = f_gf(x * 2.0, name="y")
    assert y.dtype == np.float32 and y.shape == (None,)
    step = gf.Session().make_callable(y, [x])
    got = step(x0)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, f_torch(torch.tensor(x0) * 2).numpy(), rtol=1e-6)
    call = {"rsqrt": "k_rsqrt"}.get(f_gf.__name__, f"np.{f_gf.__name__}(")
    assert f"y = {call}" in step.source or f"y = _{call}" in step.source, step.source


@pytest.mark.parametrize("f_gf", [u[0] for u in UNARY], ids=UNARY_IDS)
def test_unary_of_integers_is_a_type_error(f_gf):
    with pytest.raises(gf.DTypeError, match="float"):
        f_gf(gf.placeholder(gf.int32, (3,)))


def test_unary_domain_edges_match_numpy():
    x = gf.placeholder(gf.float64, (4,))
    got = gf.Session().run([gm.log1p(x), gm.rsqrt(x)], {x: np.array([-1.0, 0.0, 1e-20, 4.0])})
    np.testing.assert_array_equal(got[0], [-np.inf, 0.0, 1e-20, np.log1p(4.0)])
    np.testing.assert_array_equal(got[1], [np.nan, np.inf, 1e10, 0.5])


# -- reduce_min and reduce_prod --------------------------------------------------------------------
def _torch_amin(axis, keepdims):
    def reduce(x):
        dims = tuple(range(x.ndim)) if axis is None else axis
        return torch.amin(x, dim=dims, keepdim=keepdims)
    return reduce


def _torch_prod(axis, keepdims):
    """torch.prod reduces one dim at a time: reduce the highest first so the others stay put."""
    def reduce(x):
        dims = range(x.ndim) if axis is None else (axis,) if np.ndim(axis) == 0 else axis
        for d in sorted((d % x.ndim for d in dims), reverse=True):
            x = torch.prod(x, d, keepdim=keepdims)
        return x
    return reduce


REDUCTIONS = {"min": (gm.reduce_min, _torch_amin), "prod": (gm.reduce_prod, _torch_prod)}
AXES = {
    (5,): [None, 0, -1],
    (3, 4): [None, 0, 1, -2, (0, 1)],
    (2, 3, 4): [None, 1, -1, (0, 2), (-1, 0), (0, 1, 2)],
}
CASES = [(shape, axis) for shape, axes in AXES.items() for axis in axes]


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", CASES, ids=[f"{s}-axis{a}" for s, a in CASES])
def test_reduction_matches_torch(op, shape, axis, keepdims):
    gf_fn, torch_fn = REDUCTIONS[op]
    x0 = _rand(*shape, seed=len(shape))

    def build(x):
        return gf_fn(x, axis=axis, keepdims=keepdims)

    value, _ = compare_with_torch(build, torch_fn(axis, keepdims), [x0])
    assert build(gf.placeholder(gf.float64, shape)).shape == np.shape(value)
    if len(shape) < 3:
        check_finite_differences(build, [x0])


@pytest.mark.parametrize("x0, axis, keepdims", [
    ([[1.0, -3.0, -3.0], [2.0, 2.0, 2.0]], 1, False),
    ([[1.0, -3.0, -3.0], [2.0, 2.0, 2.0]], 0, True),
    ([[1.0, -3.0, -3.0], [2.0, -3.0, 0.5]], None, False),
    ([[[-5.0, -5.0], [1.0, -5.0]], [[0.0, 2.0], [2.0, -1.0]]], (0, 2), False),
])
def test_reduce_min_splits_gradient_evenly_among_ties(x0, axis, keepdims):
    compare_with_torch(lambda x: gm.reduce_min(x, axis, keepdims), _torch_amin(axis, keepdims),
                       [np.asarray(x0)])
    x = gf.placeholder(gf.float64, (4,))
    (g,) = gf.gradients(gm.reduce_min(x), [x])
    got = gf.Session().run(g, {x: np.array([-7.0, 2.0, -7.0, -7.0])})
    np.testing.assert_allclose(got, [1 / 3, 0.0, 1 / 3, 1 / 3])


ZERO_CASES = [  # inputs holding zeros: one, two, three in a slice; slices with and without
    ([1.5, 0.0, -2.0, 3.0], None),
    ([0.0, 0.0, -2.0, 3.0], None),
    ([0.0, 0.0, 0.0, 3.0], None),
    ([[0.0, 2.0, 3.0], [1.5, -2.0, 0.5], [0.0, 0.0, 4.0]], 1),
    ([[0.0, 2.0, 3.0], [1.5, -2.0, 0.5], [0.0, 0.0, 4.0]], 0),
    ([[[0.0, 2.0], [3.0, 0.0]], [[1.5, 0.0], [-2.0, 0.5]]], (0, 2)),
]


@pytest.mark.parametrize("x0, axis", ZERO_CASES, ids=[str(c) for c in ZERO_CASES])
def test_reduce_prod_gradient_and_hessian_at_zeros_match_torch(x0, axis):
    x0 = np.asarray(x0)
    for keepdims in (False, True):
        compare_with_torch(lambda x: gm.reduce_prod(x, axis, keepdims),
                           _torch_prod(axis, keepdims), [x0])
    # prod is a polynomial: central differences are exact to rounding, at zeros too.
    check_finite_differences(lambda x: gm.reduce_prod(x, axis), [x0])
    weights = _rand(*np.shape(np.sum(x0, axis=axis)), seed=5)
    _hessian_matches_torch(lambda x: gf.reduce_sum(gm.reduce_prod(x, axis) * weights),
                           lambda x: (_torch_prod(axis, False)(x) * torch.tensor(weights)).sum(),
                           x0)


def test_reduce_prod_gradient_is_the_product_of_the_others():
    x = gf.placeholder(gf.float64, (4,))
    (g,) = gf.gradients(gm.reduce_prod(x), [x])
    sess = gf.Session()
    np.testing.assert_array_equal(sess.run(g, {x: np.array([2.0, 0.0, 3.0, 5.0])}),
                                  [0.0, 30.0, 0.0, 0.0])
    np.testing.assert_array_equal(sess.run(g, {x: np.array([2.0, 0.0, 3.0, 0.0])}), [0.0] * 4)
    np.testing.assert_allclose(sess.run(g, {x: np.array([2.0, 1.0, 3.0, 5.0])}),
                               [15.0, 30.0, 10.0, 6.0])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_reduce_prod_of_integers_keeps_the_dtype(dtype):
    x0 = np.arange(1, 7, dtype=dtype).reshape(2, 3)
    for axis in (None, 0, (0, 1)):
        value, _ = compare_with_torch(lambda x: gm.reduce_prod(x, axis),
                                      _torch_prod(axis, False), [x0], grad=False)
        assert value.dtype == dtype


def test_reduce_prod_of_bool_is_a_type_error():
    with pytest.raises(gf.DTypeError, match="bool"):
        gm.reduce_prod(gf.placeholder(gf.bool_, (3,)))


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis", [2, -3, (0, 0)])
def test_reduction_bad_axis_is_a_shape_error_naming_the_op(op, axis):
    with pytest.raises(gf.ShapeError, match=f"reduce_{op} .*test_ops_math.py"):
        REDUCTIONS[op][0](gf.placeholder(gf.float64, (2, 3)), axis)


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
@pytest.mark.parametrize("shape, axis, keepdims, want", [
    ((None, 3), 0, False, (3,)),
    ((None, 3), -1, True, (None, 1)),
    ((None, 3), None, False, ()),
    (None, None, False, ()),
    (None, 1, False, None),
])
def test_reduction_static_shape(op, shape, axis, keepdims, want):
    out = REDUCTIONS[op][0](gf.placeholder(gf.float64, shape), axis, keepdims)
    assert out.shape == want and out.dtype == np.float64


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis, keepdims", [(0, False), (None, False), (1, True), (-1, False)])
def test_reduction_over_unknown_batch(op, axis, keepdims):
    gf_fn, torch_fn = REDUCTIONS[op]
    feeds = [[_rand(n, 3, seed=n)] for n in (1, 2, 5)]
    feeds.append([np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]])])  # zeros, for prod
    check_with_unknown_dims(lambda x: gf_fn(x, axis, keepdims), torch_fn(axis, keepdims),
                            [(None, 3)], feeds)


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis", [None, -1, (0, -1)])
def test_reduction_of_unknown_rank(op, axis):
    gf_fn, torch_fn = REDUCTIONS[op]
    check_with_unknown_dims(lambda x: gf_fn(x, axis), torch_fn(axis, False), [None],
                            [[_rand(4, 3, seed=1)], [_rand(2, 3, 2, seed=2)]])


# -- argmin ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, axis", [((5,), 0), ((5,), -1), ((3, 4), 0), ((3, 4), 1),
                                         ((2, 3, 4), 1), ((2, 3, 4), -1)])
def test_argmin_matches_torch(shape, axis):
    value, _ = compare_with_torch(lambda x: gm.argmin(x, axis), lambda x: torch.argmin(x, axis),
                                  [_rand(*shape, seed=3)], grad=False)
    assert value.dtype == np.int64


def test_argmin_ties_give_the_first_index_and_defaults():
    x = gf.placeholder(gf.float64, (None, 3))
    first = gm.argmin(x)
    int32 = gm.argmin(x, 1, output_type=gf.int32)
    old_name = gm.argmin(x, dimension=1)
    assert first.shape == (3,) and first.dtype == np.int64
    assert int32.shape == (None,) and int32.dtype == np.int32
    x0 = np.array([[2.0, -1.0, -1.0], [2.0, 0.0, -1.0]])
    for sess in (gf.Session(optimize=False), gf.Session()):
        got = sess.run([first, int32, old_name], {x: x0})
        np.testing.assert_array_equal(got[0], [0, 0, 0])
        np.testing.assert_array_equal(got[1], [1, 2])
        assert got[1].dtype == np.int32
        np.testing.assert_array_equal(got[2], [1, 2])


def test_argmin_errors():
    x = gf.placeholder(gf.float64, (2, 3))
    with pytest.raises(gf.ShapeError, match="argmin"):
        gm.argmin(x, 2)
    with pytest.raises(TypeError, match="output_type"):
        gm.argmin(x, 1, output_type=gf.float32)
    with pytest.raises(ValueError, match="not both"):
        gm.argmin(x, 1, dimension=1)


def test_argmin_is_not_differentiable_and_int_paths_get_no_gradient():
    for op in (gm.ARGMIN, gm.LOGICAL_AND, gm.LOGICAL_OR, gm.LOGICAL_NOT):
        assert op.grad is NOT_DIFFERENTIABLE
    x = gf.placeholder(gf.float64, (3,))
    (g,) = gf.gradients(gf.reduce_sum(gf.cast(gm.argmin(x), gf.float64) * x), [x])
    np.testing.assert_array_equal(gf.Session().run(g, {x: np.array([3.0, -1.0, 2.0])}), [1.0] * 3)


# -- logical ops -----------------------------------------------------------------------------------
LOGICAL = [(gm.logical_and, torch.logical_and), (gm.logical_or, torch.logical_or)]
BOOL_SHAPES = [((), ()), ((3,), ()), ((2, 3), (3,)), ((2, 1), (1, 3)), ((3,), (2, 3))]


@pytest.mark.parametrize("shapes", BOOL_SHAPES, ids=str)
@pytest.mark.parametrize("f_gf, f_torch", LOGICAL, ids=["and", "or"])
def test_logical_binary_matches_torch(f_gf, f_torch, shapes):
    rng = np.random.default_rng(4)
    x0, y0 = rng.random(shapes[0]) < 0.5, rng.random(shapes[1]) < 0.5
    value, _ = compare_with_torch(f_gf, f_torch, [x0, y0], grad=False)
    assert value.dtype == np.bool_


@pytest.mark.parametrize("shape", [(), (4,), (2, 3)], ids=str)
def test_logical_not_matches_torch(shape):
    x0 = np.random.default_rng(5).random(shape) < 0.5
    value, _ = compare_with_torch(gm.logical_not, torch.logical_not, [x0], grad=False)
    assert value.dtype == np.bool_


def test_logical_ops_with_python_bools_and_static_shapes():
    x = gf.placeholder(gf.bool_, (None, 3))
    both = gm.logical_and(x, True)
    either = gm.logical_or(False, x)
    neither = gm.logical_not(gm.logical_or(x, gf.placeholder(gf.bool_, (3,))))
    assert both.shape == either.shape == neither.shape == (None, 3)
    assert both.dtype == either.dtype == neither.dtype == np.bool_
    x0 = np.array([[True, False, True]])
    for sess in (gf.Session(optimize=False), gf.Session()):
        a, b = sess.run([both, either], {x: x0})
        np.testing.assert_array_equal(a, x0)
        np.testing.assert_array_equal(b, x0)


@pytest.mark.parametrize("build", [
    lambda a, b: gm.logical_and(a, b), lambda a, b: gm.logical_or(b, a),
    lambda a, b: gm.logical_not(a)])
def test_logical_ops_of_non_bool_are_type_errors(build):
    a, b = gf.placeholder(gf.float64, (3,)), gf.placeholder(gf.bool_, (3,))
    with pytest.raises(gf.DTypeError, match="bool"):
        build(a, b)


def test_logical_binary_shape_mismatch_is_a_shape_error():
    with pytest.raises(gf.ShapeError, match="logical_and"):
        gm.logical_and(gf.placeholder(gf.bool_, (2,)), gf.placeholder(gf.bool_, (3,)))


def test_gradients_flow_through_where_with_a_logical_condition():
    # |x| between 0.5 and 2 keeps x, else 0: the mask is bool, the gradient flows in where.
    def build(x):
        inside = gm.logical_and(gf.greater(gf.abs(x), 0.5), gm.logical_not(gf.greater(x, 2.0)))
        return gf.where(inside, x * x, 0.0)

    def build_torch(x):
        inside = torch.logical_and(x.abs() > 0.5, torch.logical_not(x > 2.0))
        return torch.where(inside, x * x, torch.zeros_like(x))

    compare_with_torch(build, build_torch, [np.array([-3.0, -1.0, 0.1, 1.5, 2.5])])
