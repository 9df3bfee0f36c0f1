"""The numpy kernels of the conv ops (compiler/ops/conv.py), NHWC input, HWIO filter.

    conv2d:           im2col (a strided view of the padded input, copied) times the filter
                      reshaped to (kh * kw * in, out): one GEMM
    backprop_filter:  the same columns, transposed, times the output gradient
    backprop_input:   col2im: the output gradient times each tap's filter matrix (one batched
                      GEMM), added tap by tap (kh * kw strided adds) into the padded gradient;
                      with stride 1 and enough input channels, conv2d of the padded output
                      gradient with the flipped filter instead (faster there)

Each works a few images at a time (CHUNK_BYTES of scratch), so the columns are made and read
while in cache (measured: half the time of whole-batch columns at batch 128), and the output
goes straight into its planned buffer (`out`). Python loops run over those batches of images
and over the kh * kw taps only, never over pixels.

Padding is worked out here from the actual input size, so sizes unknown when the graph was
built are fine. `padding` is "SAME", "VALID" (TF's rule, compiler/ops/windows.py) or explicit
((top, bottom), (left, right)) amounts.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .windows import effective_size, output_size, padding_amounts

Pair = Tuple[int, int]
CHUNK_BYTES = 1 << 22  # scratch per batch of images: a few MB, so it stays in cache


def pad_amounts(size: int, k: int, stride: int, dilation: int, padding, axis: int) -> Pair:
    """(before, after) padding along spatial axis `axis` (0: height, 1: width)."""
    if isinstance(padding, str):
        return padding_amounts(size, k, stride, dilation, padding)
    return padding[axis]


def out_size(size: Optional[int], k: int, stride: int, dilation: int, padding,
             axis: int) -> Optional[int]:
    """The output size along one spatial axis (None where the input size is unknown); 0 or less
    where the (dilated) window does not fit."""
    if size is None or isinstance(padding, str):
        return output_size(size, k, stride, dilation, padding)
    before, after = padding[axis]
    return (size + before + after - effective_size(k, dilation)) // stride + 1


def _geometry(h: int, w: int, kh: int, kw: int, strides, dilations, padding):
    """(output height, output width, height padding, width padding); ValueError where the
    window does not fit the padded input."""
    oh = out_size(h, kh, strides[0], dilations[0], padding, 0)
    ow = out_size(w, kw, strides[1], dilations[1], padding, 1)
    if oh < 1 or ow < 1:
        raise ValueError(f"the filter ({kh}x{kw}, dilations {tuple(dilations)}) is larger than "
                         f"the padded input ({h}x{w}, padding {padding})")
    return (oh, ow, pad_amounts(h, kh, strides[0], dilations[0], padding, 0),
            pad_amounts(w, kw, strides[1], dilations[1], padding, 1))


def _padded(x: np.ndarray, ph: Pair, pw: Pair) -> np.ndarray:
    """x with zero rows and columns around it (x itself where there are none)."""
    if not (ph[0] or ph[1] or pw[0] or pw[1]):
        return x
    n, h, w, c = x.shape
    xp = np.zeros((n, h + ph[0] + ph[1], w + pw[0] + pw[1], c), x.dtype)
    xp[:, ph[0]:ph[0] + h, pw[0]:pw[0] + w] = x
    return xp


def _windows(xp: np.ndarray, kh: int, kw: int, oh: int, ow: int, strides, dilations):
    """The (batch, oh, ow, kh, kw, channels) view of every window of the padded input (its last
    three axes in HWIO's order)."""
    n, _, _, c = xp.shape
    sn, sh, sw, sc = xp.strides
    return as_strided(xp, (n, oh, ow, kh, kw, c),
                      (sn, sh * strides[0], sw * strides[1], sh * dilations[0],
                       sw * dilations[1], sc), writeable=False)


def _batches(n: int, image_bytes: int):
    """(start, stop) spans of a few images each, about CHUNK_BYTES of scratch per span."""
    step = max(1, CHUNK_BYTES // max(image_bytes, 1))
    return [(s, min(n, s + step)) for s in range(0, n, step)], min(step, n)


def _columns(view: np.ndarray):
    """im2col a few images at a time: (start, stop, their (rows, kh * kw * channels) columns),
    copied from the window view into one reused buffer, so the GEMM reads them from cache. With
    one channel the buffer is (taps, rows), each tap a long run of pixels to copy (5x faster
    than runs of kw pixels), and the columns are its transpose, which BLAS reads as well."""
    n, oh, ow, kh, kw, c = view.shape
    spans, step = _batches(n, oh * ow * kh * kw * c * view.itemsize)
    buf = np.empty((step * oh * ow * kh * kw * c,), view.dtype)
    for start, stop in spans:
        rows = (stop - start) * oh * ow
        if c == 1:
            taps = buf[:rows * kh * kw].reshape(kh, kw, stop - start, oh, ow)
            np.copyto(taps, view[start:stop, :, :, :, :, 0].transpose(3, 4, 0, 1, 2))
            yield start, stop, taps.reshape(kh * kw, rows).T
        else:
            cols = buf[:rows * kh * kw * c].reshape(view[start:stop].shape)
            np.copyto(cols, view[start:stop])
            yield start, stop, cols.reshape(rows, kh * kw * c)


def _channels(x_channels: int, w_channels: int) -> None:
    if x_channels != w_channels:
        raise ValueError(f"the input has {x_channels} channels but the filter expects "
                         f"{w_channels} (filter shape [height, width, in_channels, "
                         f"out_channels])")


def conv2d(x, w, strides, dilations, padding, out=None):
    """output[b, i, j, o] = sum over (di, dj, c) of padded_x[b, i * sh + di * dh,
    j * sw + dj * dw, c] * w[di, dj, c, o]."""
    n, h, wd, c = x.shape
    kh, kw, wc, o = w.shape
    _channels(c, wc)
    oh, ow, ph, pw = _geometry(h, wd, kh, kw, strides, dilations, padding)
    if out is None:
        out = np.empty((n, oh, ow, o), np.result_type(x, w))
    xp, w2 = _padded(x, ph, pw), w.reshape(kh * kw * c, o)
    if kh == kw == 1 and strides == (1, 1):  # the input is its own columns
        np.matmul(xp.reshape(n * oh * ow, c), w2, out=out.reshape(n * oh * ow, o))
        return out
    rows = out.reshape(n, oh * ow, o)
    for start, stop, cols in _columns(_windows(xp, kh, kw, oh, ow, strides, dilations)):
        np.matmul(cols, w2, out=rows[start:stop].reshape(-1, o))
    return out


def conv2d_backprop_filter(x, g, like, strides, dilations, padding, out=None):
    """The gradient of conv2d with respect to its filter (of `like`'s shape): the columns of x
    transposed times g, summed over batches of images."""
    n, h, wd, c = x.shape
    kh, kw = like.shape[:2]
    oh, ow, ph, pw = _geometry(h, wd, kh, kw, strides, dilations, padding)
    o = g.shape[3]
    if g.shape != (n, oh, ow, o):
        raise ValueError(f"the output gradient has shape {g.shape}; an input of shape {x.shape} "
                         f"gives outputs of shape {(n, oh, ow, o)}")
    if out is None:
        out = np.empty((kh, kw, c, o), np.result_type(x, g))
    acc, rows = out.reshape(kh * kw * c, o), g.reshape(n, oh * ow, o)
    acc[...] = 0  # an empty batch has no columns to write it
    view = _windows(_padded(x, ph, pw), kh, kw, oh, ow, strides, dilations)
    for start, stop, cols in _columns(view):
        acc += cols.T @ rows[start:stop].reshape(-1, o)
    return out


def conv2d_backprop_input(g, w, like=None, strides=(1, 1), dilations=(1, 1), padding="VALID",
                          size=None, out=None):
    """The gradient of conv2d with respect to its input, of `like`'s height and width (or
    `size`'s): each output position's g spread back over the window it was computed from."""
    n, oh, ow, o = g.shape
    kh, kw, c, wo = w.shape
    _channels(o, wo)
    h, wd = like.shape[1:3] if like is not None else size
    expect = _geometry(h, wd, kh, kw, strides, dilations, padding)
    if expect[:2] != (oh, ow):
        raise ValueError(f"the output gradient is {oh}x{ow}, but an input of {h}x{wd} gives "
                         f"outputs of {expect[0]}x{expect[1]}")
    (pt, pb), (pl, pr) = expect[2:]
    eh, ew = (kh - 1) * dilations[0], (kw - 1) * dilations[1]
    if strides == (1, 1) and 2 * c >= o and max(pt, pb) <= eh and max(pl, pr) <= ew:
        # A correlation of g, padded, with the flipped filter: one GEMM, no adds (faster
        # where the input has at least half as many channels as the output).
        gq = _padded(g, (eh - pt, eh - pb), (ew - pl, ew - pr))
        return conv2d(gq, w[::-1, ::-1].transpose(0, 1, 3, 2), (1, 1), dilations, "VALID",
                      out=out)
    dxp = np.zeros((n, h + pt + pb, wd + pl + pr, c), np.result_type(g, w))
    _spread(g, w, dxp, strides, dilations)
    inner = dxp[:, pt:pt + h, pl:pl + wd]
    if out is None:
        return np.ascontiguousarray(inner)
    np.copyto(out, inner)
    return out


def _spread(g, w, dxp, strides, dilations) -> None:
    """col2im: dxp += each output position's g times the filter, over its window. A few images
    at a time: one GEMM per tap (batched, so each tap's columns are contiguous), then one
    strided add per tap."""
    n, oh, ow, o = g.shape
    kh, kw, c, _ = w.shape
    per_tap = np.ascontiguousarray(w.reshape(kh * kw, c, o).transpose(0, 2, 1))
    spans, step = _batches(n, kh * kw * oh * ow * c * dxp.itemsize)
    buf = np.empty((kh * kw * step * oh * ow * c,), dxp.dtype)
    (sh, sw), (dh, dw) = strides, dilations
    for start, stop in spans:
        rows = (stop - start) * oh * ow
        taps = buf[:kh * kw * rows * c].reshape(kh * kw, rows, c)
        np.matmul(g[start:stop].reshape(1, rows, o), per_tap, out=taps)
        taps = taps.reshape(kh, kw, stop - start, oh, ow, c)
        part = dxp[start:stop]
        for i in range(kh):
            for j in range(kw):
                part[:, i * dh:i * dh + (oh - 1) * sh + 1:sh,
                     j * dw:j * dw + (ow - 1) * sw + 1:sw] += taps[i, j]
