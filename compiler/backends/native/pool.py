"""C code for max pooling and its gradient over NHWC arrays with static shapes (emit.py's
interface: emitter(node, out, ins, stmt) -> C lines, or None: the statement stays numpy code).

    max_pool       each window's maximum, channels innermost (a vector loop per tap); positions
                   in the padding are skipped (TF's -inf padding); NaN wins, as np.maximum's
    max_pool_grad  each window's gradient routed to its first maximum, row-major over the taps
                   (the padding taps counted as -inf, a NaN as the largest): the reference
                   kernel's argmax (compiler/ops/pool.py). Where the windows tile the input
                   exactly, every position is written once (no zeroing, no adding); otherwise
                   the gradient is zeroed and added into. A routed value is selected, never
                   multiplied by a mask, so a NaN or inf gradient stays in its own position.
"""

from __future__ import annotations

from typing import List, Optional

from ...ops.pool import pool_geometry
from .scalar import C_TYPES

_IVDEP = "#pragma GCC ivdep"
MAX_CHANNELS = 1 << 14  # per-window scratch lives on the stack: at most this many channels


def _operands(out, ins, n_inputs: int) -> bool:
    """Every array contiguous, float32/float64, one dtype, none the output's memory."""
    return (len(ins) == n_inputs and out.dtype in C_TYPES and out.dtype.kind == "f"
            and out.contiguous and all(v.literal is None and v.contiguous
                                       and v.dtype == out.dtype and v.base != out.base
                                       for v in ins))


def _windows(x_shape, geo) -> List[str]:
    """The loops over every window (b, i, j) and the pointer `o` to its output pixel's channels."""
    n, _, _, c = x_shape
    oh, ow = geo.out
    return [f"for (npy_intp b = 0; b < {n}; b++)",
            f"for (npy_intp i = 0; i < {oh}; i++)",
            f"for (npy_intp j = 0; j < {ow}; j++) {{",
            f"const npy_intp o = ((b * {oh} + i) * {ow} + j) * {c};"]


def _taps(x_shape, geo, skip_padding: bool) -> List[str]:
    """The loops over one window's taps (t counts them row-major, padding included): `r`, `q`
    the input row and column, `inside` whether that is in the image, `p` the offset of its
    channels."""
    _, h, w, c = x_shape
    (kh, kw), (sh, sw) = geo.ksize, geo.strides
    (top, _), (left, _) = geo.pads
    lines = [f"for (npy_intp di = 0; di < {kh}; di++)",
             f"for (npy_intp dj = 0; dj < {kw}; dj++) {{",
             f"const int t = (int)(di * {kw} + dj);",
             f"const npy_intp r = i * {sh} + di - {top}, q = j * {sw} + dj - {left};",
             f"const int inside = r >= 0 && r < {h} && q >= 0 && q < {w};",
             f"const npy_intp p = inside ? ((b * {h} + r) * {w} + q) * {c} : 0;",
             "(void)t;"]
    if skip_padding:
        lines.append("if (!inside) continue;")
    return lines


def max_pool(node, out, ins, stmt) -> Optional[List[str]]:
    if not _operands(out, ins, 1):
        return None
    (x,) = ins
    geo = pool_geometry(x.shape, **node.attrs)
    c, t = x.shape[3], C_TYPES[out.dtype]
    y, src = out.ptr, x.ptr
    return (["{"] + _windows(x.shape, geo)
            + [_IVDEP, f"for (npy_intp k = 0; k < {c}; k++) {y}[o + k] = ({t})-INFINITY;"]
            + _taps(x.shape, geo, skip_padding=True)
            + [_IVDEP, f"for (npy_intp k = 0; k < {c}; k++) {{",
               f"{t} v = {src}[p + k], m = {y}[o + k];",
               f"{y}[o + k] = (v > m || v != v) ? v : m;", "}", "}", "}", "}"])


def _tiles(x_shape, geo) -> bool:
    """Every input position lies under exactly one window."""
    (oh, ow), (kh, kw) = geo.out, geo.ksize
    return (not geo.has_padding and geo.ksize == geo.strides
            and tuple(x_shape[1:3]) == (oh * kh, ow * kw))


def max_pool_grad(node, out, ins, stmt) -> Optional[List[str]]:
    if not _operands(out, ins, 3):
        return None
    x, _, g = ins
    geo = pool_geometry(x.shape, **node.attrs)
    c, t = x.shape[3], C_TYPES[out.dtype]
    if c > MAX_CHANNELS or tuple(g.shape[1:3]) != geo.out:
        return None
    idx = "int32_t" if out.dtype.itemsize == 4 else "int64_t"
    tiles = _tiles(x.shape, geo)
    dx, src, grad = out.ptr, x.ptr, g.ptr
    lines = ["{", f"{t} best[{c}]; {idx} at[{c}];"]
    if not tiles:
        lines.append(f"for (npy_intp k = 0; k < {out.size}; k++) {dx}[k] = 0;")
    lines += _windows(x.shape, geo)
    # the first maximum of each channel, padding taps as -inf (the reference kernel's argmax)
    lines += _taps(x.shape, geo, skip_padding=False)
    lines += [_IVDEP, f"for (npy_intp k = 0; k < {c}; k++) {{",
              f"{t} v = inside ? {src}[p + k] : ({t})-INFINITY;",
              "int take = t == 0 || v > best[k] || (v != v && best[k] == best[k]);",
              f"best[k] = take ? v : best[k]; at[k] = take ? ({idx})t : at[k];", "}", "}"]
    # then each tap of the window takes the gradient of the channels whose maximum it holds
    store = "=" if tiles else "+="
    lines += _taps(x.shape, geo, skip_padding=True)
    lines += [_IVDEP, f"for (npy_intp k = 0; k < {c}; k++) "
              f"{dx}[p + k] {store} at[k] == t ? {grad}[o + k] : ({t})0;", "}", "}", "}"]
    return lines
