"""Max pooling and its gradient compiled by the native backend (compiler/backends/native/pool.py):
the values and gradients of relu -> max_pool -> a weighted sum against torch's F.max_pool2d (its
padding taken as -inf, as TF's), the interpreter's reference kernels for ties, NaN and -inf, and
the source showing the pools inside a native run (so these tests fail if they stay numpy code)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import graphflow as gf
from compiler.backends.native import build, segments

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")


@pytest.fixture(autouse=True)
def _compile_lone_statements(monkeypatch):
    """A run of one statement is compiled too (it would stay numpy code: one call either way),
    so each pool is native however the statements around it fall."""
    monkeypatch.setattr(segments, "MIN_STATEMENTS", 1)

# (input height, width, ksize, strides, padding): tiling windows, SAME with padding on the
# bottom/right, overlapping windows, gaps between windows, VALID with rows left over
GEOMETRIES = [
    (8, 8, (2, 2), (2, 2), "SAME"),
    (7, 9, (2, 2), (2, 2), "SAME"),
    (9, 9, (3, 3), (2, 2), "SAME"),
    (6, 7, (3, 3), (1, 1), "VALID"),
    (8, 8, (2, 2), (3, 3), "VALID"),
    (7, 6, (3, 2), (2, 1), "SAME"),
]


def _tf_pads(size, k, s, padding):
    if padding == "VALID":
        return 0, 0
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _torch_pool(x, ksize, strides, padding):
    """TF's max_pool by torch: NHWC -> NCHW, -inf padding by TF's rule, F.max_pool2d."""
    t = x.permute(0, 3, 1, 2)
    (top, bottom), (left, right) = (_tf_pads(x.shape[1], ksize[0], strides[0], padding),
                                    _tf_pads(x.shape[2], ksize[1], strides[1], padding))
    t = F.pad(t, (left, right, top, bottom), value=float("-inf"))
    return F.max_pool2d(t, ksize, strides).permute(0, 2, 3, 1)


def _session(backend):
    """The interpreter (nothing compiled: the oracle) or a compiling backend."""
    return gf.Session(optimize=False) if backend == "interpreter" else gf.Session(backend=backend)


def _native_lines(source):
    """The comments naming what each native run computes."""
    return " ".join(line for line in source.splitlines() if line.lstrip().startswith("# native: "))


def _program(shape, out_shape, dtype, ksize, strides, padding, backend):
    """relu(x + b) pooled, times w, and the gradient of its sum with respect to x and b (the
    product fetched, not the pooled values: a fetched value has no planned buffer to write, so
    it would stay numpy code)."""
    x = gf.placeholder(dtype, shape, name="x")
    w = gf.placeholder(dtype, out_shape, name="w")
    b = gf.Variable(np.linspace(-0.3, 0.3, shape[3]).astype(dtype), name="b")
    pooled = gf.nn.max_pool(gf.nn.relu(x + b), (1,) + ksize + (1,), (1,) + strides + (1,),
                            padding)
    weighted = pooled * w
    dx, db = gf.gradients(gf.reduce_sum(weighted), [x, b])
    sess = _session(backend)
    sess.run(gf.global_variables_initializer())
    return sess.make_callable([weighted, dx, db], [x, w])


@pytest.mark.parametrize("h, wd, ksize, strides, padding", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_and_its_gradient_match_torch(h, wd, ksize, strides, padding, dtype):
    rng = np.random.default_rng(3)
    shape = (3, h, wd, 5)
    xv = rng.standard_normal(shape).astype(dtype)
    out_shape = tuple(_torch_pool(torch.zeros(shape), ksize, strides, padding).shape)
    wv = rng.standard_normal(out_shape).astype(dtype)
    with gf.Graph().as_default():
        run = _program(shape, out_shape, dtype, ksize, strides, padding, "native")
        weighted, dx, db = run(xv, wv)
        native = _native_lines(run.source).replace("max_pool_grad", "")
        assert "max_pool" in native and "max_pool_grad" in _native_lines(run.source)
    xt = torch.tensor(xv.astype(np.float64), requires_grad=True)
    bt = torch.tensor(np.linspace(-0.3, 0.3, 5).astype(dtype).astype(np.float64),
                      requires_grad=True)
    want = _torch_pool(torch.relu(xt + bt), ksize, strides, padding) * torch.from_numpy(
        wv.astype(np.float64))
    want.sum().backward()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(weighted, want.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(db, bt.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("h, wd, ksize, strides, padding", GEOMETRIES)
def test_ties_nan_and_minus_infinity_route_as_the_reference_kernel(h, wd, ksize, strides,
                                                                   padding):
    """Windows of equal values (the first maximum takes the gradient), NaN (the largest: the
    first NaN takes it) and all -inf windows, against the interpreter (no compiled code)."""
    rng = np.random.default_rng(8)
    shape = (2, h, wd, 3)
    xv = rng.integers(0, 3, shape).astype(np.float32)  # many ties
    xv[0, 1, 1, 0] = np.nan
    xv[1, :3, :3, 1] = -np.inf
    xv[1, 2, 0, 2] = np.nan
    out_shape = tuple(_torch_pool(torch.zeros(shape), ksize, strides, padding).shape)
    wv = np.arange(1, 1 + np.prod(out_shape), dtype=np.float32).reshape(out_shape)
    results = {}
    for backend in ("interpreter", "native"):
        with gf.Graph().as_default():
            x = gf.placeholder(np.float32, shape, name="x")
            w = gf.placeholder(np.float32, out_shape, name="w")
            pooled = gf.nn.max_pool(x * 2.0, (1,) + ksize + (1,), (1,) + strides + (1,),
                                    padding)
            weighted = pooled * w
            (dx,) = gf.gradients(gf.reduce_sum(weighted), [x])
            run = _session(backend).make_callable([weighted, dx], [x, w])
            results[backend] = run(xv, wv)
            if backend == "native":
                assert "max_pool_grad" in _native_lines(run.source)
    for got, want in zip(results["native"], results["interpreter"]):
        np.testing.assert_array_equal(got, want)


def test_the_relu_gradient_runs_inside_a_tiling_pool_gradient():
    """Where the windows tile the input, the relu gradient after max_pool_grad merges into the
    pass over the window's elements (pool.WindowLoop): the pool gradient is never written out
    (it stays in a register) and the relu gradient writes over relu's output in place. Against
    torch: the relu gradient's square summed, and the bias gradient (a separate sum: the window
    pass visits rows out of numpy's order)."""
    rng = np.random.default_rng(6)
    shape, out_shape = (3, 8, 8, 4), (3, 4, 4, 4)
    xv, wv = rng.standard_normal(shape), rng.standard_normal(out_shape)
    bv = np.linspace(-0.3, 0.3, 4)
    with gf.Graph().as_default():
        x = gf.placeholder(np.float64, shape, name="x")
        w = gf.placeholder(np.float64, out_shape, name="w")
        b = gf.Variable(bv, name="b")
        r = gf.nn.relu(x + b)
        pooled = gf.nn.max_pool(r, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        dx, db = gf.gradients(gf.reduce_sum(pooled * w), [x, b])
        sess = gf.Session(backend="native")
        sess.run(gf.global_variables_initializer())
        run = sess.make_callable([gf.reduce_sum(dx * dx), db], [x, w])
        square, db_value = run(xv, wv)
        lines = run.source.splitlines()
    at = next(k for k, line in enumerate(lines) if "/* max_pool_grad" in line)
    assert lines[at + 1].lstrip().startswith("r_")  # dx kept in a register
    assert "/* fused" in lines[at + 2]
    xt = torch.tensor(xv, requires_grad=True)
    bt = torch.tensor(bv, requires_grad=True)
    (F.max_pool2d(torch.relu(xt + bt).permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
     * torch.tensor(wv)).sum().backward()
    np.testing.assert_allclose(square, (xt.grad ** 2).sum().item(), rtol=1e-12)
    np.testing.assert_allclose(db_value, bt.grad.numpy(), rtol=1e-12, atol=1e-12)
