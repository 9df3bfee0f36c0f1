"""Shape ops (reshape, transpose, expand_dims, squeeze, concat, broadcast_to, one_hot, indexing):
forward values and gradients against torch in float64, central finite differences, static shape
inference, and gradients through placeholders whose sizes are only known at run time."""

import numpy as np
import pytest
import reference
import torch
from reference import check_finite_differences, check_with_unknown_dims, compare_with_torch

import graphflow as gf


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _check(build_gf, build_torch, arrays):
    """Against torch (value and vector-Jacobian product), then against finite differences."""
    compare_with_torch(build_gf, build_torch, arrays)
    check_finite_differences(build_gf, arrays)


class _Index:
    """I[1, ..., None] is the index (1, Ellipsis, None): indices written in Python syntax."""

    def __getitem__(self, index):
        return index


I = _Index()  # noqa: E741


# -- reshape ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, new_shape", [
    ((2, 3, 4), (4, -1)),
    ((2, 3, 4), (-1,)),
    ((6,), (-1, 2, 1)),
    ((2, 3), (3, 2)),
    ((2, 3, 4), (2, -1, 2)),
    ((1,), ()),
])
def test_reshape(shape, new_shape):
    _check(lambda x: gf.reshape(x, new_shape), lambda x: x.reshape(new_shape), [_rand(*shape)])


@pytest.mark.parametrize("shape, new_shape, want", [
    ((None, 3), (-1,), (None,)),
    ((None, 3), (-1, 3), (None, 3)),
    ((2, 6), (3, -1), (3, 4)),
    ((2, 6), (12,), (12,)),
])
def test_reshape_static_shape(shape, new_shape, want):
    assert gf.reshape(gf.placeholder(gf.float64, shape), new_shape).shape == want


@pytest.mark.parametrize("new_shape", [(5,), (5, -1), (-1, -1)])
def test_reshape_incompatible_shape_is_a_shape_error(new_shape):
    with pytest.raises(gf.ShapeError):
        gf.reshape(gf.placeholder(gf.float64, (2, 3)), new_shape)


def test_reshape_gradient_with_unknown_batch():
    check_with_unknown_dims(lambda x: gf.reshape(x, (-1,)), lambda x: x.reshape(-1),
                            [(None, 3)], [[_rand(n, 3, seed=n)] for n in (1, 2, 5)])


def test_reshape_to_known_rows_from_unknown_batch():
    check_with_unknown_dims(lambda x: gf.reshape(x, (-1, 2)), lambda x: x.reshape(-1, 2),
                            [(None, 4)], [[_rand(n, 4, seed=n)] for n in (1, 3)])


# -- transpose -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, perm", [
    ((2, 3), None),
    ((2, 3, 4), None),
    ((2, 3), (1, 0)),
    ((2, 3, 4), (2, 0, 1)),
    ((2, 3, 4), (0, 2, 1)),
    ((2, 3, 4), (0, 1, 2)),
])
def test_transpose(shape, perm):
    torch_perm = tuple(reversed(range(len(shape)))) if perm is None else perm
    _check(lambda x: gf.transpose(x, perm), lambda x: x.permute(torch_perm), [_rand(*shape)])


@pytest.mark.parametrize("shape, perm, want", [
    ((None, 3), None, (3, None)),
    ((2, None, 4), (2, 0, 1), (4, 2, None)),
])
def test_transpose_static_shape(shape, perm, want):
    assert gf.transpose(gf.placeholder(gf.float64, shape), perm).shape == want


def test_transpose_bad_perm_is_a_shape_error():
    with pytest.raises(gf.ShapeError):
        gf.transpose(gf.placeholder(gf.float64, (2, 3, 4)), (0, 0, 1))


def test_transpose_gradient_with_unknown_batch():
    check_with_unknown_dims(lambda x: gf.transpose(x, (1, 2, 0)), lambda x: x.permute(1, 2, 0),
                            [(None, 3, 2)], [[_rand(n, 3, 2, seed=n)] for n in (1, 4)])


# -- expand_dims / squeeze -------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3, (0, -1)])
def test_expand_dims(axis):
    x0 = _rand(2, 3)
    want_shape = np.expand_dims(x0, axis).shape
    _check(lambda x: gf.expand_dims(x, axis), lambda x: x.reshape(want_shape), [x0])
    assert gf.expand_dims(gf.placeholder(gf.float64, (2, 3)), axis).shape == want_shape


def test_expand_dims_static_shape_with_unknown_dim():
    x = gf.placeholder(gf.float64, (None, 3))
    assert gf.expand_dims(x, 1).shape == (None, 1, 3)
    assert gf.expand_dims(x, -1).shape == (None, 3, 1)


@pytest.mark.parametrize("shape, axis", [
    ((1, 3, 1, 2), None),
    ((3, 1), None),
    ((1, 3, 1, 2), 0),
    ((1, 3, 1, 2), 2),
    ((1, 3, 1, 2), -2),
    ((1, 3, 1, 2), (0, 2)),
    ((1, 1), None),
])
def test_squeeze(shape, axis):
    x0 = _rand(*shape)
    want_shape = np.squeeze(x0, axis).shape
    _check(lambda x: gf.squeeze(x, axis), lambda x: x.reshape(want_shape), [x0])
    assert gf.squeeze(gf.placeholder(gf.float64, shape), axis).shape == want_shape


def test_squeeze_static_shape_with_unknown_dims():
    x = gf.placeholder(gf.float64, (None, 1, 3))
    assert gf.squeeze(x, 1).shape == (None, 3)
    assert gf.squeeze(x).shape is None  # whether the unknown size is 1 is known only at run time


@pytest.mark.parametrize("n", [1, 3])
def test_squeeze_all_with_unknown_dims_resolves_at_run_time(n):
    # The result's rank is unknown when built: (3,) when the batch is 1, (n, 3) otherwise.
    check_with_unknown_dims(gf.squeeze, torch.squeeze, [(None, 1, 3)], [[_rand(n, 1, 3)]])


def test_squeeze_axis_of_size_other_than_one_is_a_shape_error():
    with pytest.raises(gf.ShapeError):
        gf.squeeze(gf.placeholder(gf.float64, (1, 3)), 1)


def test_expand_dims_and_squeeze_gradients_with_unknown_batch():
    check_with_unknown_dims(lambda x: gf.squeeze(gf.expand_dims(x, -1) * 2.0, 2),
                            lambda x: (x.unsqueeze(-1) * 2.0).squeeze(2),
                            [(None, 3)], [[_rand(n, 3, seed=n)] for n in (1, 4)])


# -- concat ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(n, axis):
    # Each input has a different size along the concat axis (2, 3, 1 ...).
    arrays = []
    for i in range(n):
        shape = [2, 3]
        shape[axis] = [2, 3, 1][i]
        arrays.append(_rand(*shape, seed=i))
    _check(lambda *xs: gf.concat(list(xs), axis), lambda *xs: torch.cat(xs, axis), arrays)


def test_concat_3d_middle_axis():
    arrays = [_rand(2, 1, 3, seed=0), _rand(2, 2, 3, seed=1)]
    _check(lambda a, b: gf.concat([a, b], 1), lambda a, b: torch.cat([a, b], 1), arrays)


def test_concat_of_a_tensor_with_itself_sums_both_gradients():
    _check(lambda x: gf.concat([x, x * 3.0], 0), lambda x: torch.cat([x, x * 3.0], 0),
           [_rand(2, 3)])


@pytest.mark.parametrize("shapes, axis, want", [
    ([(None, 3), (None, 2)], 1, (None, 5)),
    ([(None, 3), (4, 3)], 0, (None, 3)),
    ([(2, 3), (4, 3)], 0, (6, 3)),
    ([(None, 3), (2, None)], 0, (None, 3)),
    ([(2, None), (2, 3), (2, 1)], -1, (2, None)),
])
def test_concat_static_shape(shapes, axis, want):
    xs = [gf.placeholder(gf.float64, s) for s in shapes]
    assert gf.concat(xs, axis).shape == want


def test_concat_sizes_differing_off_the_axis_is_a_shape_error():
    with pytest.raises(gf.ShapeError):
        gf.concat([gf.placeholder(gf.float64, (2, 3)), gf.placeholder(gf.float64, (3, 3))], 1)


def test_concat_along_axis_of_unknown_size():
    check_with_unknown_dims(lambda a, b: gf.concat([a, b], 0), lambda a, b: torch.cat([a, b], 0),
                            [(None, 3), (None, 3)],
                            [[_rand(n, 3, seed=n), _rand(m, 3, seed=10 + m)]
                             for n, m in [(1, 1), (2, 5), (4, 1)]])


def test_concat_three_inputs_along_unknown_axis_with_unknown_batch():
    check_with_unknown_dims(lambda a, b, c: gf.concat([a, b, c], -1),
                            lambda a, b, c: torch.cat([a, b, c], -1),
                            [(None, 2), (None, None), (None, 1)],
                            [[_rand(n, 2, seed=1), _rand(n, k, seed=2), _rand(n, 1, seed=3)]
                             for n, k in [(1, 3), (3, 1), (2, 4)]])


# -- broadcast_to and broadcasting gradients -------------------------------------------------------
@pytest.mark.parametrize("shape, target", [
    ((3,), (2, 3)),
    ((2, 1), (2, 4)),
    ((1, 3), (2, 2, 3)),
    ((), (2, 3)),
    ((2, 3), (2, 3)),
    ((3, 1, 2), (4, 3, 5, 2)),
])
def test_broadcast_to(shape, target):
    _check(lambda x: gf.broadcast_to(x, target), lambda x: torch.broadcast_to(x, target),
           [np.asarray(_rand(*shape))])


def test_broadcast_to_static_shape():
    assert gf.broadcast_to(gf.placeholder(gf.float64, (None, 4)), (2, 4)).shape == (2, 4)
    assert gf.broadcast_to(gf.placeholder(gf.float64, (3,)), (2, 3)).shape == (2, 3)


def test_broadcast_to_a_target_with_unknown_size_runs_or_is_rejected_when_built():
    # A target holding None must either be refused when the graph is built or run, the unknown
    # size taken from the fed value; building fine and then failing in every run is neither.
    x = gf.placeholder(gf.float64, (None, 1))
    try:
        y = gf.broadcast_to(x, (None, 4))
    except gf.ShapeError:
        return
    assert y.shape == (None, 4)
    x0 = _rand(2, 1)
    np.testing.assert_array_equal(gf.Session().run(y, {x: x0}), np.broadcast_to(x0, (2, 4)))


@pytest.mark.parametrize("shape, target", [((3,), (2, 4)), ((2, 3), (3,)), ((2, 3), (4, 3))])
def test_broadcast_to_incompatible_is_a_shape_error(shape, target):
    with pytest.raises(gf.ShapeError):
        gf.broadcast_to(gf.placeholder(gf.float64, shape), target)


def test_gradient_of_bias_summed_over_unknown_batch():
    x = gf.placeholder(gf.float64, shape=(None, 3))
    b = gf.placeholder(gf.float64, shape=(3,))
    (db,) = gf.gradients(gf.reduce_sum(x + b), [b])
    sess = gf.Session()
    b0 = _rand(3, seed=9)
    for n in (1, 2, 7):
        x0 = _rand(n, 3, seed=n)
        tb = torch.tensor(b0, requires_grad=True)
        (want,) = torch.autograd.grad((torch.tensor(x0) + tb).sum(), [tb])
        got = sess.run(db, {x: x0, b: b0})
        np.testing.assert_allclose(got, want.numpy(), rtol=reference.RTOL, atol=reference.ATOL)
        np.testing.assert_allclose(got, np.full(3, float(n)))
    reference.COVERED.update(node.type for node in db.graph.nodes)


@pytest.mark.parametrize("x_shape, y_shape, feeds", [
    ((None, 3), (3,), [((1, 3), (3,)), ((5, 3), (3,))]),
    ((None, 1), (1, None), [((2, 1), (1, 4)), ((1, 1), (1, 3))]),
    ((None, None), (None,), [((2, 3), (3,)), ((2, 1), (4,)), ((1, 1), (1,))]),
])
def test_broadcasting_gradients_resolved_at_run_time(x_shape, y_shape, feeds):
    check_with_unknown_dims(lambda x, y: x * y + y, lambda x, y: x * y + y, [x_shape, y_shape],
                            [[_rand(*xs, seed=1), _rand(*ys, seed=2)] for xs, ys in feeds])


# -- one_hot ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("indices, depth", [
    ([0, 2, 1, 2], 3),
    ([[0, 4], [3, 3], [1, 0]], 5),
    (3, 4),
])
def test_one_hot(indices, depth):
    indices = np.asarray(indices, np.int64)
    value, _ = compare_with_torch(
        lambda i: gf.one_hot(i, depth, dtype=gf.float64),
        lambda i: torch.nn.functional.one_hot(i, depth).double(), [indices], grad=False)
    assert value.dtype == np.float64


def test_one_hot_default_dtype_and_static_shape():
    i = gf.placeholder(gf.int64, shape=(None,))
    out = gf.one_hot(i, 4)
    assert out.dtype == np.float32 and out.shape == (None, 4)
    value = gf.Session().run(out, {i: np.array([1, 0])})
    assert value.dtype == np.float32
    np.testing.assert_array_equal(value, [[0, 1, 0, 0], [1, 0, 0, 0]])


def test_one_hot_out_of_range_index_is_all_zeros():
    value = gf.Session().run(gf.one_hot(np.array([1, 3, -1]), 3))
    np.testing.assert_array_equal(value, [[0, 1, 0], [0, 0, 0], [0, 0, 0]])


def test_one_hot_of_float_indices_is_a_type_error():
    with pytest.raises(TypeError):
        gf.one_hot(gf.placeholder(gf.float32, (3,)), 4)


# -- indexing --------------------------------------------------------------------------------------
@pytest.mark.parametrize("index", [
    I[1],
    I[-1],
    I[0, 2],
    I[2, -1, 0],
    I[:, -2],
    I[1:],
    I[::2],
    I[:, 1:4:2],
    I[-2:, ::3, 1],
    I[-3:-1, :, -4:-1],
    I[1:100],
    I[None],
    I[:, None, 1],
    I[None, 1, None, ::2],
    I[...],
    I[..., 1],
    I[..., None],
    I[1, ..., ::2],
    I[..., 2:, None, 0],
], ids=repr)
def test_getitem(index):
    x0 = _rand(3, 4, 5)
    value, _ = compare_with_torch(lambda x: x[index], lambda x: x[index], [x0])
    assert value.shape == x0[index].shape
    check_finite_differences(lambda x: x[index], [x0])
    assert gf.placeholder(gf.float64, (3, 4, 5))[index].shape == x0[index].shape


@pytest.mark.parametrize("index, torch_fn", [
    (I[::-1], lambda x: torch.flip(x, [0])),
    (I[:, ::-2], lambda x: torch.flip(x, [1])[:, ::2]),
    (I[-1:0:-1, 2], lambda x: torch.flip(x, [0])[:-1, 2]),
], ids=repr)
def test_getitem_negative_step(index, torch_fn):
    _check(lambda x: x[index], torch_fn, [_rand(3, 4)])


def test_getitem_gradient_scatters_into_zeros():
    x = gf.placeholder(gf.float64, (3, 4))
    (g,) = gf.gradients(gf.reduce_sum(x[1, 1:3] * 5.0), [x])
    want = np.zeros((3, 4))
    want[1, 1:3] = 5.0
    np.testing.assert_array_equal(gf.Session().run(g, {x: _rand(3, 4)}), want)


def test_getitem_overlapping_slices_accumulate_gradients():
    _check(lambda x: x[:2] * x[1:] + x[0], lambda x: x[:2] * x[1:] + x[0], [_rand(3, 2)])


def test_getitem_of_a_scalar_element_then_second_order():
    # The gradient of indexing is itself differentiable (it is indexed back).
    x = gf.placeholder(gf.float64, (3,))
    (g,) = gf.gradients(x[1] ** 3, [x])
    (h,) = gf.gradients(g[1], [x])
    x0 = np.array([0.5, -2.0, 1.5])
    g0, h0 = gf.Session().run([g, h], {x: x0})
    np.testing.assert_allclose(g0, [0.0, 3 * 4.0, 0.0])
    np.testing.assert_allclose(h0, [0.0, 6 * -2.0, 0.0])


@pytest.mark.parametrize("shape, index, want", [
    ((None, 3), I[:, 0], (None,)),
    ((None, 3), I[0], (3,)),
    ((None, 3), I[1:], (None, 3)),
    ((None, 3), I[:, 1:], (None, 2)),
    ((None, 3), I[..., None], (None, 3, 1)),
    ((4, None), I[::2, -1], (2,)),
])
def test_getitem_static_shape(shape, index, want):
    assert gf.placeholder(gf.float64, shape)[index].shape == want


@pytest.mark.parametrize("index, error", [
    (I[3], gf.ShapeError),
    (I[0, -4], gf.ShapeError),
    (I[0, 0, 0], gf.ShapeError),
    (I[..., 0, ...], gf.ShapeError),
    (I[[0, 1]], TypeError),
], ids=repr)
def test_getitem_invalid_index(index, error):
    x = gf.placeholder(gf.float64, (3, 3))
    with pytest.raises(error):
        x[index]


@pytest.mark.parametrize("index", [I[True], I[0, False]], ids=repr)
def test_getitem_bool_is_rejected_or_matches_numpy(index):
    # A bool is an int to Python, but numpy indexes with it as a mask (a new axis of size 1 or 0).
    # Either refuse it when building, or give numpy's static shape and value.
    x0 = _rand(3, 3)
    x = gf.placeholder(gf.float64, (3, 3))
    try:
        y = x[index]
    except (TypeError, ValueError):
        return
    assert y.shape == x0[index].shape
    np.testing.assert_array_equal(gf.Session().run(y, {x: x0}), x0[index])


@pytest.mark.parametrize("index", [I[:, 1], I[1:], I[-1], I[..., None, ::2]], ids=repr)
def test_getitem_gradient_with_unknown_batch(index):
    check_with_unknown_dims(lambda x: x[index], lambda x: x[index], [(None, 3)],
                            [[_rand(n, 3, seed=n)] for n in (2, 5)])


def test_iterating_a_tensor_of_known_length_unstacks_it():
    x0 = _rand(3, 2)
    rows = list(gf.placeholder(gf.float64, (3, 2)))
    assert len(rows) == 3 and all(r.shape == (2,) for r in rows)
    compare_with_torch(lambda x: gf.add_n([r * float(i) for i, r in enumerate(x)]),
                       lambda x: sum(r * float(i) for i, r in enumerate(x)), [x0])


# -- inputs of unknown rank ------------------------------------------------------------------------
@pytest.mark.parametrize("name, build_gf, build_torch", [
    ("reshape", lambda x: gf.reshape(x, (-1,)), lambda x: x.reshape(-1)),
    ("transpose", gf.transpose, lambda x: x.permute(*reversed(range(x.ndim)))),
    ("expand_dims", lambda x: gf.expand_dims(x, -1), lambda x: x.unsqueeze(-1)),
    ("squeeze", lambda x: gf.squeeze(x, 1), lambda x: x.squeeze(1)),
    ("concat", lambda x: gf.concat([x, x * 2.0], -1), lambda x: torch.cat([x, x * 2.0], -1)),
])
def test_shape_op_gradients_with_unknown_rank(name, build_gf, build_torch):
    check_with_unknown_dims(build_gf, build_torch, [None],
                            [[_rand(2, 1, 3, seed=1)], [_rand(4, 1, seed=2)]])
