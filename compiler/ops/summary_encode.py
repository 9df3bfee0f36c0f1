"""What TF1's summary kernels compute before they serialize: the histogram of
tensorflow/core/lib/histogram/histogram.cc (default buckets, empty runs merged), the float image
normalization of summary_image_op.cc, and PNG encoding (zlib and struct, no image library)."""

from __future__ import annotations

import struct
import sys
import zlib
from typing import List, Tuple

import numpy as np

DBL_MAX = sys.float_info.max


def _default_limits() -> np.ndarray:
    """TF1's default bucket limits: 1e-12 growing by 10% up to 1e20, mirrored, with 0 and
    +-DBL_MAX at the ends."""
    pos = []
    v = 1.0e-12
    while v < 1.0e20:
        pos.append(v)
        v *= 1.1
    pos.append(DBL_MAX)
    return np.array([-p for p in reversed(pos)] + [0.0] + pos)


BUCKET_LIMITS = _default_limits()


def histogram(values) -> dict:
    """The fields of TF1's HistogramProto for `values` (finite numbers): min, max, num, sum,
    sum_squares, and the non-empty buckets as (bucket_limit, bucket), each run of empty buckets
    merged into the next limit, as histogram.cc's EncodeToProto does."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    # A value v falls in bucket i where limit[i-1] <= v < limit[i] (std::upper_bound).
    n = len(BUCKET_LIMITS)
    index = np.minimum(np.searchsorted(BUCKET_LIMITS, x, side="right"), n - 1)
    counts = np.bincount(index, minlength=n)
    limits, buckets = _merge_empty(counts)
    return dict(min=float(x.min()) if x.size else DBL_MAX,
                max=float(x.max()) if x.size else -DBL_MAX,
                num=float(x.size), sum=float(x.sum()), sum_squares=float(np.dot(x, x)),
                bucket_limit=limits, bucket=buckets)


def _merge_empty(counts) -> Tuple[List[float], List[float]]:
    limits, buckets = [], []
    i, n = 0, len(counts)
    while i < n:
        end, count = BUCKET_LIMITS[i], counts[i]
        i += 1
        if count <= 0:  # a run of empty buckets becomes one, ending at the run's last limit
            while i < n and counts[i] <= 0:
                end, count = BUCKET_LIMITS[i], counts[i]
                i += 1
        limits.append(float(end))
        buckets.append(float(count))
    return limits, buckets


BAD_COLOR = np.array([255, 0, 0, 255], dtype=np.uint8)  # TF1's default for non-finite pixels


def to_uint8(image: np.ndarray) -> np.ndarray:
    """One [h, w, c] image as uint8, as TF1's ImageSummary: uint8 as it is; floats scaled so the
    largest value is 255 when none is negative, else centred on 128 and scaled by 127 over the
    largest magnitude; a pixel with a non-finite value is BAD_COLOR."""
    if image.dtype == np.uint8:
        return image
    # TF1 computes in the image's own float type (float32 for float32 images).
    ftype = image.dtype.type if image.dtype in (np.float32, np.float64) else np.float64
    values = image.astype(ftype)
    finite = np.isfinite(values).all(axis=-1)
    good = values[finite]
    lo = good.min() if good.size else ftype(np.inf)
    hi = good.max() if good.size else ftype(-np.inf)
    if lo < 0:
        top = max(abs(lo), abs(hi))
        scale, offset = (ftype(0) if top < 1e-6 else ftype(127) / top), ftype(128)
    else:
        scale, offset = (ftype(0) if hi < 1e-6 else ftype(255) / hi), ftype(0)
    out = np.zeros(values.shape, dtype=np.uint8)
    out[finite] = (values[finite] * scale + offset).astype(np.uint8)  # truncates, as a C cast
    out[~finite] = BAD_COLOR[:values.shape[-1]]
    return out


def encode_png(image: np.ndarray) -> bytes:
    """A [h, w, c] uint8 image (c = 1 grey, 3 RGB, 4 RGBA) as PNG bytes."""
    height, width, channels = image.shape
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = np.ascontiguousarray(image, dtype=np.uint8).reshape(height, width * channels)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter type 0 on every row
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
