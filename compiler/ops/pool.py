"""Max and average pooling in TF1's NHWC layout (skeleton: being written)."""

from __future__ import annotations

__all__ = ["max_pool", "avg_pool", "max_pool2d", "avg_pool2d"]


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):  # noqa: A002
    raise NotImplementedError("max_pool is being written")


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):  # noqa: A002
    raise NotImplementedError("avg_pool is being written")


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    raise NotImplementedError("max_pool2d is being written")


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    raise NotImplementedError("avg_pool2d is being written")
