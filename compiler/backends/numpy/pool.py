"""The numpy backend's lowering of the pool ops (compiler/ops/pool.py): no Python loop over the
batch or the pixels, only over the window's kh and kw taps, each step one ufunc over strided views
of every window at once.

The forward pools are separable: a max (or sum) over each window's kh rows, whole image rows at a
time (long contiguous runs), then over its kw columns of that smaller array. On Deep MNIST's
shapes this is 1.3-2x faster than a ufunc per tap of the window, which is itself 2-7x faster than
a reduction over the window axes of a reshaped (N, H/2, 2, W/2, 2, C) view (numpy reduces over
inner axes of length 2 slowly).

The gradient of max pooling finds, tap by tap in row-major order, where the tap equals its
window's maximum and no earlier tap did: TF's first-maximum rule. Where windows neither overlap
nor leave gaps (ksize == strides, no padding, nothing left over) every input position is written
once, so the gradient needs no zeroing and no adding; there it compares whole image rows with the
max widened kw times (runs of ow * kw * C, not of C: 1.3x faster at 128x28x28x32).
"""

from __future__ import annotations

import numpy as np

from ...ops.pool import PoolGeometry, crop, pad, pool_geometry, valid_counts
from .lowering import NUMPY_TABLE as T


def _disjoint(geo: PoolGeometry) -> bool:
    """No input position lies under two windows."""
    return geo.ksize[0] <= geo.strides[0] and geo.ksize[1] <= geo.strides[1]


def _tiles(geo: PoolGeometry, padded_shape) -> bool:
    """The windows cover the padded input exactly once."""
    (oh, ow), (kh, kw) = geo.out, geo.ksize
    return geo.ksize == geo.strides and padded_shape[1:3] == (oh * kh, ow * kw)


def _gradient_buffer(geo: PoolGeometry, shape, dtype) -> np.ndarray:
    padded = geo.padded(shape)
    return np.empty(padded, dtype) if _tiles(geo, padded) else np.zeros(padded, dtype)


def _first_maxima(xp: np.ndarray, y: np.ndarray, geo: PoolGeometry):
    """For each tap, row-major: (rows, cols, hit), hit True where this tap is its window's first
    maximum."""
    taken = None
    for rows, cols in geo.taps():
        hit = np.equal(xp[:, rows, cols], y)
        if taken is None:
            taken = hit.copy()
        else:
            np.greater(hit, taken, out=hit)  # hit and not taken before
            np.logical_or(taken, hit, out=taken)
        yield rows, cols, hit


def _into(out, value: np.ndarray) -> np.ndarray:
    """value copied into `out` (a new array where out is None)."""
    if out is None:
        return np.array(value)
    np.copyto(out, value)
    return out


def _separable(xp: np.ndarray, geo: PoolGeometry, ufunc, out=None) -> np.ndarray:
    """ufunc (np.maximum, np.add) over each window: first over the kh rows of every window (whole
    image rows: long contiguous runs), then over the kw columns of that (a 1/kh smaller array),
    into `out` where given."""
    (oh, ow), (kh, kw), (sh, sw) = geo.out, geo.ksize, geo.strides
    rows = [xp[:, i:i + sh * (oh - 1) + 1:sh] for i in range(kh)]
    part = rows[0] if kh == 1 else ufunc(rows[0], rows[1])
    for row in rows[2:]:
        ufunc(part, row, out=part)
    cols = [part[:, :, j:j + sw * (ow - 1) + 1:sw] for j in range(kw)]
    if kw == 1:
        return _into(out, cols[0])
    out = ufunc(cols[0], cols[1], out=out)
    for col in cols[2:]:
        ufunc(out, col, out=out)
    return out


def max_pool(x, ksize, strides, padding, out=None):
    geo = pool_geometry(x.shape, ksize, strides, padding)
    return _separable(pad(x, geo, -np.inf), geo, np.maximum, out)


def _widen(a: np.ndarray, kw: int) -> np.ndarray:
    """(N * oh, 1, ow * kw * C): each of a's (N, oh, ow, C) pixels repeated kw times along the
    width, so it lines up with every image row of its windows."""
    n, oh, ow, c = a.shape
    out = np.empty((n * oh, 1, ow, kw, c), a.dtype)
    np.copyto(out, a.reshape(n * oh, 1, ow, 1, c))
    return out.reshape(n * oh, 1, ow * kw * c)


def _keep_first(taps: np.ndarray) -> None:
    """taps (N * oh, kh, ow, kw, C), True where a tap equals its window's max: cleared in place
    wherever an earlier tap (row-major) of the same window was True."""
    _, kh, _, kw, _ = taps.shape
    order = [(i, j) for i in range(kh) for j in range(kw)]
    taken = taps[:, 0, :, 0].copy()
    for k, (i, j) in enumerate(order[1:], 2):
        tap = taps[:, i, :, j]
        np.greater(tap, taken, out=tap)  # hit and not taken before
        if k < len(order):
            np.logical_or(taken, tap, out=taken)


def _tiled_max_pool_grad(x, y, g, geo: PoolGeometry, dx) -> np.ndarray:
    """max_pool_grad where the windows tile x exactly (no padding): whole image rows compared
    with the widened max at once (runs of ow * kw * C, not of C), then g routed in one pass
    (into `dx`, or a new array where it is None)."""
    n, _, _, c = x.shape
    (oh, ow), (kh, kw) = geo.out, geo.ksize
    hit = np.equal(x.reshape(n * oh, kh, ow * kw * c), _widen(y, kw))
    _keep_first(hit.reshape(n * oh, kh, ow, kw, c))
    dx = np.empty(x.shape, g.dtype) if dx is None else dx
    np.multiply(_widen(g, kw), hit, out=dx.reshape(hit.shape))
    return dx


def max_pool_grad(x, y, g, ksize, strides, padding, out=None):
    geo = pool_geometry(x.shape, ksize, strides, padding)
    if not geo.has_padding and _tiles(geo, x.shape):
        return _tiled_max_pool_grad(x, y, g, geo, out)
    dxp = _gradient_buffer(geo, x.shape, g.dtype)
    disjoint = _disjoint(geo)
    for rows, cols, hit in _first_maxima(pad(x, geo, -np.inf), y, geo):
        if disjoint:
            np.multiply(g, hit, out=dxp[:, rows, cols])
        else:
            dxp[:, rows, cols] += g * hit
    return _into(out, crop(dxp, geo, x.shape))


# Written into the planned buffer (`out=`), so a native run (compiler/backends/native) can take
# them over.
T.template("max_pool", "{prepared}({0}, {ksize}, {strides}, {padding}{out})")
T.template("max_pool_grad", "{prepared}({0}, {1}, {2}, {ksize}, {strides}, {padding}{out})")
PREPARED = {"max_pool": max_pool, "max_pool_grad": max_pool_grad}


@T.lowering("max_pool_grad_grad")
def max_pool_grad_grad(x, y, h, ksize, strides, padding):
    geo = pool_geometry(x.shape, ksize, strides, padding)
    hp = pad(h, geo, 0)
    out = np.zeros(y.shape, h.dtype)
    for rows, cols, hit in _first_maxima(pad(x, geo, -np.inf), y, geo):
        out += hp[:, rows, cols] * hit
    return out


def _counts(shape, geo: PoolGeometry, dtype):
    """What each window's sum is divided by: a number where no window reaches the padding."""
    if geo.has_padding:
        return valid_counts(shape, geo, dtype)
    return geo.ksize[0] * geo.ksize[1]


@T.lowering("avg_pool")
def avg_pool(x, ksize, strides, padding):
    geo = pool_geometry(x.shape, ksize, strides, padding)
    out = _separable(pad(x, geo, 0), geo, np.add)
    return np.divide(out, _counts(x.shape, geo, x.dtype), out=out)


@T.lowering("avg_pool_grad")
def avg_pool_grad(g, x, ksize, strides, padding):
    geo = pool_geometry(x.shape, ksize, strides, padding)
    share = g / _counts(x.shape, geo, g.dtype)
    dxp = _gradient_buffer(geo, x.shape, g.dtype)
    disjoint = _disjoint(geo)
    for rows, cols in geo.taps():
        if disjoint:
            dxp[:, rows, cols] = share
        else:
            dxp[:, rows, cols] += share
    return crop(dxp, geo, x.shape)
