"""The torch rules of the shape, indexing, array and math ops, on the translations where torch and
numpy differ: negative-step slices (torch has none), np.pad's constant, np.take's negative
indices, empty and 0-d tensors, integer dtypes (torch sums and products of int32 make int64),
dim=() (every axis to torch, none to numpy), bool argmin.

Each graph runs on the reference interpreter, the numpy backend and the torch backend on the CPU
(with all passes and with none, so that no pass folds the op away), and the results must be the
same values (bit for bit where the op only moves or compares elements), of the node's dtype.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphflow as gf
from compiler.ops.array import gather_grad, tile_grad
from compiler.ops.indexing import getitem_grad
from compiler.ops.shape import broadcast_like, concat_part, reshape_like, sum_to

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)


def _x(*shape, dtype=np.float64):
    if np.dtype(dtype).kind == "b":
        return RNG.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(-9, 10, size=shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def check(build, *arrays, op=None, exact=True, rtol=1e-15, atol=0.0):
    """build(*placeholders) -> a tensor (or a list); its value on every executor must match.
    `op`: a type that the torch code generated without passes must execute."""
    graph = gf.Graph()
    with graph.as_default():
        xs = [gf.placeholder(a.dtype, a.shape, name=f"x{i}") for i, a in enumerate(arrays)]
        out = build(*xs)
    outs = out if isinstance(out, (list, tuple)) else [out]
    feed = dict(zip(xs, arrays))
    want = gf.Session(graph, optimize=False).run(outs, feed)
    results = {"numpy backend": gf.Session(graph).run(outs, feed)}
    for passes in (None, []):
        sess = gf.Session(graph, backend="torch", device="cpu", passes=passes)
        step = sess.make_callable(outs, xs)
        results[f"torch backend (passes={passes})"] = step(*arrays)
        if passes == [] and op is not None:
            assert op in step.ops, step.source
    for where, got in results.items():
        for node, w, g in zip(outs, want, got):
            g, w = np.asarray(g), np.asarray(w)
            assert g.shape == w.shape == node.shape, (where, g.shape, w.shape, node.shape)
            assert g.dtype == node.dtype, (where, g.dtype, node.dtype)
            if exact or g.dtype.kind not in "f":
                np.testing.assert_array_equal(g, w, err_msg=where)
            else:
                np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=where)
    got = results["torch backend (passes=[])"]
    return got if isinstance(out, (list, tuple)) else got[0]


# -- getitem and its gradient ----------------------------------------------------------------------
INDEXES = [
    (slice(None, None, -1),),
    (slice(1, 3), slice(None, None, -2), None, Ellipsis),
    (Ellipsis, -1, slice(None, None, -3)),
    (None, 2, slice(4, 0, -1)),
    (slice(-1, -10, -1),),
    (slice(10, -10, -2), slice(-2, None, -1)),
    (slice(3, 3, -1),),                      # empty
    (slice(0, 4, -1),),                      # empty: a backward step from the front
    (0, 0, 0),
    (Ellipsis, None),
    (slice(None), slice(None), -2),
    (slice(-3, None, 2), Ellipsis, slice(5, 1, -3)),
    (),
]


@pytest.mark.parametrize("index", INDEXES, ids=repr)
@pytest.mark.parametrize("dtype", [np.float64, np.int32])
def test_getitem(index, dtype):
    x = _x(4, 5, 6, dtype=dtype)
    assert np.shape(x[index]) == np.shape(check(lambda t: t[index], x, op="getitem"))


@pytest.mark.parametrize("index", INDEXES, ids=repr)
def test_getitem_grad(index):
    x, g = _x(4, 5, 6), _x(*np.shape(_x(4, 5, 6)[index]))
    check(lambda t, c: getitem_grad(c, t, index), x, g, op="getitem_grad")
    check(lambda t, c: gf.gradients(t[index], [t], grad_ys=c)[0], x, g)


def test_getitem_of_0d_and_of_an_empty_axis():
    check(lambda t: t[()], np.array(2.5), op="getitem")
    check(lambda t: t[None, ..., None], np.array(2.5), op="getitem")
    check(lambda t: t[::-1, 1], _x(0, 3), op="getitem")
    check(lambda t, c: getitem_grad(c, t, (slice(None, None, -1), 1)), _x(0, 3), _x(0),
          op="getitem_grad")


# -- pad -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,value", [
    (np.float64, 0), (np.float64, -np.inf), (np.float32, 0.1), (np.int32, 7),
    (np.int64, 2 ** 62 + 1), (np.int32, -3.0), (np.bool_, True)])
def test_pad(dtype, value):
    x = _x(2, 3, dtype=dtype)
    check(lambda t: gf.pad(t, [[1, 2], [0, 3]], constant_values=value), x, op="pad")


def test_pad_of_empty_and_unpadded_tensors_and_its_gradient():
    check(lambda t: gf.pad(t, [[1, 1], [0, 0]], constant_values=5), _x(0, 3), op="pad")
    check(lambda t: gf.pad(t, [[0, 0], [0, 0]]) * 1, _x(2, 3), op="pad")
    check(lambda t, c: gf.gradients(gf.pad(t, [[1, 0], [2, 3]]), [t], grad_ys=c)[0],
          _x(2, 3), _x(3, 8), op="getitem")


def test_pad_returns_a_new_tensor():
    graph = gf.Graph()
    with graph.as_default():
        v = gf.Variable(np.arange(3.0), name="v")
        padded = gf.pad(v, [[0, 0]])
    sess = gf.Session(graph, backend="torch", device="cpu", passes=[])
    out = sess.run(padded)
    out[0] = 99.0
    np.testing.assert_array_equal(sess.run(v), [0.0, 1.0, 2.0])


# -- gather and its gradient -----------------------------------------------------------------------
@pytest.mark.parametrize("indices,axis", [
    (np.array([[-1, 0], [4, -5]], np.int32), 0),
    (np.array([-1, 2, -3, 0, 2], np.int64), 1),
    (np.array(-2, np.int64), 0),
    (np.array(1, np.int32), -1),
    (np.zeros((0,), np.int64), 1),
    (np.zeros((2, 0), np.int32), 0),
])
def test_gather_with_negative_and_empty_indices(indices, axis):
    params = _x(5, 3)
    check(lambda p, i: gf.gather(p, i, axis=axis), params, indices, op="gather")
    g = _x(*np.take(params, indices, axis=axis).shape)
    check(lambda p, i, c: gather_grad(c, i, p, axis), params, indices, g, op="gather_grad")
    check(lambda p, i, c: gf.gradients(gf.gather(p, i, axis=axis), [p], grad_ys=c)[0],
          params, indices, g)


def test_gather_of_int32_params():
    check(lambda p, i: gf.gather(p, i, axis=1), _x(2, 4, 3, dtype=np.int32),
          np.array([[3, -4], [-1, -1]], np.int64), op="gather")


@pytest.mark.parametrize("bad", [3, -4])
def test_gather_index_out_of_range_fails_on_the_torch_backend(bad):
    graph = gf.Graph()
    with graph.as_default():
        p = gf.placeholder(gf.float64, (3, 2), name="p")
        i = gf.placeholder(gf.int64, (2,), name="i")
        picked = gf.gather(p, i)
        grad = gather_grad(gf.ones_like(picked), i, p, 0)
    sess = gf.Session(graph, backend="torch", device="cpu")
    feed = {p: _x(3, 2), i: np.array([0, bad])}
    for fetch in (picked, grad):
        with pytest.raises(gf.errors.OpError, match="gather"):
            sess.run(fetch, feed)


# -- tile and its gradient -------------------------------------------------------------------------
@pytest.mark.parametrize("shape,multiples", [
    ((2, 3), (2, 1)), ((2, 3), (0, 2)), ((2, 3), (1, 1)), ((), ()), ((0, 2), (3, 2)),
    ((2, 1, 3), (1, 4, 2))])
@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.bool_])
def test_tile(shape, multiples, dtype):
    check(lambda t: gf.tile(t, multiples), _x(*shape, dtype=dtype), op="tile")


@pytest.mark.parametrize("shape,multiples", [
    ((2, 3), (2, 1)), ((2, 3), (0, 2)), ((), ()), ((2, 1, 3), (1, 4, 2))])
@pytest.mark.parametrize("dtype", [np.float64, np.int32])
def test_tile_grad(shape, multiples, dtype):
    g = _x(*np.tile(np.zeros(shape), multiples).shape, dtype=dtype)
    # A sum over the tiles: floats agree to rounding (the order of the additions differs).
    check(lambda t, c: tile_grad(c, t, multiples), _x(*shape, dtype=dtype), g, op="tile_grad",
          exact=False, atol=1e-14)


# -- reshape, transpose, expand/squeeze, concat, stack, split -------------------------------------
def test_moving_elements_of_empty_and_0d_tensors():
    e = _x(0, 3)
    check(lambda t: gf.reshape(t, [-1]), e, op="reshape")
    check(lambda t: gf.reshape(t, [3, -1, 1]), e, op="reshape")
    check(lambda t: gf.reshape(t, []), np.array([4.0]), op="reshape")
    check(lambda t: gf.transpose(t), _x(0, 2, 3), op="transpose")
    check(lambda t: gf.transpose(t), np.array(1.5), op="transpose")
    check(lambda t: gf.transpose(t, [1, 2, 0]), _x(2, 3, 4, dtype=np.int32), op="transpose")
    check(lambda t: gf.expand_dims(t, -1), np.array(3, np.int32), op="expand_dims")
    check(lambda t: gf.expand_dims(t, (0, -1, 2)), e, op="expand_dims")
    check(lambda t: gf.squeeze(t), _x(1, 0, 1), op="squeeze")
    check(lambda t: gf.squeeze(t, [0, -1]), _x(1, 2, 1), op="squeeze")
    check(lambda t: gf.squeeze(t, []) * 1, _x(1, 2, 1), op="squeeze")
    check(lambda a, b: gf.concat([a, b, a], -2), e, _x(2, 3), op="concat")
    check(lambda a, b: gf.stack([a, b], -1), e, e, op="stack")
    check(lambda a, b: gf.stack([a, b]), np.array(1, np.int32), np.array(2, np.int32), op="stack")
    check(lambda t: gf.unstack(t, axis=-1), _x(2, 3, dtype=np.bool_), op="unstack")
    check(lambda t: gf.split(t, [2, 0, -1], axis=-1), _x(2, 5), op="split")
    check(lambda t: gf.split(t, 3, axis=0), _x(0, 5), op="split")


def test_autodiff_helpers():
    x = _x(2, 3)
    check(lambda a, b: reshape_like(a, b), _x(6), x, op="reshape_like")
    check(lambda a, b: broadcast_like(a, b), _x(3), x, op="broadcast_like")
    check(lambda a: gf.broadcast_to(a, (0, 3)), _x(1, 3), op="broadcast_to")
    check(lambda a, b: concat_part(a, [b, b[:1]], 1, 0), _x(3, 3), x, op="concat_part")
    for like in ((1, 3), (3,), (2, 1), (1, 1), (), (2, 3)):
        check(lambda a, b: sum_to(a, b) * 1, _x(4, 2, 3, dtype=np.float32), _x(*like),
              exact=False, rtol=1e-6, atol=1e-6, op="sum_to")
        check(lambda a, b: sum_to(a, b) * 1, _x(4, 2, 3, dtype=np.int32), _x(*like), op="sum_to")


# -- one_hot, shape, size, rank --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_one_hot_with_out_of_range_indices(dtype):
    idx = np.array([[0, 3, -1], [4, 2, 9]], dtype)
    check(lambda i: gf.one_hot(i, 4), idx, op="one_hot")
    check(lambda i: gf.one_hot(i, 3, dtype=gf.int32), idx, op="one_hot")
    check(lambda i: gf.one_hot(i, 5, dtype=gf.bool), np.array(2, dtype), op="one_hot")


@pytest.mark.parametrize("shape", [(), (0, 3), (2, 1, 4)])
def test_shape_size_rank(shape):
    x = _x(*shape)
    check(lambda t: gf.shape(t), x, op="shape")
    check(lambda t: gf.shape(t, out_type=gf.int64), x, op="shape")
    check(lambda t: gf.size(t), x, op="size")
    check(lambda t: gf.size(t, out_type=gf.int64), x, op="size")
    check(lambda t: gf.rank(t), x, op="rank")


# -- math ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rsqrt_is_one_over_sqrt_bit_for_bit(dtype):
    check(lambda t: gf.rsqrt(t), np.abs(_x(50, dtype=dtype)), op="rsqrt")


@pytest.mark.parametrize("fn", ["sin", "cos", "log1p"])
def test_unary_float_functions(fn):
    x = np.abs(_x(3, 4))
    check(lambda t: getattr(gf, fn)(t), x, op=fn, exact=False)
    check(lambda t: getattr(gf, fn)(t), x.astype(np.float32), op=fn, exact=False, rtol=1e-6)


@pytest.mark.parametrize("axis", [None, 0, (0, 2), -1, (), (0, 1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce_min_and_prod(axis, keepdims):
    for dtype in (np.int32, np.int64, np.float64):
        x = _x(2, 3, 4, dtype=dtype)
        check(lambda t: gf.reduce_min(t, axis, keepdims), x, op="reduce_min")
        check(lambda t: gf.reduce_prod(t, axis, keepdims), x, op="reduce_prod", exact=False,
              rtol=1e-14)
    check(lambda t: gf.reduce_min(t, axis, keepdims), _x(2, 3, 4, dtype=np.bool_),
          op="reduce_min")


def test_int32_products_stay_int32_and_wrap():
    check(lambda t: gf.reduce_prod(t), np.array([65536, 65536, 3], np.int32), op="reduce_prod")
    check(lambda t: gf.reduce_prod(t, 0), np.zeros((0, 2), np.int32), op="reduce_prod")
    check(lambda t: gf.reduce_prod(t), np.array(5, np.int64), op="reduce_prod")


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.bool_])
@pytest.mark.parametrize("output_type", [gf.int32, gf.int64])
def test_argmin(dtype, output_type):
    x = _x(3, 5, dtype=dtype)
    x[1] = x[1, 0]  # ties: the first index
    check(lambda t: gf.argmin(t, 1, output_type=output_type), x, op="argmin")
    check(lambda t: gf.argmin(t, -2, output_type=output_type), x, op="argmin")


def test_argmin_finds_the_first_nan():
    check(lambda t: gf.argmin(t, 0), np.array([1.0, np.nan, -5.0, np.nan]), op="argmin")


def test_logical_ops_broadcast():
    a, b = _x(2, 3, dtype=np.bool_), _x(3, dtype=np.bool_)
    check(lambda p, q: gf.logical_and(p, q), a, b, op="logical_and")
    check(lambda p, q: gf.logical_or(p, q), a, b, op="logical_or")
    check(lambda p: gf.logical_not(p), a, op="logical_not")
