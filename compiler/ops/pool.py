"""Max and average pooling in TF1's NHWC layout, with their gradients as ops of their own.

    y = max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")

Windows and SAME padding follow TF (compiler/ops/windows.py). Max pooling pads with -inf, so a
padded position never wins; SAME average pooling divides each window's sum by the number of its
in-image positions, not by kh * kw (TF's AvgPool).

    op                 inputs               value
    max_pool           x                    the max of each window
    max_pool_grad      x, y, g              each g[o] added at the FIRST maximum of window o
                                            (row-major order, TF's MaxPoolGrad); y = max_pool(x)
    max_pool_grad_grad x, y, h              h at the first maximum of each window (MaxPoolGradGrad)
    avg_pool           x                    the mean of each window's in-image positions
    avg_pool_grad      g, x (shape only)    each g[o] / count[o] spread over window o's positions

max_pool_grad and max_pool_grad_grad are, for a fixed x, linear in their last input and each
other's adjoint, and so are avg_pool_grad and avg_pool: each rule is the other op, so gradients of
gradients work to any order (the derivative with respect to x of the routing is zero).

The reference kernels below gather the taps of every window with one fancy index, and scatter
back one tap at a time: plain, not fast. The numpy backend's kernels
(compiler/backends/numpy/pool.py) loop over the kh * kw taps with strided views instead.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import numpy as np

from ..graph import Node, user_site
from ..opdef import OpDef, register
from ..shapes import is_fully_known
from .core import apply, require_float, same_dtype
from .windows import data_format_arg, output_size, padding_amounts, padding_arg, window_arg

__all__ = ["max_pool", "avg_pool", "max_pool2d", "avg_pool2d"]

Pair = Tuple[int, int]


# -- window geometry, shared with the backends' kernels --------------------------------------------
class PoolGeometry(NamedTuple):
    """Where the windows of one pooling fall on an input of a known size."""

    out: Pair          # output height, width
    pads: Tuple[Pair, Pair]  # (top, bottom), (left, right)
    ksize: Pair
    strides: Pair

    @property
    def has_padding(self) -> bool:
        return any(self.pads[0] + self.pads[1])

    def padded(self, shape) -> tuple:
        """The shape of the padded input."""
        (top, bottom), (left, right) = self.pads
        return (shape[0], shape[1] + top + bottom, shape[2] + left + right, shape[3])

    def taps(self):
        """(row slice, column slice) of the padded input under each window tap, row-major: the
        window positions (i, j) of every window at once."""
        (oh, ow), (kh, kw), (sh, sw) = self.out, self.ksize, self.strides
        return [(slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw))
                for i in range(kh) for j in range(kw)]


def _out_sizes(shape, ksize, strides, padding) -> tuple:
    """The output shape for an NHWC input shape (None entries: unknown); ValueError naming the
    axis where a VALID window is larger than the input."""
    if shape is None:
        return (None,) * 4
    if len(shape) != 4:
        raise ValueError(f"the input must be 4-D [batch, height, width, channels] (NHWC), got "
                         f"rank {len(shape)}")
    out = []
    for axis, size, k, s in zip(("height", "width"), shape[1:3], ksize, strides):
        if padding == "VALID" and size is not None and size < k:
            raise ValueError(f"the {ksize[0]}x{ksize[1]} window is larger than the input's "
                             f"{axis} {size} with padding='VALID'; use padding='SAME' or a "
                             f"smaller ksize")
        out.append(output_size(size, k, s, 1, padding))
    return (shape[0], out[0], out[1], shape[3])


def pool_geometry(shape, ksize: Pair, strides: Pair, padding: str) -> PoolGeometry:
    """The geometry of pooling an input of this (run-time) shape; ValueError as the shape rule."""
    _, oh, ow, _ = _out_sizes(tuple(shape), ksize, strides, padding)
    pads = tuple(padding_amounts(n, k, s, 1, padding)
                 for n, k, s in zip(shape[1:3], ksize, strides))
    return PoolGeometry((oh, ow), pads, ksize, strides)


def valid_counts(shape, geo: PoolGeometry, dtype) -> np.ndarray:
    """The number of in-image positions of each window, shaped (out height, out width, 1)."""
    counts = []
    for size, out, k, s, (before, _) in zip(shape[1:3], geo.out, geo.ksize, geo.strides,
                                            geo.pads):
        start = np.arange(out) * s - before
        counts.append(np.minimum(start + k, size) - np.maximum(start, 0))
    return np.multiply.outer(*counts).astype(dtype)[:, :, None]


def pad(x: np.ndarray, geo: PoolGeometry, fill) -> np.ndarray:
    """x padded on its spatial axes with `fill` (x itself where there is no padding)."""
    if not geo.has_padding:
        return x
    out = np.full(geo.padded(x.shape), fill, dtype=x.dtype)
    (top, _), (left, _) = geo.pads
    out[:, top:top + x.shape[1], left:left + x.shape[2]] = x
    return out


def crop(padded: np.ndarray, geo: PoolGeometry, shape) -> np.ndarray:
    """The in-image part of a padded array (itself where there is no padding)."""
    if not geo.has_padding:
        return padded
    (top, _), (left, _) = geo.pads
    return np.ascontiguousarray(padded[:, top:top + shape[1], left:left + shape[2]])


# -- reference kernels: every tap of every window at once ------------------------------------------
def _tap_index(geo: PoolGeometry):
    """Row and column indices into the padded input, shaped (out h, out w, taps), taps
    row-major."""
    (oh, ow), (kh, kw), (sh, sw) = geo.out, geo.ksize, geo.strides
    taps = np.arange(kh * kw)
    rows = (np.arange(oh) * sh)[:, None, None] + (taps // kw)[None, None, :]
    cols = (np.arange(ow) * sw)[None, :, None] + (taps % kw)[None, None, :]
    return rows, cols


def _windows(padded: np.ndarray, geo: PoolGeometry) -> np.ndarray:
    """(N, out h, out w, taps, C): the values under every window."""
    rows, cols = _tap_index(geo)
    return padded[:, rows, cols]


def _scatter(values: np.ndarray, geo: PoolGeometry, shape) -> np.ndarray:
    """values (N, out h, out w, taps, C) added at their window positions: an input-shaped array."""
    out = np.zeros(geo.padded(shape), values.dtype)
    rows, cols = _tap_index(geo)
    values = np.broadcast_to(values, values.shape[:3] + (rows.shape[2],) + values.shape[4:])
    for t in range(rows.shape[2]):  # one tap of every window: no position twice
        out[:, rows[:, :, t], cols[:, :, t]] += values[:, :, :, t]
    return crop(out, geo, shape)


def _first_max(x: np.ndarray, geo: PoolGeometry) -> np.ndarray:
    """(N, out h, out w, 1, C): the tap of each window's first maximum (argmax takes the first)."""
    return _windows(pad(x, geo, -np.inf), geo).argmax(axis=3)[:, :, :, None]


def _max_pool_kernel(x, ksize, strides, padding):
    geo = pool_geometry(x.shape, ksize, strides, padding)
    return _windows(pad(x, geo, -np.inf), geo).max(axis=3)


def _max_pool_grad_kernel(x, y, g, ksize, strides, padding):
    geo = pool_geometry(x.shape, ksize, strides, padding)
    taps = np.arange(ksize[0] * ksize[1])[:, None]
    routed = np.where(taps == _first_max(x, geo), g[:, :, :, None], 0).astype(g.dtype, copy=False)
    return _scatter(routed, geo, x.shape)


def _max_pool_grad_grad_kernel(x, y, h, ksize, strides, padding):
    geo = pool_geometry(x.shape, ksize, strides, padding)
    picked = np.take_along_axis(_windows(pad(h, geo, 0), geo), _first_max(x, geo), axis=3)
    return picked[:, :, :, 0]


def _avg_pool_kernel(x, ksize, strides, padding):
    geo = pool_geometry(x.shape, ksize, strides, padding)
    total = _windows(pad(x, geo, 0), geo).sum(axis=3)
    return total / valid_counts(x.shape, geo, x.dtype)


def _avg_pool_grad_kernel(g, x, ksize, strides, padding):
    geo = pool_geometry(x.shape, ksize, strides, padding)
    share = g / valid_counts(x.shape, geo, g.dtype)
    return _scatter(share[:, :, :, None], geo, x.shape)


# -- shape rules, gradient rules, records ----------------------------------------------------------
def _pool_infer(inputs, ksize, strides, padding):
    x = inputs[0]
    return _out_sizes(x.shape, ksize, strides, padding), require_float(x)


def _grad_infer(like: int, out: int):
    """Shape rule of a gradient op: the shape of input `like` (x or y); inputs float, one dtype."""
    def infer(inputs, ksize, strides, padding):
        for x in inputs:
            require_float(x)
        dtype = same_dtype(inputs, "the pooled input and its gradients")
        _out_sizes(inputs[like].shape, ksize, strides, padding)
        return inputs[out].shape, dtype
    return infer


def _known_input(node) -> bool:
    """never_raises once the pooled input's shape is known: the shape rule checked the windows."""
    return is_fully_known(node.inputs[0].shape)


def _known_like(node) -> bool:
    """_known_input for avg_pool_grad, whose pooled input (read for its shape) comes second."""
    return is_fully_known(node.inputs[1].shape)


def _max_pool_rule(node, g):
    return (apply(MAX_POOL_GRAD, [node.inputs[0], node, g], None, **node.attrs),)


def _max_pool_grad_rule(node, h):
    x, y, _ = node.inputs
    return None, None, apply(MAX_POOL_GRAD_GRAD, [x, y, h], None, **node.attrs)


def _max_pool_grad_grad_rule(node, g):
    x, y, _ = node.inputs
    return None, None, apply(MAX_POOL_GRAD, [x, y, g], None, **node.attrs)


def _avg_pool_rule(node, g):
    return (apply(AVG_POOL_GRAD, [g, node.inputs[0]], None, **node.attrs),)


def _avg_pool_grad_rule(node, h):
    return apply(AVG_POOL, [h], None, **node.attrs), None


MAX_POOL = register(OpDef("max_pool", tf_type="MaxPool", infer=_pool_infer, kernel=_max_pool_kernel,
                          grad=_max_pool_rule, never_raises=_known_input))
MAX_POOL_GRAD = register(OpDef("max_pool_grad", tf_type="MaxPoolGrad", infer=_grad_infer(0, 0),
                               kernel=_max_pool_grad_kernel, grad=_max_pool_grad_rule,
                               never_raises=_known_input))
MAX_POOL_GRAD_GRAD = register(OpDef("max_pool_grad_grad", tf_type="MaxPoolGradGrad",
                                    infer=_grad_infer(0, 1),
                                    kernel=_max_pool_grad_grad_kernel,
                                    grad=_max_pool_grad_grad_rule, never_raises=_known_input))
AVG_POOL = register(OpDef("avg_pool", tf_type="AvgPool", infer=_pool_infer, kernel=_avg_pool_kernel,
                          grad=_avg_pool_rule, never_raises=_known_input))
AVG_POOL_GRAD = register(OpDef("avg_pool_grad", tf_type="AvgPoolGrad", infer=_grad_infer(1, 1),
                               kernel=_avg_pool_grad_kernel, grad=_avg_pool_grad_rule,
                               value_inputs=1, never_raises=_known_like))


# -- builders: TF 1.15's tf.nn names and signatures ------------------------------------------------
def _pool(opdef: OpDef, value, ksize, strides, padding, data_format, name, default_name, input):
    where = f"{opdef.name} ({user_site()})"
    if input is not None:  # TF's deprecated_argument_lookup("input", input, "value", value)
        if value is not None:
            raise ValueError(f"{where}: give the input as value= or as input=, not both")
        value = input
    data_format_arg(data_format, where)
    attrs = {"ksize": window_arg(ksize, "ksize", where),
             "strides": window_arg(strides, "strides", where),
             "padding": padding_arg(padding, where)}
    return apply(opdef, [value], name or default_name, **attrs)


def max_pool(value, ksize, strides, padding, data_format="NHWC", name: Optional[str] = None,
             input=None) -> Node:  # noqa: A002 - TF1's argument name
    """The maximum of each ksize window of the NHWC tensor `value`, windows `strides` apart
    (ints, (height, width) pairs or TF's 4-lists [1, h, w, 1]); padding "SAME" (by TF's rule,
    never winning) or "VALID". `input` is TF's alias of `value`."""
    return _pool(MAX_POOL, value, ksize, strides, padding, data_format, name, "MaxPool", input)


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name: Optional[str] = None,
             input=None) -> Node:  # noqa: A002 - TF1's argument name
    """The mean of each ksize window of the NHWC tensor `value` (arguments as max_pool's); with
    padding "SAME" a window's mean is over its in-image positions only, as TF's."""
    return _pool(AVG_POOL, value, ksize, strides, padding, data_format, name, "AvgPool", input)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC",  # noqa: A002
               name: Optional[str] = None) -> Node:
    """TF 1.15's tf.nn.max_pool2d: max_pool with `input` first."""
    return _pool(MAX_POOL, input, ksize, strides, padding, data_format, name, "MaxPool", None)


def avg_pool2d(value, ksize, strides, padding, data_format="NHWC", name: Optional[str] = None,
               input=None) -> Node:  # noqa: A002 - TF1's argument name
    """TF 1.15's tf.nn.avg_pool2d, an alias of avg_pool with the same signature (TF2's
    avg_pool2d takes `input` first; TF 1.15 exports that one only as tf.compat.v2)."""
    return _pool(AVG_POOL, value, ksize, strides, padding, data_format, name, "AvgPool", input)
