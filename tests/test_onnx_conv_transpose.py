"""ONNX export of transposed convolution (compiler/backends/onnx/conv_transpose.py):
conv2d_backprop_input as tf.nn.conv2d_transpose builds it (SAME/VALID, strides, dilations, every
output size a conv2d maps back onto the value: the ones needing ONNX's output_padding too) and as
conv2d's input gradient (explicit pads, the size from a shape-only input), float32 (ONNX
ConvTranspose) and float64 (an exact MatMul + Pad + Sum decomposition: ONNX Runtime has no
float64 ConvTranspose), on a dynamic batch; and a small decoder of layers end to end."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx_support import TOLERANCE, check_onnx

import graphflow as gf

FLOATS = [np.float32, np.float64]
# (value height, width, filter height, width, strides, dilations, padding, output height, width)
TRANSPOSES = [
    (3, 4, 3, 3, 2, 1, "SAME", 6, 8), (3, 3, 3, 3, 2, 1, "SAME", 5, 5),
    (3, 4, 3, 2, 2, 1, "VALID", 7, 8), (3, 3, 3, 3, 2, 1, "VALID", 8, 8),
    (4, 3, 2, 2, (2, 3), 1, "SAME", 8, 9), (5, 5, 3, 3, 1, 1, "SAME", 5, 5),
    (3, 3, 3, 3, 1, 1, "VALID", 5, 5), (3, 3, 2, 3, 2, (2, 1), "VALID", 7, 7),
    (3, 3, 1, 1, 2, 1, "SAME", 6, 6), (3, 3, 4, 4, 2, 1, "SAME", 6, 6),
    (4, 4, 3, 3, 1, 2, "SAME", 4, 4), (2, 2, 5, 4, 3, 1, "VALID", 8, 7),
]


def op_types(tmp_path) -> set:
    return {n.op_type for n in onnx.load(str(tmp_path / "model.onnx")).graph.node}


def images(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("h, w, kh, kw, strides, dilations, padding, oh, ow", TRANSPOSES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_conv2d_transpose(tmp_path, dtype, h, w, kh, kw, strides, dilations, padding, oh, ow):
    value, f = images((2, h, w, 4), dtype), images((kh, kw, 3, 4), dtype, seed=1)
    check_onnx(tmp_path, lambda t: gf.nn.conv2d_transpose(
        t, gf.constant(f), [None, oh, ow, 3], strides=strides, padding=padding,
        dilations=dilations), [value])
    assert ("ConvTranspose" in op_types(tmp_path)) == (dtype == np.float32)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("opset", [13, 17])
def test_conv2d_transpose_of_an_input_filter(tmp_path, dtype, opset):
    check_onnx(tmp_path, lambda t, k: gf.nn.conv2d_transpose(t, k, [None, 9, 6, 5], strides=2,
                                                             padding="SAME"),
               [images((3, 5, 3, 2), dtype), images((3, 3, 5, 2), dtype, seed=1)],
               dynamic=[True, False], opset=opset)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("padding", ["SAME", [[0, 0], [2, 0], [1, 3], [0, 0]]])
def test_the_input_gradient_of_conv2d(tmp_path, dtype, padding):
    """conv2d's input gradient: its size from x (a shape-only input), TF's explicit pads."""
    f = images((3, 3, 3, 4), dtype, seed=2)

    def grad(x, g):
        y = gf.nn.conv2d(x, gf.constant(f), strides=2, padding=padding)
        return gf.gradients(y, x, grad_ys=g)[0]

    oh, ow = (4, 3) if padding == "SAME" else (4, 4)
    check_onnx(tmp_path, grad, [images((2, 7, 5, 3), dtype), images((2, oh, ow, 4), dtype, 1)])
    assert ("ConvTranspose" in op_types(tmp_path)) == (dtype == np.float32)


@pytest.mark.parametrize("dtype", FLOATS)
def test_a_value_of_unknown_height_and_width(tmp_path, dtype):
    """The output's static size fixes the value's, which the rule computes."""
    f = images((3, 3, 2, 3), dtype, seed=1)
    with gf.Graph().as_default():
        t = gf.placeholder(dtype, (None, None, None, 3), name="in0")
        y = gf.nn.conv2d_transpose(t, gf.constant(f), [None, 8, 7, 2], strides=2,
                                   padding="VALID")
        sess = gf.Session()
        gf.onnx.export(sess, [t], [y], tmp_path / "model.onnx")
        run = ort.InferenceSession(str(tmp_path / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
        for batch in (1, 3):
            data = images((batch, 3, 3, 3), dtype)
            np.testing.assert_allclose(run.run(None, {"in0": data})[0], sess.run(y, {t: data}),
                                       rtol=TOLERANCE[np.dtype(dtype)],
                                       atol=TOLERANCE[np.dtype(dtype)])


@pytest.mark.parametrize("dtype", FLOATS)
def test_an_output_of_unknown_height_is_a_clear_error(tmp_path, dtype):
    """The gradient of a conv2d of an input of unknown height: the pads cannot be worked out."""
    with gf.Graph().as_default():
        x = gf.placeholder(dtype, (None, None, 5, 1), name="x")
        g = gf.placeholder(dtype, (None, None, 3, 2), name="g")
        y = gf.nn.conv2d(x, gf.constant(np.ones((3, 3, 1, 2), dtype)), strides=2,
                         padding="SAME")
        (dx,) = gf.gradients(y, x, grad_ys=g)
        with pytest.raises(gf.onnx.ExportError,
                           match="conv2d_backprop_input .*output's height and width"):
            gf.onnx.export(gf.Session(), [x, g], [dx], tmp_path / "m.onnx")
        assert not (tmp_path / "m.onnx").exists()


def decoder(z):
    """A small GAN-generator-style decoder: upsampling transposed convolutions (same, then
    valid, stride 2) with biases and relus."""
    h = gf.layers.conv2d_transpose(z, 4, 3, strides=2, padding="same", activation=gf.nn.relu)
    return gf.layers.conv2d_transpose(h, 2, 3, strides=2, padding="valid",
                                      activation=gf.nn.relu)


@pytest.mark.parametrize("dtype", FLOATS)
def test_a_decoder_of_layers_end_to_end(tmp_path, dtype):
    gf.set_random_seed(5)
    (got,) = check_onnx(tmp_path, decoder, [images((3, 3, 4, 5), dtype)])
    assert got.shape == (4, 13, 17, 2)


@pytest.mark.parametrize("dtype, shape, message", [
    (np.float32, (None, 3, 2, 3), "filter's height and width"),
    (np.float64, (3, 3, None, 3), "float64 transposed convolution needs the filter's full shape"),
])
def test_a_filter_of_unknown_sizes_is_a_clear_error(tmp_path, dtype, shape, message):
    with gf.Graph().as_default():
        t = gf.placeholder(dtype, (None, 3, 3, 3), name="x")
        k = gf.placeholder(dtype, shape, name="k")
        y = gf.nn.conv2d_transpose(t, k, [None, 6, 6, 2], strides=2, name="up")
        with pytest.raises(gf.onnx.ExportError, match=f"conv2d_backprop_input 'up'.*{message}"):
            gf.onnx.export(gf.Session(), [t, k], [y], tmp_path / "m.onnx")
        assert not (tmp_path / "m.onnx").exists()
