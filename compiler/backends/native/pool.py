"""C code for max pooling and its gradient over NHWC arrays with static shapes (emit.py's
interface: emitter(node, out, ins, stmt) -> C lines, or None: the statement stays numpy code).

    max_pool       each window's maximum, channels innermost (a vector loop per tap); positions
                   in the padding are skipped (TF's -inf padding); NaN wins, as np.maximum's
    max_pool_grad  each window's gradient routed to its first maximum, row-major over the taps
                   (the padding taps counted as -inf, a NaN as the largest): the reference
                   kernel's argmax (compiler/ops/pool.py). Where the windows tile the input
                   exactly, a WindowLoop: one pass over each window's elements writing each
                   once (no zeroing, no adding), which the flat loop after it can merge into;
                   otherwise the gradient is zeroed and added into. A routed value is
                   selected, never multiplied by a mask, so a NaN or inf gradient stays in its
                   own position.
"""

from __future__ import annotations

from typing import List, Optional

from ...ops.pool import pool_geometry
from .loops import IVDEP, FlatLoop, float_arrays
from .scalar import C_TYPES

MAX_CHANNELS = 1 << 14  # per-window scratch lives on the stack: at most this many channels


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
    if len(ins) != 1 or not float_arrays(out, ins):
        return None
    (x,) = ins
    geo = pool_geometry(x.shape, **node.attrs)
    c, t = x.shape[3], C_TYPES[out.dtype]
    y, src = out.ptr, x.ptr
    return (["{"] + _windows(x.shape, geo)
            + [IVDEP, f"for (npy_intp k = 0; k < {c}; k++) {y}[o + k] = ({t})-INFINITY;"]
            + _taps(x.shape, geo, skip_padding=True)
            + [IVDEP, f"for (npy_intp k = 0; k < {c}; k++) {{",
               f"{t} v = {src}[p + k], m = {y}[o + k];",
               f"{y}[o + k] = (v > m || v != v) ? v : m;", "}", "}", "}", "}"])


def _tiles(x_shape, geo) -> bool:
    """Every input position lies under exactly one window."""
    (oh, ow), (kh, kw) = geo.out, geo.ksize
    return (not geo.has_padding and geo.ksize == geo.strides
            and tuple(x_shape[1:3]) == (oh * kh, ow * kw))


def max_pool_grad(node, out, ins, stmt) -> Optional[List[str]]:
    if len(ins) != 3 or not float_arrays(out, ins):
        return None
    x, _, g = ins
    geo = pool_geometry(x.shape, **node.attrs)
    c, t = x.shape[3], C_TYPES[out.dtype]
    if c > MAX_CHANNELS or tuple(g.shape[1:3]) != geo.out:
        return None
    idx = "int32_t" if out.dtype.itemsize == 4 else "int64_t"
    if _tiles(x.shape, geo):
        return _tiled_grad(out, x, g, geo, t, idx)
    # windows that overlap, leave gaps or reach into the padding: dx zeroed, then added into
    dx, src, grad = out.ptr, x.ptr, g.ptr
    lines = ["{", f"{t} best[{c}]; {idx} at[{c}];",
             f"for (npy_intp k = 0; k < {out.size}; k++) {dx}[k] = 0;"]
    lines += _windows(x.shape, geo)
    # the first maximum of each channel, padding taps as -inf (the reference kernel's argmax)
    lines += _taps(x.shape, geo, skip_padding=False)
    lines += [IVDEP, f"for (npy_intp k = 0; k < {c}; k++) {{",
              f"{t} v = inside ? {src}[p + k] : ({t})-INFINITY;",
              "int take = t == 0 || v > best[k] || (v != v && best[k] == best[k]);",
              f"best[k] = take ? v : best[k]; at[k] = take ? ({idx})t : at[k];", "}", "}"]
    # then each tap of the window takes the gradient of the channels whose maximum it holds
    lines += _taps(x.shape, geo, skip_padding=True)
    lines += [IVDEP, f"for (npy_intp k = 0; k < {c}; k++) "
              f"{dx}[p + k] += at[k] == t ? {grad}[o + k] : ({t})0;", "}", "}", "}"]
    return lines


class WindowLoop(FlatLoop):
    """max_pool_grad where the windows tile the input: per window, the first maximum of each
    channel, then one pass over the window's elements writing dx[i] (i the element's flat
    index). A flat loop over as many elements that comes later merges into that pass (its body
    runs for element i right after dx[i] is written): the relu gradient and the like, without
    writing dx out and reading it back. It may write over x (in place: each window reads its
    own elements of x before it writes any, and no other window reads them), never over g,
    and takes no column sums (it visits the rows out of their order)."""

    windowed = True

    def __init__(self, n: int, head: List[str], body: List[str], closing: int, x_base: str,
                 g_base: str, **kwargs):
        super().__init__(n, body, **kwargs)
        self.head, self.closing = head, closing
        self.x_base, self.g_base = x_base, g_base

    def lines(self) -> List[str]:
        return (["{"] + self.prologue + self.head + self.locals_ + self.body
                + ["}"] * self.closing + self.epilogue + ["}"])

    def merge(self, other: FlatLoop) -> bool:
        if (getattr(other, "windowed", False) or other.rows != 1 or other.partial
                or other.prologue or other.epilogue or self.g_base in other.writes
                or other.reads_one & self.writes):
            return False
        return super().merge(other)

    def take_sum(self, s) -> bool:
        return False


def _tiled_grad(out, x, g, geo, t: str, idx: str) -> WindowLoop:
    n, h, w, c = x.shape
    (oh, ow), (kh, kw) = geo.out, geo.ksize
    src, grad = x.ptr, g.ptr

    def taps() -> List[str]:
        return [f"for (npy_intp di = 0; di < {kh}; di++)",
                f"for (npy_intp dj = 0; dj < {kw}; dj++) {{",
                f"const int wt = (int)(di * {kw} + dj);",
                f"const npy_intp wp = ((wb * {h} + wi * {kh} + di) * {w} + wj * {kw} + dj) "
                f"* {c};", IVDEP, f"for (npy_intp k = 0; k < {c}; k++) {{"]

    head = ([f"for (npy_intp wb = 0; wb < {n}; wb++)",
             f"for (npy_intp wi = 0; wi < {oh}; wi++)",
             f"for (npy_intp wj = 0; wj < {ow}; wj++) {{",
             f"const npy_intp wo = ((wb * {oh} + wi) * {ow} + wj) * {c};"]
            # the first maximum of each channel (NaN the largest): the reference kernel's argmax
            + taps() + [f"{t} v = {src}[wp + k];",
                         "int take = wt == 0 || v > best[k] || (v != v && best[k] == best[k]);",
                         f"best[k] = take ? v : best[k]; at[k] = take ? ({idx})wt : at[k];",
                         "}", "}"]
            # then every element of the window, once: i its flat index
            + taps() + ["const npy_intp i = wp + k;"])
    body = [f"{out.ptr}[i] = at[k] == wt ? {grad}[wo + k] : ({t})0;"]
    return WindowLoop(out.size, head, body, 3, x.base, g.base,
                      writes={out.base}, reads={x.base, g.base},
                      ptrs={out.base: {out.ptr}, x.base: {src}, g.base: {grad}},
                      prologue=[f"{t} best[{c}]; {idx} at[{c}];"])
