"""The torch backend's lowering of the conv ops (compiler/ops/conv.py): NHWC tensors viewed as
NCHW (a permute: channels_last memory, which torch's convolutions take as is), TF's padding
(asymmetric for SAME with an odd total) worked out from the actual sizes, then
torch.nn.functional.conv2d and the convolution's two gradients (torch.nn.grad), permuted back.
"""

import torch
import torch.nn.functional as F

from ...ops.conv_kernels import pad_amounts
from .lowering import TORCH_TABLE as T


def _nchw(x):
    return x.permute(0, 3, 1, 2)


def _nhwc(x):
    return x.permute(0, 2, 3, 1)


def _oihw(w):
    return w.permute(3, 2, 0, 1)


def _pads(h, w, kh, kw, strides, dilations, padding):
    return (pad_amounts(h, kh, strides[0], dilations[0], padding, 0),
            pad_amounts(w, kw, strides[1], dilations[1], padding, 1))


def _padded(x, ph, pw):
    """(x NCHW, torch's symmetric padding): F.pad only where TF's padding is asymmetric."""
    if ph[0] == ph[1] and pw[0] == pw[1]:
        return x, (ph[0], pw[0])
    return F.pad(x, (pw[0], pw[1], ph[0], ph[1])), (0, 0)


@T.lowering("conv2d")
def _conv2d(x, w, strides, dilations, padding):
    ph, pw = _pads(x.shape[1], x.shape[2], w.shape[0], w.shape[1], strides, dilations, padding)
    xp, pad = _padded(_nchw(x), ph, pw)
    return _nhwc(F.conv2d(xp, _oihw(w), stride=strides, padding=pad, dilation=dilations))


@T.lowering("conv2d_backprop_filter")
def _conv2d_backprop_filter(x, g, like, strides, dilations, padding):
    kh, kw, c, o = like.shape
    ph, pw = _pads(x.shape[1], x.shape[2], kh, kw, strides, dilations, padding)
    xp, pad = _padded(_nchw(x), ph, pw)
    dw = torch.nn.grad.conv2d_weight(xp, (o, c, kh, kw), _nchw(g), stride=strides, padding=pad,
                                     dilation=dilations)
    return dw.permute(2, 3, 1, 0)


@T.lowering("conv2d_backprop_input")
def _conv2d_backprop_input(g, w, like=None, strides=(1, 1), dilations=(1, 1), padding="VALID",
                           size=None):
    kh, kw, c, _ = w.shape
    h, wd = like.shape[1:3] if like is not None else size
    ph, pw = _pads(h, wd, kh, kw, strides, dilations, padding)
    symmetric = ph[0] == ph[1] and pw[0] == pw[1]
    # Asymmetric padding: the gradient of the padded input, cropped.
    full = (h, wd) if symmetric else (h + sum(ph), wd + sum(pw))
    pad = (ph[0], pw[0]) if symmetric else (0, 0)
    dx = torch.nn.grad.conv2d_input((g.shape[0], c) + full, _oihw(w), _nchw(g), stride=strides,
                                    padding=pad, dilation=dilations)
    if not symmetric:
        dx = dx[:, :, ph[0]:ph[0] + h, pw[0]:pw[0] + wd]
    return _nhwc(dx)
