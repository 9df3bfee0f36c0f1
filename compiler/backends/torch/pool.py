"""The torch backend's lowering of the pool ops (compiler/ops/pool.py).

NHWC tensors are permuted to NCHW views (channels_last in memory, which torch's pooling kernels
take as they are), padded by TF's SAME rule with F.pad (-inf for max pooling, zeros for average
pooling), pooled with F.max_pool2d / F.avg_pool2d, and permuted back. Everything is computed on
the tensors' device.

The gradients are torch's own backward kernels on the padded input (what autograd runs):
max_pool2d_with_indices_backward scatters each output's gradient to the index F.max_pool2d
returned, and torch's pooling kernels keep the first maximum of a window in row-major order
(they replace the maximum only on a strictly greater value), TF's MaxPoolGrad rule;
max_pool_grad_grad gathers at those indices. Average pooling divides a sum pool by the count of
each window's in-image positions (a sum pool of ones), so SAME averages as TF does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...ops.pool import PoolGeometry, pool_geometry
from .lowering import TORCH_TABLE as T

_ATEN = torch.ops.aten


def _padded(x, geo: PoolGeometry, fill: float):
    """x (NHWC) as an NCHW view, padded for SAME."""
    (top, bottom), (left, right) = geo.pads
    x = x.permute(0, 3, 1, 2)
    if top or bottom or left or right:
        x = F.pad(x, (left, right, top, bottom), value=fill)
    return x


def _nhwc(padded, geo: PoolGeometry, shape):
    """The in-image part of a padded NCHW tensor, as NHWC."""
    (top, _), (left, _) = geo.pads
    return padded[:, :, top:top + shape[1], left:left + shape[2]].permute(0, 2, 3, 1)


def _indices(x, ksize, strides, padding):
    """(geometry, padded NCHW input, index of each window's first maximum in its padded plane)."""
    geo = pool_geometry(x.shape, ksize, strides, padding)
    xp = _padded(x, geo, float("-inf"))
    return geo, xp, F.max_pool2d(xp, ksize, strides, return_indices=True)[1]


@T.lowering("max_pool")
def max_pool(x, ksize, strides, padding):
    geo = pool_geometry(x.shape, ksize, strides, padding)
    return F.max_pool2d(_padded(x, geo, float("-inf")), ksize, strides).permute(0, 2, 3, 1)


@T.lowering("max_pool_grad")
def max_pool_grad(x, y, g, ksize, strides, padding):
    geo, xp, indices = _indices(x, ksize, strides, padding)
    dxp = _ATEN.max_pool2d_with_indices_backward(g.permute(0, 3, 1, 2), xp, list(ksize),
                                                 list(strides), [0, 0], [1, 1], False, indices)
    return _nhwc(dxp, geo, x.shape)


@T.lowering("max_pool_grad_grad")
def max_pool_grad_grad(x, y, h, ksize, strides, padding):
    geo, _, indices = _indices(x, ksize, strides, padding)
    planes = _padded(h, geo, 0.0).flatten(2)  # (N, C, padded H * W)
    picked = planes.gather(2, indices.flatten(2)).reshape(indices.shape)
    return picked.permute(0, 2, 3, 1)


def _counts(shape, geo: PoolGeometry, like):
    """Each window's count of in-image positions, (1, 1, out H, out W): a sum pool of ones, made
    on the device (no host copy, so CUDA graph capture can record it). None without padding:
    then the count is kh * kw, and torch's average is TF's."""
    if not geo.has_padding:
        return None
    ones = torch.ones((1,) + tuple(shape[1:3]) + (1,), dtype=like.dtype, device=like.device)
    return F.avg_pool2d(_padded(ones, geo, 0.0), geo.ksize, geo.strides, divisor_override=1)


@T.lowering("avg_pool")
def avg_pool(x, ksize, strides, padding):
    geo = pool_geometry(x.shape, ksize, strides, padding)
    counts = _counts(x.shape, geo, x)
    xp = _padded(x, geo, 0.0)
    if counts is None:
        return F.avg_pool2d(xp, ksize, strides).permute(0, 2, 3, 1)
    return (F.avg_pool2d(xp, ksize, strides, divisor_override=1) / counts).permute(0, 2, 3, 1)


@T.lowering("avg_pool_grad")
def avg_pool_grad(g, x, ksize, strides, padding):
    """x is a ShapeOf: only its shape is read."""
    geo = pool_geometry(x.shape, ksize, strides, padding)
    counts = _counts(x.shape, geo, g)
    g = g.permute(0, 3, 1, 2)
    share, divisor = (g, None) if counts is None else (g / counts, 1)
    # Only the padded input's shape and layout are read: uninitialized, NHWC (channels_last) as
    # g, so torch takes its channels_last kernel.
    like = torch.empty(geo.padded(x.shape), dtype=g.dtype, device=g.device).permute(0, 3, 1, 2)
    dxp = _ATEN.avg_pool2d_backward(share, like, list(ksize), list(strides), [0, 0], False, True,
                                    divisor)
    return _nhwc(dxp, geo, x.shape)
