"""conv2d, its two gradient ops, conv2d_transpose and bias_add (compiler/ops/conv.py,
graphflow/nn.py) against torch in float64: values and gradients on the interpreter and both
backends, TF's SAME padding written out from its documented formula (not graphflow's), the
adjoint identity, Hessian-vector products through conv -> tanh -> conv, unknown sizes, errors.

torch's reference: the NHWC input permuted to NCHW, padded with F.pad by TF's rule
out = ceil(in / s), total = max((out - 1) * s + (k - 1) * d + 1 - in, 0), before = total // 2,
then F.conv2d with the HWIO filter permuted to OIHW."""

import numpy as np
import pytest
import reference
import torch
import torch.nn.functional as F
from reference import check_with_unknown_dims, compare_with_torch, sessions

import graphflow as gf
from compiler.ops import conv_kernels

CUDA = pytest.mark.skipif(not torch.cuda.is_available(),
                          reason="CUDA is not available on this machine (torch sees no GPU)")


def _pads(size, k, s, d, padding):
    if padding == "VALID":
        return 0, 0
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def t_conv(x, w, strides, padding, dilations=(1, 1)):
    """TF's conv2d in torch: x NHWC, w HWIO; padding SAME, VALID or ((top, bottom), (l, r))."""
    (kh, kw), (sh, sw), (dh, dw) = w.shape[:2], strides, dilations
    if isinstance(padding, str):
        top, bottom = _pads(x.shape[1], kh, sh, dh, padding)
        left, right = _pads(x.shape[2], kw, sw, dw, padding)
    else:
        (top, bottom), (left, right) = padding
    xp = F.pad(x.permute(0, 3, 1, 2), (left, right, top, bottom))
    y = F.conv2d(xp, w.permute(3, 2, 0, 1), stride=(sh, sw), dilation=(dh, dw))
    return y.permute(0, 2, 3, 1)


def t_conv_transpose(y, w, x_shape, strides, padding, dilations=(1, 1)):
    """The adjoint of t_conv in x, at y (differentiable in y and w)."""
    x0 = torch.zeros(x_shape, dtype=y.dtype, requires_grad=True)
    (dx,) = torch.autograd.grad(t_conv(x0, w, strides, padding, dilations), x0, y,
                                create_graph=True)
    return dx


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# (input shape, filter shape, strides, padding, dilations)
CASES = [
    ((2, 5, 5, 1), (3, 3, 1, 3), (1, 1), "SAME", (1, 1)),      # channels 1 -> 3
    ((2, 6, 6, 3), (3, 3, 3, 5), (2, 2), "SAME", (1, 1)),      # odd kernel, even input, 3 -> 5
    ((1, 7, 7, 3), (2, 2, 3, 5), (2, 2), "SAME", (1, 1)),      # even kernel, odd input, batch 1
    ((2, 8, 8, 2), (4, 4, 2, 2), (3, 3), "SAME", (1, 1)),      # stride 3, even kernel
    ((2, 7, 9, 2), (3, 2, 2, 3), (1, 2), "VALID", (1, 1)),     # non-square input, kernel, strides
    ((2, 9, 8, 2), (3, 3, 2, 2), (1, 1), "SAME", (2, 2)),      # dilation 2
    ((2, 9, 8, 2), (2, 3, 2, 2), (2, 2), "VALID", (2, 2)),     # dilation 2 with stride 2
    ((2, 5, 4, 3), (1, 1, 3, 4), (1, 1), "VALID", (1, 1)),     # 1x1 (the columns are a view)
    ((2, 5, 4, 3), (1, 1, 3, 4), (2, 2), "SAME", (1, 1)),      # 1x1, stride 2
    ((1, 8, 7, 2), (3, 3, 2, 2), (3, 3), "VALID", (1, 1)),     # stride 3, rows left over
    ((2, 4, 4, 1), (4, 4, 1, 2), (1, 1), "VALID", (1, 1)),     # kernel as large as the input
    ((2, 5, 6, 2), (3, 3, 2, 2), (2, 1), ((1, 2), (0, 1)), (1, 1)),  # TF's explicit padding
    ((2, 5, 6, 3), (2, 2, 3, 2), (1, 1), ((2, 0), (1, 1)), (1, 1)),  # more padding than k - 1
    ((0, 5, 5, 2), (3, 3, 2, 2), (2, 2), "SAME", (1, 1)),      # an empty batch: zero gradient
]


def _tf_padding(padding):
    if isinstance(padding, str):
        return padding
    return [[0, 0], list(padding[0]), list(padding[1]), [0, 0]]


@pytest.mark.parametrize("x_shape, w_shape, strides, padding, dilations", CASES, ids=str)
def test_conv2d_values_and_gradients_match_torch(x_shape, w_shape, strides, padding, dilations):
    value, _ = compare_with_torch(
        lambda x, w: gf.nn.conv2d(x, w, [1, *strides, 1], _tf_padding(padding),
                                  dilations=[1, *dilations, 1]),
        lambda x, w: t_conv(x, w, strides, padding, dilations),
        [rand(*x_shape), rand(*w_shape, seed=1)])
    x, w = gf.placeholder(gf.float64, x_shape), gf.placeholder(gf.float64, w_shape)
    assert gf.nn.conv2d(x, w, strides, _tf_padding(padding), dilations=dilations).shape == \
        value.shape


@pytest.mark.parametrize("x_shape, w_shape, strides, padding, dilations",
                         [c for c in CASES if isinstance(c[3], str) and c[0][0]], ids=str)
def test_conv2d_transpose_matches_torch_and_is_the_adjoint(x_shape, w_shape, strides, padding,
                                                          dilations):
    x0, w0 = rand(*x_shape), rand(*w_shape, seed=1)
    y0 = t_conv(torch.tensor(x0), torch.tensor(w0), strides, padding, dilations).numpy()
    y0 = rand(*y0.shape, seed=2)
    settings = dict(strides=[1, *strides, 1], padding=padding, dilations=dilations)
    value, _ = compare_with_torch(
        lambda y, w: gf.nn.conv2d_transpose(y, w, list(x_shape), **settings),
        lambda y, w: t_conv_transpose(y, w, x_shape, strides, padding, dilations), [y0, w0])
    # <conv(x), y> == <x, conv_T(y)>
    conv = gf.Session().run(gf.nn.conv2d(x0, w0, **settings))
    np.testing.assert_allclose(np.vdot(conv, y0), np.vdot(x0, value), rtol=1e-12)


def test_tf1_argument_spellings():
    x0, w0 = rand(1, 6, 5, 2), rand(3, 3, 2, 4, seed=1)
    want = t_conv(torch.tensor(x0), torch.tensor(w0), (2, 2), "SAME").numpy()
    x = gf.constant(x0)
    outs = [gf.nn.conv2d(x, w0, [1, 2, 2, 1], "SAME"), gf.nn.conv2d(x, filters=w0, strides=2,
                                                                    padding="same"),
            gf.nn.conv2d(input=x, filter=w0, strides=(2, 2), padding="SAME", dilations=1)]
    for got in gf.Session().run(outs):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    y = gf.nn.conv2d_transpose(input=gf.constant(want), filters=w0, output_shape=(1, 6, 5, 2),
                               strides=2)
    assert y.op.name == "conv2d_transpose" and outs[0].op.name == "Conv2D"
    assert gf.nn.conv2d(x, w0, 1, "SAME", name="c1").op.name == "c1"


def _hvp_case(strides, padding, dilations):
    """f = sum(r * conv(tanh(conv(x, w1)), w2)): its gradient's product with v, both libraries."""
    x0, w10, w20 = rand(2, 7, 6, 2), rand(3, 3, 2, 3, seed=1) / 2, rand(2, 3, 3, 2, seed=2) / 2
    tf_pad = _tf_padding(padding)
    args = [torch.tensor(a, requires_grad=True) for a in (x0, w10, w20)]
    h = t_conv(torch.tanh(t_conv(args[0], args[1], strides, padding, dilations)), args[2],
               (1, 1), "SAME")
    r0 = rand(*h.shape, seed=3)
    vs = [rand(*a.shape, seed=4 + i) for i, a in enumerate((x0, w10, w20))]
    grads = torch.autograd.grad((h * torch.tensor(r0)).sum(), args, create_graph=True)
    want = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g, v in zip(grads, vs)), args)

    xs = [gf.placeholder(gf.float64, a.shape) for a in (x0, w10, w20)]
    hidden = gf.tanh(gf.nn.conv2d(xs[0], xs[1], strides, tf_pad, dilations=dilations))
    f = gf.reduce_sum(gf.nn.conv2d(hidden, xs[2], 1, "SAME") * r0)
    gs = gf.gradients(f, xs)
    hvp = gf.gradients(gf.add_n([gf.reduce_sum(g * v) for g, v in zip(gs, vs)]), xs)
    reference.COVERED.update(n.type for n in f.graph.nodes)
    return hvp, dict(zip(xs, (x0, w10, w20))), [t.numpy() for t in want]


@pytest.mark.parametrize("strides, padding, dilations", [
    ((1, 1), "SAME", (1, 1)), ((2, 2), "SAME", (1, 1)), ((1, 2), "VALID", (2, 1)),
    ((2, 1), ((1, 0), (2, 1)), (1, 1))], ids=str)
def test_hessian_vector_product_through_conv_tanh_conv_matches_torch(strides, padding, dilations):
    hvp, feed, want = _hvp_case(strides, padding, dilations)
    for sess in sessions():
        for got, w in zip(sess.run(hvp, feed), want):
            np.testing.assert_allclose(got, w, rtol=1e-9, atol=1e-11, err_msg=str(sess))


def test_second_derivatives_of_conv2d_transpose_match_torch():
    y0, w0 = rand(2, 3, 3, 2), rand(3, 3, 4, 2, seed=1)
    y, w = gf.placeholder(gf.float64, y0.shape), gf.placeholder(gf.float64, w0.shape)
    f = gf.reduce_sum(gf.tanh(gf.nn.conv2d_transpose(y, w, [2, 6, 5, 4], 2, "SAME")) ** 2)
    hy, hw = gf.hessians(f, [y, w])
    ty, tw = torch.tensor(y0), torch.tensor(w0)

    def t_f(a, b):
        return (torch.tanh(t_conv_transpose(a, b, (2, 6, 5, 4), (2, 2), "SAME")) ** 2).sum()

    want_y = torch.autograd.functional.hessian(lambda a: t_f(a, tw), ty)
    want_w = torch.autograd.functional.hessian(lambda b: t_f(ty, b), tw)
    for sess in sessions():
        got_y, got_w = sess.run([hy, hw], {y: y0, w: w0})
        np.testing.assert_allclose(got_y, want_y.numpy(), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(got_w, want_w.numpy(), rtol=1e-9, atol=1e-11)


def test_unknown_batch_and_sizes():
    feeds = [[rand(1, 7, 6, 2), rand(3, 2, 2, 3, seed=1)], [rand(3, 5, 8, 2), rand(3, 2, 2, 3)]]
    for shape in [(None, None, None, 2), (None, None, None, None)]:
        check_with_unknown_dims(lambda x, w: gf.nn.conv2d(x, w, [1, 2, 1, 1], "SAME"),
                                lambda x, w: t_conv(x, w, (2, 1), "SAME"), [shape, (3, 2, 2, 3)],
                                feeds)
    x = gf.placeholder(gf.float32, (None, 28, 28, 1))
    assert gf.nn.conv2d(x, np.ones((5, 5, 1, 32), np.float32), 1, "SAME").shape == \
        (None, 28, 28, 32)


def test_conv2d_transpose_with_unknown_batch():
    w0 = rand(3, 3, 2, 4, seed=1)
    check_with_unknown_dims(
        lambda y: gf.nn.conv2d_transpose(y, w0, [None, 7, 7, 2], [1, 2, 2, 1], "SAME"),
        lambda y: t_conv_transpose(y, torch.tensor(w0), (y.shape[0], 7, 7, 2), (2, 2), "SAME"),
        [(None, 4, 4, 4)], [[rand(1, 4, 4, 4)], [rand(3, 4, 4, 4, seed=2)]])
    y = gf.placeholder(gf.float64, (None, 4, 4, 4))
    out = gf.nn.conv2d_transpose(y, w0, [gf.shape(y)[0], 8, 8, 2], 2, "SAME")
    assert out.shape == (None, 8, 8, 2)
    np.testing.assert_array_equal(gf.Session().run(out, {y: np.zeros((5, 4, 4, 4))}).shape,
                                  (5, 8, 8, 2))


def test_float32_stays_float32():
    x = gf.constant(rand(2, 6, 6, 3).astype(np.float32))
    w = gf.constant(rand(3, 3, 3, 4, seed=1).astype(np.float32))
    y = gf.nn.conv2d(x, w, 2, "SAME")
    outs = [y, *gf.gradients(gf.reduce_sum(y * y), [x, w])]
    want = t_conv(torch.tensor(rand(2, 6, 6, 3)), torch.tensor(rand(3, 3, 3, 4, seed=1)), (2, 2),
                  "SAME").numpy()
    for sess in sessions():
        values = sess.run(outs)
        assert all(np.asarray(v).dtype == np.float32 for v in values)
        np.testing.assert_allclose(values[0], want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("strides, padding", [((1, 1), "SAME"), ((2, 3), "VALID")], ids=str)
def test_kernels_working_a_few_images_at_a_time_match_torch(monkeypatch, strides, padding):
    """The numpy kernels make their columns in batches of images (CHUNK_BYTES of scratch): with
    one image per batch, the filter gradient adds up the batches' products."""
    monkeypatch.setattr(conv_kernels, "CHUNK_BYTES", 1)
    compare_with_torch(lambda x, w: gf.nn.conv2d(x, w, strides, padding),
                       lambda x, w: t_conv(x, w, strides, padding),
                       [rand(3, 7, 8, 2), rand(3, 2, 2, 3, seed=1)])


@CUDA
def test_conv_net_on_cuda_matches_the_numpy_backend():
    x0, w10, w20 = rand(2, 9, 8, 3), rand(3, 3, 3, 4, seed=1), rand(2, 2, 4, 2, seed=2)
    xs = [gf.placeholder(gf.float64, a.shape) for a in (x0, w10, w20)]
    h = gf.tanh(gf.nn.conv2d(xs[0], xs[1], 2, "SAME"))
    y = gf.nn.conv2d_transpose(gf.nn.conv2d(h, xs[2], 1, "VALID"), xs[2], [2, 5, 4, 4], 1,
                               "VALID")
    outs = [y, *gf.gradients(gf.reduce_sum(y * y), xs)]
    feed = dict(zip(xs, (x0, w10, w20)))
    want = gf.Session().run(outs, feed)
    got = gf.Session(backend="torch", device="cuda").run(outs, feed)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


# -- bias_add --------------------------------------------------------------------------------------
def test_bias_add_on_images_matches_torch():
    compare_with_torch(lambda x, b: gf.nn.bias_add(x, b), lambda x, b: x + b,
                       [rand(2, 3, 4, 5), rand(5, seed=1)])
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float64, (None, 3, 4, 5))
        y = gf.nn.bias_add(x, np.arange(5.0), "NHWC")
    assert y.op.name == "BiasAdd" and y.shape == (None, 3, 4, 5)


def test_bias_add_takes_tf1_positional_data_format():
    x = gf.placeholder(gf.float64, (2, 3, 4, 5))
    with pytest.raises(NotImplementedError, match=r"bias_add \(test_ops_conv\.py:\d+\).*NHWC"):
        gf.nn.bias_add(x, np.zeros(5), "NCHW")
    with pytest.raises(ValueError, match=r"bias_add \(test_ops_conv\.py:\d+\).*at least 2-D"):
        gf.nn.bias_add(gf.placeholder(gf.float64, (5,)), np.zeros(5))


# -- errors ----------------------------------------------------------------------------------------
def _x(shape=(2, 8, 8, 3), dtype=gf.float64):
    return gf.placeholder(dtype, shape)


SITE = r"test_ops_conv\.py:\d+"


@pytest.mark.parametrize("build, error, match", [
    (lambda: gf.nn.conv2d(_x(), np.ones((3, 3, 4, 2)), 1, "SAME"), gf.ShapeError,
     r"conv2d 'Conv2D' \(%s\): the input has 3 channels but the filter expects 4"),
    (lambda: gf.nn.conv2d(_x((2, 4, 4, 3)), np.ones((5, 3, 3, 2)), 1, "VALID"), gf.ShapeError,
     r"conv2d 'Conv2D' \(%s\): the filter's height 5 .*larger than the input's height 4"),
    (lambda: gf.nn.conv2d(_x((2, 4, 4, 3)), np.ones((3, 3, 3, 2)), 1, "VALID", dilations=2),
     gf.ShapeError, r"conv2d 'Conv2D' \(%s\): the filter's height 5 \(dilation 2\)"),
    (lambda: gf.nn.conv2d(_x(), np.ones((3, 3, 3, 2)), 1, "FULL"), ValueError,
     r"conv2d \(%s\): padding must be 'SAME' or 'VALID', got 'FULL'"),
    (lambda: gf.nn.conv2d(_x(), np.ones((3, 3, 3, 2)), 1, [[1, 1], [1, 1], [1, 1], [1, 1]]),
     ValueError, r"conv2d \(%s\): padding must be .*explicit NHWC"),
    (lambda: gf.nn.conv2d(_x((8, 8, 3)), np.ones((3, 3, 3, 2)), 1, "SAME"), gf.ShapeError,
     r"conv2d 'Conv2D' \(%s\): input 'Placeholder\w*' must be 4-D .*got rank 3"),
    (lambda: gf.nn.conv2d(_x(), np.ones((3, 3, 3)), 1, "SAME"), gf.ShapeError,
     r"conv2d 'Conv2D' \(%s\): filter '\w+' must be 4-D \[height, width, in_channels"),
    (lambda: gf.nn.conv2d(_x(), np.ones((3, 3, 3, 2)), 1, "SAME", data_format="NCHW"),
     NotImplementedError, r"conv2d \(%s\): data_format='NCHW' .*NHWC"),
    (lambda: gf.nn.conv2d(_x(), np.ones((3, 3, 3, 2)), [2, 2, 2, 1], "SAME"), ValueError,
     r"conv2d \(%s\): strides \[2, 2, 2, 1\] must be 1 on the batch"),
    (lambda: gf.nn.conv2d(_x(), np.ones((3, 3, 3, 2)), None, "SAME"), TypeError,
     r"conv2d \(%s\): strides must be an int or a list"),
    (lambda: gf.nn.conv2d(_x(dtype=gf.int32), np.ones((3, 3, 3, 2), np.int32), 1, "SAME"),
     gf.DTypeError, r"conv2d 'Conv2D' \(%s\): needs a float tensor"),
    (lambda: gf.nn.conv2d(_x(), np.ones((3, 3, 3, 2)), 1, "SAME", filters=np.ones(2)),
     ValueError, r"conv2d \(%s\): give only one of filter and filters"),
    (lambda: gf.nn.conv2d_transpose(_x((2, 4, 4, 3)), np.ones((3, 3, 5, 3)), [2, 8, 8, 4], 2),
     ValueError, r"conv2d_transpose \(%s\): output_shape does not match the filter's output "
                 r"channels, 4 != 5"),
    (lambda: gf.nn.conv2d_transpose(_x((2, 4, 4, 3)), np.ones((3, 3, 5, 3)), [2, 9, 8, 5], 2),
     gf.ShapeError, r"conv2d_backprop_input 'conv2d_transpose' \(%s\): the output gradient's "
                    r"height is 4, but an input of shape \(2, 9, 8, 5\) gives conv2d outputs "
                    r"of height 5"),
    (lambda: gf.nn.conv2d_transpose(_x((2, 4, 4, 3)), np.ones((3, 3, 5, 2)), [2, 8, 8, 5], 2),
     gf.ShapeError, r"conv2d_backprop_input 'conv2d_transpose' \(%s\): the output gradient has "
                    r"3 channels but the filter's out_channels .* is 2"),
    (lambda: gf.nn.conv2d_transpose(_x((2, 4, 4, 3)), np.ones((3, 3, 5, 3)), [3, 8, 8, 5], 2),
     ValueError, r"conv2d_transpose \(%s\): output_shape's batch 3 differs from value's 2"),
    (lambda: gf.nn.conv2d_transpose(_x((2, 4, 4, 3)), np.ones((3, 3, 5, 3)),
                                    gf.placeholder(gf.int32, (4,)), 2),
     TypeError, r"conv2d_transpose \(%s\): output_shape '\w+' is a tensor .* pass a list"),
    (lambda: gf.nn.conv2d_transpose(_x(), np.ones((3, 3, 5, 3)), [2, 8, 8, 5], 1,
                                    data_format="NCHW"),
     NotImplementedError, r"conv2d_transpose \(%s\): data_format='NCHW'"),
], ids=lambda v: None if callable(v) or isinstance(v, type) else v[:40])
def test_errors_name_the_op_and_the_users_line(build, error, match):
    with pytest.raises(error, match=match % SITE):
        build()
