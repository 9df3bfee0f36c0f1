"""Convolutions in TF1's NHWC layout (skeleton: being written)."""

from __future__ import annotations

__all__ = ["conv2d", "conv2d_transpose"]


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True,  # noqa: A002
           data_format="NHWC", dilations=(1, 1, 1, 1), name=None, filters=None):
    raise NotImplementedError("conv2d is being written")


def conv2d_transpose(value=None, filter=None, output_shape=None, strides=None, padding="SAME",
                     data_format="NHWC", name=None, input=None, filters=None,  # noqa: A002
                     dilations=None):
    raise NotImplementedError("conv2d_transpose is being written")
