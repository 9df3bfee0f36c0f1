"""C code for the conv ops (compiler/ops/conv.py) over NHWC inputs and HWIO filters with static
shapes: the numpy kernels' plan (compiler/ops/conv_kernels.py: columns of a few images at a time,
about CHUNK_BYTES, so they are made and read while in cache, and one GEMM of numpy's own BLAS per
batch of images), with the column copies and adds done in C and no Python between them.

    conv2d           im2col of a few images, then columns x filter (K x out) into the output
    backprop_filter  the same columns, transposed, times the output gradient, accumulated by the
                     GEMM itself (beta = 1 after the first batch of images)
    backprop_input   the output gradient times the filter transposed gives each pixel's window
                     of input gradients (a GEMM into the scratch columns), added back onto the
                     input pixels they came from (col2im, in C: one pass over the columns)

A 1x1 filter with stride 1 and no padding needs no columns: the input is its own. Padding is
never copied: the columns hold zeros where a window lies in it, and col2im skips it.
"""

from __future__ import annotations

from typing import Optional

from ...ops.conv_kernels import CHUNK_BYTES, out_size, pad_amounts
from .kernel import Kernel
from .loops import float_arrays
from .scalar import C_TYPES

_HELPERS = r"""
/* im2col: one row per output pixel of images [b0, b1), its window's taps (row, column, channel:
   HWIO order), zeros where the window lies in the padding */
static void gf_im2col_@S@(const @T@ *x, @T@ *cols, const gf_conv_t *g, npy_intp b0,
                          npy_intp b1) {
    const npy_intp c = g->c, run = g->kw * c, K = g->kh * run;
    @T@ *row = cols;
    for (npy_intp b = b0; b < b1; b++)
    for (npy_intp i = 0; i < g->oh; i++)
    for (npy_intp j = 0; j < g->ow; j++, row += K) {
        const npy_intp q0 = j * g->sw - g->pl;
        const int whole = g->dw == 1 && q0 >= 0 && q0 + g->kw <= g->w;
        for (npy_intp di = 0; di < g->kh; di++) {
            @T@ *dst = row + di * run;
            const npy_intp r = i * g->sh + di * g->dh - g->pt;
            if (r < 0 || r >= g->h) { memset(dst, 0, run * sizeof(@T@)); continue; }
            const @T@ *src = x + (b * g->h + r) * g->w * c;
            if (whole) { memcpy(dst, src + q0 * c, run * sizeof(@T@)); continue; }
            for (npy_intp dj = 0; dj < g->kw; dj++) {
                const npy_intp q = q0 + dj * g->dw;
                if (q < 0 || q >= g->w) memset(dst + dj * c, 0, c * sizeof(@T@));
                else memcpy(dst + dj * c, src + q * c, c * sizeof(@T@));
            }
        }
    }
}

/* col2im: the adjoint of gf_im2col, each column added onto the input pixel it was copied from */
static void gf_col2im_@S@(const @T@ *cols, @T@ *dx, const gf_conv_t *g, npy_intp b0,
                          npy_intp b1) {
    const npy_intp c = g->c, run = g->kw * c, K = g->kh * run;
    const @T@ *row = cols;
    for (npy_intp b = b0; b < b1; b++)
    for (npy_intp i = 0; i < g->oh; i++)
    for (npy_intp j = 0; j < g->ow; j++, row += K) {
        const npy_intp q0 = j * g->sw - g->pl;
        const int whole = g->dw == 1 && q0 >= 0 && q0 + g->kw <= g->w;
        for (npy_intp di = 0; di < g->kh; di++) {
            const @T@ *src = row + di * run;
            const npy_intp r = i * g->sh + di * g->dh - g->pt;
            if (r < 0 || r >= g->h) continue;
            @T@ *dst = dx + (b * g->h + r) * g->w * c;
            if (whole) {
                @T@ *d = dst + q0 * c;
                for (npy_intp k = 0; k < run; k++) d[k] += src[k];
                continue;
            }
            for (npy_intp dj = 0; dj < g->kw; dj++) {
                const npy_intp q = q0 + dj * g->dw;
                if (q < 0 || q >= g->w) continue;
                @T@ *d = dst + q * c;
                const @T@ *s = src + dj * c;
                for (npy_intp k = 0; k < c; k++) d[k] += s[k];
            }
        }
    }
}

/* im2col transposed: one row per tap (row, column, channel), holding its value at every output
   pixel of images [b0, b1), zeros in the padding. For inputs with few channels, whose window rows
   are too short to copy one at a time: here each output row is one run of the input row. */
static void gf_im2colT_@S@(const @T@ *x, @T@ *cols, const gf_conv_t *g, npy_intp b0,
                           npy_intp b1) {
    const npy_intp rows = (b1 - b0) * g->oh * g->ow;
    for (npy_intp di = 0; di < g->kh; di++)
    for (npy_intp dj = 0; dj < g->kw; dj++) {
        /* the output columns whose input column q = j * sw + dj * dw - pl is in the image */
        const npy_intp off = dj * g->dw - g->pl;
        npy_intp lo = off >= 0 ? 0 : (-off + g->sw - 1) / g->sw;
        npy_intp hi = g->w - off <= 0 ? 0 : (g->w - off + g->sw - 1) / g->sw;
        if (hi > g->ow) hi = g->ow;
        if (lo > hi) lo = hi;
        for (npy_intp ci = 0; ci < g->c; ci++) {
            @T@ *dst = cols + ((di * g->kw + dj) * g->c + ci) * rows;
            for (npy_intp b = b0; b < b1; b++)
            for (npy_intp i = 0; i < g->oh; i++, dst += g->ow) {
                const npy_intp r = i * g->sh + di * g->dh - g->pt;
                if (r < 0 || r >= g->h) { memset(dst, 0, g->ow * sizeof(@T@)); continue; }
                const @T@ *src = x + ((b * g->h + r) * g->w + off) * g->c + ci;
                for (npy_intp j = 0; j < lo; j++) dst[j] = 0;
                if (g->sw == 1 && g->c == 1) memcpy(dst + lo, src + lo, (hi - lo) * sizeof(@T@));
                else for (npy_intp j = lo; j < hi; j++) dst[j] = src[j * g->sw * g->c];
                for (npy_intp j = hi; j < g->ow; j++) dst[j] = 0;
            }
        }
    }
}

/* the columns of images [b0, b1): the input itself (direct), or made in `cols` row by row, or
   tap by tap (transposed: *ld is then the number of rows, not K) */
static const @T@ *gf_columns_@S@(const @T@ *x, @T@ *cols, const gf_conv_t *g, npy_intp b0,
                                 npy_intp b1, npy_intp *ld) {
    const npy_intp K = g->kh * g->kw * g->c, per = g->oh * g->ow;
    *ld = K;
    if (g->direct) return x + b0 * per * K;
    if (g->transposed) {
        gf_im2colT_@S@(x, cols, g, b0, b1);
        *ld = (b1 - b0) * per;
    } else {
        gf_im2col_@S@(x, cols, g, b0, b1);
    }
    return cols;
}

static void gf_conv2d_@S@(const @T@ *x, const @T@ *w, @T@ *y, @T@ *cols, const gf_conv_t *g) {
    const npy_intp K = g->kh * g->kw * g->c, per = g->oh * g->ow;
    for (npy_intp b0 = 0; b0 < g->n; b0 += g->images) {
        const npy_intp b1 = b0 + g->images < g->n ? b0 + g->images : g->n;
        npy_intp ld;
        const @T@ *a = gf_columns_@S@(x, cols, g, b0, b1, &ld);
        gf_@S@gemm(CblasRowMajor, g->transposed ? CblasTrans : CblasNoTrans, CblasNoTrans,
                   (b1 - b0) * per, g->o, K, 1, a, ld, w, g->o, 0, y + b0 * per * g->o, g->o);
    }
}

static void gf_conv2d_filter_@S@(const @T@ *x, const @T@ *dy, @T@ *dw, @T@ *cols,
                                 const gf_conv_t *g) {
    const npy_intp K = g->kh * g->kw * g->c, per = g->oh * g->ow;
    for (npy_intp b0 = 0; b0 < g->n; b0 += g->images) {
        const npy_intp b1 = b0 + g->images < g->n ? b0 + g->images : g->n;
        npy_intp ld;
        const @T@ *a = gf_columns_@S@(x, cols, g, b0, b1, &ld);
        gf_@S@gemm(CblasRowMajor, g->transposed ? CblasNoTrans : CblasTrans, CblasNoTrans, K,
                   g->o, (b1 - b0) * per, 1, a, ld, dy + b0 * per * g->o, g->o,
                   b0 == 0 ? 0 : 1, dw, g->o);
    }
}

static void gf_conv2d_input_@S@(const @T@ *dy, const @T@ *w, @T@ *dx, @T@ *cols,
                                const gf_conv_t *g) {
    const npy_intp K = g->kh * g->kw * g->c, per = g->oh * g->ow;
    if (g->direct) {
        gf_@S@gemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->n * per, g->c, g->o, 1, dy, g->o,
                   w, g->o, 0, dx, g->c);
        return;
    }
    const npy_intp image = g->h * g->w * g->c;
    for (npy_intp b0 = 0; b0 < g->n; b0 += g->images) {
        const npy_intp b1 = b0 + g->images < g->n ? b0 + g->images : g->n;
        gf_@S@gemm(CblasRowMajor, CblasNoTrans, CblasTrans, (b1 - b0) * per, K, g->o, 1,
                   dy + b0 * per * g->o, g->o, w, g->o, 0, cols, K);
        /* these images' gradient, zeroed just before col2im adds into it (still in cache) */
        memset(dx + b0 * image, 0, (b1 - b0) * image * sizeof(@T@));
        gf_col2im_@S@(cols, dx, g, b0, b1);
    }
}
"""

HELPERS = """
#include <string.h>
/* one convolution's geometry: input n x h x w x c, filter kh x kw x c x o, output oh x ow;
   strides, dilations, top and left padding; images per batch of columns; direct: a 1x1 filter,
   stride 1, no padding (the input is its own columns); transposed: columns made tap by tap
   (gf_im2colT), for few input channels */
typedef struct {
    npy_intp n, h, w, c, kh, kw, o, oh, ow, sh, sw, dh, dw, pt, pl, images;
    int direct, transposed;
} gf_conv_t;
""" + _HELPERS.replace("@T@", "float").replace("@S@", "s") + \
    _HELPERS.replace("@T@", "double").replace("@S@", "d")

_SUFFIX = {"float": "s", "double": "d"}


# A window row of fewer elements (kw * channels) is copied tap by tap into transposed columns
# (gf_im2colT: long runs) rather than row by row (gf_im2col: one short copy per window row).
# Measured on Deep MNIST's first convolution (one channel, 5x5): see the README.
SHORT_RUN = 16


def _kernel(function: str, s: str, args, x_shape, w_shape, y_shape, node, itemsize: int
            ) -> Optional[Kernel]:
    """A call of gf_<function>_<s> on `args` for an input of x_shape, a filter of w_shape and an
    output (or output gradient) of y_shape."""
    n, h, w, c = x_shape
    kh, kw, wc, o = w_shape
    (sh, sw), (dh, dw) = node.attrs["strides"], node.attrs["dilations"]
    padding = node.attrs["padding"]
    oh = out_size(h, kh, sh, dh, padding, 0)
    ow = out_size(w, kw, sw, dw, padding, 1)
    if min(n, h, w, c, kh, kw, o, oh, ow) < 1 or wc != c or y_shape != (n, oh, ow, o):
        return None  # empty, or shapes that disagree: the numpy kernel's errors and edge cases
    (pt, pb), (pl, pr) = (pad_amounts(h, kh, sh, dh, padding, 0),
                          pad_amounts(w, kw, sw, dw, padding, 1))
    direct = kh == kw == 1 and (sh, sw) == (1, 1) and not (pt or pb or pl or pr)
    # the input gradient's columns are a GEMM's output: always one row per output pixel
    transposed = (not direct and kw * c < SHORT_RUN and function != "conv2d_input")
    row_bytes = oh * ow * kh * kw * c * itemsize
    images = n if direct else max(1, min(n, CHUNK_BYTES // row_bytes))
    scratch = 0 if direct else images * row_bytes
    geometry = ", ".join(str(v) for v in (n, h, w, c, kh, kw, o, oh, ow, sh, sw, dh, dw, pt, pl,
                                          images, int(direct), int(transposed)))
    cols = "NULL" if direct else f"({'float' if s == 's' else 'double'} *)gf_scratch"
    return Kernel(["{", f"static const gf_conv_t g = {{{geometry}}};",
                   f"gf_{function}_{s}({', '.join(args)}, {cols}, &g);", "}"],
                  scratch, HELPERS)


# op -> (its helper, what its two inputs and its output are: x the convolution's input, w its
# filter, y its output or the output's gradient)
_ROLES = {"conv2d": ("conv2d", "xwy"), "conv2d_backprop_filter": ("conv2d_filter", "xyw"),
          "conv2d_backprop_input": ("conv2d_input", "ywx")}


def emit(node, out, ins, stmt) -> Optional[Kernel]:
    """The emitter of each conv op (emit.EMITTERS): a call of its helper, or None."""
    if len(ins) < 2 or not float_arrays(out, ins[:2]):
        return None
    s = _SUFFIX[C_TYPES[out.dtype]]
    function, roles = _ROLES[node.type]
    shapes = dict(zip(roles, (ins[0].shape, ins[1].shape, out.shape)))
    return _kernel(function, s, [ins[0].ptr, ins[1].ptr, out.ptr], shapes["x"], shapes["w"],
                   shapes["y"], node, out.dtype.itemsize)
