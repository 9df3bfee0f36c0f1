"""The conv ops compiled by the native backend (compiler/backends/native/conv.py): conv2d and its
two gradients inside native runs, against torch in float64 (tests/test_ops_conv.py's reference:
TF's padding rule written out, F.conv2d) over the same geometries (strides, dilations, SAME,
VALID and explicit padding, 1x1 filters that need no columns, an empty batch), with the columns
made a few images at a time (batches of one image, and a batch left over), in both layouts of
the columns (row by row and tap by tap), and the source showing the ops compiled (so these tests
fail if they stay numpy code)."""

import numpy as np
import pytest
import torch
from test_ops_conv import CASES, _tf_padding, rand, t_conv

import graphflow as gf
from compiler.backends.native import build, segments
from compiler.backends.native import conv as native_conv

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")
CONV_OPS = ("conv2d", "conv2d_backprop_input", "conv2d_backprop_filter")


@pytest.fixture(autouse=True)
def _compile_lone_statements(monkeypatch):
    """A run of one statement is compiled too, so each conv op is native however the statements
    around it fall."""
    monkeypatch.setattr(segments, "MIN_STATEMENTS", 1)


def _native_ops(source: str) -> str:
    return " ".join(line for line in source.splitlines() if line.lstrip().startswith("# native:"))


def _run(x_shape, w_shape, strides, padding, dilations, dtype, x, w, u):
    """sum(conv2d(x, w) * u) on the native backend: the product (fetched: the conv's own value
    has a planned buffer only when it is not fetched) and its gradients in x and w."""
    with gf.Graph().as_default():
        xp = gf.placeholder(dtype, x_shape, name="x")
        wv = gf.Variable(w.astype(dtype), name="w")
        y = gf.nn.conv2d(xp * 1.0, wv, (1,) + strides + (1,), _tf_padding(padding),
                         dilations=(1,) + dilations + (1,))
        up = gf.placeholder(dtype, u.shape, name="u")
        product = y * up
        dx, dw = gf.gradients(gf.reduce_sum(product), [xp, wv])
        sess = gf.Session(backend="native")
        sess.run(gf.global_variables_initializer())
        # doubled (exactly) so the gradients themselves are not fetched either
        run = sess.make_callable([product, dx * 2.0, dw * 2.0], [xp, up])
        product, dx2, dw2 = run(x.astype(dtype), u.astype(dtype))
        return (product, dx2 / 2, dw2 / 2), _native_ops(run.source)


def _check(case, dtype):
    x_shape, w_shape, strides, padding, dilations = case
    x, w = rand(*x_shape, seed=1), rand(*w_shape, seed=2)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    yt = t_conv(xt, wt, strides, padding, dilations)
    u = rand(*yt.shape, seed=3)
    (yt * torch.tensor(u)).sum().backward()
    (product, dx, dw), native = _run(x_shape, w_shape, strides, padding, dilations, dtype, x, w,
                                     u)
    tol = 2e-5 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(product, (yt * torch.tensor(u)).detach().numpy(), rtol=tol,
                               atol=tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(dw, wt.grad.numpy(), rtol=tol, atol=tol)
    return native


# SHORT_RUN: 0 makes every convolution's columns row by row (gf_im2col), a huge value tap by tap
# (gf_im2colT); the geometries' own choice is one of the two
LAYOUTS = {"rows": 0, "taps": 1 << 30}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}-{c[3]}-{c[4]}")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_ops_match_torch(monkeypatch, case, dtype, layout):
    monkeypatch.setattr(native_conv, "SHORT_RUN", LAYOUTS[layout])
    native = _check(case, dtype)
    if case[0][0] > 0:  # an empty batch stays numpy code (its edge cases are the kernel's)
        for op in CONV_OPS:
            assert op in native, f"{op} was not compiled: {native}"


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("chunk_images", [1, 2])
def test_columns_a_few_images_at_a_time(monkeypatch, chunk_images, layout):
    """Batches of one image, or of two with one left over: the filter gradient accumulated
    across them by the GEMM, the input gradient added into by col2im, batch by batch."""
    x_shape, w_shape = (3, 6, 5, 2), (3, 3, 2, 4)
    image_bytes = 6 * 5 * 3 * 3 * 2 * 8  # one image's columns in float64
    monkeypatch.setattr(native_conv, "CHUNK_BYTES", chunk_images * image_bytes)
    monkeypatch.setattr(native_conv, "SHORT_RUN", LAYOUTS[layout])
    native = _check((x_shape, w_shape, (1, 1), "SAME", (1, 1)), np.float64)
    assert all(op in native for op in CONV_OPS)
