"""matmul with numpy semantics (2-D, batched, broadcast batches, 1-D operands; also the @
operator): forward values and gradients against torch in float64, central finite differences,
static shape inference, and gradients with batch sizes known only at run time."""

import numpy as np
import pytest
import reference
import torch
from reference import check_finite_differences, check_with_unknown_dims, compare_with_torch

import graphflow as gf


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


SHAPES = [
    ((3, 4), (4, 2)),            # 2-D @ 2-D
    ((2, 3, 4), (2, 4, 5)),      # batched 3-D @ 3-D
    ((2, 1, 3, 4), (5, 4, 2)),   # broadcast batch: (2, 1) with (5,)
    ((1, 3, 4), (2, 4, 5)),      # a size-1 batch broadcast
    ((2, 3, 4), (4, 5)),         # 3-D @ 2-D
    ((3, 4), (2, 4, 5)),         # 2-D @ 3-D
    ((4,), (4, 3)),              # 1-D @ 2-D
    ((3, 4), (4,)),              # 2-D @ 1-D
    ((4,), (4,)),                # 1-D @ 1-D
    ((4,), (2, 4, 3)),           # 1-D @ batched
    ((2, 3, 4), (4,)),           # batched @ 1-D
    ((1, 1), (1, 1)),
]
IDS = [f"{a}@{b}" for a, b in SHAPES]
BUILDERS = {
    "matmul": lambda a, b: gf.matmul(a, b),
    "operator": lambda a, b: a @ b,
}


@pytest.mark.parametrize("builder", sorted(BUILDERS))
@pytest.mark.parametrize("a_shape, b_shape", SHAPES, ids=IDS)
def test_matmul(builder, a_shape, b_shape):
    arrays = [_rand(*a_shape, seed=1), _rand(*b_shape, seed=2)]
    build = BUILDERS[builder]
    value, grads = compare_with_torch(build, torch.matmul, arrays)
    assert all(g is not None for g in grads)
    check_finite_differences(build, arrays)


@pytest.mark.parametrize("a_shape, b_shape", SHAPES, ids=IDS)
def test_matmul_static_shape(a_shape, b_shape):
    out = gf.matmul(gf.placeholder(gf.float64, a_shape), gf.placeholder(gf.float64, b_shape))
    assert out.shape == np.matmul(np.zeros(a_shape), np.zeros(b_shape)).shape
    assert out.dtype == np.float64


def test_matmul_with_a_numpy_array_on_either_side():
    w0 = _rand(4, 3, seed=3)
    v0 = _rand(3, seed=4)
    # tensor @ array (__matmul__), then array @ tensor (__rmatmul__)
    compare_with_torch(lambda x: v0 @ gf.transpose(x @ w0),
                       lambda x: torch.tensor(v0) @ (x @ torch.tensor(w0)).T,
                       [_rand(2, 4, seed=5)])


def test_matmul_float32():
    a0 = _rand(3, 4, seed=1).astype(np.float32)
    b0 = _rand(4, 2, seed=2).astype(np.float32)
    value, _ = compare_with_torch(gf.matmul, torch.matmul, [a0, b0], rtol=1e-5, atol=1e-6)
    assert value.dtype == np.float32


@pytest.mark.parametrize("a_shape, b_shape, want", [
    ((None, 784), (784, 10), (None, 10)),
    ((None, 3, 4), (4, 5), (None, 3, 5)),
    ((3, None), (None, 5), (3, 5)),
    ((None,), (None,), ()),
    ((None,), (None, 2), (2,)),
    ((None, 4), (4,), (None,)),
    ((2, None, 4), (None, 4, 6), (2, None, 6)),
    ((None, 1, 3, 4), (5, 4, 2), (None, 5, 3, 2)),
    ((None, None), (None, None), (None, None)),
])
def test_matmul_static_shape_with_unknown_dims(a_shape, b_shape, want):
    a = gf.placeholder(gf.float64, a_shape)
    b = gf.placeholder(gf.float64, b_shape)
    assert gf.matmul(a, b).shape == want
    assert (a @ b).shape == want


@pytest.mark.parametrize("a_shape, b_shape", [
    ((3, 4), (5, 2)),           # inner sizes differ
    ((4,), (3,)),
    ((2, 3, 4), (3, 4, 5)),     # batches cannot broadcast
    ((), (3,)),                 # a scalar operand
    ((3, 4), None),             # unknown rank
])
def test_matmul_incompatible_shapes_are_a_shape_error(a_shape, b_shape):
    a = gf.placeholder(gf.float64, a_shape)
    b = gf.placeholder(gf.float64, b_shape)
    with pytest.raises(gf.ShapeError):
        gf.matmul(a, b)


def test_matmul_mixed_dtypes_is_a_type_error():
    with pytest.raises(TypeError):
        gf.matmul(gf.placeholder(gf.float64, (2, 3)), gf.placeholder(gf.float32, (3, 2)))


# -- unknown batch sizes ---------------------------------------------------------------------------
@pytest.mark.parametrize("a_shape, b_shape, feeds", [
    ((None, 4), (4, 3), [((1, 4), (4, 3)), ((5, 4), (4, 3))]),
    ((None, 3, 4), (4, 2), [((1, 3, 4), (4, 2)), ((3, 3, 4), (4, 2))]),
    ((None, 3, 4), (None, 4, 2), [((2, 3, 4), (2, 4, 2)), ((1, 3, 4), (4, 4, 2)),
                                  ((3, 3, 4), (1, 4, 2))]),
    ((None, 1, 3, 4), (5, 4, 2), [((2, 1, 3, 4), (5, 4, 2)), ((1, 1, 3, 4), (5, 4, 2))]),
    ((None, 4), (4,), [((1, 4), (4,)), ((6, 4), (4,))]),
    ((None,), (None, 2), [((3,), (3, 2)), ((1,), (1, 2))]),
    ((None,), (None,), [((3,), (3,)), ((5,), (5,))]),
    ((None, None), (None, None), [((2, 3), (3, 4)), ((1, 1), (1, 5))]),
], ids=lambda v: str(v) if isinstance(v, tuple) else "")
def test_matmul_gradients_with_unknown_dims(a_shape, b_shape, feeds):
    check_with_unknown_dims(gf.matmul, torch.matmul, [a_shape, b_shape],
                            [[_rand(*sa, seed=1), _rand(*sb, seed=2)] for sa, sb in feeds])


def test_dense_layer_gradient_with_unknown_batch():
    x = gf.placeholder(gf.float64, shape=(None, 4))
    w = gf.placeholder(gf.float64, shape=(4, 3))
    b = gf.placeholder(gf.float64, shape=(3,))
    loss = gf.reduce_mean(gf.square(x @ w + b))
    assert (x @ w + b).shape == (None, 3) and loss.shape == ()
    dw, db = gf.gradients(loss, [w, b])
    sess = gf.Session()
    w0, b0 = _rand(4, 3, seed=1), _rand(3, seed=2)
    for n in (1, 2, 7):
        x0 = _rand(n, 4, seed=n)
        tw, tb = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
        tloss = ((torch.tensor(x0) @ tw + tb) ** 2).mean()
        want_dw, want_db = torch.autograd.grad(tloss, [tw, tb])
        got_loss, got_dw, got_db = sess.run([loss, dw, db], {x: x0, w: w0, b: b0})
        np.testing.assert_allclose(got_loss, tloss.item(), rtol=reference.RTOL)
        np.testing.assert_allclose(got_dw, want_dw.numpy(), rtol=reference.RTOL,
                                   atol=reference.ATOL)
        np.testing.assert_allclose(got_db, want_db.numpy(), rtol=reference.RTOL,
                                   atol=reference.ATOL)
    reference.COVERED.update(node.type for node in loss.graph.nodes)
