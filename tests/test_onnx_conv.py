"""ONNX export of convolution and pooling (compiler/backends/onnx/conv.py): conv2d, max_pool and
avg_pool with TF's SAME (asymmetric pads) and VALID padding, strides, dilations and explicit
pads, in float32 (ONNX Conv/MaxPool/AveragePool) and float64 (exact decompositions: ONNX Runtime
has no float64 Conv or AveragePool), on a dynamic batch; and a small conv net of tf-style
layers end to end: ONNX Runtime equal to the graphflow session."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx_support import TOLERANCE, check_onnx

import graphflow as gf

FLOATS = [np.float32, np.float64]
# (image height, width, filter height, width, strides, dilations, padding)
CONVS = [
    (5, 5, 3, 3, 1, 1, "SAME"), (6, 7, 3, 2, 2, 1, "SAME"), (7, 6, 4, 4, (2, 3), 1, "SAME"),
    (6, 6, 3, 3, 1, 1, "VALID"), (9, 8, 3, 2, (2, 1), 1, "VALID"), (8, 8, 3, 3, 1, 2, "SAME"),
    (9, 9, 2, 3, 2, (2, 1), "VALID"), (5, 6, 1, 1, 2, 1, "SAME"), (4, 4, 4, 4, 1, 1, "VALID"),
    (6, 5, 3, 3, 2, 1, [[0, 0], [2, 0], [1, 3], [0, 0]]),
]


def op_types(tmp_path) -> set:
    return {n.op_type for n in onnx.load(str(tmp_path / "model.onnx")).graph.node}


def images(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("h, w, kh, kw, strides, dilations, padding", CONVS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_conv2d(tmp_path, dtype, h, w, kh, kw, strides, dilations, padding):
    x, f = images((2, h, w, 3), dtype), images((kh, kw, 3, 4), dtype, seed=1)
    check_onnx(tmp_path, lambda t: gf.nn.conv2d(t, gf.constant(f), strides=strides,
                                                 padding=padding, dilations=dilations), [x])
    assert ("Conv" in op_types(tmp_path)) == (dtype == np.float32)


@pytest.mark.parametrize("dtype", FLOATS)
def test_conv2d_of_an_input_filter(tmp_path, dtype):
    check_onnx(tmp_path, lambda t, k: gf.nn.conv2d(t, k, strides=2, padding="SAME"),
               [images((3, 5, 6, 2), dtype), images((3, 3, 2, 5), dtype, seed=1)],
               dynamic=[True, False])


@pytest.mark.parametrize("dtype, padding", [(np.float32, "VALID"), (np.float64, "VALID"),
                                            (np.float32, "SAME")])
def test_unknown_height_and_width(tmp_path, dtype, padding):
    """Every size but the channels unknown: VALID needs no sizes (float64's tap slices end a
    fixed distance before the padded end); float32's SAME is ONNX's auto_pad=SAME_UPPER."""
    f = images((3, 2, 3, 2), dtype, seed=1)
    with gf.Graph().as_default():
        t = gf.placeholder(dtype, (None, None, None, 3), name="in0")
        y = gf.nn.conv2d(t, gf.constant(f), strides=[1, 2, 2, 1], padding=padding,
                         dilations=1 if padding == "SAME" else [1, 1, 2, 1])
        outs = [gf.nn.avg_pool(y, 2, (1, 2), padding), gf.nn.max_pool(y, 3, 2, padding)]
        sess = gf.Session()
        gf.onnx.export(sess, [t], outs, tmp_path / "model.onnx")
        run = ort.InferenceSession(str(tmp_path / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
        for shape in ((2, 9, 10, 3), (1, 11, 12, 3), (1, 12, 13, 3)):
            data = images(shape, dtype)
            for got, want in zip(run.run(None, {"in0": data}), sess.run(outs, {t: data})):
                np.testing.assert_allclose(got, want, rtol=TOLERANCE[np.dtype(dtype)],
                                           atol=TOLERANCE[np.dtype(dtype)])


@pytest.mark.parametrize("dtype, dilations", [(np.float64, 1), (np.float32, 2)])
def test_same_padding_on_an_unknown_height_is_a_clear_error(tmp_path, dtype, dilations):
    """Where neither ONNX Runtime's Conv (float64, or SAME_UPPER with dilations) nor the
    decomposition (static pads) can do it."""
    with gf.Graph().as_default():
        t = gf.placeholder(dtype, (None, None, 5, 1), name="x")
        y = gf.nn.conv2d(t, gf.constant(np.ones((3, 3, 1, 1), dtype)), strides=1,
                         padding="SAME", dilations=dilations, name="conv")
        with pytest.raises(gf.onnx.ExportError, match="conv2d 'conv'.*unknown height"):
            gf.onnx.export(gf.Session(), [t], [y], tmp_path / "m.onnx")
        assert not (tmp_path / "m.onnx").exists()


POOLS = [
    (5, 5, 2, 2, "SAME"), (6, 7, 3, 2, "SAME"), (7, 7, 3, (2, 3), "SAME"), (6, 6, 2, 2, "VALID"),
    (7, 8, 3, 2, "VALID"), (5, 4, (1, 3), 1, "SAME"), (2, 3, 4, 1, "SAME"),
]


@pytest.mark.parametrize("h, w, ksize, strides, padding", POOLS)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("pool", ["max_pool", "avg_pool"])
def test_pooling(tmp_path, pool, dtype, h, w, ksize, strides, padding):
    """SAME windows over the edge: max ignores the padding, the mean divides by the in-image
    positions only (TF)."""
    x = images((2, h, w, 3), dtype)
    check_onnx(tmp_path, lambda t: getattr(gf.nn, pool)(t, ksize, strides, padding), [x])
    onnx_op = {"max_pool": "MaxPool", "avg_pool": "AveragePool"}[pool]
    assert (onnx_op in op_types(tmp_path)) == (pool == "max_pool" or dtype == np.float32)


def test_max_pool_of_negative_values_never_picks_the_padding(tmp_path):
    x = -1 - np.abs(images((1, 3, 3, 2), np.float32))
    check_onnx(tmp_path, lambda t: gf.nn.max_pool(t, 2, 2, "SAME"), [x])


@pytest.mark.parametrize("dtype", FLOATS)
def test_max_pool_propagates_nan_as_numpy(tmp_path, dtype):
    x = images((2, 5, 5, 2), dtype)
    x[0, 0, 0, 0] = x[1, 2, 3, 1] = x[0, 4, 4, 1] = np.nan
    for padding in ("SAME", "VALID"):
        (got,) = check_onnx(tmp_path, lambda t: gf.nn.max_pool(t, 2, 2, padding), [x],
                            other_batch=False)
        assert np.isnan(got).sum() == (3 if padding == "SAME" else 2)


def features(x):
    """The convolutional part of a TF1 tutorial-style CNN: conv (same) -> pool -> conv (valid,
    stride 2), with biases and relus."""
    h = gf.layers.conv2d(x, 4, 3, padding="same", activation=gf.nn.relu)
    h = gf.layers.max_pooling2d(h, pool_size=2, strides=2)
    return gf.layers.conv2d(h, 6, 3, strides=2, padding="valid", activation=gf.nn.relu)


@pytest.mark.parametrize("dtype", FLOATS)
def test_the_convolutional_layers_of_a_conv_net(tmp_path, dtype):
    gf.set_random_seed(3)
    check_onnx(tmp_path, features, [images((3, 12, 12, 2), dtype)])


@pytest.mark.parametrize("dtype", FLOATS)
def test_a_conv_net_of_layers_end_to_end(tmp_path, dtype):
    """features -> flatten -> dense (needs the shape family's reshape rule too)."""
    gf.set_random_seed(3)
    check_onnx(tmp_path, lambda x: gf.layers.dense(gf.layers.flatten(features(x)), 5),
               [images((3, 12, 12, 2), dtype)])
