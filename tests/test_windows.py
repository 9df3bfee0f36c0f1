"""TF's window arithmetic (compiler/ops/windows.py) against the formulas of the TF1 docs, worked
by hand for a few sizes, and the argument forms TF1 code uses."""

import pytest

from compiler.ops.windows import (
    data_format_arg,
    output_size,
    padding_arg,
    same_padding,
    window_arg,
)


@pytest.mark.parametrize("size, k, stride, dilation, out, before, after", [
    (28, 5, 1, 1, 28, 2, 2),    # Deep MNIST's conv: 4 pixels of padding, split evenly
    (28, 2, 2, 1, 14, 0, 0),    # its 2x2 pool
    (7, 3, 2, 1, 4, 1, 1),      # out 4: (4-1)*2 + 3 - 7 = 2
    (8, 3, 2, 1, 4, 0, 1),      # (4-1)*2 + 3 - 8 = 1: the odd pixel goes after
    (5, 4, 1, 1, 5, 1, 2),      # even kernel: total 3
    (6, 3, 1, 2, 6, 2, 2),      # dilation 2: span 5, total 4
    (5, 1, 3, 1, 2, 0, 0),      # 1x1 kernel, stride 3: (2-1)*3 + 1 - 5 < 0
])
def test_same_padding_follows_tf(size, k, stride, dilation, out, before, after):
    assert output_size(size, k, stride, dilation, "SAME") == out
    assert same_padding(size, k, stride, dilation) == (before, after)


@pytest.mark.parametrize("size, k, stride, dilation, out", [
    (28, 5, 1, 1, 24), (7, 3, 2, 1, 3), (8, 3, 2, 1, 3), (6, 3, 1, 2, 2), (4, 5, 1, 1, 0),
    (None, 3, 1, 1, None),
])
def test_valid_output_sizes(size, k, stride, dilation, out):
    assert output_size(size, k, stride, dilation, "VALID") == out


def test_window_arguments_in_every_tf_spelling():
    assert window_arg([1, 2, 3, 1], "strides", "conv2d") == (2, 3)
    assert window_arg(2, "strides", "conv2d") == (2, 2)
    assert window_arg((2, 1), "strides", "conv2d") == (2, 1)
    assert window_arg(None, "dilations", "conv2d", default=1) == (1, 1)
    with pytest.raises(ValueError, match="conv2d: strides .* batch and channel"):
        window_arg([2, 2, 2, 2], "strides", "conv2d")
    with pytest.raises(ValueError, match="max_pool: ksize must be positive"):
        window_arg(0, "ksize", "max_pool")
    with pytest.raises(ValueError, match="1, 2 or 4 entries"):
        window_arg([1, 2, 3], "strides", "conv2d")


def test_padding_and_layout_arguments():
    assert padding_arg("same", "conv2d") == "SAME"
    with pytest.raises(ValueError, match="conv2d: padding must be 'SAME' or 'VALID', got 'FULL'"):
        padding_arg("FULL", "conv2d")
    data_format_arg("NHWC", "conv2d")
    with pytest.raises(NotImplementedError, match="conv2d: data_format='NCHW'"):
        data_format_arg("NCHW", "conv2d")
